"""What a run finds: one `Failure` per violation, one `CheckResult` per check."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum


class Status(str, Enum):
    PASSED = "passed"
    FAILED = "failed"
    SKIPPED = "skipped"


@dataclass(frozen=True)
class Failure:
    """One violation of the contract, with a curl line that reproduces it."""

    check: str
    operation: str
    expected: str
    actual: str
    curl: str

    def as_dict(self) -> dict[str, str]:
        return {
            "check": self.check,
            "operation": self.operation,
            "expected": self.expected,
            "actual": self.actual,
            "curl": self.curl,
        }


@dataclass
class CheckResult:
    """The outcome of one check: passed, failed (with its failures) or skipped (with a reason)."""

    name: str
    status: Status
    description: str = ""
    failures: list[Failure] = field(default_factory=list)
    reason: str | None = None
    duration: float = 0.0
    requests: int = 0
    # Failures left out of `failures` to keep reports readable (same problem seen many times).
    omitted: int = 0

    @property
    def failed(self) -> bool:
        return self.status is Status.FAILED


@dataclass
class RunReport:
    """Everything a run found, as the reporters write it out."""

    family: str
    base_url: str
    seed: int
    max_examples: int
    results: list[CheckResult] = field(default_factory=list)
    requests: int = 0
    duration: float = 0.0
    notes: list[str] = field(default_factory=list)

    def count(self, status: Status) -> int:
        return sum(1 for result in self.results if result.status is status)

    @property
    def failed(self) -> bool:
        return any(result.failed for result in self.results)

    def summary(self) -> dict[str, object]:
        passed, failed, skipped = (self.count(status) for status in (Status.PASSED, Status.FAILED, Status.SKIPPED))
        return {
            "checks_run": passed + failed,
            "passed": passed,
            "failed": failed,
            "skipped": skipped,
            "failures": sum(len(result.failures) + result.omitted for result in self.results),
            "requests_sent": self.requests,
            "duration_seconds": round(self.duration, 3),
            "seed": self.seed,
            "max_examples": self.max_examples,
        }
