"""A run: reach the target, run the family's contract checks, then the schemathesis phases.

Decides nothing about output; it hands a `RunReport` back and reports progress through a reporter.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from conformance.checks import REGISTRY, Check
from conformance.context import CheckAborted, CheckContext, CheckSkipped, RunSettings
from conformance.findings import CheckResult, Failure, RunReport, Status
from conformance.http import PRIMARY, SECONDARY, Identity, RecordingClient, TransportFailure
from conformance.profiles import Profile
from conformance.profiles import get as get_profile
from conformance.report import ConsoleReporter
from conformance.schemathesis_phase import run_schemathesis

EXIT_CONFORMANT = 0
EXIT_VIOLATIONS = 1
EXIT_USAGE = 2


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


def exit_code(report: RunReport) -> int:
    return EXIT_VIOLATIONS if report.failed else EXIT_CONFORMANT


def run(options: RunOptions, reporter: ConsoleReporter) -> RunReport:
    """Run every check of the family against the target; raises TargetUnreachable if it never answers."""
    profile = get_profile(options.family)
    identities = {PRIMARY: Identity(options.api_key, "$API_KEY")}
    if options.api_key_2:
        identities[SECONDARY] = Identity(options.api_key_2, "$API_KEY_2")
    client = RecordingClient(
        options.base_url, identities=identities, auth_headers=profile.auth_headers, timeout=options.timeout
    )
    settings = RunSettings(options.base_url, options.max_examples, options.seed, options.timeout)
    report = RunReport(profile.name, options.base_url, options.seed, options.max_examples)
    started = time.perf_counter()
    try:
        try:
            client.send(profile.probe())
        except TransportFailure as exc:
            raise TargetUnreachable(f"cannot reach {options.base_url}: {exc.reason}") from None
        reporter.line(f"{profile.title} ({profile.spec_file}) at {options.base_url}, seed {options.seed}")

        checks = [
            REGISTRY[entry] if isinstance(entry, str) else Check(entry.__name__, entry)
            for entry in (*profile.checks, *profile.extra_checks)
        ]
        for check in checks:
            report.results.append(_run_check(check, client, profile, settings, reporter))

        reporter.check_started("schemathesis", "examples, coverage, fuzzing and stateful phases over the spec")
        outcome = run_schemathesis(
            profile,
            base_url=options.base_url,
            secrets=client.secrets,
            api_key=options.api_key,
            seed=options.seed,
            max_examples=options.max_examples,
            timeout=options.timeout,
            workers=options.workers,
            progress=reporter.line,
        )
        for result in outcome.results:
            reporter.check_finished(result)
        report.results += outcome.results
        report.notes += outcome.notes
        report.requests = client.request_count + outcome.requests
    finally:
        client.close()
    report.duration = time.perf_counter() - started
    return report


def _run_check(
    check: Check, client: RecordingClient, profile: Profile, settings: RunSettings, reporter: ConsoleReporter
) -> CheckResult:
    name = check.name
    reporter.check_started(name, check.description)
    ctx = CheckContext(name, client, profile, settings)
    before = client.request_count
    started = time.perf_counter()
    skipped: str | None = None
    try:
        check.run(ctx)
    except CheckAborted:
        pass
    except CheckSkipped as exc:
        skipped = str(exc)
    except TransportFailure as exc:
        ctx.failures.append(Failure(name, "(a request of the check)", "an HTTP response", exc.reason, exc.curl))
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
    if ctx.failures:  # a check that found violations and then could not go on still failed
        status = Status.FAILED
    else:
        status = Status.SKIPPED if skipped is not None else Status.PASSED
    result = CheckResult(
        name=name,
        status=status,
        description=check.description,
        failures=ctx.failures,
        reason=skipped,
        duration=time.perf_counter() - started,
        requests=client.request_count - before,
    )
    reporter.check_finished(result)
    return result
