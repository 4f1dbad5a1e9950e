"""The ``Prefer`` request header, read as Stoplight Prism reads it: which declared response a request wants.

``Prefer: code=501`` asks for the operation's declared 501, ``Prefer: example=rate_limited`` for the
declared response holding the example of that name, ``Prefer: delay=250`` for the answer 250 ms later
(at most ``MAX_DELAY_MS``; a larger value is cut to it). Preferences are separated by commas or
semicolons (``Prefer: code=429, delay=100``), names are case-insensitive, values may be quoted, several
``Prefer`` headers add up, and preferences the mock does not know (``respond-async``, Prism's ``dynamic``)
are ignored, as RFC 7240 says. A family's default (``convo-mock serve --prefer venna:code=501``) is merged
under a request's own header: what the request names wins, key by key.
"""

from __future__ import annotations

import typing as t
from dataclasses import dataclass

from mockserver.errors import InvalidRequest, Violation

MAX_DELAY_MS = 30_000
"""The longest delay a ``Prefer: delay`` gets, in milliseconds."""
KNOWN = ("code", "example", "delay")


@dataclass(frozen=True)
class Preference:
    """What a request prefers; every field optional."""

    code: int | None = None
    example: str | None = None
    delay_ms: float | None = None

    @property
    def empty(self) -> bool:
        return self.code is None and self.example is None and self.delay_ms is None

    def under(self, own: Preference) -> Preference:
        """This default with ``own``'s fields put over it."""
        return Preference(code=own.code if own.code is not None else self.code,
                          example=own.example if own.example is not None else self.example,
                          delay_ms=own.delay_ms if own.delay_ms is not None else self.delay_ms)

    def as_header(self) -> str:
        parts = [f"code={self.code}" if self.code is not None else "",
                 f"example={self.example}" if self.example is not None else "",
                 f"delay={self.delay_ms:g}" if self.delay_ms is not None else ""]
        return ", ".join(p for p in parts if p)


NO_PREFERENCE = Preference()


class BadPreference(ValueError):
    """A ``Prefer`` value the mock cannot follow (``code=abc``, ``delay=-1``)."""


def _invalid(message: str, value: t.Any) -> InvalidRequest:
    return InvalidRequest([Violation("header", ("prefer",), "prefer", actual=value, message=message)], message)


def parse(values: t.Iterable[str]) -> Preference:
    """The preference of one or more ``Prefer`` header values; raises ``BadPreference``."""
    found: dict[str, str] = {}
    for value in values:
        for token in value.replace(";", ",").split(","):
            name, _, raw = token.partition("=")
            name = name.strip().lower()
            if name in KNOWN:
                found[name] = raw.strip().strip('"').strip()
    if not found:
        return NO_PREFERENCE
    code = example = delay = None
    if "code" in found:
        if not (found["code"].isdigit() and 100 <= int(found["code"]) <= 599):
            raise BadPreference(f"Prefer: code={found['code']!s} is not an HTTP status code")
        code = int(found["code"])
    if "example" in found:
        if not found["example"]:
            raise BadPreference("Prefer: example= names no example")
        example = found["example"]
    if "delay" in found:
        try:
            delay = float(found["delay"])
        except ValueError:
            delay = -1.0
        if not 0 <= delay < float("inf"):
            raise BadPreference(f"Prefer: delay={found['delay']} is not a number of milliseconds >= 0")
        delay = min(delay, MAX_DELAY_MS)
    return Preference(code=code, example=example, delay_ms=delay)


def from_headers(headers: t.Iterable[tuple[bytes, bytes]]) -> Preference | None:
    """The preference in an ASGI header list (None when there is no ``Prefer`` header); raises
    ``InvalidRequest`` for one the mock cannot follow."""
    values: list[str] | None = None
    for key, value in headers:
        if key == b"prefer":
            if values is None:
                values = []
            values.append(value.decode("latin-1"))
    if values is None:
        return None
    try:
        return parse(values)
    except BadPreference as exc:
        raise _invalid(str(exc), values) from None


def family_defaults(options: t.Iterable[str], families: t.Collection[str]) -> dict[str, Preference]:
    """``--prefer FAMILY:PREFERENCE`` options as family → default preference; raises ``ValueError``."""
    defaults: dict[str, Preference] = {}
    for option in options:
        name, separator, value = option.partition(":")
        if not separator or not value.strip():
            raise ValueError(f"--prefer {option!r}: expected FAMILY:PREFERENCE, e.g. openai:code=429")
        if name not in families:
            raise ValueError(f"--prefer {option!r}: unknown family {name!r} (served: {', '.join(families)})")
        try:
            preference = parse([value])
        except BadPreference as exc:
            raise ValueError(f"--prefer {option!r}: {exc}") from None
        if preference.empty:
            raise ValueError(f"--prefer {option!r}: no code=, example= or delay= in it")
        defaults[name] = defaults.get(name, NO_PREFERENCE).under(preference)
    return defaults
