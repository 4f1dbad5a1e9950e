"""What a run finds: one `Failure` (a finding) per problem, one `CheckResult` per check, one `RunReport`.

A finding has a severity:
- `failure`: a client that follows the contract would break, or data is wrong;
- `warning`: the server differs from the vendor where a correct client cannot tell (it accepts input the
  vendor would refuse, or refuses malformed input with another 4xx than the contract's);
- `unsupported`: the server answers with the contract's declared "not implemented" response, or refuses a
  documented feature as unknown.
Warnings and unsupported findings are reported everywhere but do not fail a run, unless it is strict
(`RunReport.make_strict`), which counts them as failures.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import Enum


class Severity(str, Enum):
    FAILURE = "failure"
    WARNING = "warning"
    UNSUPPORTED = "unsupported"


class Status(str, Enum):
    PASSED = "passed"
    FAILED = "failed"
    SKIPPED = "skipped"
    # Passed, with findings that do not fail a run (warnings, unsupported operations).
    WARNING = "warning"
    UNSUPPORTED = "unsupported"
    # The check could not finish: the run was interrupted or ran out of time while it ran.
    ERROR = "error"


@dataclass(frozen=True)
class Failure:
    """One finding, with a curl line that reproduces it; a violation of the contract unless `severity` says
    otherwise (`Finding` is the same type)."""

    check: str
    operation: str
    expected: str
    actual: str
    curl: str
    severity: Severity = Severity.FAILURE

    @property
    def is_failure(self) -> bool:
        return self.severity is Severity.FAILURE

    def as_dict(self) -> dict[str, str]:
        return {
            "check": self.check,
            "severity": self.severity.value,
            "operation": self.operation,
            "expected": self.expected,
            "actual": self.actual,
            "curl": self.curl,
        }


Finding = Failure


def status_of(findings: list[Failure], *, skipped: bool = False) -> Status:
    """A check's status from its findings: the worst severity wins; none at all is passed (or skipped)."""
    severities = {finding.severity for finding in findings}
    if Severity.FAILURE in severities:
        return Status.FAILED
    if Severity.WARNING in severities:
        return Status.WARNING
    if Severity.UNSUPPORTED in severities:
        return Status.UNSUPPORTED
    return Status.SKIPPED if skipped else Status.PASSED


@dataclass
class CheckResult:
    """The outcome of one check: passed, failed, warning or unsupported (with its findings), skipped (with a
    reason) or error (it could not finish, with a reason)."""

    name: str
    status: Status
    description: str = ""
    failures: list[Failure] = field(default_factory=list)
    reason: str | None = None
    duration: float = 0.0
    requests: int = 0
    # Findings left out of `failures` to keep reports readable (same problem seen many times).
    omitted: int = 0

    @property
    def failed(self) -> bool:
        return self.status in (Status.FAILED, Status.ERROR)

    def count(self, severity: Severity) -> int:
        return sum(1 for finding in self.failures if finding.severity is severity)


@dataclass
class RunReport:
    """Everything a run found, as the reporters write it out.

    `stopped` says why the run did not finish (interrupted, out of time, target unreachable); such a run
    never passes."""

    family: str
    base_url: str
    seed: int
    max_examples: int
    results: list[CheckResult] = field(default_factory=list)
    requests: int = 0
    duration: float = 0.0
    notes: list[str] = field(default_factory=list)
    interrupted: bool = False
    unreachable: str | None = None
    out_of_time: str | None = None
    strict: bool = False
    # Time of each phase that runs as a whole (schemathesis), reported once rather than per check.
    phase_seconds: dict[str, float] = field(default_factory=dict)

    def count(self, status: Status) -> int:
        return sum(1 for result in self.results if result.status is status)

    def findings(self, severity: Severity) -> int:
        return sum(result.count(severity) for result in self.results)

    @property
    def stopped(self) -> str | None:
        if self.interrupted:
            return "interrupted"
        if self.unreachable:
            return self.unreachable
        return self.out_of_time

    @property
    def failed(self) -> bool:
        return self.stopped is not None or any(result.failed for result in self.results)

    @property
    def verdict(self) -> str:
        """One word or phrase for the whole run."""
        if self.interrupted:
            return "interrupted"
        if self.unreachable:
            return "target unreachable"
        if self.out_of_time:
            return "out of time"
        if any(result.failed for result in self.results):
            return "NOT CONFORMANT"
        if any(result.status in (Status.WARNING, Status.UNSUPPORTED) for result in self.results):
            return "conformant, with warnings"
        return "conformant"

    def make_strict(self) -> None:
        """Count every warning and unsupported finding as a failure (`--strict`)."""
        self.strict = True
        for result in self.results:
            if not result.failures or result.status is Status.ERROR:
                continue
            result.failures = [replace(finding, severity=Severity.FAILURE) for finding in result.failures]
            result.status = Status.FAILED

    def summary(self) -> dict[str, object]:
        counts = {status: self.count(status) for status in Status}
        return {
            "result": self.verdict,
            "checks_run": sum(counts.values()) - counts[Status.SKIPPED],
            "passed": counts[Status.PASSED],
            "failed": counts[Status.FAILED] + counts[Status.ERROR],
            "warning": counts[Status.WARNING],
            "unsupported": counts[Status.UNSUPPORTED],
            "skipped": counts[Status.SKIPPED],
            "failures": sum(
                result.count(Severity.FAILURE) + (result.omitted if result.status is Status.FAILED else 0)
                for result in self.results
            ),
            "warnings": self.findings(Severity.WARNING),
            "unsupported_findings": self.findings(Severity.UNSUPPORTED),
            "interrupted": self.interrupted,
            "stopped": self.stopped,
            "strict": self.strict,
            "requests_sent": self.requests,
            "duration_seconds": round(self.duration, 3),
            "phase_seconds": {name: round(seconds, 3) for name, seconds in self.phase_seconds.items()},
            "seed": self.seed,
            "max_examples": self.max_examples,
        }
