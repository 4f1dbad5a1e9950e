"""A small recording HTTP client over httpx: every exchange is kept with a reproducing curl line.

API keys never appear in a curl line: each identity's key is replaced by its placeholder
(`$API_KEY`, `$API_KEY_2`), written so the shell expands it.
"""

from __future__ import annotations

import json
import shlex
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any
from urllib.parse import quote

import httpx

PRIMARY = "primary"
SECONDARY = "secondary"

NO_BODY: Any = object()
NOT_JSON: Any = object()

# A 429 is retried this many times, waiting as its Retry-After says (at most MAX_RETRY_WAIT seconds).
RATE_LIMIT_RETRIES = 5
MAX_RETRY_WAIT = 30.0
DEFAULT_RETRY_WAIT = 1.0

# Headers every client adds on its own; they add nothing to a reproduction.
_NOISE_HEADERS = frozenset(
    {"user-agent", "accept-encoding", "accept", "connection", "content-length", "host", "x-schemathesis-testcaseid"}
)


class TransportFailure(Exception):
    """The request got no HTTP response (connection refused, reset, timeout...)."""

    def __init__(self, url: str, reason: str, curl: str) -> None:
        super().__init__(f"{url}: {reason}")
        self.url = url
        self.reason = reason
        self.curl = curl


@dataclass(frozen=True)
class Identity:
    """A caller: its API key and the shell variable that stands for it in curl lines."""

    key: str
    placeholder: str


@dataclass(frozen=True)
class Request:
    """One call to an operation of the family's spec, before it is sent."""

    operation_id: str
    method: str
    template: str
    path_params: Mapping[str, str] = field(default_factory=dict)
    params: tuple[tuple[str, str], ...] = ()
    json: Any = NO_BODY
    content: bytes | None = None
    headers: Mapping[str, str] = field(default_factory=dict)

    @property
    def path(self) -> str:
        path = self.template
        for name, value in self.path_params.items():
            path = path.replace("{" + name + "}", quote(str(value), safe=""))
        return path

    @property
    def label(self) -> str:
        return f"{self.operation_id} ({self.method} {self.template})"

    @property
    def has_json(self) -> bool:
        return self.json is not NO_BODY


@dataclass
class Exchange:
    """A request that was sent and the response it got."""

    request: Request
    identity: str | None
    url: str
    status: int
    headers: httpx.Headers
    text: str
    curl: str
    elapsed: float

    @cached_property
    def json(self) -> Any:
        """The parsed body, or `NOT_JSON`."""
        try:
            return json.loads(self.text)
        except ValueError:
            return NOT_JSON

    def excerpt(self, limit: int = 300) -> str:
        text = self.text if len(self.text) <= limit else self.text[:limit] + "..."
        return f"{self.status} {text}".strip()


def _escape_double_quoted(value: str) -> str:
    for char in ("\\", '"', "`", "$"):
        value = value.replace(char, "\\" + char)
    return value


def _hide_secrets(name: str, value: str, secrets: Mapping[str, str]) -> tuple[str, bool]:
    """Replace an API key in a header value by its placeholder, marked off with NULs.

    The key is looked for where credentials stand: the credential of ``Authorization: <scheme> KEY``,
    a cookie's value (``name=KEY``), or the whole value (``X-API-Key: KEY``); nothing else is touched.
    """

    def mark(text: str) -> str | None:
        return "\0" + secrets[text] + "\0" if text and text in secrets else None

    if name.lower() == "authorization" and " " in value:
        scheme, credential = value.split(" ", 1)
        masked = mark(credential)
        return (f"{scheme} {masked}", True) if masked else (value, False)
    if name.lower() == "cookie":
        pairs = [pair.partition("=") for pair in value.split("; ")]
        masked_pairs = [(key, sep, mark(val) or val) for key, sep, val in pairs]
        if masked_pairs != pairs:
            return "; ".join(key + sep + val for key, sep, val in masked_pairs), True
        return value, False
    masked = mark(value)
    return (masked, True) if masked else (value, False)


