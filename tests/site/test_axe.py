"""Accessibility and self-containment of the built site, in real headless Chromium.

For a few representative pages (home, a blog post, knowledge-base pages, a page with math and a
diagram, a notebook): axe-core (node_modules/axe-core) finds no serious or critical violation, in the
light and the dark palette, and the page makes no request to another host. Math and diagrams must
actually render, from the site's own copies of KaTeX and Mermaid.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import pytest
from playwright.sync_api import Browser, Page, Request, Route, sync_playwright

from tests.chromium import CHROMIUM_ARGS

pytestmark = pytest.mark.axe

REPO = Path(__file__).resolve().parents[2]
AXE = REPO / "node_modules" / "axe-core" / "axe.min.js"
BLOCKING = ("serious", "critical")


def first_post(site: Path) -> str:
    posts = sorted(site.glob("blog/20*/**/index.html"))
    assert posts, "no blog post was built"
    return posts[0].parent.relative_to(site).as_posix() + "/"


def pages(site: Path) -> list[str]:
    # kb/capacity-planning/: wide tables that scroll sideways (focusable regions, hooks/a11y.py).
    return ["", first_post(site), "kb/", "kb/kv-cache/", "kb/capacity-planning/", "calculators/",
            "calculators/vllm/", "notebooks/kv-budget/", "blog/"]


@pytest.fixture(scope="module")
def browser(chromium_path: str) -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium_path,
            args=CHROMIUM_ARGS,
        )
        try:
            yield browser
        finally:
            browser.close()


def visit(browser: Browser, url: str, scheme: str) -> tuple[Page, list[str], list[str]]:
    """Open url; return the page, the off-site requests it tried (all blocked) and JS errors."""
    context = browser.new_context(color_scheme="dark" if scheme == "dark" else "light")
    page = context.new_page()
    local = urlsplit(url).netloc
    off_site: list[str] = []
    errors: list[str] = []

    def route(route: Route, request: Request) -> None:
        parts = urlsplit(request.url)
        if parts.scheme in ("data", "blob") or parts.netloc == local:
            route.continue_()
        else:
            off_site.append(request.url)
            route.abort()

    page.route("**/*", route)
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(url, wait_until="load")
    return page, off_site, errors


def axe_violations(page: Page) -> list[dict[str, Any]]:
    # The site's CSP refuses inline scripts it has no hash for, so axe is loaded from the page's own
    # origin (a URL answered here from node_modules) rather than injected as inline text.
    page.route("**/__tests__/axe.min.js", lambda route: route.fulfill(path=str(AXE), content_type="text/javascript"))
    page.add_script_tag(url=urljoin(page.url, "/__tests__/axe.min.js"))
    result: dict[str, Any] = page.evaluate("async () => await axe.run(document)")
    violations: list[dict[str, Any]] = result["violations"]
    return [v for v in violations if v.get("impact") in BLOCKING]


def describe(violations: list[dict[str, Any]]) -> str:
    lines = []
    for v in violations:
        targets = [" ".join(map(str, node["target"])) for node in v["nodes"][:5]]
        lines.append(f"{v['impact']}: {v['id']} ({v['help']}) at {targets}")
    return "\n".join(lines)


@pytest.mark.slow
@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_pages_accessible_and_self_contained(browser: Browser, site_dir: Path, site_url: str, scheme: str) -> None:
    problems: list[str] = []
    for path in pages(site_dir):
        page, off_site, errors = visit(browser, site_url + path, scheme)
        try:
            violations = axe_violations(page)  # takes seconds: late requests are seen too
            if violations:
                problems.append(f"/{path} ({scheme}):\n{describe(violations)}")
            if off_site:
                problems.append(f"/{path}: requests to other hosts: {off_site}")
            if errors:
                problems.append(f"/{path}: JavaScript errors: {errors}")
        finally:
            page.context.close()
    assert not problems, "\n".join(problems)


@pytest.mark.slow
def test_math_and_diagrams_render_from_the_site(browser: Browser, site_url: str) -> None:
    page, off_site, errors = visit(browser, site_url + "calculators/", "light")
    try:
        # Material draws the diagram into a closed shadow root of div.mermaid: check its size.
        page.wait_for_function(
            "() => [...document.querySelectorAll('div.mermaid')].some(e => e.getBoundingClientRect().height > 50)",
            timeout=15_000,
        )
        assert page.locator(".arithmatex .katex").count() >= 2
        assert not off_site and not errors, (off_site, errors)
    finally:
        page.context.close()
    page, off_site, errors = visit(browser, site_url + "notebooks/kv-budget/", "light")
    try:
        assert page.locator(".jupyter-wrapper .katex").count() >= 1
        assert page.locator(".jupyter-wrapper img").count() >= 1
        assert not off_site and not errors, (off_site, errors)
    finally:
        page.context.close()
