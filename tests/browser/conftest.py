"""Fixtures for the browser tests: the built site on 127.0.0.1, Debian's Chromium through Playwright.

The site comes from ``site/`` (``make build``), or from $FIELDNOTES_SITE.  Every page a test opens
logs its requests; :func:`open_page` fails the test if one went to a host other than the local
server (requests a test routes on purpose, such as the Hugging Face fetch, are fulfilled by
Playwright and never reach the network).
"""

from __future__ import annotations

import functools
import http.server
import json
import os
import re
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Dialog,
    Error,
    Page,
    Request,
    Route,
    sync_playwright,
)

from tests.chromium import CHROMIUM_ARGS

REPO = Path(__file__).resolve().parents[2]
LIVE_TIMEOUT_MS = 60_000


class Handler(http.server.SimpleHTTPRequestHandler):
    extensions_map = {
        **http.server.SimpleHTTPRequestHandler.extensions_map,
        ".mjs": "text/javascript",
        ".js": "text/javascript",
        ".wasm": "application/wasm",
        ".whl": "application/zip",
        ".json": "application/json",
    }
    cache_seconds = 0

    def end_headers(self) -> None:
        if self.cache_seconds:
            self.send_header("Cache-Control", f"public, max-age={self.cache_seconds}")
        super().end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


def serve(directory: Path, cache_seconds: int = 0) -> tuple[http.server.ThreadingHTTPServer, str]:
    """Serve ``directory`` on 127.0.0.1 (a free port) from a daemon thread; returns (server, base URL)."""
    handler_cls = type("SiteHandler", (Handler,), {"cache_seconds": cache_seconds})
    handler = functools.partial(handler_cls, directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/"


def launch(playwright: Any) -> Browser:
    path = os.environ.get("CHROMIUM", "/usr/bin/chromium")
    if not os.access(path, os.X_OK):
        pytest.fail(f"no Chromium at {path}: apt-get install chromium, or set CHROMIUM=/path/to/chrome")
    browser: Browser = playwright.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
    return browser


@pytest.fixture(scope="session")
def site_dir() -> Path:
    site = Path(os.environ.get("FIELDNOTES_SITE", REPO / "site"))
    if not (site / "calculators" / "vllm" / "index.html").is_file():
        pytest.fail(f"{site} has no calculators/vllm/index.html: run `make build` first")
    return site


@pytest.fixture(scope="session")
def base_url(site_dir: Path) -> Iterator[str]:
    server, url = serve(site_dir)
    try:
        yield url
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = launch(playwright)
        try:
            yield browser
        finally:
            browser.close()


@dataclass
class Visit:
    page: Page
    context: BrowserContext
    requests: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)

    def off_site(self, base: str) -> list[str]:
        host = urlsplit(base).netloc
        return [u for u in self.requests if urlsplit(u).scheme not in ("data", "blob") and urlsplit(u).netloc != host]


OpenPage = Callable[..., Visit]


@pytest.fixture
def open_page(browser: Browser, base_url: str) -> Iterator[OpenPage]:
    """open_page(path, js=True, allow_hosts=(), setup=None) -> Visit, checked for off-site requests."""
    visits: list[tuple[Visit, tuple[str, ...]]] = []

    def _open(path: str, js: bool = True, allow_hosts: tuple[str, ...] = (),
              setup: Callable[[BrowserContext], None] | None = None, wait_live: bool = False) -> Visit:
        context = browser.new_context(java_script_enabled=js, service_workers="block")
        page = context.new_page()
        visit = Visit(page, context)

        def on_request(request: Request) -> None:
            visit.requests.append(request.url)

        context.on("request", on_request)
        def on_console(message: ConsoleMessage) -> None:
            if message.type == "error":
                visit.console_errors.append(message.text)

        def on_dialog(dialog: Dialog) -> None:
            visit.dialogs.append(dialog.message)
            dialog.dismiss()

        def on_page_error(error: Error) -> None:
            visit.console_errors.append(str(error))

        page.on("console", on_console)
        page.on("pageerror", on_page_error)
        page.on("dialog", on_dialog)
        if setup is not None:
            setup(context)
        page.goto(base_url + path)
        visits.append((visit, allow_hosts))
        if wait_live:
            wait_live_all(page)
        return visit

    yield _open
    problems = []
    for visit, allowed in visits:
        off = [u for u in visit.off_site(base_url) if urlsplit(u).netloc not in allowed]
        if off:
            problems.append(f"requests left 127.0.0.1: {off}")
        if visit.dialogs:
            problems.append(f"dialogs opened: {visit.dialogs}")
        visit.context.close()
    assert not problems, problems


def wait_live(page: Page, name: str) -> None:
    """Wait until calculator ``name`` shows results computed by Pyodide for its current inputs."""
    page.wait_for_function(
        """name => { const f = document.querySelector(`form[data-calculator="${name}"]`);
                     const s = f.querySelector('[data-role=status]');
                     return s.dataset.state === 'live' && !f.classList.contains('fn-calc--stale'); }""",
        arg=name,
        timeout=LIVE_TIMEOUT_MS,
    )


def wait_live_all(page: Page) -> None:
    for name in page.eval_on_selector_all("form[data-calculator]", "fs => fs.map(f => f.dataset.calculator)"):
        wait_live(page, name)


def outputs(page: Page, name: str) -> dict[str, str]:
    """data-output -> data-value of calculator ``name``."""
    result: dict[str, str] = page.eval_on_selector_all(
        f'form[data-calculator="{name}"] [data-output]',
        "els => Object.fromEntries(els.map(e => [e.dataset.output, e.dataset.value]))",
    )
    return result


def cli_json(command: str, *args: str) -> dict[str, Any]:
    """``python -m calculators COMMAND ARGS --json``, parsed."""
    proc = subprocess.run(
        [sys.executable, "-m", "calculators", command, *args, "--json"],
        cwd=REPO, capture_output=True, text=True, check=True, timeout=60,
    )
    data: dict[str, Any] = json.loads(proc.stdout)
    return data


def same(page_value: str, cli_value: Any) -> bool:
    """A data-value (JSON text, or the raw string of a text output) equals the CLI's JSON value."""
    if isinstance(cli_value, str):
        return page_value == cli_value
    parsed = json.loads(page_value)
    if isinstance(cli_value, float) or isinstance(parsed, float):
        return parsed is not None and cli_value is not None and float(parsed) == float(cli_value)
    return bool(parsed == cli_value)

def page_settings(context: BrowserContext, page: str, **changes: object) -> None:
    """Serve ``page`` with its calculators' JSON settings changed (a route: the HTTP cache is off
    meanwhile), e.g. ``fastLinkBytesPerS=0`` for the memory snapshot whatever the loopback's speed."""

    def rewrite(route: Route) -> None:
        response = route.fetch()
        text = response.text()
        match = re.search(r'(<script type="application/json" id="fn-calculators-config">)(.*?)(</script>)', text)
        assert match, "no calculators config on the page"
        settings = json.loads(match.group(2))
        settings.update(changes)
        body = text[: match.start(2)] + json.dumps(settings).replace("<", "\\u003c") + text[match.end(2):]
        route.fulfill(response=response, body=body)

    context.route(f"**/{page}", rewrite)
