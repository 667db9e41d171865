"""The precompiled stdlib (issue 11) in the browser: the shipped path boots from it, and a stdlib
whose bytes do not match the page's sha256 falls back to a normal boot, saying so in the console."""

from __future__ import annotations

from playwright.sync_api import BrowserContext, ConsoleMessage, Route

from tests.browser.conftest import OpenPage, wait_live_all

PAGE = "calculators/vllm/"


def test_calculator_goes_live_on_the_precompiled_stdlib(open_page: OpenPage) -> None:
    visit = open_page(PAGE, wait_live=True)
    stages = visit.page.evaluate("() => window.fnCalculators.stages")
    assert stages["precompiled"] is True, stages
    assert any(u.split("?")[0].endswith(".zip") and "/stdlib-" in u for u in visit.requests), visit.requests
    assert not any(u.endswith("python_stdlib.zip") for u in visit.requests)
    assert not visit.console_errors, visit.console_errors


def test_a_stdlib_that_fails_its_sha256_falls_back_to_a_normal_boot(open_page: OpenPage) -> None:
    warnings: list[str] = []

    def setup(context: BrowserContext) -> None:
        def tamper(route: Route) -> None:
            response = route.fetch()
            route.fulfill(response=response, body=response.body() + b"\0")

        context.route("**/stdlib-*.zip", tamper)

        def on_console(message: ConsoleMessage) -> None:
            if message.type == "warning":
                warnings.append(message.text)

        context.on("console", on_console)

    visit = open_page(PAGE, setup=setup)
    wait_live_all(visit.page)
    stages = visit.page.evaluate("() => window.fnCalculators.stages")
    assert stages["precompiled"] is False, stages
    assert any("falling back to a normal boot" in w for w in warnings), warnings
    assert any(u.endswith("python_stdlib.zip") for u in visit.requests), visit.requests
    assert not visit.console_errors, visit.console_errors
