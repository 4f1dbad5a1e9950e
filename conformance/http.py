"""A small recording HTTP client over httpx: every exchange is kept with a reproducing curl line.

API keys never appear in a curl line: each identity's key is replaced by its placeholder
(`$API_KEY`, `$API_KEY_2`), written so the shell expands it.

`RecordingClient.stream` sends a request whose answer is a server-sent event stream and hands the
events over one by one as they arrive (httpx's streaming mode), so a check can act mid-stream; the
exchange is recorded with every event read (its curl line uses `-N`, as a stream must be read).

Every exchange is bounded: a plain request must be answered *in full* within the client's `timeout`
(not just between two reads), a stream within its own timeout, and no body is read past `max_body`
bytes (an endless body is cut off and reported). A run's overall budget (`run_deadline`) bounds every
wait too; a request still waiting when it is spent raises `RunOutOfTime`, naming the request.
"""

from __future__ import annotations

import json
import shlex
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, NoReturn
from urllib.parse import quote

import httpx

from conformance.sse import EventStreamParser, Frame

PRIMARY = "primary"
SECONDARY = "secondary"

NO_BODY: Any = object()
NOT_JSON: Any = object()

# A 429 is retried this many times, waiting as its Retry-After says (at most MAX_RETRY_WAIT seconds).
RATE_LIMIT_RETRIES = 5
MAX_RETRY_WAIT = 30.0
DEFAULT_RETRY_WAIT = 1.0

# How long a whole event stream may take, unless a check says otherwise.
DEFAULT_STREAM_TIMEOUT = 120.0
# The most of a response body the suite reads (16 MiB); a longer body is cut off and reported.
DEFAULT_MAX_BODY = 16 * 1024 * 1024
READ_CHUNK = 64 * 1024

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


class RunOutOfTime(BaseException):
    """The run's overall time budget (`--max-time`) was spent while this request was being made.

    A BaseException, like KeyboardInterrupt: no check may swallow it and carry on."""

    def __init__(self, label: str, url: str) -> None:
        super().__init__(f"{label} at {url}")
        self.label = label
        self.url = url


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


@dataclass
class StreamExchange(Exchange):
    """A request answered with an event stream: the events read so far, and whether the server ended it.

    `text` holds the raw body read so far; `pending` an event the server began but never ended."""

    frames: list[Frame] = field(default_factory=list)
    ended: bool = False
    pending: str = ""

    def excerpt(self, limit: int = 300) -> str:
        if not self.frames:
            return super().excerpt(limit)
        shown = " | ".join(frame.excerpt(80) for frame in self.frames[:6])
        more = f" | ... ({len(self.frames)} events)" if len(self.frames) > 6 else ""
        return f"{self.status} event stream: {shown}{more}"[: limit + 40]


