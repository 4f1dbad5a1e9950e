"""Reporting: progress and summary on the console, JUnit XML for CI, JSON for other tools."""

from __future__ import annotations

import json
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import TextIO

from conformance.findings import CheckResult, RunReport, Status


class ConsoleReporter:
    """Prints one line as each check or phase starts and finishes, then failures and a summary."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stdout
        self.started = time.perf_counter()

    def line(self, text: str) -> None:
        elapsed = time.perf_counter() - self.started
        print(f"[{elapsed:6.1f}s] {text}", file=self.stream, flush=True)

    def check_started(self, name: str, description: str) -> None:
        self.line(f"{name}: started - {description}" if description else f"{name}: started")

    def check_finished(self, result: CheckResult) -> None:
        if result.status is Status.SKIPPED:
            self.line(f"{result.name}: SKIPPED ({result.reason})")
            return
        failures = len(result.failures) + result.omitted
        detail = f"{result.requests} requests, {result.duration:.1f}s" if result.requests else f"{result.duration:.1f}s"
        verdict = (
            "passed" if result.status is Status.PASSED else f"FAILED ({failures} failure{'s' if failures != 1 else ''})"
        )
        self.line(f"{result.name}: {verdict} [{detail}]")

    def summary(self, report: RunReport) -> None:
        out = self.stream
        failed = [result for result in report.results if result.failed]
        for result in failed:
            print(f"\nFAILED {result.name}", file=out)
            for number, failure in enumerate(result.failures, 1):
                print(f"  {number}) {failure.operation}", file=out)
                print(f"     expected: {failure.expected}", file=out)
                print(f"     actual:   {failure.actual}", file=out)
                for index, curl in enumerate(failure.curl.splitlines() or ["(no request)"]):
                    print(f"     {'curl:    ' if index == 0 else '         '} {curl}", file=out)
            if result.omitted:
                print(f"  ... and {result.omitted} more like these", file=out)
        skipped = [result for result in report.results if result.status is Status.SKIPPED]
        if skipped:
            print("", file=out)
            for result in skipped:
                print(f"SKIPPED {result.name}: {result.reason}", file=out)
        for note in report.notes:
            print(f"note: {note}", file=out)
        s = report.summary()
        print(
            f"\n{report.family} @ {report.base_url}: {s['checks_run']} checks run, {s['passed']} passed, "
            f"{s['failed']} failed, {s['skipped']} skipped; {s['requests_sent']} requests in "
            f"{report.duration:.1f}s (seed {report.seed})",
            file=out,
        )
        print("result: " + ("NOT CONFORMANT" if report.failed else "conformant"), file=out, flush=True)


def report_dict(report: RunReport) -> dict[str, object]:
    return {
        "family": report.family,
        "base_url": report.base_url,
        "summary": report.summary(),
        "checks": [
            {
                "name": result.name,
                "status": result.status.value,
                "description": result.description,
                "failures": len(result.failures) + result.omitted,
                "duration_seconds": round(result.duration, 3),
                **({"reason": result.reason} if result.reason else {}),
            }
            for result in report.results
        ],
        "failures": [failure.as_dict() for result in report.results for failure in result.failures],
        "skipped": [
            {"check": result.name, "reason": result.reason}
            for result in report.results
            if result.status is Status.SKIPPED
        ],
        "notes": report.notes,
    }


def write_json(report: RunReport, path: Path) -> None:
    path.write_text(json.dumps(report_dict(report), indent=2) + "\n", encoding="utf-8")


def write_junit(report: RunReport, path: Path) -> None:
    """One testcase per check; failures as <failure> with every violation's details."""
    s = report.summary()
    suite_name = f"conformance.{report.family}"
    root = ET.Element("testsuites", name="convo-conformance", tests=str(len(report.results)))
    suite = ET.SubElement(
        root,
        "testsuite",
        name=suite_name,
        tests=str(len(report.results)),
        failures=str(s["failed"]),
        errors="0",
        skipped=str(s["skipped"]),
        time=f"{report.duration:.3f}",
    )
    properties = ET.SubElement(suite, "properties")
    for name, value in (("base_url", report.base_url), ("seed", report.seed), ("requests_sent", report.requests)):
        ET.SubElement(properties, "property", name=name, value=str(value))
    for result in report.results:
        case = ET.SubElement(suite, "testcase", classname=suite_name, name=result.name, time=f"{result.duration:.3f}")
        if result.status is Status.SKIPPED:
            ET.SubElement(case, "skipped", message=result.reason or "skipped")
        elif result.status is Status.FAILED:
            count = len(result.failures) + result.omitted
            failure = ET.SubElement(case, "failure", message=f"{count} violation(s) of the contract", type=result.name)
            blocks = [
                f"operation: {f.operation}\nexpected: {f.expected}\nactual: {f.actual}\ncurl: {f.curl}"
                for f in result.failures
            ]
            if result.omitted:
                blocks.append(f"... and {result.omitted} more like these")
            failure.text = "\n\n".join(blocks)
    ET.indent(root)
    ET.ElementTree(root).write(path, encoding="utf-8", xml_declaration=True)
