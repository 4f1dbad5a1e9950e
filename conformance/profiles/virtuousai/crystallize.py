"""Crystallize: only a thread with a completed turn becomes an automation.

A thread without a completed turn is refused with a 4xx and a text detail (the contract chose 400;
VirtuousAI does not document it, so 409 and 422 pass as well); after a completed turn the thread is
eligible (`crystallizeEligible`) and crystallize answers 200 with an `automationId`, with or without a
name.
"""

from __future__ import annotations

from conformance.dialects.fastapi import detail_text
from conformance.profiles.virtuousai.api import Context

# How a thread that is not eligible may be refused (the contract chose 400).
NOT_ELIGIBLE = (400, 409, 422)


def crystallize(ctx: Context) -> None:
    """Crystallize refuses a thread without a completed turn and turns one with it into an automation."""
    a = ctx.profile.api
    tid = a.require_thread(ctx, title="conformance crystallize")["id"]
    refused = ctx.send(a.crystallize(tid, {}))
    if refused.status not in NOT_ELIGIBLE:
        ctx.fail(refused, "400 (or 409/422): the thread has no completed turn", refused.excerpt())
    else:
        for problem in detail_text(refused):
            ctx.fail(refused, "a refusal with a text detail", problem)

    a.run_turn(ctx, tid, "Plan a weekly report")
    thread = ctx.send(a.get_thread(tid))
    eligible = thread.json.get("crystallizeEligible") if isinstance(thread.json, dict) else None
    if ctx.check_status(thread) and eligible is not True:
        ctx.fail(thread, "crystallizeEligible true after a completed turn", thread.excerpt())
    for body in ({}, {"name": "Weekly report"}):
        made = ctx.send(a.crystallize(tid, body))
        if ctx.check_status(made, why="(the thread has a completed turn)"):
            automation = made.json.get("automationId") if isinstance(made.json, dict) else None
            if not isinstance(automation, str) or not automation:
                ctx.fail(made, "an automationId", made.excerpt())
    ctx.send(a.delete_thread(tid))
