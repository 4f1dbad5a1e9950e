"""Everything the fast path (``mockserver.pipeline``) needs from Connexion's and Starlette's internals.

The fast path runs Connexion's own per-operation objects without Connexion's per-request middleware
calls, so it has to reach into objects Connexion does not document. All of that is here, and only here;
``pipeline`` uses the names this module exports. ``check_internals`` runs at start-up (``FamilyApp``) and
fails with ``ConnexionInternalsChanged``, naming every missing piece, if an upgrade moved any of them.
Connexion is pinned to ``>=3.3,<3.4`` in ``pyproject.toml`` for this reason; the self-check is what makes
an upgrade fail loudly rather than answer differently, and ``tests/test_pipeline.py`` (every family's
contract, fast path against plain Connexion, byte for byte) is what proves a new version still agrees.

What it relies on:

Private names imported
  - ``connexion.context._context``, ``_operation``, ``_receive``, ``_scope``: the context variables Connexion's
    ``ContextMiddleware`` sets and ``connexion.request``/``context`` read.
  - ``connexion.decorators.parameter._get_query_defaults``, ``_get_val_from_param``: how Connexion's
    parameter decorator fills defaults and converts values.
  - ``starlette._utils.get_route_path``: the path Starlette's routers match against.

Private attributes read
  - ``ConnexionMiddleware._build_middleware_stack()`` (and its ``app``/``middleware_stack``): the stack,
    built at start-up instead of on the first request.
  - ``ExceptionMiddleware._exception_handlers``, ``._status_handlers``: to check that every error goes to the
    family's handler.
  - ``RequestValidationOperation._operation``, ``._validator_map``: the operation and validator classes.
  - ``OpenAPIOperation._uri_parser_class``: the URI parser class the operation was set up with.
  - ``AsyncOperation._fn``: the resolved handler function.
  - ``AbstractRequestBodyValidator._insert_messages``: replays the body messages a validator has read.
  - ``OpenAPIURIParser._param_defns``: the parameter definitions (``CachedURIParser`` in ``pipeline``).

Public but undocumented structure relied on
  - The middleware stack is exactly ``MIDDLEWARE_STACK`` (types and order), the routing middleware's
    ``router`` holds one ``Mount`` per API whose ``routes`` are ``Route``s with an ``endpoint.operation_id``;
    the security, validation, context and application middlewares keep ``apis[base_path][0].operations``
    by operation id; ``SecurityOperation.security``/``verification_fn``, ``RequestValidationOperation
    .strict_validation``/``security_query_params``, ``AsyncOperation.pythonic_params``/``jsonifier``.
  - ``deep_merge`` is ``connexion.utils.deep_merge``.
  - ``remaining_mount_path`` repeats the steps of Starlette's ``Mount.matches`` (1.x) without building
    a child scope.
"""

from __future__ import annotations

import importlib
import typing as t
from dataclasses import dataclass

from connexion.apps.asynchronous import AsyncApp, AsyncASGIApp, AsyncOperation
from connexion.middleware.context import ContextMiddleware
from connexion.middleware.exceptions import ExceptionMiddleware
from connexion.middleware.lifespan import LifespanMiddleware
from connexion.middleware.main import ConnexionMiddleware
from connexion.middleware.request_validation import RequestValidationMiddleware, RequestValidationOperation
from connexion.middleware.response_validation import ResponseValidationMiddleware
from connexion.middleware.routing import RoutingMiddleware
from connexion.middleware.security import SecurityMiddleware, SecurityOperation
from connexion.middleware.server_error import ServerErrorMiddleware
from connexion.middleware.swagger_ui import SwaggerUIMiddleware
from connexion.operations import OpenAPIOperation
from connexion.utils import deep_merge
from connexion.validators import AbstractRequestBodyValidator
from starlette.exceptions import WebSocketException
from starlette.routing import Mount, Route
from starlette.types import ASGIApp, Message, Receive, Scope

__all__ = [
    "ConnexionInternalsChanged", "MIDDLEWARE_STACK", "OperationParts", "check_internals", "build_middleware_stack",
    "operations_of_stack", "set_request_context", "query_defaults", "parameter_value", "deep_merge", "route_path",
    "remaining_mount_path", "replay_body", "parameter_definitions", "validator_class",
]

MIDDLEWARE_STACK = (ServerErrorMiddleware, ExceptionMiddleware, SwaggerUIMiddleware, RoutingMiddleware,
                    SecurityMiddleware, RequestValidationMiddleware, ResponseValidationMiddleware, LifespanMiddleware,
                    ContextMiddleware, AsyncASGIApp)
"""Connexion 3.3's middleware stack, in order, as the fast path reproduces it."""

