"""Reporting: progress and summary on the console, JUnit XML for CI, JSON for other tools.

(The HTML report is `conformance.html_report`.) Every report says how the run ended: a verdict per
check, every finding with its severity and curl line, and, for a run that did not finish (interrupted,
out of time, target unreachable), why.
"""

from __future__ import annotations

import json
import re
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import TextIO

from rich.console import Console

from conformance.findings import CheckResult, Failure, RunReport, Severity, Status
from conformance.progress import Progress

_STYLES = {
    Status.PASSED: "green",
    Status.FAILED: "bold red",
    Status.ERROR: "bold red",
    Status.WARNING: "yellow",
    Status.UNSUPPORTED: "magenta",
    Status.SKIPPED: "dim",
}


class ConsoleReporter:
    """Prints one line as each check or phase starts and finishes, progress in between, then every
    finding and a summary. In colour, with a live progress line, on a terminal; plain otherwise."""

    def __init__(self, stream: TextIO | None = None, *, colour: bool | None = None) -> None:
        self.stream = stream or sys.stdout
        self.started = time.perf_counter()
        is_tty = colour if colour is not None else bool(getattr(self.stream, "isatty", lambda: False)())
        self.console = Console(file=self.stream, force_terminal=is_tty, no_color=not is_tty, highlight=False)
        self.tty = is_tty
        self.progress = Progress(self.console, self.stream, live=is_tty, started=self.started)

    def line(self, text: str, style: str | None = None) -> None:
        elapsed = time.perf_counter() - self.started
        if self.tty:
            self.console.print(f"[{elapsed:6.1f}s] {text}", style=style, markup=False)
        else:
            print(f"[{elapsed:6.1f}s] {text}", file=self.stream, flush=True)

    def request_sent(self, operation: str, count: int = 1) -> None:
        self.progress.request(operation, count)

    def check_started(self, name: str, description: str) -> None:
        self.progress.stage_started(name)
        self.line(f"{name}: started - {description}" if description else f"{name}: started")

    def check_finished(self, result: CheckResult) -> None:
        if result.status is Status.SKIPPED:
            self.line(f"{result.name}: SKIPPED ({result.reason})", _STYLES[result.status])
            return
        detail = f"{result.requests} requests, {result.duration:.1f}s" if result.requests else f"{result.duration:.1f}s"
        self.line(f"{result.name}: {verdict_of(result)} [{detail}]", _STYLES[result.status])

    def finish(self) -> None:
        self.progress.stop()

    def summary(self, report: RunReport) -> None:
        self.finish()
        out = self.stream
        for result in report.results:
            if not result.failures and result.status is not Status.ERROR:
                continue
            self._print(f"\n{result.status.value.upper()} {result.name}", _STYLES[result.status])
            if result.status is Status.ERROR:
                print(f"  {result.reason}", file=out)
            for number, finding in enumerate(result.failures, 1):
                # What the server sent is shown, never obeyed: control characters (ESC...) as escapes.
                tag = "" if finding.severity is Severity.FAILURE else f" [{finding.severity.value}]"
                print(f"  {number}) {xml_safe(finding.operation)}{tag}", file=out)
                print(f"     expected: {xml_safe(finding.expected)}", file=out)
                print(f"     actual:   {xml_safe(finding.actual)}", file=out)
                for index, curl in enumerate(xml_safe(finding.curl).splitlines() or ["(no request)"]):
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
            f"{s['failed']} failed, {s['warning']} with warnings, {s['unsupported']} unsupported, "
            f"{s['skipped']} skipped; {s['requests_sent']} requests in {report.duration:.1f}s (seed {report.seed})",
            file=out,
        )
        if report.stopped:
            print(f"run stopped: {report.stopped}", file=out)
        style = "bold red" if report.failed else ("yellow" if report.verdict != "conformant" else "bold green")
        self._print("result: " + report.verdict + (" (--strict)" if report.strict else ""), style)
        out.flush()

    def _print(self, text: str, style: str | None) -> None:
        if self.tty:
            self.console.print(text, style=style, markup=False)
        else:
            print(text, file=self.stream)


def verdict_of(result: CheckResult) -> str:
    """`passed`, `FAILED (2 failures)`, `warning (1 warning)`... for one check."""
    if result.status is Status.PASSED:
        return "passed"
    if result.status is Status.ERROR:
        return f"ERROR ({result.reason})"
    if result.status is Status.SKIPPED:
        return "skipped"
    parts = []
    words = ((Severity.FAILURE, "failure"), (Severity.WARNING, "warning"), (Severity.UNSUPPORTED, "unsupported"))
    for severity, word in words:
        count = result.count(severity)
        if severity is Severity.FAILURE and result.status is Status.FAILED:
            count += result.omitted
        if count:
            parts.append(f"{count} {word}{'s' if count != 1 and word != 'unsupported' else ''}")
    label = "FAILED" if result.status is Status.FAILED else result.status.value
    return f"{label} ({', '.join(parts)})" if parts else label


# --- JSON ----------------------------------------------------------------------------------------------


