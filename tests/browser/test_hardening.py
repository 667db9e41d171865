"""What a link or an input cannot do to the calculators (issue 10), in headless Chromium.

* A link never sets the deployment's image, namespace or secret names (it says so, visibly).
* The notice about a link's bad parameters says each thing once and stays short; Material's
  search-highlight parameter ``h`` is not ours and is ignored silently.
* A config.json nested too deep is refused in the page before it reaches Python.
* A fatal Pyodide error, or a computation past the time limit, gets a message and a fresh worker,
  and the next input computes again. Both are provoked by serving a worker.js with a hook added to
  its Python (the real page no longer lets such input through); the page's recovery code is real.
* The Fetch button stays readable (contrast >= 4.5:1) when it is focused after a click.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import BrowserContext, Page, Route

from tests.browser.conftest import OpenPage, outputs, wait_live
from tests.browser.test_calculators import assert_matches_cli

pytestmark = pytest.mark.slow

KUBERNETES = "kb/kubernetes/"
HOSTILE = "?image=ghcr.io/someone-else/vllm-openai:latest&namespace=kube-system"

# The worker's Python entry point as _patched_worker replaces it: "CRASH…" overflows the
# interpreter's stack inside the C JSON parser (a fatal Pyodide error), "LOOP…" never returns;
# anything else goes to the real entry point (calculators.display.page_result_json).
WORKER_ENTRY = 'const PY_SETUP = "from calculators.display import page_result_json as _fn_run";\n'
WORKER_HOOK = """const PY_SETUP = `
import json
from calculators.display import page_result_json

def _fn_run(name, values_json):
    values = json.loads(values_json)
    _cfg = str(values.get("config-json", "")) if isinstance(values, dict) else ""
    if _cfg.startswith("CRASH"):
        json.loads("[" * 200000 + "]" * 200000)
    if _cfg.startswith("LOOP"):
        while True:
            pass
    return page_result_json(name, values_json)
`;
"""


def form(name: str) -> str:
    return f'form[data-calculator="{name}"]'


def notice(page: Page, name: str) -> str:
    return page.text_content(f"{form(name)} [data-role=notice]") or ""


def scroll_to(page: Page, name: str) -> None:
    page.eval_on_selector(form(name), "f => f.scrollIntoView()")


def field_error(page: Page, name: str, field: str) -> str:
    el = page.locator(f'{form(name)} [name="{field}"]')
    page.wait_for_function("el => el.getAttribute('aria-invalid') === 'true'", arg=el.element_handle(),
                           timeout=60_000)
    return page.text_content(f"#{el.get_attribute('data-error-id')}") or ""


def _patch(pattern: str, old: str, new: str, applied: list[str]) -> Callable[[BrowserContext], None]:
    def setup(context: BrowserContext) -> None:
        def handle(route: Route) -> None:
            response = route.fetch()
            body = response.text()
            if body.count(old) == 1:
                applied.append(route.request.url)
            route.fulfill(response=response, body=body.replace(old, new))

        context.route(pattern, handle)

    return setup


def _both(*setups: Callable[[BrowserContext], None]) -> Callable[[BrowserContext], None]:
    def setup(context: BrowserContext) -> None:
        for s in setups:
            s(context)

    return setup


def _patched_worker(applied: list[str]) -> Callable[[BrowserContext], None]:
    return _patch("**/assets/calculators/worker.js*", WORKER_ENTRY, WORKER_HOOK, applied)


# ---------------------------------------------------------------- links


def test_a_link_cannot_set_the_deployment_image_or_namespace(open_page: OpenPage) -> None:
    visit = open_page(KUBERNETES + HOSTILE)
    page = visit.page
    scroll_to(page, "deploy")
    wait_live(page, "deploy")
    image = page.locator(f'{form("deploy")} [name="image"]')
    namespace = page.locator(f'{form("deploy")} [name="namespace"]')
    assert image.input_value() == image.get_attribute("data-default")
    assert namespace.input_value() == "default"
    text = notice(page, "deploy")
    assert page.is_visible(f"{form('deploy')} [data-role=notice]")
    assert "“image”" in text and "“namespace”" in text and "never" in text, text
    manifest = page.text_content(f'{form("deploy")} [data-output="manifest"]') or ""
    assert "someone-else" not in manifest and "kube-system" not in manifest
    assert "namespace: default" in manifest or '"default"' in manifest
    # The page's own link drops them, and a value typed here is never written into a link.
    query = parse_qs(urlsplit(page.url).query)
    assert "image" not in query and "namespace" not in query, page.url
    image.fill("registry.example/mine/vllm:1")
    page.fill(f'{form("deploy")} [name="tp"]', "4")
    wait_live(page, "deploy")
    assert "registry.example/mine/vllm:1" in (page.text_content(f'{form("deploy")} [data-output="manifest"]') or "")
    query = parse_qs(urlsplit(page.url).query)
    assert query.get("tp") == ["4"] and "image" not in query, page.url


def test_link_notice_says_each_thing_once_and_stays_short(open_page: OpenPage) -> None:
    junk = "&".join(f"junk{i}=1" for i in range(60))
    query = f"?foo=1&foo=2&tp=x&tp=y&h=kv+cache&{junk}"
    visit = open_page("calculators/vllm/" + query, wait_live=True)
    text = notice(visit.page, "vllm")
    assert len(text) <= 800, len(text)
    assert text.count("“foo”") == 1 and text.count("“tp”") == 1, text
    assert "“h”" not in text
    assert re.search(r"\d+ more problems not listed", text), text
    assert visit.page.input_value(f'{form("vllm")} [name="tp"]') == "1"


def test_search_highlight_parameter_is_ignored(open_page: OpenPage) -> None:
    visit = open_page("calculators/vllm/?h=kv+cache", wait_live=True)
    assert visit.page.is_hidden(f"{form('vllm')} [data-role=notice]"), notice(visit.page, "vllm")


# ---------------------------------------------------------------- inputs that break Python


def test_deep_config_is_refused_before_python(open_page: OpenPage) -> None:
    visit = open_page("calculators/memory/", wait_live=True)
    page = visit.page
    deep = '{"model_type": "llama", "x": ' + "[" * 2000 + "]" * 2000 + "}"
    page.fill(f'{form("memory")} [name="config-json"]', deep)
    message = field_error(page, "memory", "config-json")
    assert "nested more than 32 levels" in message, message
    assert page.evaluate("() => window.fnCalculators.restarts") == 0
    assert not visit.console_errors, visit.console_errors
    page.fill(f'{form("memory")} [name="config-json"]', "")
    wait_live(page, "memory")
    assert_matches_cli(outputs(page, "memory"), "memory")


def test_worker_restarts_after_a_fatal_pyodide_error(open_page: OpenPage) -> None:
    applied: list[str] = []
    visit = open_page("calculators/memory/", setup=_patched_worker(applied), wait_live=True)
    page = visit.page
    assert applied, "worker.js was not patched: did its Python entry point change?"
    workers = len(page.workers)
    page.fill(f'{form("memory")} [name="config-json"]', "CRASH")
    message = field_error(page, "memory", "config-json")
    assert "failed on this input and was restarted" in message, message
    assert page.evaluate("() => window.fnCalculators.restarts") == 1
    page.wait_for_function("n => window.fnCalculators.restarts === n", arg=1)
    page.fill(f'{form("memory")} [name="batch"]', "8")
    page.fill(f'{form("memory")} [name="config-json"]', "")
    wait_live(page, "memory")  # computed by the fresh worker
    assert len(page.workers) == workers  # the broken one is gone, one runs
    assert "Traceback" not in (page.text_content("body") or "")


def test_computation_past_the_time_limit_is_stopped(open_page: OpenPage) -> None:
    applied: list[str] = []
    setup = _both(
        _patched_worker(applied),
        _patch("**/assets/calculators/calculators.js*", "const COMPUTE_TIMEOUT_MS = 20000;",
               "const COMPUTE_TIMEOUT_MS = 3000;", applied),
    )
    visit = open_page("calculators/memory/", setup=setup, wait_live=True)
    page = visit.page
    assert len(applied) == 2, applied
    page.fill(f'{form("memory")} [name="config-json"]', "LOOP")
    message = field_error(page, "memory", "config-json")
    assert "took longer than 3 s and was stopped" in message, message
    assert page.evaluate("() => window.fnCalculators.restarts") == 1
    page.fill(f'{form("memory")} [name="config-json"]', "")
    wait_live(page, "memory")


# ---------------------------------------------------------------- contrast


def _luminance(rgb: tuple[float, ...]) -> float:
    c = [x / 255 for x in rgb[:3]]
    lin = [x / 12.92 if x <= 0.03928 else ((x + 0.055) / 1.055) ** 2.4 for x in c]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


def _rgb(css: str) -> tuple[float, ...]:
    values = tuple(float(v) for v in re.findall(r"[\d.]+", css))
    assert len(values) == 3 or values[3] == 1, f"translucent colour {css}: compare on the page instead"
    return values


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_fetch_button_readable_after_a_click(open_page: OpenPage, scheme: str) -> None:
    def setup(context: BrowserContext) -> None:
        context.route("https://huggingface.co/**", lambda route: route.fulfill(
            status=404, body="no", headers={"access-control-allow-origin": "*"}))
        context.pages[0].emulate_media(color_scheme="dark" if scheme == "dark" else "light")

    visit = open_page("calculators/kv/", allow_hosts=("huggingface.co",), setup=setup, wait_live=True)
    page = visit.page
    page.fill(f'{form("kv")} [data-role=hf-repo]', "Qwen/Qwen3-8B")
    button = f'{form("kv")} [data-role=hf-fetch]'
    page.click(button)
    page.wait_for_function("sel => document.querySelector(sel).textContent.includes('HTTP 404')",
                           arg=f'{form("kv")} [data-role=hf-status]', timeout=30_000)
    # Disabled while fetching, the button loses focus but stays under the pointer (:hover); a
    # keyboard user who presses it again has it focused (:focus). Both states must be readable.
    for state in ("hover", "focus"):
        if state == "focus":
            page.focus(button)
        page.wait_for_timeout(400)  # Material's colour transition (125 ms) ends first
        colours: list[str] = page.eval_on_selector(
            button, "b => [getComputedStyle(b).color, getComputedStyle(b).backgroundColor]")
        fg, bg = (_luminance(_rgb(c)) for c in colours)
        ratio = (max(fg, bg) + 0.05) / (min(fg, bg) + 0.05)
        assert ratio >= 4.5, (scheme, state, colours, ratio)
