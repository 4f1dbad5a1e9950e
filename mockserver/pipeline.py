"""The fast request path: a family's Connexion middleware stack run as one function per request.

Connexion 3 passes every request through nine middlewares, and several of them rebuild on every request
what never changes: a URI parser, a parameter validator, a body validator, the handler's decorators and
its signature inspection; three Starlette routers match the same path. ``FamilyApp`` has Connexion build
its stack once, at start-up, takes out the per-operation objects Connexion made for it (routes, security
checks, validator settings, the operation, the handler) and runs a request that fully matches an
operation's route through those same objects, in Connexion's order, in one call::

    route → security → parameters → content type → body → context → handler arguments → handler → response

Everything else goes to the untouched Connexion app, so its behaviour there is Connexion's by
construction: paths outside every operation, wrong methods (405), trailing-slash redirects, ``HEAD``, the
spec and Swagger UI routes, a ``root_path``, form bodies. Any exception on the fast path is rendered by
the family's error handler, as Connexion's exception middleware does. Before either path, a request's
Content-Type is read as the vendors read it (``json_content_type``: case-insensitive; absent means JSON).

Every use of Connexion's or Starlette's private internals goes through ``mockserver.connexion_compat``,
which lists them and checks at start-up that they exist. ``tests/test_pipeline.py`` checks, for every
family, on requests generated from its contract, that both paths answer alike byte for byte.
"""

from __future__ import annotations

import asyncio
import logging
import typing as t
from copy import deepcopy

from connexion.apps.asynchronous import AsyncApp
from connexion.datastructures import MediaTypeDict
from connexion.decorators import StarletteDecorator
from connexion.decorators.parameter import CONTEXT_NAME, pythonic, sanitized, unwrap_decorators
from connexion.decorators.response import AsyncResponseDecorator
from connexion.exceptions import UnsupportedMediaTypeProblem
from connexion.frameworks.starlette import Starlette as StarletteFramework
from connexion.http_facts import FORM_CONTENT_TYPES
from connexion.lifecycle import ConnexionRequest, ConnexionResponse
from connexion.middleware.abstract import ROUTING_CONTEXT
from connexion.operations import OpenAPIOperation
from connexion.uri_parsing import OpenAPIURIParser
from connexion.utils import (
    inspect_function_arguments,
    is_json_mimetype,
    is_null,
    is_nullable,
    split_content_type,
)
from connexion.validators.parameter import ParameterValidator
from python_multipart.multipart import parse_options_header
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request as StarletteRequest
from starlette.responses import Response
from starlette.routing import Match, Mount, Route
from starlette.types import Message, Receive, Scope, Send

from mockserver import connexion_compat as compat
from mockserver.validation import SpecBodyValidator

logger = logging.getLogger("mockserver")

ErrorHandler = t.Callable[[ConnexionRequest, Exception], ConnexionResponse]

_BOUNDED_CACHE = 64  # per-operation caches keyed by request data hold at most this many entries


class CachedURIParser(OpenAPIURIParser):
    """Connexion's OpenAPI URI parser with its per-parameter schema map built once, not on every lookup."""

    def __init__(self, param_defns: list, body_defn: dict) -> None:
        super().__init__(param_defns, body_defn)
        self._param_schemas = {k: v.get("schema", {}) for k, v in compat.parameter_definitions(self).items()}

    @property
    def param_schemas(self) -> dict:
        return self._param_schemas


