"""What a request was, read from its family's contract: its operation and its API key (the tenant).

Built once per family from the contract, used by the request journal when it is read (never on the
request path): ``operation_of(method, path)`` matches the contract's path templates (literal segments win
over parameters, as Connexion routes), ``key_of(headers, query)`` reads the key the way the contract's
``securitySchemes`` say (bearer header, API-key header, cookie or query parameter), and ``mask`` hides a key.
"""

from __future__ import annotations

import re
import typing as t
from functools import cached_property
from http.cookies import CookieError, SimpleCookie
from urllib.parse import parse_qsl, urlencode

import yaml

from mockserver.family import Family

_HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
_PARAMETER = re.compile(r"\{[^}/]+\}")


def mask(key: str | None) -> str | None:
    """A key as the journal shows it: its first three and last two characters (``sk-…ab``), or ``…``
    alone for a key of eight characters or fewer."""
    if key is None:
        return None
    return f"{key[:3]}…{key[-2:]}" if len(key) > 8 else "…"


class SpecIndex:
    """One family's operations and key locations, read from its contract."""

    def __init__(self, family: Family, security_schemes: t.Mapping[str, t.Any] | None = None) -> None:
        """``security_schemes``: the contract's ``components.securitySchemes`` when the caller has them
        parsed already (otherwise the contract is read on first need)."""
        self.family = family
        self._security_schemes = security_schemes

    @cached_property
    def _spec(self) -> dict[str, t.Any]:
        with open(self.family.spec_path, encoding="utf-8") as handle:
            return yaml.safe_load(handle)

    @cached_property
    def _routes(self) -> list[tuple[str, re.Pattern[str], str]]:
        base = self.family.base_path.rstrip("/")
        slash = "/?" if self.family.optional_trailing_slash else ""
        routes: list[tuple[int, str, re.Pattern[str], str]] = []
        for template, item in (self._spec.get("paths") or {}).items():
            literal = re.escape(base + template.rstrip("/") if slash else base + template)
            pattern = re.compile("^" + _PARAMETER.sub("[^/]+", literal.replace(r"\{", "{").replace(r"\}", "}"))
                                 + slash + "$")
            for method, operation in item.items():
                if method in _HTTP_METHODS and isinstance(operation, dict) and "operationId" in operation:
                    routes.append((len(_PARAMETER.findall(template)), method.upper(), pattern,
                                   operation["operationId"]))
        routes.sort(key=lambda route: route[0])
        return [(method, pattern, operation_id) for _, method, pattern, operation_id in routes]

    def operation_of(self, method: str, path: str) -> str | None:
        """The operationId serving ``method path`` (a full path, base path included), if any."""
        for route_method, pattern, operation_id in self._routes:
            if route_method == method and pattern.match(path):
                return operation_id
        return None

    def operations(self) -> list[str]:
        """Every operationId of the contract."""
        return sorted({operation_id for _, _, operation_id in self._routes})

    @cached_property
    def _key_locations(self) -> list[tuple[str, str]]:
        """Where keys are read, in the contract's order: ("bearer", "authorization") or (in, name)."""
        schemes = (self._security_schemes if self._security_schemes is not None
                   else (self._spec.get("components") or {}).get("securitySchemes") or {}).values()
        locations: list[tuple[str, str]] = []
        for scheme in schemes:
            if scheme.get("type") == "http" and str(scheme.get("scheme", "")).lower() == "bearer":
                locations.append(("bearer", "authorization"))
            elif scheme.get("type") == "apiKey" and scheme.get("in") in ("header", "query", "cookie"):
                locations.append((scheme["in"], str(scheme["name"])))
        return locations

    def key_location(self) -> tuple[str, str] | None:
        """The first place the contract reads a key from (how fixtures send theirs)."""
        return self._key_locations[0] if self._key_locations else None

    def key_header_names(self) -> frozenset[bytes]:
        """The (lower-case) request headers a key can be read from (``key_of`` needs no other)."""
        names = {"authorization" if where == "bearer" else "cookie" if where == "cookie" else name.lower()
                 for where, name in self._key_locations if where != "query"}
        return frozenset(name.encode("latin-1") for name in names)

    def key_of(self, headers: t.Iterable[tuple[bytes, bytes]], query_string: bytes) -> str | None:
        """The API key the request was sent with, found as the contract declares; None without one."""
        header_values: dict[str, str] = {}
        for raw_name, raw_value in headers:
            header_values.setdefault(raw_name.decode("latin-1").lower(), raw_value.decode("latin-1"))
        for where, name in self._key_locations:
            key: str | None = None
            if where == "bearer":
                scheme, _, token = header_values.get("authorization", "").partition(" ")
                key = token if scheme.lower() == "bearer" else None
            elif where == "header":
                key = header_values.get(name.lower())
            elif where == "query":
                key = dict(parse_qsl(query_string.decode("latin-1"))).get(name)
            elif where == "cookie" and "cookie" in header_values:
                try:
                    morsel = SimpleCookie(header_values["cookie"]).get(name)
                except CookieError:
                    morsel = None
                key = morsel.value if morsel is not None else None
            if key and key.strip():
                return key.strip()
        return None

    def masked_query(self, query_string: bytes) -> str:
        """The query string with the value of every key parameter the contract declares masked."""
        names = {name for where, name in self._key_locations if where == "query"}
        text = query_string.decode("latin-1")
        if not names or not any(name in text for name in names):
            return text
        pairs = parse_qsl(text, keep_blank_values=True)
        return "&".join(f"{name}={mask(value)}" if name in names else urlencode([(name, value)])
                        for name, value in pairs)
