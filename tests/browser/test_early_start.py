"""The calculators' worker starts from the page's ``<head>`` (issue 11: early start), only there.

``hooks/calculator_pages.py`` inlines ``docs/assets/calculators/early.js`` at the top of the head of
pages with a calculator: it creates the worker and sends it its init message while the page is still
loading, and ``calculators.js`` (a module script at the end of the body) adopts that worker.  The
test that would fail without the early start holds ``calculators.js`` back: the worker's own
downloads (the worker script, the stdlib, Pyodide's wasm) must begin anyway, and once the script is
let through the page goes live on that one worker.  Pages without a calculator carry none of it and
load no Pyodide byte.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Request, Route

from tests.browser.conftest import OpenPage, wait_live

PAGE = "calculators/vllm/"
WORKER_FETCHES = ("/assets/calculators/worker.js", "/stdlib-", "/pyodide.asm.wasm", "/pyodide.mjs")


@pytest.fixture
def held_back(browser: Browser, base_url: str) -> Iterator[tuple[Page, list[str], list[Route], threading.Event]]:
    """A page of the vLLM calculator whose calculators.js is not answered until the test says so:
    (page, requested URLs in order, the held route, an event set when it was requested)."""
    context: BrowserContext = browser.new_context(service_workers="block")
    requests: list[str] = []
    held: list[Route] = []
    asked = threading.Event()

    def on_request(request: Request) -> None:
        requests.append(request.url)

    def hold(route: Route) -> None:
        held.append(route)
        asked.set()

    context.on("request", on_request)
    context.route(re.compile(r".*/assets/calculators/calculators\.js(\?.*)?$"), hold)
    page = context.new_page()
    try:
        yield page, requests, held, asked
    finally:
        context.close()


def _wait_for(page: Page, ok: object, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if callable(ok) and ok():
            return True
        page.wait_for_timeout(100)  # lets Playwright deliver the request events
    return False


def test_worker_starts_from_head_before_the_calculator_script_runs(
    held_back: tuple[Page, list[str], list[Route], threading.Event], base_url: str
) -> None:
    page, requests, held, asked = held_back
    page.goto(base_url + PAGE, wait_until="commit")

    def worker_fetched() -> bool:
        return all(any(part in u for u in requests) for part in WORKER_FETCHES)

    assert _wait_for(page, lambda: asked.is_set() and worker_fetched(), 30), (
        f"with calculators.js held back, the worker's downloads did not start: {requests}")
    # calculators.js has not run: nothing is live yet, the early worker waits to be adopted
    assert held and page.evaluate("() => window.fnCalculators === undefined")
    assert page.evaluate("() => window.fnCalculatorsEarly && window.fnCalculatorsEarly.worker instanceof Worker")
    held[0].continue_()
    wait_live(page, "vllm")
    # calculators.js adopted that worker: one worker script, one stdlib, no second boot
    assert sum("/assets/calculators/worker.js" in u for u in requests) == 1, requests
    assert sum("/stdlib-" in u for u in requests) == 1, requests
    stages = page.evaluate("() => window.fnCalculators.stages")
    assert stages["precompiled"] is True, stages


def test_early_worker_that_failed_before_the_script_ran_leaves_the_page_static(
    held_back: tuple[Page, list[str], list[Route], threading.Event], base_url: str
) -> None:
    # Pyodide cannot load: the early worker says "failed" while calculators.js is held back; the
    # page replays that message and shows its pre-rendered numbers with the notice.
    page, requests, held, asked = held_back
    page.context.route("**/assets/pyodide/**", lambda route: route.abort())
    page.goto(base_url + PAGE, wait_until="commit")
    assert _wait_for(page, lambda: asked.is_set() and any("/pyodide.mjs" in u for u in requests), 30), requests
    page.wait_for_timeout(1500)  # the worker's import of pyodide.mjs fails, and it says so
    held[0].continue_()
    form = 'form[data-calculator="vllm"]'
    page.wait_for_selector(f"{form} [data-role=notice]:not([hidden])", timeout=60_000)
    assert "Live calculation is unavailable" in (page.text_content(f"{form} [data-role=notice]") or "")


def test_early_start_sits_first_in_the_head_of_calculator_pages_only(site_dir: Path) -> None:
    calculator_pages = 0
    for path in sorted(site_dir.rglob("*.html")):
        text = path.read_text(encoding="utf-8")
        head = text[: text.find("</head>")]
        where = path.relative_to(site_dir).as_posix()
        if 'data-calculator="' in text:
            calculator_pages += 1
            early = head.find("window.fnCalculatorsWorker")
            config = head.find('id="fn-calculators-config"')
            assert 0 <= config < early, f"{where}: the settings and early.js must be in <head>, in that order"
            policy = head.find('http-equiv="Content-Security-Policy"')
            assert 0 <= policy < config, f"{where}: the policy must come before the inline script"
            stylesheet = head.find('rel="stylesheet"')
            assert stylesheet == -1 or early < stylesheet, f"{where}: a stylesheet before early.js delays it"
            assert '"early": true' in head, where
        else:
            assert "fnCalculators" not in text and "fn-calculators-config" not in text, where
            assert "/assets/pyodide/" not in text and "/assets/calculators/" not in text, where
    assert calculator_pages >= 8


def test_plain_page_loads_no_pyodide_byte_and_starts_no_worker(open_page: OpenPage) -> None:
    visit = open_page("kb/")
    visit.page.wait_for_load_state("networkidle")
    assert visit.requests, "the request log saw nothing"
    loaded = [u for u in visit.requests if "pyodide" in u or "/assets/calculators/" in u or "stdlib" in u]
    assert loaded == []
    assert visit.page.evaluate("() => [window.fnCalculatorsWorker, window.fnCalculatorsEarly]") == [None, None]
