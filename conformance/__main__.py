"""`python -m conformance`: the same as the `convo-conformance` command."""

from conformance.cli import main

raise SystemExit(main())
