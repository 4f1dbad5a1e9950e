"""The mock's HTTP edge under abusive clients: size limits, timeouts, connection cap, shutdown deadline.

Each test starts ``convo-mock serve`` on a free loopback port with small limits and speaks raw HTTP/1.1
over sockets where a client library would not send what an attacker sends. Every wait is bounded.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager
from urllib.parse import urlsplit

import httpx
import pytest
import yaml

from mockserver.limits import Limits
from tests.contract import assert_conforms
from tests.servers import ROOT, running_server

OPENAI = "/openai/v1"
VAI = "/virtuousai/api/v1"


def serve(*flags: str) -> AbstractContextManager[str]:
    return running_server("-m", "mockserver", "serve", "--port", "0", *flags)


def address(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    return parts.hostname or "127.0.0.1", parts.port or 80


def connect(url: str, timeout: float = 10.0) -> socket.socket:
    return socket.create_connection(address(url), timeout=timeout)


def read_until_closed(sock: socket.socket, limit: int = 1 << 22) -> bytes:
    """Everything the server sends until it closes the connection (at most ``limit`` bytes)."""
    received = bytearray()
    while len(received) < limit:
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            break
        if not chunk:
            break
        received += chunk
    return bytes(received)


def parse(raw: bytes) -> tuple[int, dict[str, str], bytes]:
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return status, headers, body


def exchange(url: str, request: bytes) -> tuple[int, dict[str, str], bytes]:
    """Send raw bytes, read the answer to the end of the connection."""
    with connect(url) as sock:
        try:
            sock.sendall(request)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server answered and closed before taking everything; its answer is still there
        return parse(read_until_closed(sock))


def assert_openai_envelope(status: int, headers: dict[str, str], body: bytes, expected: int) -> dict:
    assert status == expected, body
    assert headers["content-type"] == "application/json"
    assert headers["x-request-id"].startswith("req_")
    assert headers["openai-version"] == "2020-10-01"
    error = json.loads(body)["error"]
    assert set(error) == {"message", "type", "param", "code"} and error["message"]
    return error


def assert_fastapi_envelope(status: int, headers: dict[str, str], body: bytes, expected: int) -> str:
    assert status == expected, body
    assert headers["content-type"] == "application/json"
    detail = json.loads(body)["detail"]
    assert isinstance(detail, str) and detail
    return detail


def post(path: str, body: bytes, *extra: str, chunked: bool = False) -> bytes:
    head = [f"POST {path} HTTP/1.1", "Host: mock", "Authorization: Bearer k", "X-API-Key: k",
            "Content-Type: application/json", *extra]
    if chunked:
        head.append("Transfer-Encoding: chunked")
        payload = b"".join(b"%x\r\n%s\r\n" % (len(body[i:i + 1000]), body[i:i + 1000])
                           for i in range(0, len(body), 1000)) + b"0\r\n\r\n"
    else:
        head.append(f"Content-Length: {len(body)}")
        payload = body
    return ("\r\n".join(head) + "\r\n\r\n").encode() + payload


def conversation_body(size: int) -> bytes:
    return json.dumps({"items": [{"role": "user", "content": "x" * size}]}).encode()


@pytest.fixture(scope="module")
def small_limits() -> Iterator[str]:
    with serve("--max-body-bytes", "2000", "--max-url-bytes", "1024", "--max-header-bytes", "2048") as url:
        yield url


# A. Body size


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_body_over_the_limit_is_413_in_each_family_envelope(small_limits: str, chunked: bool) -> None:
    body = conversation_body(5000)
    error = assert_openai_envelope(*exchange(small_limits, post(f"{OPENAI}/conversations", body, chunked=chunked)),
                                   413)
    assert "2000" in error["message"] and error["code"] == "request_too_large"
    detail = assert_fastapi_envelope(*exchange(small_limits, post(f"{VAI}/chat/threads", body, chunked=chunked)),
                                     413)
    assert "2000" in detail


def test_body_over_the_limit_is_refused_before_it_is_sent(small_limits: str) -> None:
    """A declared length above the limit is answered at once: the server does not wait for the body."""
    request = post(f"{OPENAI}/conversations", b"")
    request = request.replace(b"Content-Length: 0", b"Content-Length: 1000000000")
    with connect(small_limits) as sock:
        sock.sendall(request)
        status, _, _ = parse(read_until_closed(sock))
    assert status == 413


def test_body_within_the_limit_is_served(small_limits: str) -> None:
    for chunked in (False, True):
        status, _, body = exchange(small_limits, post(f"{OPENAI}/conversations", conversation_body(100),
                                                      chunked=chunked))
        assert status == 200, body


# B. Head size


def test_url_over_the_limit_is_414_in_the_envelope(small_limits: str) -> None:
    for path, render in ((f"{OPENAI}/conversations", assert_openai_envelope),
                         (f"{VAI}/chat/threads", assert_fastapi_envelope)):
        request = f"GET {path}?q={'a' * 70_000} HTTP/1.1\r\nHost: mock\r\nX-API-Key: k\r\n\r\n".encode()
        render(*exchange(small_limits, request), 414)


def test_headers_over_the_limit_are_431_in_the_envelope(small_limits: str) -> None:
    one_big = f"GET {OPENAI}/conversations/c HTTP/1.1\r\nHost: mock\r\nX-Big: {'a' * 3_000_000}\r\n\r\n"
    assert_openai_envelope(*exchange(small_limits, one_big.encode()), 431)
    many = "".join(f"X-H{i}: {'b' * 50}\r\n" for i in range(100))
    request = f"GET {VAI}/chat/threads HTTP/1.1\r\nHost: mock\r\n{many}\r\n"
    assert_fastapi_envelope(*exchange(small_limits, request.encode()), 431)


# E. What the HTTP parser refuses


@pytest.mark.parametrize("request_bytes", [
    f"FOO {OPENAI}/conversations HTTP/1.1\r\nHost: mock\r\n\r\n".encode(),
    (f"POST {OPENAI}/conversations HTTP/1.1\r\nHost: mock\r\nContent-Length: 5\r\n"
     "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n").encode(),
    f"GET {OPENAI}/conversations HTTP/1.1\r\nHost: mock\r\nBad Header: x\r\n\r\n".encode(),
], ids=["unknown-method", "length-and-chunked", "bad-header-name"])
def test_requests_the_parser_refuses_are_400_in_the_envelope(small_limits: str, request_bytes: bytes) -> None:
    assert_openai_envelope(*exchange(small_limits, request_bytes), 400)
    vai = request_bytes.replace(OPENAI.encode() + b"/conversations", VAI.encode() + b"/chat/threads")
    assert_fastapi_envelope(*exchange(small_limits, vai), 400)


# D. Slow, silent and partial clients


def test_silent_and_slowloris_connections_are_closed_while_others_are_served() -> None:
    with serve("--header-timeout", "1", "--keep-alive-timeout", "1") as url, ExitStack() as stack:
        silent = [stack.enter_context(connect(url)) for _ in range(25)]
        slow = [stack.enter_context(connect(url)) for _ in range(25)]
        head = f"GET {OPENAI}/conversations/c HTTP/1.1\r\nHost: mock\r\nAuthorization: Bearer k\r\n".encode()
        closed: set[int] = set()
        with httpx.Client(base_url=url, timeout=10) as client:
            for step in range(12):  # slowloris: one header byte per connection every 0.25 s, for up to 3 s
                for sock in slow:
                    if sock.fileno() in closed:
                        continue
                    try:
                        sock.send(head[step:step + 1])
                    except OSError:
                        closed.add(sock.fileno())
                assert client.get(f"{OPENAI}/conversations/c", headers={"Authorization": "Bearer k"}).status_code \
                    == 404, "a normal client is served while the bad ones hang on"
                time.sleep(0.25)
        for sock in silent + slow:
            sock.settimeout(10)
            assert read_until_closed(sock) == b"", "the server closed the connection without answering"


def test_partial_body_is_408_in_the_envelope_and_closed() -> None:
    with serve("--body-timeout", "1") as url, connect(url) as sock:
        request = post(f"{VAI}/chat/threads", b'{"title": "x"}')
        request = request.replace(b"Content-Length: 14", b"Content-Length: 100")
        sock.sendall(request)
        assert_fastapi_envelope(*parse(read_until_closed(sock)), 408)


@pytest.mark.parametrize("flags", [("--send-timeout", "1"), ("--send-timeout", "1000", "--max-unsent-bytes", "500000")],
                         ids=["send-timeout", "unsent-bytes"])
def test_unread_response_is_dropped(flags: tuple[str, ...]) -> None:
    """A client that never reads cannot make the server hold a large page for ever, nor beyond the budget."""
    with serve(*flags) as url:
        with httpx.Client(base_url=url + OPENAI, headers={"Authorization": "Bearer k"}, timeout=30) as client:
            conversation = client.post("/conversations", json={}).json()["id"]
            text = "y" * 150_000
            for _ in range(2):
                response = client.post(f"/conversations/{conversation}/items",
                                       json={"items": [{"role": "user", "content": text}] * 20})
                assert response.status_code == 200, response.text
            page = client.get(f"/conversations/{conversation}/items?limit=40")
            assert page.status_code == 200
            whole = len(page.content)
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.settimeout(15)
        with sock:
            sock.connect(address(url))
            sock.sendall(f"GET {OPENAI}/conversations/{conversation}/items?limit=40 HTTP/1.1\r\nHost: mock\r\n"
                         "Authorization: Bearer k\r\n\r\n".encode())
            time.sleep(4)  # the client reads nothing for longer than the send timeout
            received = read_until_closed(sock, limit=whole * 2)
        assert len(received) < whole, "the server dropped the stalled connection instead of holding the page"


def test_connections_beyond_the_cap_are_503_in_the_envelope() -> None:
    with serve("--max-connections", "4") as url, ExitStack() as stack:
        for _ in range(4):
            stack.enter_context(connect(url))
        request = f"GET {OPENAI}/conversations/c HTTP/1.1\r\nHost: mock\r\nAuthorization: Bearer k\r\n\r\n"
        assert_openai_envelope(*exchange(url, request.encode()), 503)


# E. Shutdown deadline


@contextmanager
def server_process(*flags: str) -> Iterator[tuple[subprocess.Popen, str]]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen([sys.executable, "-m", "mockserver", "serve", "--port", "0", *flags], cwd=ROOT,
                               env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert process.stdout is not None
        url = ""
        for line in process.stdout:
            if "listening on " in line:
                url = line.split("listening on ")[1].strip()
                break
        assert url, "the server started"
        yield process, url
    finally:
        if process.poll() is None:
            process.kill()
        process.wait()


def test_sigterm_ends_a_stream_in_flight_after_the_shutdown_timeout() -> None:
    with server_process("--shutdown-timeout", "1", "--stream-delay", "0.5") as (process, url):
        base = url + VAI
        with httpx.Client(base_url=base, headers={"X-API-Key": "k"}, timeout=30) as client:
            for _ in range(100):
                try:
                    thread = client.post("/chat/threads", json={"title": "t"}).json()["id"]
                    break
                except httpx.TransportError:
                    time.sleep(0.1)
            words = " ".join(f"w{i}" for i in range(200))  # ~70 deltas at 0.5 s: half a minute of stream
            request = {"trigger": "submit-message", "id": thread,
                       "messages": [{"id": "m", "role": "user", "parts": [{"type": "text", "text": words}]}]}
            with client.stream("POST", f"/chat/threads/{thread}/turns/stream", json=request) as stream:
                lines = stream.iter_lines()
                assert any("text-delta" in line for line in lines), "the stream is under way"
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    pytest.fail("the server still waits for the stream after its shutdown timeout")
                assert process.returncode is not None


# F. Configuration


def test_limits_read_the_environment_and_refuse_nonsense() -> None:
    limits = Limits.from_environment({"CONVO_MOCK_MAX_BODY_BYTES": "123", "CONVO_MOCK_HEADER_TIMEOUT": "2.5"})
    assert limits.max_body_bytes == 123 and limits.header_timeout == 2.5
    assert limits.max_url_bytes == Limits().max_url_bytes
    with pytest.raises(ValueError, match="CONVO_MOCK_MAX_BODY_BYTES"):
        Limits.from_environment({"CONVO_MOCK_MAX_BODY_BYTES": "lots"})
    with pytest.raises(ValueError, match="max-connections"):
        Limits.from_environment({"CONVO_MOCK_MAX_CONNECTIONS": "0"})


def test_serve_help_documents_every_limit() -> None:
    result = subprocess.run([sys.executable, "-m", "mockserver", "serve", "--help"], cwd=ROOT, capture_output=True,
                            text=True, timeout=60, env={**os.environ, "PYTHONPATH": str(ROOT)})
    for flag in ("--max-body-bytes", "--max-url-bytes", "--max-header-bytes", "--header-timeout", "--body-timeout",
                 "--send-timeout", "--max-unsent-bytes", "--keep-alive-timeout", "--max-connections",
                 "--shutdown-timeout", "CONVO_MOCK_MAX_BODY_BYTES"):
        assert flag in result.stdout


def test_a_limit_set_in_the_environment_applies_and_a_flag_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    body = conversation_body(3000)
    monkeypatch.setenv("CONVO_MOCK_MAX_BODY_BYTES", "1000")
    with serve() as url:
        assert exchange(url, post(f"{OPENAI}/conversations", body))[0] == 413
    with serve("--max-body-bytes", "100000") as url:
        assert exchange(url, post(f"{OPENAI}/conversations", body))[0] == 200


# A. The contracts say so


@pytest.mark.parametrize("spec_file", ["openai-conversations.yaml", "virtuousai-chat.yaml", "noxus-conversations.yaml"])
def test_every_operation_with_a_body_declares_413_in_the_envelope(spec_file: str) -> None:
    spec = yaml.safe_load((ROOT / "openapi" / spec_file).read_text())
    error_schema = {"openai-conversations.yaml": "ErrorResponse", "virtuousai-chat.yaml": "HTTPError",
                    "noxus-conversations.yaml": "HTTPError"}[spec_file]
    with_body = 0
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if not isinstance(operation, dict) or "requestBody" not in operation:
                continue
            with_body += 1
            declared = operation["responses"].get("413")
            assert declared, f"{method.upper()} {path} declares no 413"
            response = spec["components"]["responses"][declared["$ref"].rsplit("/", 1)[1]]
            assert response["content"]["application/json"]["schema"]["$ref"].endswith("/" + error_schema)
            assert "4 MiB" in response["description"] and "--max-body-bytes" in response["description"]
    assert with_body >= 3


@pytest.mark.parametrize("spec_file", ["openai-conversations.yaml", "virtuousai-chat.yaml", "noxus-conversations.yaml"])
def test_every_operation_declares_the_head_limits(spec_file: str) -> None:
    spec = yaml.safe_load((ROOT / "openapi" / spec_file).read_text())
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if isinstance(operation, dict) and "responses" in operation:
                assert {"414", "431"} <= set(operation["responses"]), f"{method.upper()} {path}"


def test_refusals_conform_to_the_contracts(small_limits: str) -> None:
    """413, 414 and 431 as served are what the contracts declare (openapi-core validates the answers)."""
    body = conversation_body(5000)
    cases = [("openai-conversations.yaml", "POST", f"{OPENAI}/conversations", {}, {}, 413),
             ("virtuousai-chat.yaml", "POST", f"{VAI}/chat/threads", {}, {}, 413),
             ("openai-conversations.yaml", "GET", f"{OPENAI}/conversations/c/items", {"after": "a" * 2000}, {}, 414),
             ("virtuousai-chat.yaml", "GET", f"{VAI}/chat/threads", {}, {"X-Big": "b" * 4000}, 431)]
    with httpx.Client(base_url=small_limits, headers={"Authorization": "Bearer k"}, timeout=10) as client:
        for spec_file, method, path, params, headers, status in cases:
            content = body if method == "POST" else None
            response = client.request(method, path, params=params, headers={**headers, "Content-Type":
                                      "application/json"}, content=content)
            assert response.status_code == status, response.text
            assert_conforms(spec_file, response)
