"""Issue 14, "Calculators you can act on", in headless Chromium against the built site.

* The results stay in view while editing: beside the form and held under the header on a wide
  screen (1280 × 800); on a phone (390 × 844) a one-line summary pinned to the bottom that does not
  cover the focused field.
* Advanced inputs are folded under "More options", closed by default; an error on one opens it.
* Before Python is live a status line says the numbers are the build-time defaults.
* A config.json can be chosen with a file picker; it is checked like pasted text.
* Inputs and selects show a focus ring of at least 2 px.
* The planner lists every option, the recommended one first, and downloads parse.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest
import yaml  # type: ignore[import-untyped]
from playwright.sync_api import BrowserContext, Page

from tests.browser.conftest import REPO, OpenPage, cli_json, outputs, same, wait_live

pytestmark = pytest.mark.slow

VLLM = 'form[data-calculator="vllm"]'

IN_VIEW = """el => { const r = el.getBoundingClientRect();
                    return r.bottom > 0 && r.top < window.innerHeight && r.height > 0; }"""


def _edit_last_field(page: Page, form: str) -> str:
    """Open "More options", change the form's last input (a select) and wait for the live result."""
    page.click(f"{form} details.fn-more > summary")
    last = str(page.eval_on_selector(form, "f => [...f.elements].filter(e => e.name).pop().name"))
    control = page.locator(f'{form} [name="{last}"]')
    assert control.evaluate("e => e.tagName") == "SELECT", last
    values = control.evaluate("e => [...e.options].map(o => o.value)")
    current = control.input_value()
    control.focus()
    control.select_option(next(v for v in values if v != current))
    wait_live(page, "vllm")
    return last


def test_results_beside_the_form_and_in_view_after_the_last_field_wide(open_page: OpenPage) -> None:
    visit = open_page("calculators/vllm/", wait_live=True)
    page = visit.page
    page.set_viewport_size({"width": 1280, "height": 800})
    inputs = page.locator(f"{VLLM} .fn-calc__inputs").bounding_box()
    results = page.locator(f"{VLLM} .fn-calc__results").bounding_box()
    assert inputs and results and results["x"] >= inputs["x"] + inputs["width"], (inputs, results)
    assert page.locator(f"{VLLM} .fn-calc__results").evaluate("e => getComputedStyle(e).position") == "sticky"
    _edit_last_field(page, VLLM)
    assert page.locator(f"{VLLM} .fn-calc__outputs").evaluate(IN_VIEW)
    verdict = page.locator(f'{VLLM} [data-output="verdict"]')
    assert verdict.evaluate(IN_VIEW)
    # Under Material's header, not behind it.
    header = page.locator("header.md-header").bounding_box()
    box = verdict.bounding_box()
    assert header and box and box["y"] >= header["y"] + header["height"], (header, box)
    assert not page.locator(f"{VLLM} [data-role=pin]").is_visible()  # the phone's summary stays off
    # Scrolled on until the form ends mid-window: the results' first lines are still in sight.
    page.eval_on_selector(f"{VLLM} .fn-calc__body",
                          "b => window.scrollBy(0, b.getBoundingClientRect().bottom - innerHeight / 2)")
    page.wait_for_timeout(200)
    box = verdict.bounding_box()
    assert box and box["y"] >= header["y"] + header["height"] and box["y"] + box["height"] < 400, box


