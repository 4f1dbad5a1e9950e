"""Response selection: a handler wrapped so that a ``Prefer`` header, a family's default preference or a
fault rule can answer instead of it, later than it would, or stream worse than it would.

``ResponseSelector.wrap`` is applied to every handler by the family app's resolver (inside Connexion's
security and validation, outside the store transaction), so the order for a request is:

1. the credentials check: a request without a valid credential gets the family's 401/402 whatever it
   prefers (``Prefer: code=401`` with a valid key asks for the declared 401 instead);
2. request validation: a request the contract refuses gets its 400/422, as in Stoplight Prism;
3. the preference (the request's ``Prefer`` header over the family's ``--prefer`` default): ``code=``/
   ``example=`` answer the declared response from the contract (``mockserver.declared``) and the handler
   does not run, so nothing is stored; a code or example the operation does not declare is refused with
   the family's validation error (400, FastAPI's 422) naming the declared ones;
4. otherwise the fault rule of the operation (``mockserver.faults``) may answer a declared error status;
5. otherwise the handler runs, with the rule's stream faults applied to what it streams (``STREAM_PLAN``).

``Prefer: delay`` and the rule's latency (added together) are waited before the answer. With no ``Prefer``
header, no default and no rule, the cost is one scan of the request's header list.
"""

from __future__ import annotations

import asyncio
import functools
import time
import typing as t

from mockserver import connexion_compat as compat
from mockserver.declared import DeclaredOperation
from mockserver.errors import InvalidRequest, Violation
from mockserver.family import Family
from mockserver.faults import STREAM_PLAN, Decision, FaultRules, StreamPlan
from mockserver.preferences import Preference, from_headers


def _refused(message: str, actual: t.Any) -> InvalidRequest:
    return InvalidRequest([Violation("header", ("prefer",), "prefer", actual=actual, message=message)], message)


class ResponseSelector:
    """Per family: the declared operations, the default preference and the shared fault rules."""

    def __init__(self, family: Family, declared: t.Mapping[str, DeclaredOperation], faults: FaultRules | None,
                 default: Preference | None = None) -> None:
        self.family = family
        self.declared = declared
        self.faults = faults
        self.default = default if default is not None and not default.empty else None

    def wrap(self, operation_id: str, handler: t.Callable) -> t.Callable:
        """``handler`` behind the selection (Connexion reads its signature through ``__wrapped__``)."""
        declared = self.declared.get(operation_id)
        if declared is None:
            return handler
        if asyncio.iscoroutinefunction(handler):
            @functools.wraps(handler)
            async def selecting(*args: t.Any, **kwargs: t.Any) -> t.Any:
                plan = self._plan(declared)
                if plan is None:
                    return await handler(*args, **kwargs)
                delay, answer, stream = plan
                if delay > 0:
                    await asyncio.sleep(delay)
                if answer is not None:
                    return answer()
                token = STREAM_PLAN.set(stream)
                try:
                    return await handler(*args, **kwargs)
                finally:
                    STREAM_PLAN.reset(token)
        else:
            @functools.wraps(handler)
            def selecting(*args: t.Any, **kwargs: t.Any) -> t.Any:  # run in a worker thread by Connexion
                plan = self._plan(declared)
                if plan is None:
                    return handler(*args, **kwargs)
                delay, answer, stream = plan
                if delay > 0:
                    time.sleep(delay)
                if answer is not None:
                    return answer()
                token = STREAM_PLAN.set(stream)
                try:
                    return handler(*args, **kwargs)
                finally:
                    STREAM_PLAN.reset(token)
        return selecting

    def _plan(self, declared: DeclaredOperation) -> tuple[float, t.Callable[[], t.Any] | None,
                                                        StreamPlan | None] | None:
        """(seconds to wait, the answer instead of the handler's or None, stream faults), or None when
        nothing applies."""
        scope = compat.current_scope()
        preference = from_headers(scope["headers"])
        if self.default is not None:
            preference = self.default if preference is None else self.default.under(preference)
        faults = self.faults
        decision: Decision | None = None
        selects = preference is not None and (preference.code is not None or preference.example is not None)
        if not selects and faults is not None and faults.active:
            decision = faults.decide(self.family.name, declared.operation_id)
        if preference is None and decision is None:
            return None
        delay = (preference.delay_ms or 0) / 1000 if preference is not None else 0.0
        path = scope.get("path", "")
        if selects:
            assert preference is not None
            status, example = self._selected(declared, preference)
            return delay, functools.partial(declared.respond, status, path, example), None
        if decision is None:
            return delay, None, None
        delay += decision.latency_s
        if decision.status is not None:
            return delay, functools.partial(declared.respond, decision.status, path), None
        return delay, None, decision.stream

    @staticmethod
    def _selected(declared: DeclaredOperation, preference: Preference) -> tuple[int, str | None]:
        listed = ", ".join(map(str, declared.statuses))
        example = preference.example
        if preference.code is not None:
            status = preference.code
            if status not in declared.responses:
                raise _refused(f"Prefer: code={status} is not a response {declared.operation_id} declares "
                               f"(declared: {listed})", status)
            if example is not None and example not in declared.responses[status].examples:
                names = ", ".join(declared.responses[status].examples) or "none"
                raise _refused(f"Prefer: example={example} is not an example of the {status} response of "
                               f"{declared.operation_id} (examples: {names})", example)
            return status, example
        assert example is not None
        found = declared.example_status(example)
        if found is None:
            names = ", ".join(sorted({n for r in declared.responses.values() for n in r.examples})) or "none"
            raise _refused(f"Prefer: example={example} is not an example {declared.operation_id} declares "
                           f"(examples: {names})", example)
        return found, example
