"""The calculators' charts in headless Chromium against the built site on 127.0.0.1.

Each chart a page redraws after an input changes is compared with the chart ``calculators.forms``
computes for the same inputs (the CLI leaves charts out of its JSON: same function, same inputs);
its text is measured on screen at the default 1280 × 720 viewport.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

import pytest
from playwright.sync_api import Page

from calculators import forms
from tests.browser.conftest import OpenPage, wait_live

pytestmark = pytest.mark.slow

SVG = "{http://www.w3.org/2000/svg}"
CHART = "[data-role=chart]"


# calculator -> (page, how to change one input, the same change as forms.run input)
CHANGES: dict[str, tuple[str, str, str, dict[str, str]]] = {
    "memory": ("calculators/memory/", "fill", "batch=16", {"batch": "16"}),
    "kv": ("calculators/kv/", "fill", "tokens=32768", {"tokens": "32768"}),
    "vllm": ("calculators/vllm/", "select", "gpu=h200", {"gpu": "h200"}),
    "roofline": ("calculators/roofline/", "fill", "batch=64", {"batch": "64"}),
}

CHART_TEXTS = """form => [...form.querySelectorAll('[data-role=chart] > svg')]
                           .map(svg => [...svg.querySelectorAll('text')].map(t => t.textContent))"""

# Every chart <text>: computed font size × the scale its SVG is drawn at (the screen CTM), in px.
TEXT_PX = """form => [...form.querySelectorAll('[data-role=chart] text')].map(t => {
  const m = t.getScreenCTM();
  return [t.textContent, parseFloat(getComputedStyle(t).fontSize) * Math.hypot(m.a, m.b)];
})"""


def expected_texts(name: str, raw: dict[str, str]) -> list[list[str]]:
    root = ET.fromstring(f"<fn-charts>{forms.run(name, raw)['chart_svg']}</fn-charts>")
    return [["".join(t.itertext()) for t in svg.iter(f"{SVG}text")] for svg in root]


def form(page: Page, name: str) -> Any:
    handle = page.query_selector(f'form[data-calculator="{name}"]')
    assert handle is not None, name
    return handle


def change(page: Page, name: str, how: str, assignment: str) -> None:
    field, value = assignment.split("=", 1)
    control = f'form[data-calculator="{name}"] [name="{field}"]'
    if how == "select":
        page.select_option(control, value)
    else:
        page.fill(control, value)


@pytest.mark.parametrize("name", sorted(CHANGES))
def test_chart_redraws_and_matches_the_package(open_page: OpenPage, name: str) -> None:
    path, how, assignment, raw = CHANGES[name]
    visit = open_page(path, wait_live=True)
    page = visit.page
    chart = page.locator(f'form[data-calculator="{name}"] {CHART}')
    assert chart.count() == 1
    before = chart.inner_html()
    assert page.evaluate(CHART_TEXTS, form(page, name)) == expected_texts(name, {})
    change(page, name, how, assignment)
    wait_live(page, name)
    after = chart.inner_html()
    assert after != before, "the chart was not redrawn"
    texts = page.evaluate(CHART_TEXTS, form(page, name))
    assert texts == expected_texts(name, raw)
    assert texts != expected_texts(name, {})
    assert not visit.console_errors, visit.console_errors


def test_roofline_redraws_both_charts(open_page: OpenPage) -> None:
    # chart_svg holds two <svg> elements: both are kept, and both follow the inputs.
    visit = open_page("calculators/roofline/", wait_live=True)
    page = visit.page
    charts = page.locator(f'form[data-calculator="roofline"] {CHART} > svg')
    assert charts.count() == 2
    first, second = charts.nth(0).inner_html(), charts.nth(1).inner_html()
    page.select_option('form[data-calculator="roofline"] [name="gpu"]', "h200")
    wait_live(page, "roofline")
    assert charts.count() == 2
    assert charts.nth(0).inner_html() != first and charts.nth(1).inner_html() != second
    texts = page.evaluate(CHART_TEXTS, form(page, "roofline"))
    assert texts == expected_texts("roofline", {"gpu": "h200"})


@pytest.mark.parametrize("name", sorted(CHANGES))
def test_chart_text_is_at_least_11px_at_1280(open_page: OpenPage, name: str) -> None:
    path, how, assignment, _ = CHANGES[name]
    visit = open_page(path, wait_live=True)
    page = visit.page
    assert page.viewport_size is not None and page.viewport_size["width"] == 1280
    for _ in range(2):  # as pre-rendered and redrawn, then after an input changes
        sizes = page.evaluate(TEXT_PX, form(page, name))
        assert sizes, name
        small = [(text, round(px, 2)) for text, px in sizes if px < 11]
        assert not small, small
        change(page, name, how, assignment)
        wait_live(page, name)


def test_vllm_memory_bar_shows_the_gpu_capacity(open_page: OpenPage) -> None:
    visit = open_page("calculators/vllm/", wait_live=True)
    page = visit.page
    f = 'form[data-calculator="vllm"]'
    for gpu in ("h100-sxm", "h200", "l4"):
        page.select_option(f'{f} [name="gpu"]', gpu)
        wait_live(page, "vllm")
        line = page.locator(f"{f} {CHART} line.fn-chart__capacity")
        assert line.count() == 1
        box = line.bounding_box()  # a vertical line: no width, so Playwright calls it invisible
        assert box is not None and box["height"] > 30, box
        style = "l => getComputedStyle(l).stroke !== 'none' && getComputedStyle(l).visibility === 'visible'"
        assert line.evaluate(style)
        gib = forms.run("vllm", {"gpu": gpu})["gpu_memory_gib"]
        label = page.locator(f"{f} {CHART} text.fn-chart__capacity-label")
        assert label.text_content() == f"GPU: {gib:,.1f} GiB"
    # On an L4 (24 GB) the 8B model's weights and overheads still fit; a 70B does not, and its bar
    # runs past the line.
    page.select_option(f'{f} [name="model"]', "meta-llama/Llama-3.1-70B-Instruct")
    wait_live(page, "vllm")
    line_x = page.locator(f"{f} {CHART} line.fn-chart__capacity").bounding_box()
    bar = page.evaluate(
        """f => { const svg = document.querySelector(f + ' [data-role=chart] > svg');
                  const segs = [...svg.querySelectorAll('rect')].filter(r => r.querySelector('title'));
                  return Math.max(...segs.map(r => r.getBoundingClientRect().right)); }""", f)
    assert line_x is not None and bar > line_x["x"] + 50
    texts = [t for svg in page.evaluate(CHART_TEXTS, form(page, "vllm")) for t in svg]
    assert any(t.startswith("Does not fit:") for t in texts), texts
