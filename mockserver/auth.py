"""API key → tenant. By default any non-empty key is accepted and is its own tenant; a family that takes
only some credentials says which, and whose they are, with ``Family.tenant_of`` (``security_map``).

Plugged into Connexion's security middleware through ``security_map``, so the spec's own
``securitySchemes`` decide which operations need a key and where it is read from (bearer header,
API-key header or cookie); the spec needs no ``x-*InfoFunc`` entries. Handlers read the tenant with
``current_tenant()``.

Connexion's check inspects the token function's signature on every request to decide which keyword
arguments to pass; the handlers here decide once, when Connexion builds the check at start-up, with
the same outcome.
"""

from __future__ import annotations

import asyncio
import typing as t

from connexion.context import context
from connexion.exceptions import OAuthResponseProblem
from connexion.security import NO_VALUE, AbstractSecurityHandler, ApiKeySecurityHandler, BearerSecurityHandler

TenantOf = t.Callable[[t.Mapping[str, t.Any], str], "str | None"]
"""(the contract's security scheme object, the credential as sent) → the tenant, or None: not a valid credential."""


def tenant_info(token: str, *args: t.Any, **kwargs: t.Any) -> dict | None:
    """Token info for any non-empty key: the key itself is the tenant (``sub``)."""
    token = token.strip()
    return {"sub": token} if token else None


def _tenant_info_by(tenant_of: TenantOf, scheme: t.Mapping[str, t.Any]) -> t.Callable[..., dict | None]:
    """Token info as ``tenant_of`` decides it for credentials of ``scheme``."""

    def info(token: str, *args: t.Any, **kwargs: t.Any) -> dict | None:
        tenant = tenant_of(scheme, token)
        return {"sub": tenant} if tenant else None

    return info


class _SignatureOnce(AbstractSecurityHandler):
    """Connexion's ``_generic_check`` with the token function's signature inspected once, not per request."""

    def _generic_check(self, func: t.Callable, exception_msg: str) -> t.Callable:
        pass_scopes = self._accepts_kwarg(func, self.required_scopes_kw)
        pass_request = self._accepts_kwarg(func, self.request_kw)

        async def wrapper(request: t.Any, *args: t.Any, required_scopes: t.Any = None) -> t.Any:
            kwargs = {}
            if pass_scopes:
                kwargs[self.required_scopes_kw] = required_scopes
            if pass_request:
                kwargs[self.request_kw] = request
            token_info = func(*args, **kwargs)
            while asyncio.iscoroutine(token_info):
                token_info = await token_info
            if token_info is NO_VALUE:
                return NO_VALUE
            if token_info is None:
                raise OAuthResponseProblem(detail=exception_msg)
            return token_info

        return wrapper


class TenantBearerHandler(_SignatureOnce, BearerSecurityHandler):
    """``Authorization: Bearer <key>``."""

    def _resolve_func(self, security_scheme: dict) -> t.Callable:
        return tenant_info


class TenantApiKeyHandler(_SignatureOnce, ApiKeySecurityHandler):
    """An API key in a header, query parameter or cookie, as the scheme says."""

    def _resolve_func(self, security_scheme: dict) -> t.Callable:
        return tenant_info


SECURITY_MAP = {"bearer": TenantBearerHandler, "apiKey": TenantApiKeyHandler}


def security_map(tenant_of: TenantOf | None = None) -> dict[str, type[AbstractSecurityHandler]]:
    """Connexion's ``security_map``: ``SECURITY_MAP``, or handlers that ask ``tenant_of`` who a credential is."""
    if tenant_of is None:
        return SECURITY_MAP
    decide: TenantOf = tenant_of

    class Bearer(TenantBearerHandler):
        def _resolve_func(self, security_scheme: dict) -> t.Callable:
            return _tenant_info_by(decide, security_scheme)

    class ApiKey(TenantApiKeyHandler):
        def _resolve_func(self, security_scheme: dict) -> t.Callable:
            return _tenant_info_by(decide, security_scheme)

    return {"bearer": Bearer, "apiKey": ApiKey}


def current_tenant() -> str:
    """The tenant (API key) of the request being handled."""
    return context["user"]
