"""Conformance suite for LLM conversation APIs: checks a running server against a family's contract.

A run combines schemathesis (examples, coverage, fuzzing and stateful phases driven by the family's
OpenAPI document) with contract checks schemathesis has no notion of (error envelope, pagination,
lifecycle, limits, auth, tenant isolation, streamed turns) and each family's own checks. Families are
plug-ins: see `conformance.profiles`.
"""

__all__ = ["__version__"]

__version__ = "0.1.0"