def test_pinned_summary_on_a_phone(open_page: OpenPage) -> None:
    visit = open_page("calculators/vllm/", wait_live=True)
    page = visit.page
    page.set_viewport_size({"width": 390, "height": 844})
    _edit_last_field(page, VLLM)
    pin = page.locator(f"{VLLM} [data-role=pin]")
    results_seen = page.locator(f"{VLLM} .fn-calc__outputs").evaluate(IN_VIEW)
    assert results_seen or pin.is_visible()
    page.locator(f'{VLLM} [name="tp"]').scroll_into_view_if_needed()
    page.locator(f'{VLLM} [name="tp"]').focus()
    page.wait_for_function("f => document.querySelector(f).classList.contains('fn-calc--pinned')", arg=VLLM)
    assert pin.is_visible()
    assert pin.get_attribute("aria-hidden") == "true"  # the results are the live region, said once
    text = page.text_content(f'{VLLM} [data-output="verdict"]') or ""
    assert text and text in (pin.text_content() or "")
    box = pin.bounding_box()
    assert box and abs(box["y"] + box["height"] - 844) < 1.5, box
    # A field that sits under the pinned line is scrolled clear of it when it gets the focus.
    field = page.locator(f'{VLLM} [name="max-model-len"]')
    field.evaluate("e => window.scrollBy(0, e.getBoundingClientRect().bottom - (innerHeight - 6))")
    page.wait_for_function("f => document.querySelector(f).classList.contains('fn-calc--pinned')", arg=VLLM)
    field.evaluate("e => e.focus()")
    fbox = field.bounding_box()
    assert fbox and fbox["y"] + fbox["height"] <= box["y"], (fbox, box)
    page.fill(f'{VLLM} [name="max-model-len"]', "65536")
    wait_live(page, "vllm")
    fbox = field.bounding_box()
    assert fbox and fbox["y"] + fbox["height"] <= box["y"], (fbox, box)
    assert (page.text_content(f'{VLLM} [data-output="verdict"]') or "") in (pin.text_content() or "")
    # Scrolled down to the results themselves, the pin goes away.
    page.locator(f"{VLLM} .fn-calc__outputs").scroll_into_view_if_needed()
    page.wait_for_function("f => !document.querySelector(f).classList.contains('fn-calc--pinned')", arg=VLLM)
    assert not pin.is_visible()


def test_more_options_closed_by_default_and_opened_by_an_error(open_page: OpenPage) -> None:
    visit = open_page("calculators/vllm/", wait_live=True)
    page = visit.page
    fold = page.locator(f"{VLLM} details.fn-more")
    assert fold.count() == 1
    assert fold.evaluate("d => d.open") is False
    assert (page.text_content(f"{VLLM} details.fn-more > summary") or "").strip() == "More options"
    block = page.locator(f'{VLLM} [name="block-size"]')
    assert block.evaluate("(e, d) => d.contains(e)", fold.element_handle())
    assert not block.is_visible()
    for name in ("model", "gpu", "tp", "max-model-len", "kv-cache-dtype", "weights-dtype"):
        assert page.locator(f'{VLLM} [name="{name}"]').is_visible(), name
    # A value the calculator refuses, in a folded field (set as a script would: it cannot be typed).
    block.evaluate("e => { e.value = '0'; e.dispatchEvent(new Event('input', {bubbles: true})); }")
    page.wait_for_selector(f'{VLLM} [name="block-size"][aria-invalid="true"]', timeout=60_000)
    assert fold.evaluate("d => d.open") is True
    assert block.is_visible() and block.input_value() == "0"
    assert block.evaluate("e => document.activeElement === e")
    message = page.text_content(f"#{block.get_attribute('data-error-id')}") or ""
    assert "at least 1" in message


def test_a_link_that_sets_a_folded_input_opens_the_fold(open_page: OpenPage) -> None:
    visit = open_page("calculators/vllm/?block-size=32", wait_live=True)
    assert visit.page.locator(f"{VLLM} details.fn-more").evaluate("d => d.open") is True
    assert visit.page.locator(f'{VLLM} [name="block-size"]').is_visible()


def _stall_pyodide(context: BrowserContext) -> None:
    context.route("**/assets/pyodide/**", lambda route: None)  # never answered: stays "starting"


def test_status_line_before_python_is_live(open_page: OpenPage) -> None:
    visit = open_page("calculators/vllm/", setup=_stall_pyodide)
    page = visit.page
    line = page.locator(f"{VLLM} [data-role=boot]")
    page.wait_for_function("el => el.dataset.state === 'loading'", arg=line.element_handle(), timeout=30_000)
    assert line.get_attribute("role") == "status"
    assert line.is_visible()
    text = line.text_content() or ""
    assert "Starting the calculator in your browser" in text and "build-time defaults" in text
    assert page.locator(f'{VLLM} [role="status"]').count() == 1  # one region, said once


