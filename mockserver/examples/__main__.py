"""``python -m mockserver.examples [faults | FAMILY]``: print where an installed example file is.

With no argument, every example's path, one a line; with ``faults``, the fault rule file's; with a family's
name, its fixture document's (exit 2 if there is none).
"""

from __future__ import annotations

import sys

from mockserver.examples import faults_path, fixture_families, fixture_path


def main(argv: list[str] | None = None) -> int:
    """Print the path(s) asked for; 0 on success, 2 for an unknown name."""
    names = sys.argv[1:] if argv is None else argv
    if not names:
        print(faults_path())
        for family in fixture_families():
            print(fixture_path(family))
        return 0
    for name in names:
        try:
            print(faults_path() if name == "faults" else fixture_path(name))
        except FileNotFoundError as exc:
            print(exc, file=sys.stderr)
            return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
