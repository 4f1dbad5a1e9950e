"""Vendor-shaped identifiers and timestamps."""

from __future__ import annotations

import secrets
import time


def new_id(prefix: str, hex_digits: int = 48) -> str:
    """Return ``<prefix>_<hex>``, e.g. ``conv_68fb…`` (48 hex digits like OpenAI's ids)."""
    return f"{prefix}_{secrets.token_hex(hex_digits // 2)}"


def unix_seconds() -> int:
    """The current time as whole seconds since the Unix epoch."""
    return int(time.time())
