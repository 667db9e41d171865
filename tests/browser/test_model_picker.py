"""The model picker's search box in headless Chromium: it filters the grouped <select>, keeps the
selection, and a model chosen from the filtered list is computed live, as on the command line.

Which options should match comes from :func:`calculators.forms.model_groups` (id and family), so the
test holds for any set of bundled presets.
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import Page

from calculators import forms, models
from tests.browser.conftest import OpenPage, cli_json, outputs, same, wait_live

pytestmark = pytest.mark.slow

FORM = 'form[data-calculator="vllm"]'
SELECT = f'{FORM} select[name="model"]'
SEARCH = f'{FORM} input[type="search"]'


def matching(query: str) -> list[str]:
    """Preset ids whose "id family" text holds every word of ``query`` (case-insensitive), in page order."""
    words = query.lower().split()
    return [value for family, pairs in forms.model_groups() for value, _ in pairs
            if all(w in f"{value} {family}".lower() for w in words)]


def shown(page: Page) -> list[str]:
    values: list[str] = page.eval_on_selector(
        SELECT, "s => [...s.options].filter(o => !o.hidden && !o.parentElement.hidden).map(o => o.value)")
    return values


def assert_matches_cli(page: Page, model: str) -> None:
    expected = cli_json("vllm", "--model", model)
    for key, value in outputs(page, "vllm").items():
        assert same(value, expected[key]), (key, value, expected[key])


def test_search_filters_the_models_and_a_choice_recomputes(open_page: OpenPage) -> None:
    ids = models.preset_ids()
    visit = open_page("calculators/vllm/", wait_live=True)
    page = visit.page
    default = page.input_value(SELECT)
    search = page.locator(SEARCH)
    assert search.is_visible()
    label = page.locator(f'label[for="{search.get_attribute("id")}"]')
    assert label.is_visible() and "Search models" in (label.text_content() or "")
    assert shown(page) == [v for _, pairs in forms.model_groups() for v, _ in pairs]

    # Filtering by id and by family, case-insensitively; the current choice always stays.
    preferred: list[str] = [m for m in ("Qwen/Qwen3-8B", "google/gemma-2-9b-it") if m in ids]
    target = (preferred or [m for m in ids if m != default])[0]
    for query in (target.split("/")[1].upper(), "MLA", "gemma", "qwen3 30", "no-such-model-zz"):
        search.fill(query)
        expected = matching(query)
        assert sorted(shown(page)) == sorted({*expected, default}), query
        assert page.input_value(SELECT) == default
        count = page.text_content(f"{FORM} [data-role=model-count]") or ""
        assert (f"{len(expected)} of {len(ids)} models match" in count) if expected else ("No model matches" in count)
    # Searching is not an input: the results stay live, the URL stays clean.
    assert "fn-calc--stale" not in (page.get_attribute(FORM, "class") or "")
    assert urlsplit(page.url).query == ""

    # Choose a filtered model: the worker recomputes, the URL records it, the old choice is filtered out.
    search.fill(target.split("/")[1].lower())
    assert target in shown(page)
    page.select_option(SELECT, target)
    wait_live(page, "vllm")
    assert_matches_cli(page, target)
    assert parse_qs(urlsplit(page.url).query) == {"model": [target]}
    assert sorted(shown(page)) == sorted(matching(target.split("/")[1]))

    # Keyboard: type in the box, Enter picks the first match and moves to the list.
    other = next(m for m in ids if m not in (target, default) and matching(m) == [m])
    search.fill("")
    search.press_sequentially(other.lower())
    search.press("Enter")
    assert page.input_value(SELECT) == matching(other)[0] == other
    assert page.evaluate("document.activeElement.name") == "model"
    wait_live(page, "vllm")
    assert_matches_cli(page, other)

    # Reset brings back the default model and the whole list.
    page.click(f"{FORM} [data-role=reset]")
    assert search.input_value() == ""
    assert page.input_value(SELECT) == default
    assert len(shown(page)) == len(ids)
    wait_live(page, "vllm")


def test_a_link_with_a_model_still_restores_it_and_without_javascript_the_select_is_plain(
        open_page: OpenPage) -> None:
    model = next(m for m in reversed(models.preset_ids()) if m != forms.MODEL.default)
    visit = open_page(f"calculators/vllm/?model={model}", wait_live=True)
    assert visit.page.input_value(SELECT) == model
    assert_matches_cli(visit.page, model)
    assert visit.page.locator(SEARCH).is_visible()
    static = open_page("calculators/vllm/", js=False)
    assert not static.page.locator(SEARCH).is_visible()
    assert static.page.locator(f"{SELECT} optgroup").count() == len(forms.model_groups())
    assert static.page.input_value(SELECT) == forms.MODEL.default
