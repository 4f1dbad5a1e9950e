"""The mock's documentation pages: ``GET /``, each family's Swagger UI in a real browser, a quiet start.

The browser test drives Debian's ``chromium`` (``/usr/bin/chromium``, installed by ``.ci/run``) through
playwright, without downloading a browser of playwright's own, and is skipped only where chromium is absent.
For every family it follows the link on ``GET /`` (the HTML index, for the browser's own ``Accept``) to the
family's page, checks that the page lists every operation of the served contract, and that "Try it out" sends
its request, with the key entered in "Authorize", to the mock that served the page (the answer carries the
mock's ``x-request-id``).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import typing as t
from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import sync_playwright

from mockserver.app import create_app
from mockserver.families import discover
from tests.servers import ROOT, running_server, stop_process

FAMILIES = sorted(discover())
BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
PAGE_TIMEOUT_MS = 30_000
KEY = "swagger-ui-key"


def _client() -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app()), base_url="http://mock")


@pytest.mark.anyio
async def test_root_is_html_for_a_browser_and_json_otherwise_with_every_familys_links() -> None:
    async with _client() as client:
        page = await client.get("/", headers={"Accept": BROWSER_ACCEPT})
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        for accept in ("application/json", "*/*", "application/json, text/html;q=0.5", None):
            answer = await client.get("/", headers={"Accept": accept} if accept else {})
            assert answer.headers["content-type"] == "application/json", accept
            assert answer.json()["service"] == "convo-mock"
        listed = {family["name"]: family for family in answer.json()["families"]}
        assert sorted(listed) == FAMILIES
        elsewhere = (await client.get("/nowhere")).json()
        assert elsewhere["families"] == answer.json()["families"], "the 404 lists the families as GET / does"
        for name, family in listed.items():
            prefix = family["base_path"].rstrip("/")
            assert (family["ui"], family["openapi_json"], family["openapi_yaml"]) == (
                f"{prefix}/ui/", f"{prefix}/openapi.json", f"{prefix}/openapi.yaml")
            for link in (family["ui"], family["openapi_json"], family["openapi_yaml"]):
                assert f'href="{link}"' in page.text, f"{name}: the HTML page links {link}"
                linked = await client.get(link)
                assert linked.status_code == 200, f"{name}: {link} answers {linked.status_code}"
            ui = await client.get(family["ui"])
            assert "swagger-ui" in ui.text and ui.headers["content-type"].startswith("text/html")
            contract = (await client.get(family["openapi_json"])).json()
            assert contract["servers"] == [{"url": family["base_path"]}], \
                f"{name}: Try it out must call the mock's own prefix, not the vendor"


def test_starting_the_mock_prints_no_warning() -> None:
    """The start prints the banner and nothing else: no missing Swagger UI warning, nothing on stderr."""
    process = subprocess.Popen([sys.executable, "-m", "mockserver", "serve", "--port", "0"], cwd=ROOT,
                               env={**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"},
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    stdout: list[str] = []
    stderr: list[str] = []
    banner_done = threading.Event()

    def read(stream: t.IO[str], into: list[str]) -> None:
        for line in stream:
            into.append(line)
            if "Ctrl+C stops." in line:
                banner_done.set()

    readers = [threading.Thread(target=read, args=(process.stdout, stdout), daemon=True),
               threading.Thread(target=read, args=(process.stderr, stderr), daemon=True)]
    for reader in readers:
        reader.start()
    try:
        assert banner_done.wait(30), f"no banner: {''.join(stdout)}{''.join(stderr)}"
        url = stdout[0].split("listening on ", 1)[1].strip()
        deadline = time.monotonic() + 10
        while True:  # the banner is printed just before the server accepts
            try:
                families = httpx.get(url + "/", timeout=2).json()["families"]
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "the mock did not answer"
                time.sleep(0.05)
        for family in families:  # the first use of a page must not warn either
            assert httpx.get(url + family["ui"], timeout=10).status_code == 200
    finally:
        stop_process(process)
    for reader in readers:
        reader.join(5)
    assert stderr == [], "".join(stderr)
    noisy = [line for line in stdout if any(word in line.lower() for word in ("warn", "swagger", "could not"))]
    assert not noisy, "".join(stdout)



@pytest.fixture(scope="module")
def mock_url() -> Iterator[str]:
    with running_server("-m", "mockserver", "serve", "--host", "127.0.0.1", "--port", "0") as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[t.Any]:
    if CHROMIUM is None:
        pytest.skip("Debian's chromium is not installed (apt-get install -y chromium; .ci/run installs it)")
    with tempfile.TemporaryDirectory(prefix="convo-mock-chromium-") as profile, sync_playwright() as driver:
        context = driver.chromium.launch_persistent_context(
            profile, executable_path=CHROMIUM, headless=True, args=CHROMIUM_FLAGS)
        try:
            yield context
        finally:
            context.close()



def _operations(contract: dict) -> set[tuple[str, str]]:
    return {(method, path) for path, item in contract["paths"].items() for method in item if method in METHODS}


@pytest.mark.parametrize("name", FAMILIES)
def test_swagger_ui_shows_every_operation_and_try_it_out_calls_the_mock(name: str, mock_url: str,
                                                                       browser: t.Any) -> None:
    family = next(f for f in httpx.get(mock_url + "/", timeout=10).json()["families"] if f["name"] == name)
    contract = httpx.get(mock_url + family["openapi_json"], timeout=10).json()
    page = browser.new_page()
    try:
        page.goto(mock_url + "/", timeout=PAGE_TIMEOUT_MS)  # the browser's own Accept header: the HTML index
        page.locator(f'a[href="{family["ui"]}"]').click()
        page.wait_for_selector(".opblock", timeout=PAGE_TIMEOUT_MS)
        assert page.url == mock_url + family["ui"]
        blocks = page.locator(".opblock").all()
        shown = set()
        for block in blocks:
            method = next(c.removeprefix("opblock-") for c in (block.get_attribute("class") or "").split()
                          if c.removeprefix("opblock-") in METHODS)
            shown.add((method, block.locator(".opblock-summary-path").get_attribute("data-path")))
        assert shown == _operations(contract), f"{name}: operations on the page differ from the contract"

        # Authorize with a key in the first security scheme, as the README tells a user to.
        page.locator("button.authorize").first.click()
        scheme = page.locator(".auth-container").first
        scheme.locator("input").first.fill(KEY)
        scheme.locator("button.authorize").click()
        page.locator("button.btn-done").first.click()

        # "Try it out" on a GET (one without path parameters where there is one; others get "1").
        gets = page.locator(".opblock.opblock-get")
        paths = [get.locator(".opblock-summary-path").get_attribute("data-path") or "" for get in gets.all()]
        assert paths, f"{name}: no GET operation to try"
        block = gets.nth(next((i for i, path in enumerate(paths) if "{" not in path), 0))
        block.locator(".opblock-summary").click()
        block.locator("button.try-out__btn").click()
        for row in block.locator("tr[data-param-in=path]").all():
            row.locator("input").fill("1")
        api = mock_url + family["base_path"].rstrip("/") + "/"
        with page.expect_response(lambda r: r.url.startswith(api) and "/ui/" not in r.url
                                  and "/openapi." not in r.url, timeout=PAGE_TIMEOUT_MS) as answer:
            block.locator("button.execute").click()
        response = answer.value
        assert response.request.method == "GET"
        sent = [response.request.url, *response.request.all_headers().values()]  # any header the scheme names
        assert any(KEY in value for value in sent), "the key is sent"
        assert response.status != 401, f"{name}: the key entered in Authorize did not authenticate"
        assert (response.headers.get("x-request-id") or "").startswith("req_"), "answered by the mock"
        shown_status = block.locator(".live-responses-table tbody .response-col_status").first
        shown_status.wait_for(timeout=PAGE_TIMEOUT_MS)
        assert shown_status.inner_text().strip() == str(response.status), "the page shows the mock's answer"
    finally:
        page.close()