def build_curl(
    method: str,
    url: str,
    headers: Iterable[tuple[str, str]],
    body: bytes | None,
    secrets: Mapping[str, str],
) -> str:
    """A curl line for a request; API keys in header values become their placeholders (``$API_KEY``)."""
    parts = ["curl", "-X", method.upper(), shlex.quote(url)]
    for name, value in headers:
        if name.lower() in _NOISE_HEADERS:
            continue
        masked, hidden = _hide_secrets(name, value, secrets)
        if hidden:
            pieces = masked.split("\0")  # odd pieces are placeholders, left unescaped for the shell
            escaped = "".join(p if i % 2 else _escape_double_quoted(p) for i, p in enumerate(pieces))
            parts += ["-H", f'"{_escape_double_quoted(name)}: {escaped}"']
        else:
            parts += ["-H", shlex.quote(f"{name}: {value}")]
    if body:
        parts += ["--data-raw", shlex.quote(body.decode("utf-8", errors="replace"))]
    return " ".join(parts)


class RecordingClient:
    """Sends `Request`s as a given identity, records every exchange and counts requests."""

    def __init__(
        self,
        base_url: str,
        *,
        identities: Mapping[str, Identity],
        auth_headers: Callable[[str], dict[str, str]],
        timeout: float = 15.0,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.identities = dict(identities)
        self.auth_headers = auth_headers
        self.history: list[Exchange] = []
        self.request_count = 0
        self._http = httpx.Client(timeout=timeout, follow_redirects=False)

    @property
    def secrets(self) -> dict[str, str]:
        return {identity.key: identity.placeholder for identity in self.identities.values() if identity.key}

    def has_identity(self, name: str) -> bool:
        return name in self.identities

    def send(self, request: Request, *, identity: str | None = PRIMARY) -> Exchange:
        """Send a request; `identity=None` sends it without credentials."""
        headers: dict[str, str] = {}
        if identity is not None:
            headers.update(self.auth_headers(self.identities[identity].key))
        body: bytes | None = None
        if request.has_json:
            body = json.dumps(request.json).encode()
            headers["Content-Type"] = "application/json"
        elif request.content is not None:
            body = request.content
            headers["Content-Type"] = "application/json"
        headers.update(request.headers)
        prepared = self._http.build_request(
            request.method,
            self.base_url + request.path,
            params=list(request.params),
            headers=headers,
            content=body,
        )
        curl = build_curl(request.method, str(prepared.url), headers.items(), body, self.secrets)
        started = time.perf_counter()
        for attempt in range(RATE_LIMIT_RETRIES + 1):
            response = self._send(prepared, curl)
            if response.status_code != 429 or attempt == RATE_LIMIT_RETRIES:
                break
            time.sleep(retry_wait(response.headers.get("retry-after")))
        exchange = Exchange(
            request=request,
            identity=identity,
            url=str(prepared.url),
            status=response.status_code,
            headers=response.headers,
            text=response.text,
            curl=curl,
            elapsed=time.perf_counter() - started,
        )
        self.history.append(exchange)
        return exchange

    def _send(self, prepared: httpx.Request, curl: str) -> httpx.Response:
        self.request_count += 1
        try:
            return self._http.send(prepared)
        except httpx.TimeoutException:
            raise TransportFailure(str(prepared.url), "timed out", curl) from None
        except httpx.ConnectError as exc:
            raise TransportFailure(str(prepared.url), describe_connect_error(exc), curl) from None
        except httpx.HTTPError as exc:
            raise TransportFailure(str(prepared.url), str(exc) or type(exc).__name__, curl) from None

    def close(self) -> None:
        self._http.close()


def retry_wait(retry_after: str | None) -> float:
    """Seconds to wait before retrying a 429, from its Retry-After header (seconds)."""
    try:
        wait = float(retry_after) if retry_after else DEFAULT_RETRY_WAIT
    except ValueError:
        wait = DEFAULT_RETRY_WAIT
    return min(max(wait, 0.0), MAX_RETRY_WAIT)


def describe_connect_error(exc: Exception) -> str:
    """A short human reason for a failed connection ("connection refused", "name not resolved"...)."""
    text = str(exc).lower()
    if "refused" in text:
        return "connection refused"
    if "name or service not known" in text or "nodename nor servname" in text or "getaddrinfo" in text:
        return "host name not resolved"
    if "timed out" in text:
        return "timed out"
    return str(exc) or type(exc).__name__
