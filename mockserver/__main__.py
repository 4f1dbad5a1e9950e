"""Entry point for ``python -m mockserver``."""

from mockserver.cli import main

raise SystemExit(main())
