"""The pytest plugin (entry point ``pytest11``, installed with the package).

``convo_mock`` — a session fixture: every family served on a free 127.0.0.1 port for the whole run
(``mockserver.testing.RunningMock``: ``base_url(family)``, ``base_urls``, ``reset()``, ``journal()``,
``load_fixtures()``). Reset between tests yourself (``convo_mock.reset(tenant=...)``), or use a key per test.

``--convo-conformance FAMILY --convo-base-url URL`` — the conformance suite as pytest tests, one per
check (``conformance.runner.run``, run once when the first of them runs): a check's failures fail its
test, a skipped check is skipped, warnings pass (``--convo-strict`` counts them). Keys come from
``--convo-api-key``/``--convo-api-key-2`` or ``CONVO_API_KEY``/``CONVO_API_KEY_2``. Results of checks the
run reports beyond its profile's (schemathesis's engine, an unfinished run) land in the test ``run``.
With pytest-xdist the tests share one ``xdist_group``: run with ``--dist loadgroup`` (or ``-n 0``).
"""

from __future__ import annotations

import io
import os
import random
import typing as t

import pytest

from mockserver.testing import RunningMock

if t.TYPE_CHECKING:
    from conformance.findings import CheckResult, RunReport


@pytest.fixture(scope="session")
def convo_mock() -> t.Iterator[RunningMock]:
    """Every family of the mock on a free 127.0.0.1 port, for the whole test session."""
    mock = RunningMock.start()
    try:
        yield mock
    finally:
        mock.stop()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("convo-conformance", "conformance suite of convo-mock, as pytest tests")
    group.addoption("--convo-conformance", metavar="FAMILY", help="run FAMILY's conformance checks as tests")
    group.addoption("--convo-base-url", metavar="URL", help="the server to check (the family's base URL)")
    group.addoption("--convo-api-key", metavar="KEY", help="API key (default $CONVO_API_KEY)")
    group.addoption("--convo-api-key-2", metavar="KEY", help="a second tenant's key (default $CONVO_API_KEY_2)")
    group.addoption("--convo-max-examples", type=int, default=25, metavar="N", help="schemathesis examples per "
                    "operation (default 25)")
    group.addoption("--convo-seed", type=int, metavar="N", help="seed (default: drawn and shown in the header)")
    group.addoption("--convo-max-time", type=float, metavar="SECONDS", help="bound on the whole run")
    group.addoption("--convo-strict", action="store_true", help="warnings and unsupported findings fail too")


class _SuiteRun:
    """The one conformance run the check tests share, made when the first of them runs."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.seed = config.getoption("convo_seed")
        if self.seed is None:
            self.seed = random.randrange(2**31)
        self._report: RunReport | None = None
        self.output = ""

    def report(self) -> RunReport:
        if self._report is None:
            from conformance.report import ConsoleReporter
            from conformance.runner import RunOptions, run

            option = self.config.getoption
            key = option("convo_api_key") or os.environ.get("CONVO_API_KEY")
            if not key:
                raise pytest.UsageError("--convo-conformance needs --convo-api-key or CONVO_API_KEY")
            options = RunOptions(
                family=option("convo_conformance"), base_url=option("convo_base_url"), api_key=key,
                api_key_2=option("convo_api_key_2") or os.environ.get("CONVO_API_KEY_2"),
                max_examples=option("convo_max_examples"), seed=self.seed, max_time=option("convo_max_time"),
                strict=option("convo_strict"))
            stream = io.StringIO()
            self._report = run(options, ConsoleReporter(stream, colour=False))
            self.output = stream.getvalue()
        return self._report


def _check_names(family: str) -> list[str]:
    """The checks a run of ``family`` reports, in run order (as ``conformance.runner`` and
    ``conformance.schemathesis_phase`` name them)."""
    from conformance.profiles import get
    from conformance.schemathesis_phase import CHECKS, NETWORK_CHECK, PREFIX

    profile = get(family)
    names = [entry if isinstance(entry, str) else entry.__name__ for entry in (*profile.checks, *profile.extra_checks)]
    return names + [PREFIX + name for name in (*CHECKS, NETWORK_CHECK)
                    if name not in profile.schemathesis_excluded_checks]


class ConformanceCheck(pytest.Item):
    """One check of the conformance run."""

    def __init__(self, *, suite: _SuiteRun, check: str | None, **kwargs: t.Any) -> None:
        super().__init__(**kwargs)
        self.suite, self.check = suite, check
        self.add_marker(pytest.mark.xdist_group("convo-conformance"))

    def runtest(self) -> None:
        report = self.suite.report()
        if self.check is None:
            self._whole_run(report)
            return
        results = [result for result in report.results if result.name == self.check]
        if not results:
            pytest.skip(f"{self.check} did not run: {report.stopped or 'not part of this run'}")
        result = results[0]
        _judge(result)

    def _whole_run(self, report: RunReport) -> None:
        if report.stopped:
            pytest.fail(f"the conformance run did not finish: {report.stopped}", pytrace=False)
        predicted = set(_check_names(report.family))
        extra = [result for result in report.results if result.name not in predicted]
        failed = [result for result in extra if result.failed]
        if failed:
            pytest.fail("\n".join(_describe(result) for result in failed), pytrace=False)

    def reportinfo(self) -> tuple[os.PathLike[str] | str, int | None, str]:
        return self.path, None, f"conformance {self.name}"

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: t.Any = None) -> str:
        if isinstance(excinfo.value, pytest.fail.Exception):
            return str(excinfo.value)
        return str(super().repr_failure(excinfo))


def _describe(result: CheckResult) -> str:
    lines = [f"{result.name}: {result.status.value}" + (f" ({result.reason})" if result.reason else "")]
    for finding in result.failures:
        lines += [f"- [{finding.severity.value}] {finding.operation}", f"  expected: {finding.expected}",
                  f"  actual:   {finding.actual}"]
        if finding.curl:
            lines.append(f"  {finding.curl}")
    return "\n".join(lines)


def _judge(result: CheckResult) -> None:
    from conformance.findings import Status

    if result.status is Status.SKIPPED:
        pytest.skip(f"{result.name}: {result.reason}")
    if result.failed:
        pytest.fail(_describe(result), pytrace=False)


def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    family = config.getoption("convo_conformance")
    if not family:
        return
    from conformance.profiles import available

    if family not in available():
        raise pytest.UsageError(f"--convo-conformance: unknown family {family!r} (known: {', '.join(available())})")
    if not config.getoption("convo_base_url"):
        raise pytest.UsageError("--convo-conformance needs --convo-base-url")
    suite = _SuiteRun(config)
    config.stash[_SUITE] = suite
    for check in [*_check_names(family), None]:
        name = f"{family}::{check or 'run'}"
        items.append(ConformanceCheck.from_parent(session, name=name, suite=suite, check=check))


_SUITE = pytest.StashKey[_SuiteRun]()


def pytest_report_header(config: pytest.Config) -> str | None:
    suite = config.stash.get(_SUITE, None)
    family = config.getoption("convo_conformance", None)
    if not family:
        return None
    return f"convo-conformance: {family} at {config.getoption('convo_base_url')}" + (
        f", seed {suite.seed}" if suite is not None else "")
