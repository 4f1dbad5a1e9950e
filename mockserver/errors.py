"""Errors the mock raises, independent of any vendor's envelope.

Handlers and the shared machinery raise these; each family turns them into its own envelope and status
(``Family.render_error``), so no response ever falls back to Connexion's problem+json.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Violation:
    """One way a request broke its schema, in vendor-neutral terms.

    ``location`` is ``body``, ``query``, ``path``, ``header`` or ``cookie``; ``path`` the field's path
    inside it (for parameters, the parameter name first); ``keyword`` the JSON Schema keyword that
    failed (``maximum``, ``enum``, ``required``, ``additionalProperties``, ``propertyNames``, ``type``,
    …, or ``json`` for a body that does not parse and ``body`` for a missing body); ``expected`` the
    keyword's value; ``actual`` the offending value.
    """

    location: str
    path: tuple[str | int, ...]
    keyword: str
    expected: Any = None
    actual: Any = None
    message: str = ""


class MockError(Exception):
    """Base class: an error response the family renders in its own envelope.

    ``field`` is the path of the request input at fault (a parameter's name first, or the body's field
    path, as in ``Violation.path``), ``reason`` a short vendor-neutral snake_case word saying why
    (``invalid_value``, …). Both are optional; each family decides whether and how its envelope shows them
    (OpenAI: ``param`` and ``code``).
    """

    status = 500

    def __init__(self, message: str = "", *, field: tuple[str | int, ...] | None = None, reason: str | None = None,
                 status: int | None = None, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.reason = reason
        if status is not None:
            self.status = status
        self.headers = headers or {}


class InvalidRequest(MockError):
    """The request broke its schema or a rule of the API (400 at OpenAI, 422 at FastAPI vendors)."""

    status = 400

    def __init__(self, violations: list[Violation], message: str = "") -> None:
        super().__init__(message or (violations[0].message if violations else "invalid request"))
        self.violations = violations


class Unauthenticated(MockError):
    status = 401


class NotFound(MockError):
    status = 404


class RouteNotFound(MockError):
    """No operation at this path; ``method`` and ``path`` are the request's."""

    status = 404

    def __init__(self, method: str, path: str) -> None:
        super().__init__(f"{method} {path}")
        self.method = method
        self.path = path


class MethodNotAllowed(RouteNotFound):
    status = 405


class Conflict(MockError):
    status = 409


class UnreadableBody(MockError):
    """The body could not be read as JSON at all, before any schema applies: it is not UTF-8
    (``reason="not_utf8"``) or nests deeper than ``limit`` levels (``reason="too_deep"``)."""

    status = 400

    def __init__(self, reason: str, limit: int | None = None) -> None:
        super().__init__(f"request body unreadable: {reason}", reason=reason)
        self.limit = limit


class UnsupportedMediaType(MockError):
    """The body's content type is not one the operation takes; ``message`` is the type sent."""

    status = 415


class RateLimited(MockError):
    status = 429


class InternalError(MockError):
    status = 500


@dataclass
class ErrorResponse:
    """What a family's renderer returns: status, JSON body and extra headers."""

    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)
