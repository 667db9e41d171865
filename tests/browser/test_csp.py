"""The site works under its Content-Security-Policy (hooks/csp.py), in headless Chromium.

Every kind of page is opened with its ``<meta>`` policy in force: home (palette toggle, search
through Material's worker), a KB page with math and a Mermaid diagram, a blog post, a notebook, and
every page with a calculator, each of which must reach its live state (Pyodide in a worker, the
wheel, the results). Chromium reports a blocked script, style, worker, fetch or eval both as a
console message ("Refused to …") and as a ``securitypolicyviolation`` event: neither may appear.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, ConsoleMessage, Page

from tests.browser.conftest import OpenPage, Visit, wait_live_all

pytestmark = pytest.mark.slow

RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__cspViolations.push(`${e.violatedDirective} blocked ${e.blockedURI} ${e.sample || ""}`);
});
"""


def calculator_pages(site: Path) -> list[str]:
    pages = sorted(
        p.parent.relative_to(site).as_posix() + "/"
        for p in site.rglob("index.html")
        if 'data-calculator="' in p.read_text(encoding="utf-8")
    )
    assert len(pages) >= 8, pages
    return pages


def first_post(site: Path) -> str:
    posts = sorted(site.glob("blog/20*/**/index.html"))
    assert posts
    return posts[0].parent.relative_to(site).as_posix() + "/"


def open_watched(open_page: OpenPage, path: str) -> tuple[Visit, list[str]]:
    refused: list[str] = []

    def setup(context: BrowserContext) -> None:
        context.add_init_script(RECORD_VIOLATIONS)

        def on_console(message: ConsoleMessage) -> None:
            text = message.text
            if "Refused to" in text or "Content Security Policy" in text or "Content-Security-Policy" in text:
                refused.append(text)

        for page in context.pages:  # open_page made the page before calling setup
            page.on("console", on_console)

    return open_page(path, setup=setup), refused


def violations(visit: Visit, refused: list[str]) -> list[str]:
    events: list[str] = visit.page.evaluate("() => window.__cspViolations")
    return refused + events


def assert_policy_in_force(page: Page) -> None:
    policy = page.get_attribute('meta[http-equiv="Content-Security-Policy"]', "content") or ""
    assert "script-src 'self' 'wasm-unsafe-eval' 'sha256-" in policy, policy


def test_home_search_and_palette_work_under_the_policy(open_page: OpenPage) -> None:
    visit, refused = open_watched(open_page, "")
    page = visit.page
    assert_policy_in_force(page)
    before = page.get_attribute("body", "data-md-color-scheme")
    page.click("label.md-header__button[for^='__palette']:visible")
    page.wait_for_function("s => document.body.dataset.mdColorScheme !== s", arg=before, timeout=10_000)
    page.fill("input.md-search__input", "kv cache")
    page.wait_for_selector(".md-search-result__item", timeout=20_000)
    assert not violations(visit, refused), violations(visit, refused)
    assert not visit.console_errors, visit.console_errors


@pytest.mark.parametrize("kind", ["kb-math-mermaid", "post", "notebook"])
def test_content_pages_render_under_the_policy(open_page: OpenPage, site_dir: Path, kind: str) -> None:
    path = {"kb-math-mermaid": "kb/inside-vllm/", "post": first_post(site_dir),
            "notebook": "notebooks/kv-budget/"}[kind]
    visit, refused = open_watched(open_page, path)
    page = visit.page
    assert_policy_in_force(page)
    if kind == "kb-math-mermaid":
        page.wait_for_function(
            "() => [...document.querySelectorAll('div.mermaid')].some(e => e.getBoundingClientRect().height > 50)",
            timeout=20_000,
        )
    if kind != "post":
        page.wait_for_selector(".katex", timeout=20_000)
    page.wait_for_load_state("networkidle")
    assert not violations(visit, refused), violations(visit, refused)
    assert not visit.console_errors, visit.console_errors


def test_every_calculator_goes_live_under_the_policy(open_page: OpenPage, site_dir: Path) -> None:
    problems = []
    for path in calculator_pages(site_dir):
        visit, refused = open_watched(open_page, path)
        assert_policy_in_force(visit.page)
        visit.page.evaluate("() => document.querySelectorAll('form[data-calculator]').forEach(f => f.scrollIntoView())")
        wait_live_all(visit.page)
        found = violations(visit, refused)
        if found or visit.console_errors:
            problems.append(f"/{path}: {found} {visit.console_errors}")
        visit.context.close()
    assert not problems, "\n".join(problems)
