"""A self-contained HTML report (`--html FILE`): the page a vendor forwards to the engineer who fixes it.

One file, inline CSS, no scripts or external assets: the run's verdict and summary, a table with the
verdict of every check, then every finding with its severity, operation, expected, actual and curl
line. Everything taken from the run is HTML-escaped.
"""

from __future__ import annotations

from html import escape as _html_escape
from pathlib import Path

from conformance.findings import CheckResult, Failure, RunReport, Severity, Status
from conformance.report import verdict_of, xml_safe

_CSS = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,sans-serif;margin:2rem auto;max-width:72rem;padding:0 1rem;
color:#1d232a}
h1{font-size:1.4rem;margin-bottom:.2rem}h2{font-size:1.15rem;margin-top:2rem;border-bottom:1px solid #ddd}
h3{font-size:1rem;margin:1.2rem 0 .4rem}
.verdict{display:inline-block;padding:.25rem .7rem;border-radius:.3rem;font-weight:600;color:#fff}
.passed,.conformant{background:#1f883d}.failed,.error,.stopped{background:#cf222e}
.warning{background:#9a6700}.unsupported{background:#8250df}.skipped{background:#6e7781}
table{border-collapse:collapse;width:100%;margin-top:.6rem}
th,td{text-align:left;padding:.35rem .5rem;border-bottom:1px solid #eee;vertical-align:top}
td.num{text-align:right;white-space:nowrap}
.tag{padding:.05rem .45rem;border-radius:.25rem;color:#fff;font-size:.85em;white-space:nowrap}
.finding{border:1px solid #ddd;border-left-width:.35rem;border-radius:.3rem;padding:.5rem .8rem;margin:.6rem 0}
.finding.failure{border-left-color:#cf222e}.finding.warning{border-left-color:#9a6700}
.finding.unsupported{border-left-color:#8250df}
dl{display:grid;grid-template-columns:6rem 1fr;gap:.2rem .6rem;margin:.3rem 0}dt{color:#57606a}dd{margin:0}
pre{background:#f6f8fa;padding:.5rem;border-radius:.3rem;white-space:pre-wrap;word-break:break-all;margin:.2rem 0}
.muted{color:#57606a}
"""


def escape(text: str) -> str:
    """HTML-escaped, with control characters (a NUL from a generated body...) shown as escapes."""
    return _html_escape(xml_safe(text))


def _verdict_class(report: RunReport) -> str:
    if report.stopped:
        return "stopped"
    if any(result.failed for result in report.results):
        return "failed"
    return "warning" if report.verdict != "conformant" else "conformant"


def _finding(finding: Failure) -> str:
    severity = finding.severity.value
    return (
        f'<div class="finding {severity}"><span class="tag {severity}">{escape(severity)}</span> '
        f"<strong>{escape(finding.operation)}</strong><dl>"
        f"<dt>expected</dt><dd>{escape(finding.expected)}</dd>"
        f"<dt>actual</dt><dd><pre>{escape(finding.actual)}</pre></dd>"
        f"<dt>curl</dt><dd><pre>{escape(finding.curl or '(no request)')}</pre></dd></dl></div>"
    )


def _check_row(result: CheckResult) -> str:
    detail = result.reason if result.status in (Status.SKIPPED, Status.ERROR) else result.description
    return (
        f'<tr><td><a href="#check-{escape(result.name)}">{escape(result.name)}</a></td>'
        f'<td><span class="tag {result.status.value}">{escape(verdict_of(result))}</span></td>'
        f'<td class="num">{result.requests or ""}</td><td class="num">{result.duration:.1f}s</td>'
        f"<td>{escape(detail or '')}</td></tr>"
    )


def render_html(report: RunReport) -> str:
    """The report as one HTML document."""
    s = report.summary()
    facts = [
        ("base URL", report.base_url),
        ("seed", str(report.seed)),
        ("examples per operation", str(report.max_examples)),
        ("requests sent", str(report.requests)),
        ("duration", f"{report.duration:.1f}s"),
        (
            "checks",
            f"{s['passed']} passed, {s['failed']} failed, {s['warning']} with warnings, "
            f"{s['unsupported']} unsupported, {s['skipped']} skipped",
        ),
    ]
    if report.stopped:
        facts.insert(0, ("run stopped", report.stopped))
    if report.strict:
        facts.append(("strict", "warnings and unsupported findings count as failures"))
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>convo-conformance: {escape(report.family)} - {escape(report.verdict)}</title>",
        f"<style>{_CSS}</style></head><body>",
        f"<h1>Conformance of {escape(report.base_url)} to the {escape(report.family)} contract</h1>",
        f'<p><span class="verdict {_verdict_class(report)}">{escape(report.verdict)}</span></p>',
        "<table>",
        *(f"<tr><th>{escape(name)}</th><td>{escape(value)}</td></tr>" for name, value in facts),
        "</table>",
        "<h2>Checks</h2><table><tr><th>check</th><th>verdict</th><th>requests</th><th>time</th><th></th></tr>",
        *(_check_row(result) for result in report.results),
        "</table>",
    ]
    with_findings = [result for result in report.results if result.failures or result.status is Status.ERROR]
    if with_findings:
        parts.append("<h2>Findings</h2>")
        for severity in Severity:
            count = report.findings(severity)
            if count:
                parts.append(f'<span class="tag {severity.value}">{count} {escape(severity.value)}</span> ')
    for result in with_findings:
        parts.append(f'<h3 id="check-{escape(result.name)}">{escape(result.name)}</h3>')
        if result.description:
            parts.append(f'<p class="muted">{escape(result.description)}</p>')
        if result.status is Status.ERROR and result.reason:
            parts.append(f"<p><strong>{escape(result.reason)}</strong></p>")
        parts += [_finding(finding) for finding in result.failures]
        if result.omitted:
            parts.append(f'<p class="muted">... and {result.omitted} more like these</p>')
    if report.notes:
        parts.append("<h2>Notes</h2><ul>")
        parts += [f"<li>{escape(note)}</li>" for note in report.notes]
        parts.append("</ul>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def write_html(report: RunReport, path: Path) -> None:
    path.write_text(render_html(report), encoding="utf-8", errors="backslashreplace")