def test_status_line_when_live_and_stale_style(open_page: OpenPage) -> None:
    visit = open_page("calculators/vllm/", wait_live=True)
    page = visit.page
    line = page.locator(f"{VLLM} [data-role=boot]")
    assert line.get_attribute("data-state") == "live"
    text = line.text_content() or ""
    assert text.startswith("Live") and "build-time" not in text  # replaced, in place (nothing moves)
    # Stale numbers: framed with a dashed line, not only italic.
    style = page.evaluate(
        """f => { const form = document.querySelector(f); form.classList.add('fn-calc--stale');
                  const s = getComputedStyle(form.querySelector('.fn-calc__outputs'));
                  const o = getComputedStyle(form.querySelector('[data-output="verdict"]'));
                  const out = [s.outlineStyle, s.outlineWidth, o.fontStyle];
                  form.classList.remove('fn-calc--stale'); return out; }""", VLLM)
    assert style[0] == "dashed" and float(style[1].removesuffix("px")) >= 2 and style[2] == "italic", style


def _preset_config(stem: str) -> dict[str, Any]:
    record = json.loads((REPO / "calculators/data/models" / f"{stem}.json").read_text(encoding="utf-8"))
    config: dict[str, Any] = record["config"]
    return config


def test_config_file_picker(open_page: OpenPage, tmp_path: Path) -> None:
    visit = open_page("calculators/memory/", wait_live=True)
    page = visit.page
    form = 'form[data-calculator="memory"]'
    text = json.dumps(_preset_config("Qwen--Qwen3-8B"), indent=2)
    path = tmp_path / "config.json"
    path.write_text(text, encoding="utf-8")
    picker = page.locator(f"{form} input[type=file][data-role=config-file]")
    assert picker.is_visible()
    assert picker.get_attribute("accept") == ".json,application/json"
    assert picker.get_attribute("name") is None  # not an input of the calculator
    picker.set_input_files(str(path))
    config = page.locator(f'{form} [name="config-json"]')
    page.wait_for_function("el => el.value.length > 0", arg=config.element_handle())
    assert page.input_value(f'{form} [name="config-json"]') == text
    wait_live(page, "memory")
    expected = cli_json("memory", "--config", str(path))
    values = outputs(page, "memory")
    assert values
    for key, value in values.items():
        assert same(value, expected[key]), (key, value, expected[key])
    # Not JSON: the field is marked, as for pasted text.
    bad = tmp_path / "bad.json"
    bad.write_text('{"num_hidden_layers": 4,', encoding="utf-8")
    picker.set_input_files(str(bad))
    page.wait_for_selector(f'{form} [name="config-json"][aria-invalid="true"]', timeout=60_000)
    assert page.input_value(f'{form} [name="config-json"]') == '{"num_hidden_layers": 4,'


def test_picker_hidden_without_javascript(open_page: OpenPage) -> None:
    visit = open_page("calculators/memory/", js=False)
    assert not visit.page.locator("input[type=file][data-role=config-file]").is_visible()


@pytest.mark.parametrize("selector", ['[name="tp"]', '[name="gpu"]', "[data-role=hf-repo]", '[name="max-model-len"]'])
def test_focus_ring(open_page: OpenPage, selector: str) -> None:
    visit = open_page("calculators/vllm/", wait_live=True)
    page = visit.page
    control = page.locator(f"{VLLM} {selector}")
    control.focus()
    ring = control.evaluate("e => [getComputedStyle(e).outlineStyle, getComputedStyle(e).outlineWidth, "
                            "getComputedStyle(e).outlineColor, e.matches(':focus-visible')]")
    assert ring[3] and ring[0] == "solid" and float(ring[1].removesuffix("px")) >= 2, ring
    accent = page.evaluate("getComputedStyle(document.body).getPropertyValue('--md-accent-fg-color').trim()")
    assert accent, "no accent colour"


PLAN = 'form[data-calculator="plan"]'


def _table_rows(page: Page) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = page.eval_on_selector_all(
        f"{PLAN} [data-role=options-table] tbody tr",
        "trs => trs.map(t => ({cls: t.className, index: Number(t.dataset.index), "
        "cells: [...t.children].map(c => c.textContent)}))")
    return rows