class _ArgumentBuilder:
    """Connexion's ``prep_kwargs`` for JSON (or no) bodies, with everything that depends only on the
    operation and the handler's signature worked out once."""

    def __init__(self, operation: OpenAPIOperation, function: t.Callable, pythonic_params: bool) -> None:
        self.operation = operation
        self.arguments, self.has_kwargs = inspect_function_arguments(unwrap_decorators(function))
        self._argument_set = frozenset(self.arguments)
        sanitize = pythonic if pythonic_params else sanitized
        self._sanitize_fn = sanitize
        self._sanitized: dict[str, str] = {}
        self.path_definitions = {p["name"]: p for p in operation.parameters if p["in"] == "path"}
        self.query_definitions = {p["name"]: p for p in operation.parameters if p["in"] == "query"}
        self.query_defaults = compat.query_defaults(self.query_definitions)
        self._defaults_need_deepcopy = any(isinstance(v, (dict, list)) for v in self.query_defaults.values())
        self.is_trace = operation.method.upper() == "TRACE"
        self.body_defined = operation.is_request_body_defined
        self.body_name = sanitize(operation.body_name(None))
        self.wants_body = self.body_name in self._argument_set or self.has_kwargs
        self._body_schemas: dict[str, dict] = {}

    def sanitize(self, name: str) -> str:
        found = self._sanitized.get(name)
        if found is None:
            found = self._sanitize_fn(name)
            if len(self._sanitized) < _BOUNDED_CACHE:
                self._sanitized[name] = found
        return found

    def body_schema(self, content_type: str) -> dict:
        found = self._body_schemas.get(content_type)
        if found is None:
            found = self.operation.body_schema(content_type)
            if len(self._body_schemas) < _BOUNDED_CACHE:
                self._body_schemas[content_type] = found
        return found

    def build(self, path_params: dict, query_params: dict, body: t.Any, content_type: str, context: dict) -> dict:
        """The keyword arguments Connexion would call the handler with."""
        sanitize, arguments, has_kwargs = self.sanitize, self._argument_set, self.has_kwargs
        kwargs: dict[str, t.Any] = {}
        for name, value in path_params.items():
            definition = self.path_definitions.get(name)
            kwargs[sanitize(name)] = compat.parameter_value(value, definition) if definition is not None else value
        merged = deepcopy(self.query_defaults) if self._defaults_need_deepcopy else dict(self.query_defaults)
        compat.deep_merge(merged, query_params)
        for name, value in merged.items():
            key = sanitize(name)
            if not has_kwargs and key not in arguments:
                continue
            definition = self.query_definitions.get(name)
            if definition is None:
                logger.error("Function argument '%s' (non-sanitized: %s) not defined in specification", key, name)
                continue
            kwargs[key] = compat.parameter_value(value, definition)
        if not self.is_trace and (arguments or has_kwargs) and self.body_defined:
            schema = self.body_schema(content_type)
            if is_nullable(schema) and is_null(body):
                value = None
            elif body is None:
                value = deepcopy(schema.get("default", {}))
            else:
                value = body
            if self.wants_body:
                kwargs[self.body_name] = value
        kwargs = {sanitize(k): v for k, v in kwargs.items()}
        for key, value in context.items():
            if has_kwargs or key in arguments:
                kwargs[key] = value
        if CONTEXT_NAME in arguments:
            kwargs[CONTEXT_NAME] = context
        return kwargs


