"""Command line: `convo-conformance run FAMILY --base-url URL [--api-key KEY] [...]`.

Exit codes: 0 conformant (warnings allowed, unless --strict), 1 violations found (or out of time),
2 usage error or target unreachable, 130 interrupted. Keys come from `--api-key`/`--api-key-2` or,
better (the command line is visible to every user of the machine), `CONVO_API_KEY`/`CONVO_API_KEY_2`.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
from collections.abc import Mapping, Sequence
from importlib import metadata
from pathlib import Path

from hypothesis.configuration import set_hypothesis_home_dir

from conformance.findings import RunReport
from conformance.html_report import write_html
from conformance.profiles import Profile, available
from conformance.profiles.base import ProfileOption
from conformance.report import ConsoleReporter, write_json, write_junit
from conformance.runner import EXIT_INTERRUPTED, EXIT_USAGE, RunOptions, exit_code, run

DEFAULT_MAX_EXAMPLES = 100
DEFAULT_TIMEOUT = 15.0
DEFAULT_MAX_BODY_MB = 16
KEY_VARIABLE = "CONVO_API_KEY"
KEY_2_VARIABLE = "CONVO_API_KEY_2"
FAMILY_OPTION_PREFIX = "family_option_"
EXIT_CODES = (
    "exit codes: 0 conformant (warnings allowed unless --strict), 1 violations found or --max-time spent,\n"
    "            2 usage error or target unreachable, 130 interrupted"
)
ENVIRONMENT = (
    f"environment:\n  {KEY_VARIABLE}    API key of the first tenant (used when --api-key is not given)\n"
    f"  {KEY_2_VARIABLE}  API key of a second tenant (used when --api-key-2 is not given)"
)


def package_version() -> str:
    try:
        return metadata.version("convo-mock")
    except metadata.PackageNotFoundError:
        return "unknown"


def build_parser() -> argparse.ArgumentParser:
    families = available()
    listing = "\n".join(
        f"  {name:<10} {profile.title} (openapi/{profile.spec_file})" for name, profile in families.items()
    )
    parser = argparse.ArgumentParser(
        prog="convo-conformance",
        description="Check a running server against an LLM conversation API contract.",
        epilog=f"families:\n{listing}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {package_version()}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    run_parser = commands.add_parser(
        "run",
        help="run the conformance suite of a family against a server",
        description="Run the conformance suite of FAMILY against the server at --base-url.",
        epilog=f"families:\n{listing}\n\n{EXIT_CODES}\n\n{ENVIRONMENT}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    run_parser.add_argument("family", metavar="FAMILY", choices=sorted(families), help="one of: " + ", ".join(families))
    run_parser.add_argument(
        "--base-url",
        required=True,
        help="URL the spec's paths are appended to, as an SDK takes it (e.g. http://127.0.0.1:4010/openai/v1)",
    )
    run_parser.add_argument(
        "--api-key", help=f"API key of the first tenant (default: ${KEY_VARIABLE}; the environment keeps it out of ps)"
    )
    run_parser.add_argument(
        "--api-key-2",
        help=f"API key of a second tenant; enables the tenant isolation checks (default: ${KEY_2_VARIABLE})",
    )
    run_parser.add_argument(
        "--junit-xml", type=Path, metavar="FILE", help="write a JUnit XML report (one testcase per check)"
    )
    run_parser.add_argument("--json", type=Path, metavar="FILE", help="write a JSON report")
    run_parser.add_argument("--html", type=Path, metavar="FILE", help="write a self-contained HTML report")
    run_parser.add_argument(
        "--max-examples",
        type=_positive_int,
        default=DEFAULT_MAX_EXAMPLES,
        metavar="N",
        help=f"examples per operation and phase for generated tests (default {DEFAULT_MAX_EXAMPLES})",
    )
    run_parser.add_argument("--seed", type=int, help="seed for every generator, to reproduce a run (default: random)")
    run_parser.add_argument(
        "--timeout",
        type=_positive_seconds,
        default=DEFAULT_TIMEOUT,
        metavar="SECONDS",
        help=f"time a request may take, whole response included (default {DEFAULT_TIMEOUT:g})",
    )
    run_parser.add_argument(
        "--max-time",
        type=_positive_seconds,
        metavar="SECONDS",
        help="time budget of the whole run; a run that spends it stops, says where, and fails (default: none)",
    )
    run_parser.add_argument(
        "--max-body",
        type=_positive_int,
        default=DEFAULT_MAX_BODY_MB,
        metavar="MB",
        help=f"largest response body read, in MiB; a longer one is cut off, reported (default {DEFAULT_MAX_BODY_MB})",
    )
    run_parser.add_argument(
        "--strict", action="store_true", help="count warnings and unsupported operations as failures"
    )
    _add_family_options(run_parser, families)
    return parser


def _add_family_options(parser: argparse.ArgumentParser, families: Mapping[str, Profile]) -> None:
    """The options families declare for themselves (`Profile.options`), each once, saying whose it is."""
    owners: dict[str, list[str]] = {}
    declared: dict[str, ProfileOption] = {}
    for name, profile in families.items():
        for option in profile.options:
            owners.setdefault(option.name, []).append(name)
            declared.setdefault(option.name, option)
    if not declared:
        return
    group = parser.add_argument_group("family options (only for the families named)")
    for name, option in declared.items():
        group.add_argument(
            option.flag, dest=FAMILY_OPTION_PREFIX + name, metavar="VALUE",
            help=f"{', '.join(owners[name])}: {option.help} (default {option.default})",
        )


def family_option_values(args: argparse.Namespace) -> dict[str, str]:
    """The family options given on the command line, by option name."""
    return {
        key[len(FAMILY_OPTION_PREFIX):]: value
        for key, value in vars(args).items()
        if key.startswith(FAMILY_OPTION_PREFIX) and value is not None
    }


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _positive_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds, got {text}")
    return value


def unwritable_report(paths: Sequence[Path | None]) -> str | None:
    """Why a report could not be written where asked (checked before the run), or None."""
    for path in paths:
        if path is None:
            continue
        folder = path.parent if str(path.parent) else Path(".")
        if path.is_dir():
            return f"{path} is a directory"
        if not folder.is_dir():
            return f"cannot write {path}: directory {folder} does not exist"
        if not os.access(folder, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
            return f"cannot write {path}: permission denied"
    return None


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    api_key = args.api_key or os.environ.get(KEY_VARIABLE) or None
    api_key_2 = args.api_key_2 or os.environ.get(KEY_2_VARIABLE) or None
    if not args.base_url.startswith(("http://", "https://")):
        print(f"error: --base-url must be an http(s) URL, got {args.base_url!r}", file=sys.stderr)
        return EXIT_USAGE
    if api_key is None:
        print(f"error: no API key: set {KEY_VARIABLE} (or pass --api-key)", file=sys.stderr)
        return EXIT_USAGE
    if api_key_2 is not None and api_key_2 == api_key:
        print("error: the second key (--api-key-2 / $CONVO_API_KEY_2) must differ from the first", file=sys.stderr)
        return EXIT_USAGE
    family_options = family_option_values(args)
    unknown = sorted(name for name in family_options if name not in {o.name for o in available()[args.family].options})
    if unknown:
        flags = ", ".join("--" + name.replace("_", "-") for name in unknown)
        print(f"error: {flags}: not an option of the {args.family} family", file=sys.stderr)
        return EXIT_USAGE
    problem = unwritable_report([args.junit_xml, args.json, args.html])
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return EXIT_USAGE
    options = RunOptions(
        family=args.family,
        base_url=args.base_url.rstrip("/"),
        api_key=api_key,
        api_key_2=api_key_2,
        max_examples=args.max_examples,
        seed=args.seed if args.seed is not None else random.randrange(2**31),
        timeout=args.timeout,
        max_time=args.max_time,
        max_body=args.max_body * 1024 * 1024,
        strict=args.strict,
        profile_options=tuple(sorted(family_options.items())),
    )
    reporter = ConsoleReporter()
    # Hypothesis keeps caches in ./.hypothesis; a run must not litter the directory it is started from
    # (nor replay examples an earlier run saved: that would make runs with one seed differ).
    with tempfile.TemporaryDirectory(prefix="convo-conformance-") as scratch:
        set_hypothesis_home_dir(scratch)
        try:
            report = run(options, reporter)
        finally:
            set_hypothesis_home_dir(None)
    if report.unreachable:
        print(f"error: {report.unreachable}", file=sys.stderr)
    else:
        reporter.summary(report)
    if report.interrupted:
        print("interrupted", file=sys.stderr)
    write_reports(report, args.json, args.junit_xml, args.html)
    code = exit_code(report)
    return EXIT_INTERRUPTED if report.interrupted else code


def write_reports(report: RunReport, json_path: Path | None, junit_path: Path | None, html_path: Path | None) -> None:
    for path, write in ((json_path, write_json), (junit_path, write_junit), (html_path, write_html)):
        if path is not None:
            write(report, path)
