"""Ids nothing has: what VirtuousAI's checks and probes name when something must not exist.

(FastAPI's error bodies, which VirtuousAI answers with, are rules of the FastAPI dialect:
`conformance.dialects.fastapi`.)"""

from __future__ import annotations

# Ids nothing will ever have been given (version-4 UUIDs of zeros and ones).
UNKNOWN_ID = "00000000-0000-4000-8000-000000000000"
OTHER_UNKNOWN_ID = "11111111-1111-4111-8111-111111111111"