_PRIVATE_NAMES = {
    "connexion.context": ("_context", "_operation", "_receive", "_scope"),
    "connexion.decorators.parameter": ("_get_query_defaults", "_get_val_from_param"),
    "starlette._utils": ("get_route_path",),
}
_PRIVATE_METHODS = ((ConnexionMiddleware, "_build_middleware_stack"),
                    (AbstractRequestBodyValidator, "_insert_messages"))


class ConnexionInternalsChanged(RuntimeError):
    """An internal of Connexion or Starlette the fast path relies on is missing: the installed version is
    not one ``mockserver.connexion_compat`` was written for."""


def _load(module: str, name: str) -> t.Any:
    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError):
        return None


_context, _operation, _receive, _scope = (_load("connexion.context", n) for n in _PRIVATE_NAMES["connexion.context"])
_get_query_defaults = _load("connexion.decorators.parameter", "_get_query_defaults")
_get_val_from_param = _load("connexion.decorators.parameter", "_get_val_from_param")
_get_route_path = _load("starlette._utils", "get_route_path")


def _missing_names() -> list[str]:
    missing = [f"{module}.{name}" for module, names in _PRIVATE_NAMES.items() for name in names
               if _load(module, name) is None]
    missing += [f"{cls.__module__}.{cls.__qualname__}.{name}" for cls, name in _PRIVATE_METHODS
                if not callable(getattr(cls, name, None))]
    return missing


def _fail(missing: t.Sequence[str]) -> t.NoReturn:
    from importlib.metadata import version

    raise ConnexionInternalsChanged(
        f"the fast path (mockserver.pipeline) needs Connexion/Starlette internals that are missing: "
        f"{', '.join(missing)} (installed: connexion {version('connexion')}, starlette {version('starlette')}; "
        "written for connexion>=3.3,<3.4; see mockserver/connexion_compat.py)")


def check_internals() -> None:
    """Fail with ``ConnexionInternalsChanged`` unless every private name this module uses exists."""
    missing = _missing_names()
    if missing:
        _fail(missing)


# --- the middleware stack ----------------------------------------------------------------------------------


def build_middleware_stack(app: AsyncApp) -> list[ASGIApp]:
    """Have Connexion build ``app``'s middleware stack now (it otherwise does so on the first request)."""
    middleware: ConnexionMiddleware = app.middleware
    if middleware.middleware_stack is None:
        middleware.app, middleware.middleware_stack = middleware._build_middleware_stack()
    return list(middleware.middleware_stack)


@dataclass(frozen=True)
class OperationParts:
    """What Connexion built for one operation, taken out of its middlewares."""

    route: Route
    operation_id: str
    verify: t.Callable[..., t.Awaitable[t.Any]] | None
    """The security check (None: the operation needs no credentials)."""
    validation: RequestValidationOperation
    spec_operation: OpenAPIOperation
    """The operation as the validation middleware sees it."""
    context_operation: OpenAPIOperation
    """The operation ``connexion.context.operation`` holds."""
    handler: t.Callable
    pythonic_params: bool
    jsonifier: t.Any


@dataclass(frozen=True)
class StackParts:
    """The parts of a built stack the fast path runs, or the reason it cannot (``unsupported``)."""

    mount: Mount
    operations: list[OperationParts]
    swagger_mounts: list[Mount]
    error_handlers: list[t.Callable]
    validates_responses: bool


class Unsupported(Exception):
    """The stack is set up in a way the fast path does not reproduce (a setting, not a version problem)."""


