"""A run: reach the target, run the family's contract checks, then the schemathesis phases.

Decides nothing about output; it hands a `RunReport` back and reports progress through a reporter.
A run always ends with a report, also when it does not finish: the target unreachable, the time budget
(`max_time`) spent (naming the request it was waiting for), or Ctrl-C — and such a run never passes.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from conformance.checks import REGISTRY, Check
from conformance.context import CheckAborted, CheckContext, CheckSkipped, RunSettings
from conformance.findings import CheckResult, Failure, RunReport, Status, status_of
from conformance.http import (
    DEFAULT_MAX_BODY,
    PRIMARY,
    SECONDARY,
    Identity,
    RecordingClient,
    Request,
    RunOutOfTime,
    TransportFailure,
)
from conformance.profiles import Profile
from conformance.profiles import get as get_profile
from conformance.report import ConsoleReporter
from conformance.schemathesis_phase import PREFIX, PhaseOutcome, run_schemathesis

EXIT_CONFORMANT = 0
EXIT_VIOLATIONS = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report a run ended by Ctrl-C


class TargetUnreachable(Exception):
    """The target gave no HTTP response to the first request."""


@dataclass(frozen=True)
class RunOptions:
    family: str
    base_url: str
    api_key: str
    api_key_2: str | None
    max_examples: int
    seed: int
    timeout: float = 15.0
    workers: int = 1
    max_time: float | None = None
    max_body: int = DEFAULT_MAX_BODY
    strict: bool = False
    # Values of the family's own options (`Profile.options`), by name.
    profile_options: tuple[tuple[str, str], ...] = ()


def exit_code(report: RunReport) -> int:
    """130 interrupted, 2 unreachable, 1 violations (or out of time), 0 conformant (warnings included)."""
    if report.interrupted:
        return EXIT_INTERRUPTED
    if report.unreachable:
        return EXIT_USAGE
    return EXIT_VIOLATIONS if report.failed else EXIT_CONFORMANT


def run(options: RunOptions, reporter: ConsoleReporter) -> RunReport:
    """Run every check of the family against the target and return what was found.

    Never raises for the target's behaviour or Ctrl-C: the report says how the run ended."""
    profile = get_profile(options.family).configured(dict(options.profile_options))
    started = time.perf_counter()
    run_deadline = started + options.max_time if options.max_time else None
    identities = {PRIMARY: Identity(options.api_key, "$API_KEY")}
    if options.api_key_2:
        identities[SECONDARY] = Identity(options.api_key_2, "$API_KEY_2")

    def heard(request: Request) -> None:
        reporter.request_sent(f"{request.method} {request.template}")

    client = RecordingClient(
        options.base_url,
        identities=identities,
        auth_headers=profile.auth_headers,
        timeout=options.timeout,
        max_body=options.max_body,
        run_deadline=run_deadline,
        on_request=heard,
    )
    settings = RunSettings(options.base_url, options.max_examples, options.seed, options.timeout)
    report = RunReport(profile.name, options.base_url, options.seed, options.max_examples)
    schemathesis_requests = 0
    try:
        try:
            client.send(profile.probe())
        except TransportFailure as exc:
            report.unreachable = f"cannot reach {options.base_url}: {exc.reason}"
            return report
        reporter.line(f"{profile.title} ({profile.spec_file}) at {options.base_url}, seed {options.seed}")

        checks = [
            REGISTRY[entry] if isinstance(entry, str) else Check(entry.__name__, entry)
            for entry in (*profile.checks, *profile.extra_checks)
        ]
        for check in checks:
            _run_check(check, client, profile, settings, reporter, report)

        reporter.check_started("schemathesis", "examples, coverage, fuzzing and stateful phases over the spec")
        outcome = _schemathesis(profile, options, client, reporter, run_deadline)
        for result in outcome.results:
            reporter.check_finished(result)
        report.results += outcome.results
        report.notes += outcome.notes
        report.phase_seconds["schemathesis"] = outcome.duration
        schemathesis_requests = outcome.requests
        if outcome.out_of_time:
            report.out_of_time = _out_of_time(options, outcome.out_of_time)
        if outcome.interrupted:
            report.interrupted = True
    except KeyboardInterrupt:
        report.interrupted = True
    except RunOutOfTime as exc:
        report.out_of_time = _out_of_time(options, f"{exc.label} ({exc.url})")
    finally:
        client.close()
        report.requests = client.request_count + schemathesis_requests
        report.duration = time.perf_counter() - started
        reporter.finish()
    if report.interrupted:
        report.notes.append("the run was interrupted (Ctrl-C); checks not listed did not run")
    if options.strict:
        report.make_strict()
    return report