class CompiledOperation:
    """One operation's trip through Connexion's stack, with the per-request set-up done at start-up."""

    def __init__(self, *, base_path: str, parts: compat.OperationParts) -> None:
        operation = parts.spec_operation
        validation = parts.validation
        self.operation_id = operation.operation_id
        self.routing = {"api_base_path": base_path, "operation_id": self.operation_id}
        self.verify = parts.verify
        self.uri_parser = compat.uri_parser_for(operation)
        parameter_validator_cls = compat.validator_class(validation, "parameter")
        self.parameter_validator = parameter_validator_cls(
            operation.parameters, uri_parser=self.uri_parser, strict_validation=validation.strict_validation,
            security_query_params=validation.security_query_params)
        self._validates_request_object = type(self.parameter_validator).validate is ParameterValidator.validate
        self.validation = validation
        self.validation_operation = operation
        self.consumes = list(operation.consumes)
        self._consumed = MediaTypeDict([(c.lower(), None) for c in self.consumes]) if self.consumes else None
        self._accepted: dict[str, bool] = {}
        self._body_validators: dict[tuple[str, str], t.Any] = {}
        self.context_operation = parts.context_operation
        self.handler_function = parts.handler
        self.pythonic_params = parts.pythonic_params
        self.jsonifier = parts.jsonifier
        self.is_coroutine = asyncio.iscoroutinefunction(parts.handler)
        self.arguments = _ArgumentBuilder(parts.context_operation, parts.handler, parts.pythonic_params)
        self.response_decorator = AsyncResponseDecorator(framework=StarletteFramework, jsonifier=parts.jsonifier)

    # --- request validation (RequestValidationOperation.__call__) ---------------------------------

    def _content_type(self, content_type: str | None) -> tuple[str, str]:
        mime_type, encoding = split_content_type(content_type)
        if mime_type is None:
            try:
                mime_type = self.consumes[0]
            except IndexError:
                mime_type = "application/octet-stream"
        if encoding is None:
            encoding = "utf-8"
        return mime_type, encoding

    def _check_mime_type(self, mime_type: str) -> None:
        if self._consumed is None:
            return
        accepted = self._accepted.get(mime_type)
        if accepted is None:
            accepted = mime_type.lower() in self._consumed  # media ranges: an fnmatch per consumed type
            if len(self._accepted) < _BOUNDED_CACHE:
                self._accepted[mime_type] = accepted
        if not accepted:
            raise UnsupportedMediaTypeProblem(detail=f"Invalid Content-type ({mime_type}), expected {self.consumes}")

    def _body_validator(self, mime_type: str, encoding: str) -> t.Any:
        """The body validator Connexion would make for this content type (None: no schema or no validator)."""
        key = (mime_type, encoding)
        if key in self._body_validators:
            return self._body_validators[key]
        operation = self.validation_operation
        validator = None
        schema = operation.body_schema(mime_type)
        if schema:
            try:
                validator_cls = compat.validator_class(self.validation, "body")[mime_type]
            except KeyError:
                logger.info("Skipping validation. No validator registered for content type: %s.", mime_type)
                validator_cls = None
            if validator_cls is not None:
                validator = validator_cls(
                    schema=schema, required=operation.request_body.get("required", False),
                    nullable=is_nullable(operation.body_definition(mime_type)), encoding=encoding,
                    strict_validation=self.validation.strict_validation,
                    uri_parser=operation.uri_parser_class(operation.parameters, operation.body_definition()))
        if len(self._body_validators) < _BOUNDED_CACHE and (validator is None or type(validator) is SpecBodyValidator):
            self._body_validators[key] = validator  # stateless: safe to share between requests
        return validator

    # --- the request ------------------------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.verify is not None:
            await self.verify(ConnexionRequest(scope))

        request = ConnexionRequest(scope, receive, uri_parser=self.uri_parser)
        if self._validates_request_object:
            self.parameter_validator.validate_request(request)
        else:
            self.parameter_validator.validate(scope)
        any_case, exact = _content_type_headers(scope["headers"])
        mime_type, encoding = self._content_type(any_case)
        self._check_mime_type(mime_type)
        raw: bytes | None = None
        parsed: t.Any = None
        validator = self._body_validator(mime_type, encoding)
        if type(validator) is SpecBodyValidator:
            raw, messages = await validator.read(receive)
            parsed = validator.check(raw)
            receive = compat.replay_body(validator, receive, messages)
        elif validator is not None:
            receive, scope = await validator.wrap_receive(receive, scope=scope)

        context = scope.get("extensions", {}).get("connexion_context", {})
        compat.set_request_context(context, self.context_operation, receive, scope)

        content_type = exact if exact is not None else "application/octet-stream"  # ConnexionRequest.content_type
        mimetype = _mimetype(content_type)
        if mimetype in FORM_CONTENT_TYPES:
            response = await self._call_as_connexion()
        else:
            response = await self._call_handler(scope, receive, request, raw, parsed, context, content_type,
                                                mimetype)
        await response(scope, receive, send)

    async def _call_handler(self, scope: Scope, receive: Receive, request: ConnexionRequest, raw: bytes | None,
                            parsed: t.Any, context: dict, content_type: str, mimetype: str) -> Response:
        """Connexion's parameter and response decorators around the handler, for non-form requests.

        ``parsed`` is the body the validator already parsed from ``raw``; it is not parsed twice."""
        builder = self.arguments
        body = None
        if builder.wants_body:
            if raw is None:
                body = await ConnexionRequest(scope, receive, uri_parser=self.uri_parser).get_body()
            elif is_json_mimetype(content_type):
                body = parsed
            else:
                body = raw or None
        query = request.query_params if scope["query_string"] else {}  # resolve_query({}) is {}
        kwargs = builder.build(request.path_params, query, body, mimetype, context)
        if self.is_coroutine:
            result = await self.handler_function(**kwargs)
        else:
            result = await run_in_threadpool(self.handler_function, **kwargs)
        if isinstance(result, Response):
            return result
        if isinstance(result, ConnexionResponse):
            return StarletteFramework.connexion_to_framework_response(result)
        return self.response_decorator.build_framework_response(result)

    async def _call_as_connexion(self) -> Response:
        decorator = StarletteDecorator(pythonic_params=self.pythonic_params, jsonifier=self.jsonifier)
        return await decorator(self.handler_function)()


