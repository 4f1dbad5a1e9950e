"""Command line: `convo-conformance run FAMILY --base-url URL --api-key KEY [...]`.

Exit codes: 0 conformant, 1 violations found, 2 usage error or target unreachable.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from hypothesis.configuration import set_hypothesis_home_dir

from conformance.profiles import available
from conformance.report import ConsoleReporter, write_json, write_junit
from conformance.runner import EXIT_USAGE, RunOptions, TargetUnreachable, exit_code, run

DEFAULT_MAX_EXAMPLES = 100
EXIT_CODES = "exit codes: 0 conformant, 1 violations found, 2 usage error or target unreachable"


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
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    run_parser = commands.add_parser(
        "run",
        help="run the conformance suite of a family against a server",
        description="Run the conformance suite of FAMILY against the server at --base-url.",
        epilog=f"families:\n{listing}\n\n{EXIT_CODES}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    run_parser.add_argument("family", metavar="FAMILY", choices=sorted(families), help="one of: " + ", ".join(families))
    run_parser.add_argument(
        "--base-url",
        required=True,
        help="URL the spec's paths are appended to, as an SDK takes it (e.g. http://127.0.0.1:4010/openai/v1)",
    )
    run_parser.add_argument("--api-key", required=True, help="API key of the first tenant")
    run_parser.add_argument("--api-key-2", help="API key of a second tenant; enables the tenant isolation checks")
    run_parser.add_argument(
        "--junit-xml", type=Path, metavar="FILE", help="write a JUnit XML report (one testcase per check)"
    )
    run_parser.add_argument("--json", type=Path, metavar="FILE", help="write a JSON report")
    run_parser.add_argument(
        "--max-examples",
        type=_positive_int,
        default=DEFAULT_MAX_EXAMPLES,
        metavar="N",
        help=f"examples per operation and phase for generated tests (default {DEFAULT_MAX_EXAMPLES})",
    )
    run_parser.add_argument("--seed", type=int, help="seed for every generator, to reproduce a run (default: random)")
    run_parser.add_argument(
        "--timeout", type=float, default=15.0, metavar="SECONDS", help="per-request timeout (default 15)"
    )
    return parser


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if not args.base_url.startswith(("http://", "https://")):
        print(f"error: --base-url must be an http(s) URL, got {args.base_url!r}", file=sys.stderr)
        return EXIT_USAGE
    if args.api_key_2 is not None and args.api_key_2 == args.api_key:
        print("error: --api-key-2 must differ from --api-key", file=sys.stderr)
        return EXIT_USAGE
    options = RunOptions(
        family=args.family,
        base_url=args.base_url.rstrip("/"),
        api_key=args.api_key,
        api_key_2=args.api_key_2,
        max_examples=args.max_examples,
        seed=args.seed if args.seed is not None else random.randrange(2**31),
        timeout=args.timeout,
    )
    reporter = ConsoleReporter()
    # Hypothesis keeps caches in ./.hypothesis; a run must not litter the directory it is started from.
    with tempfile.TemporaryDirectory(prefix="convo-conformance-") as scratch:
        set_hypothesis_home_dir(scratch)
        try:
            report = run(options, reporter)
        except TargetUnreachable as exc:
            print(f"error: {exc}", file=sys.stderr)
            return EXIT_USAGE
        finally:
            set_hypothesis_home_dir(None)
    reporter.summary(report)
    if args.json:
        write_json(report, args.json)
    if args.junit_xml:
        write_junit(report, args.junit_xml)
    return exit_code(report)