class LiveStream:
    """An event stream being read: status and headers at once, then `frames()` as events arrive."""

    def __init__(
        self,
        exchange: StreamExchange,
        response: httpx.Response,
        started: float,
        deadline: float,
        *,
        max_body: int = DEFAULT_MAX_BODY,
        run_deadline: float | None = None,
    ) -> None:
        self.exchange = exchange
        self._response = response
        self._started = started
        self._deadline = deadline
        self._max_body = max_body
        self._run_deadline = run_deadline
        self._parser = EventStreamParser()
        self._consumed = False

    @property
    def status(self) -> int:
        return self.exchange.status

    @property
    def headers(self) -> httpx.Headers:
        return self.exchange.headers

    def frames(self) -> Iterator[Frame]:
        """Each event as it arrives, until the server ends the stream.

        Raises `TransportFailure` if the connection breaks, the stream outlasts its timeout or grows past
        the body cap, and `RunOutOfTime` once the run's budget is spent."""
        if self._consumed:
            return
        self._consumed = True
        exchange = self.exchange
        size = 0
        try:
            for chunk in self._response.iter_text():
                now = time.perf_counter() - self._started
                exchange.text += chunk
                size += len(chunk)
                for frame in self._parser.feed(chunk, now):
                    exchange.frames.append(frame)
                    yield frame
                if time.perf_counter() > self._deadline:
                    self._overran()
                if size > self._max_body:
                    raise TransportFailure(
                        exchange.url, f"the stream grew past {self._max_body} bytes without ending", exchange.curl
                    )
            now = time.perf_counter() - self._started
            for frame in self._parser.close(now):
                exchange.frames.append(frame)
                yield frame
            exchange.ended = True
        except httpx.TimeoutException:
            if self._run_deadline is not None and time.perf_counter() >= self._run_deadline:
                raise RunOutOfTime(exchange.request.label, exchange.url) from None
            raise TransportFailure(exchange.url, "timed out waiting for the next event", exchange.curl) from None
        except httpx.HTTPError as exc:
            raise TransportFailure(exchange.url, str(exc) or type(exc).__name__, exchange.curl) from None
        finally:
            exchange.pending = self._parser.pending
            exchange.elapsed = time.perf_counter() - self._started

    def _overran(self) -> NoReturn:
        exchange = self.exchange
        if self._run_deadline is not None and self._deadline >= self._run_deadline:
            raise RunOutOfTime(exchange.request.label, exchange.url)
        timeout = self._deadline - self._started
        raise TransportFailure(exchange.url, f"the stream did not end within {timeout:.0f}s", exchange.curl)

    def read_all(self) -> list[Frame]:
        """Read to the end of the stream; every event."""
        for _ in self.frames():
            pass
        return self.exchange.frames


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
    *,
    stream: bool = False,
) -> str:
    """A curl line for a request; API keys in header values become their placeholders (``$API_KEY``).

    For an event stream (`stream`), `-N` makes curl print each event as it arrives."""
    parts = ["curl", *(["-N"] if stream else []), "-X", method.upper(), shlex.quote(url)]
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
        max_body: int = DEFAULT_MAX_BODY,
        run_deadline: float | None = None,
        on_request: Callable[[Request], None] | None = None,
    ) -> None:
        """`timeout` bounds each whole exchange, `max_body` each body read; `run_deadline` (a
        `time.perf_counter()` value) is when the run's budget is spent; `on_request` hears of every send."""
        self.base_url = base_url.rstrip("/")
        self.identities = dict(identities)
        self.auth_headers = auth_headers
        self.timeout = timeout
        self.max_body = max_body
        self.run_deadline = run_deadline
        self.on_request = on_request
        self.history: list[Exchange] = []
        self.request_count = 0
        self._http = httpx.Client(timeout=timeout, follow_redirects=False)

    @property
    def secrets(self) -> dict[str, str]:
        return {identity.key: identity.placeholder for identity in self.identities.values() if identity.key}

    def has_identity(self, name: str) -> bool:
        return name in self.identities

    def send(
        self,
        request: Request,
        *,
        identity: str | None = PRIMARY,
        auth_headers: Callable[[str], dict[str, str]] | None = None,
    ) -> Exchange:
        """Send a request; `identity=None` sends it without credentials, `auth_headers` overrides how
        the identity's key is sent."""
        prepared, curl = self._prepare(request, identity, auth_headers)
        started = time.perf_counter()
        response = self._send_through_rate_limits(request, prepared, curl)
        try:
            text = self._read_body(request, response, curl, self._deadline(started, self.timeout))
        finally:
            response.close()
        exchange = Exchange(
            request=request,
            identity=identity,
            url=str(prepared.url),
            status=response.status_code,
            headers=response.headers,
            text=text,
            curl=curl,
            elapsed=time.perf_counter() - started,
        )
        self.history.append(exchange)
        return exchange

    def _deadline(self, started: float, timeout: float) -> float:
        deadline = started + timeout
        return deadline if self.run_deadline is None else min(deadline, self.run_deadline)

    def _read_body(self, request: Request, response: httpx.Response, curl: str, deadline: float) -> str:
        """The whole body, read by `deadline` and no longer than `max_body` bytes, as text."""
        url = str(response.request.url)
        chunks: list[bytes] = []
        size = 0
        try:
            for chunk in response.iter_bytes(READ_CHUNK):
                chunks.append(chunk)
                size += len(chunk)
                if size > self.max_body:
                    raise TransportFailure(url, f"the response body grew past {self.max_body} bytes", curl)
                if time.perf_counter() > deadline:
                    self._overran(request, url, curl, deadline, "the whole response")
        except httpx.TimeoutException:
            self._overran(request, url, curl, deadline, "the rest of the body")
        except httpx.HTTPError as exc:
            raise TransportFailure(url, str(exc) or type(exc).__name__, curl) from None
        return b"".join(chunks).decode(response.encoding or "utf-8", errors="replace")

    def _overran(self, request: Request, url: str, curl: str, deadline: float, waiting_for: str) -> NoReturn:
        if self.run_deadline is not None and deadline >= self.run_deadline:
            raise RunOutOfTime(request.label, url)
        raise TransportFailure(url, f"{waiting_for} did not arrive within {self.timeout:g}s", curl)

    @contextmanager
    def stream(
        self, request: Request, *, identity: str | None = PRIMARY, timeout: float = DEFAULT_STREAM_TIMEOUT
    ) -> Iterator[LiveStream]:
        """Send a request and read its answer as an event stream, event by event (`LiveStream.frames`).

        A non-2xx answer is read whole (it is an error body, not a stream). The exchange is recorded as
        soon as the status arrives and grows as events are read; leaving the block closes the stream."""
        prepared, curl = self._prepare(request, identity, None, stream=True)
        started = time.perf_counter()
        response = self._send_through_rate_limits(request, prepared, curl)
        exchange = StreamExchange(
            request=request,
            identity=identity,
            url=str(prepared.url),
            status=response.status_code,
            headers=response.headers,
            text="",
            curl=curl,
            elapsed=0.0,
        )
        self.history.append(exchange)
        try:
            if not 200 <= response.status_code < 300:
                exchange.text = self._read_body(request, response, curl, self._deadline(started, self.timeout))
                exchange.ended = True
            deadline = self._deadline(started, timeout)
            yield LiveStream(
                exchange, response, started, deadline, max_body=self.max_body, run_deadline=self.run_deadline
            )
        finally:
            response.close()

    def _prepare(
        self,
        request: Request,
        identity: str | None,
        auth_headers: Callable[[str], dict[str, str]] | None,
        *,
        stream: bool = False,
    ) -> tuple[httpx.Request, str]:
        headers: dict[str, str] = {}
        if identity is not None:
            headers.update((auth_headers or self.auth_headers)(self.identities[identity].key))
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
        curl = build_curl(request.method, str(prepared.url), headers.items(), body, self.secrets, stream=stream)
        return prepared, curl

    def _send_through_rate_limits(self, request: Request, prepared: httpx.Request, curl: str) -> httpx.Response:
        """Send (the body still to be read), and after a 429 wait as ``Retry-After`` says and send again
        (``RATE_LIMIT_RETRIES`` times)."""
        for attempt in range(RATE_LIMIT_RETRIES + 1):
            response = self._send(request, prepared, curl)
            if response.status_code != 429 or attempt == RATE_LIMIT_RETRIES:
                return response
            response.close()
            wait = retry_wait(response.headers.get("retry-after"))
            if self.run_deadline is not None and time.perf_counter() + wait >= self.run_deadline:
                raise RunOutOfTime(request.label + " (waiting out a 429)", str(prepared.url))
            time.sleep(wait)
        return response

    def _send(self, request: Request, prepared: httpx.Request, curl: str) -> httpx.Response:
        started = time.perf_counter()
        if self.run_deadline is not None and started >= self.run_deadline:
            raise RunOutOfTime(request.label, str(prepared.url))
        self.request_count += 1
        if self.on_request is not None:
            self.on_request(request)
        wait = max(0.001, self._deadline(started, self.timeout) - started)
        prepared.extensions["timeout"] = httpx.Timeout(wait).as_dict()
        try:
            return self._http.send(prepared, stream=True)
        except httpx.TimeoutException:
            self._overran(request, str(prepared.url), curl, self._deadline(started, self.timeout), "a response")
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
