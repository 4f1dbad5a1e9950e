"""Opaque pagination cursors for families whose lists hand out ``nextCursor`` strings.

A cursor encodes which list it belongs to and the store position to resume after
(``Collection.page(after_position=…)``), so it keeps working while records are added, deleted or moved
during a walk. A cursor that does not decode, or belongs to another list, is an ``InvalidRequest`` on the
``cursor`` query parameter; each family words that in its own envelope.
"""

from __future__ import annotations

import base64
import binascii

from mockserver.errors import InvalidRequest, Violation

_VERSION = "c1"


def encode_cursor(scope: str, position: int) -> str:
    """The opaque cursor for resuming ``scope``'s list after store position ``position``."""
    raw = f"{_VERSION}:{scope}:{position}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(scope: str, cursor: str, parameter: str = "cursor") -> int:
    """The position a cursor of ``scope``'s list resumes after; raises ``InvalidRequest`` if it is not one."""
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        version, cursor_scope, position = text.rsplit(":", 2) if text.count(":") >= 2 else ("", "", "")
        if version != _VERSION or cursor_scope != scope or not position.isdigit():
            raise ValueError(text)
        return int(position)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise InvalidRequest([Violation("query", (parameter,), "value", None, cursor, "Invalid cursor")]) from None
