"""API key → tenant. Any non-empty key is accepted and is its own tenant.

Plugged into Connexion's security middleware through ``security_map``, so the spec's own
``securitySchemes`` decide which operations need a key and where it is read from (bearer header,
API-key header or cookie); the spec needs no ``x-*InfoFunc`` entries. Handlers read the tenant with
``current_tenant()``.
"""

from __future__ import annotations

import typing as t

from connexion.context import context
from connexion.security import ApiKeySecurityHandler, BearerSecurityHandler


def tenant_info(token: str, *args: t.Any, **kwargs: t.Any) -> dict | None:
    """Token info for any non-empty key: the key itself is the tenant (``sub``)."""
    token = token.strip()
    return {"sub": token} if token else None


class TenantBearerHandler(BearerSecurityHandler):
    """``Authorization: Bearer <key>``."""

    def _resolve_func(self, security_scheme: dict) -> t.Callable:
        return tenant_info


class TenantApiKeyHandler(ApiKeySecurityHandler):
    """An API key in a header, query parameter or cookie, as the scheme says."""

    def _resolve_func(self, security_scheme: dict) -> t.Callable:
        return tenant_info


SECURITY_MAP = {"bearer": TenantBearerHandler, "apiKey": TenantApiKeyHandler}


def current_tenant() -> str:
    """The tenant (API key) of the request being handled."""
    return context["user"]
