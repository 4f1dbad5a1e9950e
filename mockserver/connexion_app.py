"""Builds the Connexion app that serves one family from its spec.

Connexion routes, authenticates (``mockserver.auth``) and validates (``mockserver.validation``) every
request against the family's contract; the family's handlers hold the behaviour. Every error on the
way — Connexion's own problems, Starlette's 404/405, bad JSON, a crash — is converted to a
``MockError`` and rendered by the family, so clients only ever see the vendor's envelope.

Every handler is all-or-nothing: the resolver hands Connexion (and so both request paths, the fast one of
``mockserver.pipeline`` and Connexion's own) each handler wrapped in a store transaction
(``atomic_handler``), so an error never leaves state behind and no family has to remember it; around the
transaction, ``mockserver.selection`` lets a ``Prefer`` header or a fault rule answer instead.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import typing as t
from pathlib import Path

import yaml
from connexion import AsyncApp
from connexion.exceptions import (
    BadRequestProblem,
    OAuthProblem,
    ProblemException,
    UnsupportedMediaTypeProblem,
)
from connexion.lifecycle import ConnexionRequest, ConnexionResponse
from connexion.resolver import Resolver
from starlette.exceptions import HTTPException

from mockserver.auth import security_map
from mockserver.declared import declared_operations
from mockserver.errors import (
    InternalError,
    InvalidRequest,
    MethodNotAllowed,
    MockError,
    RouteNotFound,
    Unauthenticated,
    UnsupportedMediaType,
    Violation,
)
from mockserver.family import Family
from mockserver.pipeline import CachedURIParser, FamilyApp
from mockserver.responses import dumps
from mockserver.selection import ResponseSelector
from mockserver.store import Store
from mockserver.validation import VALIDATOR_MAP

logger = logging.getLogger("mockserver")


def as_mock_error(request: ConnexionRequest, exc: Exception) -> MockError:
    """Map any exception raised while serving a request to the vendor-neutral ``MockError``."""
    if isinstance(exc, MockError):
        return exc
    if isinstance(exc, OAuthProblem) or getattr(exc, "status", None) == 401:
        return Unauthenticated(str(getattr(exc, "detail", "")))
    if isinstance(exc, UnsupportedMediaTypeProblem):
        return UnsupportedMediaType(request.headers.get("content-type", ""))
    if isinstance(exc, BadRequestProblem):
        return InvalidRequest([Violation("request", (), "invalid", message=str(exc.detail))])
    if isinstance(exc, HTTPException):
        if exc.status_code == 405:
            return MethodNotAllowed(request.method, request.url.path)
        if exc.status_code == 404:
            return RouteNotFound(request.method, request.url.path)
        return MockError(str(exc.detail), status=exc.status_code)
    if isinstance(exc, ProblemException):
        return MockError(str(exc.detail or exc.title), status=exc.status)
    logger.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return InternalError("The server had an error while processing your request.")


def error_handler_for(family: Family) -> t.Callable[[ConnexionRequest, Exception], ConnexionResponse]:
    """The error handler that renders every failure in ``family``'s envelope."""

    def handle(request: ConnexionRequest, exc: Exception) -> ConnexionResponse:
        rendered = family.render_error(as_mock_error(request, exc))
        return ConnexionResponse(
            status_code=rendered.status,
            mimetype="application/json",
            body=dumps(rendered.body),
            headers=rendered.headers,
        )

    return handle


def atomic_handler(handler: t.Callable, store: Store) -> t.Callable:
    """``handler`` run inside a transaction of ``store``: if it raises, every write it made is undone.

    For a streaming response, what is covered is the handler's synchronous part, up to the moment it
    returns the response object; the stream's own later writes (a turn completed, a turn failed) are each a
    single step of their own, which the family makes consistent by itself. Connexion reads the handler's
    signature through ``__wrapped__``, so the wrapper takes the same parameters."""
    if asyncio.iscoroutinefunction(handler):
        @functools.wraps(handler)
        async def atomic(*args: t.Any, **kwargs: t.Any) -> t.Any:
            with store.transaction():
                return await handler(*args, **kwargs)
    else:
        @functools.wraps(handler)
        def atomic(*args: t.Any, **kwargs: t.Any) -> t.Any:
            with store.transaction():
                return handler(*args, **kwargs)
    return atomic


def _resolver(family: Family, handlers: t.Mapping[str, t.Callable], store: Store,
              selector: ResponseSelector) -> Resolver:
    def resolve(operation_id: str) -> t.Callable:
        try:
            handler = handlers[operation_id]
        except KeyError:
            raise LookupError(f"family {family.name!r} has no handler for operation {operation_id!r}") from None
        return selector.wrap(operation_id, atomic_handler(handler, store))

    return Resolver(function_resolver=resolve)


def _specification(family: Family) -> Path | dict:
    """The contract, with the family's support paths (``Family.support_paths``) added when it has any."""
    if not family.support_paths:
        return family.spec_path
    document = yaml.safe_load(family.spec_path.read_text())
    clashes = sorted(set(document["paths"]) & set(family.support_paths))
    if clashes:
        raise ValueError(f"family {family.name}: support paths {clashes} are already in its contract")
    document["paths"] = {**document["paths"], **family.support_paths}
    return document


def build_family_app(family: Family, store: Store, *, fast_path: bool = True,
                     selector: ResponseSelector | None = None) -> FamilyApp:
    """The app serving ``family`` under its ``base_path``, keeping state in ``store``; ``selector`` (by
    default one with no default preference and no fault rules) answers ``Prefer`` and fault rules.

    It is a Connexion ``AsyncApp`` (``.connexion_app``) whose middleware stack is built at start-up and run
    for matched operations as one call (``mockserver.pipeline``); everything else goes through the
    ``AsyncApp`` itself (everything, with ``fast_path=False``).
    """
    app = AsyncApp(
        f"mockserver.families.{family.name}",
        security_map=security_map(family.tenant_of),
        validator_map=VALIDATOR_MAP,
        uri_parser_class=CachedURIParser,
    )
    app.add_api(
        _specification(family),
        base_path=family.base_path,
        resolver=_resolver(family, family.create_handlers(store), store,
                           selector or ResponseSelector(family, declared_operations(family), None)),
        validate_responses=False,
        swagger_ui_options=None,
    )
    handler = error_handler_for(family)
    for key in (MockError, ProblemException, HTTPException, 404, 405, Exception):
        app.add_error_handler(key, handler)
    return FamilyApp(app, handler, fast_path=fast_path)