class FamilyApp:
    """ASGI app of one family: requests that fully match an operation run on the fast path, the rest
    through Connexion's own stack (``connexion_app``).

    Before either path, a request's Content-Type is made what the vendors make of it
    (``json_content_type``). ``fast_path=False`` sends everything through Connexion (the reference the
    tests compare the fast path with)."""

    def __init__(self, connexion_app: AsyncApp, error_handler: ErrorHandler, *, fast_path: bool = True) -> None:
        compat.check_internals()
        self.connexion_app = connexion_app
        self.error_handler = error_handler
        self._middleware = connexion_app.middleware
        self._mount: Mount | None = None
        self._routes: list[tuple[Route, CompiledOperation]] = []
        self._swagger: list[Mount] = []
        self._unguarded: set[int] = set()
        try:
            self._compile(compat.build_middleware_stack(connexion_app))
        except compat.Unsupported as reason:
            logger.warning("no fast path, every request goes through Connexion: %s", reason)
            self._mount = None
        if not fast_path:
            self._mount = None

    @property
    def compiled(self) -> bool:
        """Whether requests can take the fast path (False: everything goes through Connexion)."""
        return self._mount is not None

    @property
    def operations(self) -> list[CompiledOperation]:
        """The compiled operations (empty without a fast path)."""
        return [operation for _, operation in self._routes]

    def _compile(self, stack: list) -> None:
        parts = compat.operations_of_stack(stack)
        if parts.validates_responses:
            raise compat.Unsupported("response validation is on")
        if {getattr(h, "__wrapped__", h) for h in parts.error_handlers} != {self.error_handler}:
            raise compat.Unsupported("errors are not all rendered by the family's error handler")
        base_path = parts.mount.path
        routes = [(part.route, CompiledOperation(base_path=base_path, parts=part)) for part in parts.operations]
        reserved = {getattr(route, "path", "").strip("/").split("/")[0]
                    for m in parts.swagger_mounts for route in m.routes}
        self._swagger = parts.swagger_mounts
        # A route whose first segment is a literal that starts no Swagger UI route never reaches Swagger UI.
        self._unguarded = {id(route) for route, _ in routes if _literal_first_segment(route.path, reserved)}
        self._routes = routes
        self._mount = parts.mount

    def _swagger_takes(self, scope: Scope) -> bool:
        """Whether Connexion's Swagger UI middleware would answer (or redirect) this request."""
        for swagger_mount in self._swagger:
            match, child = swagger_mount.matches(scope)
            if match is not Match.FULL:
                continue
            inner = {**scope, **child}
            path = inner["path"]
            alternative = {**inner, "path": path.rstrip("/") if path.endswith("/") else path + "/"}
            for route in swagger_mount.routes:
                if route.matches(inner)[0] is not Match.NONE or route.matches(alternative)[0] is not Match.NONE:
                    return True
        return False

    def match(self, scope: Scope) -> tuple[CompiledOperation, dict] | None:
        """The operation and path parameters Connexion's router would pick, if it picks one fully.

        The same steps as Starlette's ``Mount.matches`` and ``Route.matches``, without building a child
        scope for every route tried.
        """
        mount = self._mount
        if mount is None or scope["type"] != "http" or scope["method"] == "HEAD":
            return None
        inner_path = compat.remaining_mount_path(mount, scope)
        if inner_path is None:
            return None
        method = scope["method"]
        for route, operation in self._routes:
            matched = route.path_regex.match(inner_path)
            if matched is None or route.methods is None or method not in route.methods:
                continue
            if id(route) not in self._unguarded and self._swagger_takes(scope):
                return None
            params = dict(scope.get("path_params", {}))
            convertors = route.param_convertors
            for key, value in matched.groupdict().items():
                params[key] = convertors[key].convert(value)
            return operation, params
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            scope = json_content_type(scope)
        found = self.match(scope)
        if found is None:
            await self.connexion_app(scope, receive, send)
            return
        operation, path_params = found
        scope["app"] = self._middleware  # as ConnexionMiddleware does
        routed = dict(scope)
        routed["path_params"] = {**scope.get("path_params", {}), **path_params}
        extensions = routed["extensions"] = dict(scope.get("extensions") or {})
        extensions[ROUTING_CONTEXT] = dict(operation.routing)
        started = False

        async def sender(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await operation(routed, receive, sender)
        except Exception as exc:
            if started:
                raise RuntimeError("Caught handled exception, but response already started.") from exc
            await self._error_response(scope, exc)(scope, receive, sender)

    def _error_response(self, scope: Scope, exc: Exception) -> Response:
        request = ConnexionRequest.from_starlette_request(StarletteRequest(scope))
        rendered = self.error_handler(request, exc)
        return Response(content=rendered.body, status_code=rendered.status_code, media_type=rendered.mimetype,
                        headers=rendered.headers)


def json_content_type(scope: Scope) -> Scope:
    """``scope`` with its Content-Type as the vendors read it: media types are case-insensitive, so the
    media type is lower-cased (parameters kept); a request with a body and no (or an empty) Content-Type is
    JSON (OpenAI parses it as JSON, and so does FastAPI: ``fastapi.routing`` calls ``request.json()`` when
    the header is absent or empty). Returns ``scope`` itself when nothing changes."""
    headers = scope["headers"]
    has_body = False
    for index, (key, value) in enumerate(headers):
        if key == b"content-type":
            media_type, _, rest = value.partition(b";")
            if media_type.islower() or (rest and not media_type.strip()):
                return scope
            changed = list(headers)
            if not value.strip():  # an empty header is no header (FastAPI tests it for truth)
                changed[index] = (key, b"application/json")
            else:
                changed[index] = (key, media_type.strip().lower() + (b";" + rest if rest else b""))
            return {**scope, "headers": changed}
        if key == b"content-length":
            has_body = value.strip() not in (b"", b"0")
        elif key == b"transfer-encoding":
            has_body = True
    if not has_body or any(key.lower() == b"content-type" for key, _ in headers):
        return scope
    return {**scope, "headers": [*headers, (b"content-type", b"application/json")]}


def _content_type_headers(headers: list[tuple[bytes, bytes]]) -> tuple[str | None, str | None]:
    """The first Content-Type header matched in any case (``connexion.utils.extract_content_type``, used for
    validation) and matched exactly as sent (Starlette's ``Headers.get``, used for the handler's body)."""
    any_case = exact = None
    for key, value in headers:
        if exact is None and key == b"content-type":
            exact = value.decode("latin-1")
            if any_case is None:
                any_case = exact
            break
        if any_case is None and key.lower() == b"content-type":
            any_case = value.decode("latin-1")
    return any_case, exact


_mimetypes: dict[str, str] = {}


def _mimetype(content_type: str) -> str:
    """``ConnexionRequest.mimetype`` for a Content-Type value, remembered for the few values seen."""
    found = _mimetypes.get(content_type)
    if found is None:
        found = parse_options_header(content_type)[0].decode()
        if len(_mimetypes) < 256:
            _mimetypes[content_type] = found
    return found


def _literal_first_segment(path: str, reserved: t.Collection[str]) -> bool:
    first = path.strip("/").split("/")[0]
    return bool(first) and "{" not in first and first not in reserved
