"""Vendor-shaped identifiers and timestamps."""

from __future__ import annotations

import secrets
import time
import uuid
from datetime import datetime, timezone


def new_id(prefix: str, hex_digits: int = 48) -> str:
    """Return ``<prefix>_<hex>``, e.g. ``conv_68fb…`` (48 hex digits like OpenAI's ids)."""
    return f"{prefix}_{secrets.token_hex(hex_digits // 2)}"


def unix_seconds() -> int:
    """The current time as whole seconds since the Unix epoch."""
    return int(time.time())


def new_uuid() -> str:
    """A random UUID in its canonical hyphenated form."""
    return str(uuid.uuid4())


def iso_now() -> str:
    """The current UTC time as FastAPI/pydantic serialise it: ``2025-01-02T03:04:05.678901Z``."""
    return datetime.now(timezone.utc).isoformat().replace("+00:00", "Z")