def operations_of_stack(stack: list[ASGIApp]) -> StackParts:
    """Take a built stack apart; ``Unsupported`` if it is not the stack the fast path reproduces, and
    ``ConnexionInternalsChanged`` if a part it relies on is missing."""
    kinds = tuple(type(layer) for layer in stack)
    if len(kinds) != len(MIDDLEWARE_STACK) or not all(map(issubclass, kinds, MIDDLEWARE_STACK)):
        raise Unsupported(f"unexpected middleware stack {kinds}")
    _, exceptions, swagger, routing, security, validation, response_validation, _, context, application = (
        t.cast(t.Any, layer) for layer in stack)
    missing = [f"{type(layer).__name__}.{name}" for layer, names in (
        (exceptions, ("_exception_handlers", "_status_handlers")), (swagger, ("router",)), (routing, ("router",)),
        (security, ("apis",)), (validation, ("apis",)), (response_validation, ("apis",)), (context, ("apis",)),
        (application, ("apis",))) for name in names if not hasattr(layer, name)]
    if missing:
        _fail(missing)
    routes = routing.router.routes
    if len(routes) != 1 or not isinstance(routes[0], Mount):
        raise Unsupported("expected one API")
    mount: Mount = routes[0]
    base_path = mount.path
    validates_responses = any(api.validate_responses for apis in response_validation.apis.values() for api in apis)
    handlers = [h for key, h in exceptions._exception_handlers.items() if key is not WebSocketException]
    handlers += exceptions._status_handlers.values()

    def operations_of(middleware: t.Any) -> dict:
        apis = middleware.apis.get(base_path, [])
        if len(apis) != 1:
            raise Unsupported(f"{type(middleware).__name__} has {len(apis)} APIs at {base_path}")
        return apis[0].operations

    security_ops, validation_ops = operations_of(security), operations_of(validation)
    context_ops, handler_ops = operations_of(context), operations_of(application)
    parts: list[OperationParts] = []
    for route in mount.routes:
        operation_id = getattr(getattr(route, "endpoint", None), "operation_id", None)
        if not isinstance(route, Route) or not isinstance(operation_id, str) or operation_id not in handler_ops:
            raise Unsupported(f"route {route!r} has no operation")
        context_operation = context_ops[operation_id].operation
        if not isinstance(context_operation, OpenAPIOperation):
            raise Unsupported("not an OpenAPI 3 operation")
        secured: SecurityOperation = security_ops[operation_id]
        validating: RequestValidationOperation = validation_ops[operation_id]
        handler: AsyncOperation = handler_ops[operation_id]
        for owner, names in ((validating, ("_operation", "_validator_map", "strict_validation",
                                           "security_query_params")),
                             (secured, ("security", "verification_fn")),
                             (handler, ("_fn", "pythonic_params", "jsonifier"))):
            absent = [f"{type(owner).__name__}.{name}" for name in names if not hasattr(owner, name)]
            if absent:
                _fail(absent)
        spec_operation: OpenAPIOperation = validating._operation
        if not hasattr(spec_operation, "_uri_parser_class"):
            _fail([f"{type(spec_operation).__name__}._uri_parser_class"])
        parts.append(OperationParts(
            route=route, operation_id=operation_id,
            verify=secured.verification_fn if secured.security else None, validation=validating,
            spec_operation=spec_operation, context_operation=context_operation, handler=handler._fn,
            pythonic_params=handler.pythonic_params, jsonifier=handler.jsonifier))
    swagger_mounts = [m for m in swagger.router.routes if isinstance(m, Mount)]
    if len(swagger_mounts) != len(swagger.router.routes):
        raise Unsupported("unexpected Swagger UI routes")
    return StackParts(mount=mount, operations=parts, swagger_mounts=swagger_mounts, error_handlers=handlers,
                      validates_responses=validates_responses)


def validator_class(validation: RequestValidationOperation, kind: str) -> t.Any:
    """``validator_map[kind]`` of the app (``"parameter"``, or ``"body"``: a map of media type to class)."""
    return validation._validator_map[kind]


def uri_parser_for(operation: OpenAPIOperation) -> t.Any:
    """A new URI parser of the class the operation was set up with."""
    return operation._uri_parser_class(operation.parameters, operation.body_definition())


def parameter_definitions(parser: t.Any) -> dict:
    """``OpenAPIURIParser``'s parameter definitions by name."""
    return parser._param_defns


# --- per request ---------------------------------------------------------------------------------------------


def set_request_context(context: dict, operation: OpenAPIOperation, receive: Receive, scope: Scope) -> None:
    """What Connexion's ``ContextMiddleware`` sets for ``connexion.request``/``context``/``operation``."""
    _context.set(context)
    _operation.set(operation)
    _receive.set(receive)
    _scope.set(scope)


def current_scope() -> Scope:
    """The ASGI scope of the request being handled (what ``connexion.request`` reads)."""
    return t.cast(Scope, _scope.get())


def query_defaults(definitions: dict) -> dict:
    """The defaults of an operation's query parameters, as Connexion's parameter decorator fills them."""
    return _get_query_defaults(definitions)


def parameter_value(value: t.Any, definition: dict) -> t.Any:
    """A parameter's value converted as Connexion's parameter decorator converts it."""
    return _get_val_from_param(value, definition)


def route_path(scope: Scope) -> str:
    """The path Starlette's routers match against (``scope["path"]`` without the ``root_path``)."""
    return _get_route_path(scope)


def remaining_mount_path(mount: Mount, scope: Scope) -> str | None:
    """The path the routes inside ``mount`` match against, or None if ``mount`` does not match; what
    Starlette's ``Mount.matches`` computes for its child scope, without building it. A mount with path
    parameters is None too (left to Starlette)."""
    path = _get_route_path(scope)
    found = mount.path_regex.match(path)
    if found is None:
        return None
    params = found.groupdict()
    remaining = "/" + params.pop("path")
    if params:
        return None
    return _get_route_path({"path": scope["path"], "root_path": scope.get("root_path", "") + path[: -len(remaining)]})


def replay_body(validator: AbstractRequestBodyValidator, receive: Receive, messages: list[Message]) -> Receive:
    """A ``receive`` that first hands out the body messages a validator already read."""
    return validator._insert_messages(receive, messages=messages)