def _schemathesis(
    profile: Profile,
    options: RunOptions,
    client: RecordingClient,
    reporter: ConsoleReporter,
    run_deadline: float | None,
) -> PhaseOutcome:
    """The schemathesis phase; if schemathesis itself breaks, a failed `schemathesis:engine` says how."""
    started = time.perf_counter()
    try:
        return run_schemathesis(
            profile,
            base_url=options.base_url,
            secrets=client.secrets,
            api_key=options.api_key,
            seed=options.seed,
            max_examples=options.max_examples,
            timeout=options.timeout,
            workers=options.workers,
            progress=reporter.line,
            on_requests=reporter.request_sent,
            run_deadline=run_deadline,
            max_body=options.max_body,
        )
    except Exception as exc:  # schemathesis must not take the run (and its reports) down
        crash = Failure(
            PREFIX + "engine",
            "(all operations)",
            "schemathesis to run its phases",
            f"it crashed: {type(exc).__name__}: {exc}",
            "",
        )
        result = CheckResult(PREFIX + "engine", Status.FAILED, "Schemathesis runs to completion.", [crash])
        return PhaseOutcome(results=[result], requests=0, notes=[], duration=time.perf_counter() - started)


def _out_of_time(options: RunOptions, waiting_for: str) -> str:
    return f"--max-time {options.max_time:g}s spent while waiting for {waiting_for}"


def _run_check(
    check: Check,
    client: RecordingClient,
    profile: Profile,
    settings: RunSettings,
    reporter: ConsoleReporter,
    report: RunReport | None = None,
) -> CheckResult:
    """Run one check and return its result, also added to `report`; when Ctrl-C or the time budget cuts
    the check short, its result (status error) is added to `report` and the exception goes on."""
    if report is None:
        report = RunReport("", "", 0, 0)
    name = check.name
    reporter.check_started(name, check.description)
    ctx = CheckContext(name, client, profile, settings)
    before = client.request_count
    started = time.perf_counter()
    skipped: str | None = None

    def result(status: Status, reason: str | None) -> CheckResult:
        return CheckResult(
            name=name,
            status=status,
            description=check.description,
            failures=ctx.failures,
            reason=reason,
            duration=time.perf_counter() - started,
            requests=client.request_count - before,
        )

    try:
        check.run(ctx)
    except CheckAborted:
        pass
    except CheckSkipped as exc:
        skipped = str(exc)
    except TransportFailure as exc:
        ctx.failures.append(Failure(name, "(a request of the check)", "an HTTP response", exc.reason, exc.curl))
    except KeyboardInterrupt:
        report.results.append(result(Status.ERROR, "interrupted (Ctrl-C) while the check ran"))
        raise
    except RunOutOfTime as exc:
        report.results.append(result(Status.ERROR, f"out of time (--max-time) while waiting for {exc.label}"))
        raise
    except Exception as exc:  # a check must never take the run down; say what broke it instead
        last = client.history[-1] if client.history else None
        ctx.failures.append(
            Failure(
                check=name,
                operation=last.request.label if last else "(none)",
                expected="the check to run to completion",
                actual=f"it crashed ({type(exc).__name__}: {exc}); last response {last.excerpt() if last else '-'}",
                curl=last.curl if last else "",
            )
        )
    # A check that found violations and then could not go on still failed (and says why it stopped).
    outcome = result(status_of(ctx.failures, skipped=skipped is not None), skipped)
    report.results.append(outcome)
    reporter.check_finished(outcome)
    return outcome