def test_plan_table_without_javascript(open_page: OpenPage) -> None:
    visit = open_page("calculators/plan/", js=False)
    expected = cli_json("plan", "--preset", "chat")
    rows = _table_rows(visit.page)
    assert len(rows) == len(expected["options"])
    assert rows[0]["index"] == expected["recommended"] and "fn-calc__rec" in rows[0]["cls"]
    assert not visit.page.locator(f"{PLAN} [data-role=downloads]").is_visible()


def test_plan_table_and_downloads(open_page: OpenPage) -> None:
    visit = open_page("calculators/plan/", wait_live=True)
    page = visit.page
    page.select_option(f'{PLAN} [name="gpu"]', "all")
    page.fill(f'{PLAN} [name="gpu-hour-price"]', "2.5")
    wait_live(page, "plan")
    expected = cli_json("plan", "--preset", "chat", "--gpu", "all", "--gpu-hour-price", "2.5")
    rows = _table_rows(page)
    assert len(rows) == len(expected["options"])
    rec = expected["recommended"]
    assert rows[0]["index"] == rec and "fn-calc__rec" in rows[0]["cls"] and "(recommended)" in rows[0]["cells"][0]
    assert sum("fn-calc__rec" in r["cls"] for r in rows) == 1
    table = expected["options_table"]
    assert [r["cells"][1:] for r in rows] == [r["cells"][1:] for r in table["rows"]]
    assert rows[0]["cells"][table["columns"].index("Cost per hour")].startswith("$")

    with page.expect_download() as info:
        page.click(f'{PLAN} [data-role=download][data-format="json"]')
    download = info.value
    assert download.suggested_filename == "plan.json"
    data = json.loads(Path(download.path()).read_text(encoding="utf-8"))
    assert len(data["options"]) == len(expected["options"]) and data["recommended"] == rec

    with page.expect_download() as info:
        page.click(f'{PLAN} [data-role=download][data-format="csv"]')
    table_rows = list(csv.DictReader(io.StringIO(Path(info.value.path()).read_text(encoding="utf-8"))))
    assert len(table_rows) == len(expected["options"])
    first = table_rows[0]
    assert first["recommended"] == "true" and first["gpu"] == expected["options"][rec]["gpu"]
    assert float(first["tpot_s"]) == expected["options"][rec]["tpot_s"]
    from tests.site.test_axe import axe_violations, describe

    violations = axe_violations(page)
    assert not violations, describe(violations)


def test_deploy_manifest_downloads_as_yaml(open_page: OpenPage) -> None:
    visit = open_page("calculators/deploy/", wait_live=True)
    page = visit.page
    form = 'form[data-calculator="deploy"]'
    with page.expect_download() as info:
        page.click(f'{form} [data-role=download][data-format="yaml"]')
    docs = [d for d in yaml.safe_load_all(Path(info.value.path()).read_text(encoding="utf-8")) if d]
    assert {d["kind"] for d in docs} >= {"Deployment", "Service"}


def test_copy_button_does_not_cover_the_serve_command(open_page: OpenPage) -> None:
    """Material's copy button (content.code.copy) sits in the code block's top-right corner: the
    command wraps inside the code's content box, which ends left of the button."""
    visit = open_page("calculators/vllm/", wait_live=True)
    page = visit.page
    page.set_viewport_size({"width": 1280, "height": 800})
    code = page.locator(".fn-calc pre > code").first
    code.scroll_into_view_if_needed()
    page.wait_for_selector(".fn-calc pre .md-clipboard, .fn-calc pre .md-code__button", timeout=10_000)
    box: dict[str, float] = page.evaluate(
        """() => {
          const code = document.querySelector('.fn-calc pre > code');
          const pre = code.closest('pre');
          const button = pre.querySelector('.md-clipboard, .md-code__button');
          const c = code.getBoundingClientRect();
          const style = getComputedStyle(code);
          return {textRight: c.right - parseFloat(style.paddingRight), buttonLeft: button.getBoundingClientRect().left,
                  overflow: code.scrollWidth - code.clientWidth};
        }"""
    )
    assert box["textRight"] <= box["buttonLeft"], box
    assert box["overflow"] <= 1, box  # wrapped, no hidden horizontal overflow