def report_dict(report: RunReport) -> dict[str, object]:
    findings = [finding for result in report.results for finding in result.failures]

    def of(severity: Severity) -> list[dict[str, str]]:
        return [finding.as_dict() for finding in findings if finding.severity is severity]

    return {
        "family": report.family,
        "base_url": report.base_url,
        "summary": report.summary(),
        "checks": [
            {
                "name": result.name,
                "status": result.status.value,
                "description": result.description,
                "failures": result.count(Severity.FAILURE) + (result.omitted if result.status is Status.FAILED else 0),
                "warnings": result.count(Severity.WARNING),
                "unsupported": result.count(Severity.UNSUPPORTED),
                "omitted": result.omitted,
                "requests": result.requests,
                "duration_seconds": round(result.duration, 3),
                **({"reason": result.reason} if result.reason else {}),
            }
            for result in report.results
        ],
        "failures": of(Severity.FAILURE),
        "warnings": of(Severity.WARNING),
        "unsupported": of(Severity.UNSUPPORTED),
        "skipped": [
            {"check": result.name, "reason": result.reason}
            for result in report.results
            if result.status is Status.SKIPPED
        ],
        "notes": report.notes,
    }


def write_json(report: RunReport, path: Path) -> None:
    path.write_text(json.dumps(report_dict(report), indent=2) + "\n", encoding="utf-8")


# --- JUnit XML -----------------------------------------------------------------------------------------

# Characters XML 1.0 cannot hold at all, even escaped (NUL, most C0 controls, lone surrogates, U+FFFE/F).
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def xml_safe(text: str) -> str:
    """`text` with every character XML cannot hold written as a visible escape (NUL becomes `\\x00`)."""
    return _XML_ILLEGAL.sub(lambda match: f"\\x{ord(match.group()):02x}" if ord(match.group()) < 256
                            else f"\\u{ord(match.group()):04x}", text)


def _block(finding: Failure) -> str:
    tag = "" if finding.severity is Severity.FAILURE else f"[{finding.severity.value}] "
    return (
        f"{tag}operation: {finding.operation}\nexpected: {finding.expected}\nactual: {finding.actual}\n"
        f"curl: {finding.curl}"
    )


def _element(parent: ET.Element, tag: str, text: str | None = None, **attributes: str) -> ET.Element:
    element = ET.SubElement(parent, tag, {name: xml_safe(value) for name, value in attributes.items()})
    if text is not None:
        element.text = xml_safe(text)
    return element


def write_junit(report: RunReport, path: Path) -> None:
    """One testcase per check. Failures are <failure>; warnings and unsupported findings <skipped> with
    every finding's details (they do not fail the run); a check cut short, and a run that did not finish
    (testcase `run`), <error>."""
    suite_name = f"conformance.{report.family}"
    cases = len(report.results) + (1 if report.stopped else 0)
    root = _element(ET.Element("root"), "testsuites", name="convo-conformance", tests=str(cases))
    errors = report.count(Status.ERROR) + (1 if report.stopped else 0)
    suite = _element(
        root,
        "testsuite",
        name=suite_name,
        tests=str(cases),
        failures=str(report.count(Status.FAILED)),
        errors=str(errors),
        skipped=str(sum(report.count(status) for status in (Status.SKIPPED, Status.WARNING, Status.UNSUPPORTED))),
        time=f"{report.duration:.3f}",
    )
    properties = _element(suite, "properties")
    values: list[tuple[str, object]] = [
        ("base_url", report.base_url),
        ("seed", report.seed),
        ("requests_sent", report.requests),
        ("result", report.verdict),
        ("interrupted", str(report.interrupted).lower()),
        ("strict", str(report.strict).lower()),
    ]
    values += [(f"{name}_seconds", f"{seconds:.3f}") for name, seconds in report.phase_seconds.items()]
    for name, value in values:
        _element(properties, "property", name=name, value=str(value))
    if report.stopped:
        case = _element(suite, "testcase", classname=suite_name, name="run", time=f"{report.duration:.3f}")
        _element(case, "error", f"the run did not finish: {report.stopped}", message=report.stopped, type="stopped")
    for result in report.results:
        case = _element(suite, "testcase", classname=suite_name, name=result.name, time=f"{result.duration:.3f}")
        blocks = [_block(finding) for finding in result.failures]
        if result.omitted:
            blocks.append(f"... and {result.omitted} more like these")
        details = "\n\n".join(blocks)
        if result.status is Status.SKIPPED:
            _element(case, "skipped", message=result.reason or "skipped")
        elif result.status is Status.ERROR:
            _element(case, "error", details or (result.reason or ""), message=result.reason or "error", type="stopped")
        elif result.status is Status.FAILED:
            count = result.count(Severity.FAILURE) + result.omitted
            _element(case, "failure", details, message=f"{count} violation(s) of the contract", type=result.name)
        elif result.status in (Status.WARNING, Status.UNSUPPORTED):
            _element(case, "skipped", details, message=f"{verdict_of(result)}: does not fail the run (--strict would)",
                     type=result.status.value)
    ET.indent(root)
    ET.ElementTree(root).write(path, encoding="utf-8", xml_declaration=True)
