"""Conformance suite for LLM conversation APIs: checks a running server against a family's contract.

A run combines schemathesis (examples, coverage, fuzzing and stateful phases driven by the family's
OpenAPI document) with contract checks schemathesis has no notion of (error envelope, pagination,
lifecycle, limits, auth, tenant isolation, streamed turns) and each family's own checks. Families are
plug-ins: see `conformance.profiles`.

Rooms, bottom up: `vocabulary` (the data checks and profiles exchange: fixtures, probes, pages, neutral
rejection reasons; knows no profile), `context` (`CheckContext[P]`, generic in the profile it carries),
`paging` (the three kinds of paging and the `Listing` a family declares), `profiles/base` (the
`Profile` hooks), `checks/` (shared checks, which import no family- or shape-specific profile),
`shapes/<shape>/` (a reusable API shape: its profile base and the checks written for it),
`dialects/<dialect>.py` (an error dialect: how invalid requests are refused and reported), and
`profiles/<family>` (a family: shape + dialect + its own rules and checks).
"""

__all__ = ["__version__"]

__version__ = "0.1.0"
