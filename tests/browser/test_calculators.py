"""The calculators in headless Chromium against the built site on 127.0.0.1.

Each number a page shows is compared with `python -m calculators … --json` for the same inputs.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import BrowserContext, Route

from calculators import forms
from tests.browser.conftest import REPO, OpenPage, cli_json, outputs, page_settings, same, wait_live

pytestmark = pytest.mark.slow

PAGES = {"memory": "calculators/memory/", "kv": "calculators/kv/", "vllm": "calculators/vllm/",
         "ridge": "calculators/ridge/"}


def preset_config(stem: str) -> dict[str, Any]:
    """The config.json inside a bundled preset file (which wraps it with its source)."""
    record = json.loads((REPO / "calculators/data/models" / f"{stem}.json").read_text(encoding="utf-8"))
    config: dict[str, Any] = record["config"]
    return config


def assert_matches_cli(values: dict[str, str], command: str, *args: str) -> None:
    expected = cli_json(command, *args)
    assert values, "no outputs on the page"
    for key, value in values.items():
        assert key in expected, key
        assert same(value, expected[key]), (key, value, expected[key])


def status(visit_page: object, name: str) -> str:
    from playwright.sync_api import Page

    assert isinstance(visit_page, Page)
    text = visit_page.text_content(f'form[data-calculator="{name}"] [data-role=status]')
    return text or ""


@pytest.mark.parametrize("name", sorted(PAGES))
def test_prerendered_results_without_javascript_match_the_cli(open_page: OpenPage, name: str) -> None:
    visit = open_page(PAGES[name], js=False)
    assert visit.page.locator(f'form[data-calculator="{name}"]').count() == 1
    assert_matches_cli(outputs(visit.page, name), name)
    assert status(visit.page, name) == "static results"
    # Every page input carries the CLI option's name and its label.
    calc = forms.CALCULATORS[name]
    for inp in calc.inputs:
        control = visit.page.locator(f'form[data-calculator="{name}"] [name="{inp.name}"]')
        assert control.count() == (0 if inp.cli_only else 1), inp.name
        if not inp.cli_only:
            label = visit.page.locator(f'label[for="{control.get_attribute("id")}"]')
            assert inp.label in (label.text_content() or "")


def test_live_recompute_matches_the_cli(open_page: OpenPage) -> None:
    visit = open_page(PAGES["vllm"], wait_live=True)
    page = visit.page
    assert status(page, "vllm") == "live"
    assert_matches_cli(outputs(page, "vllm"), "vllm")
    form = 'form[data-calculator="vllm"]'
    page.select_option(f'{form} [name="gpu"]', "h200")
    page.select_option(f'{form} [name="model"]', "Qwen/Qwen3-32B")
    page.fill(f'{form} [name="tp"]', "2")
    page.fill(f'{form} [name="max-model-len"]', "32768")
    page.select_option(f'{form} [name="kv-cache-dtype"]', "fp8")
    wait_live(page, "vllm")
    assert_matches_cli(outputs(page, "vllm"), "vllm", "--gpu", "h200", "--model", "Qwen/Qwen3-32B", "--tp", "2",
                       "--max-model-len", "32768", "--kv-cache-dtype", "fp8")
    assert "--tensor-parallel-size 2" in (page.text_content(f'{form} [data-output="serve_command"]') or "")


def test_memory_and_ridge_live(open_page: OpenPage) -> None:
    visit = open_page(PAGES["memory"], wait_live=True)
    form = 'form[data-calculator="memory"]'
    visit.page.fill(f'{form} [name="batch"]', "16")
    visit.page.fill(f'{form} [name="tokens"]', "4096")
    visit.page.select_option(f'{form} [name="weights-dtype"]', "fp8")
    wait_live(visit.page, "memory")
    assert_matches_cli(outputs(visit.page, "memory"), "memory", "--batch", "16", "--tokens", "4096",
                       "--weights-dtype", "fp8")
    svg = visit.page.locator(f"{form} [data-role=chart] svg")
    assert "16 × 4,096 tokens" in (svg.text_content() or "")
    visit = open_page(PAGES["ridge"], wait_live=True)
    visit.page.select_option('form[data-calculator="ridge"] [name="gpu"]', "b200")
    wait_live(visit.page, "ridge")
    assert_matches_cli(outputs(visit.page, "ridge"), "ridge", "--gpu", "b200")


def test_inputs_round_trip_through_the_url(open_page: OpenPage) -> None:
    visit = open_page(PAGES["vllm"], wait_live=True)
    form = 'form[data-calculator="vllm"]'
    visit.page.fill(f'{form} [name="tp"]', "4")
    visit.page.select_option(f'{form} [name="gpu"]', "a100-80gb-sxm")
    wait_live(visit.page, "vllm")
    url = visit.page.url
    assert parse_qs(urlsplit(url).query) == {"tp": ["4"], "gpu": ["a100-80gb-sxm"]}
    before = outputs(visit.page, "vllm")
    again = open_page(PAGES["vllm"] + "?" + urlsplit(url).query, wait_live=True)
    assert again.page.input_value(f'{form} [name="tp"]') == "4"
    assert again.page.input_value(f'{form} [name="gpu"]') == "a100-80gb-sxm"
    assert outputs(again.page, "vllm") == before
    assert_matches_cli(before, "vllm", "--tp", "4", "--gpu", "a100-80gb-sxm")


def test_hostile_url_parameters_fall_back_to_defaults(open_page: OpenPage) -> None:
    query = ("tp=%3Cimg%20src%3Dx%20onerror%3Dalert(1)%3E&gpu=%3Cscript%3Ealert(2)%3C%2Fscript%3E"
             "&max-model-len=-5&__proto__=1&block-size=16")
    visit = open_page(PAGES["vllm"] + "?" + query, wait_live=True)
    page = visit.page
    form = 'form[data-calculator="vllm"]'
    notice = page.locator(f"{form} [data-role=notice]")
    assert notice.is_visible()
    text = notice.text_content() or ""
    for name in ("tp", "gpu", "max-model-len", "__proto__"):
        assert f"“{name}”" in text, (name, text)
    assert page.input_value(f'{form} [name="tp"]') == "1"
    assert page.input_value(f'{form} [name="gpu"]') == "h100-sxm"
    assert page.input_value(f'{form} [name="block-size"]') == "16"  # the one valid parameter is used
    assert page.locator("img[src=x]").count() == 0
    assert page.evaluate("() => [...document.scripts].every(s => !s.textContent.includes('alert('))")
    assert_matches_cli(outputs(page, "vllm"), "vllm", "--block-size", "16")


def test_pasted_config_is_used(open_page: OpenPage, tmp_path: Path) -> None:
    config = preset_config("Qwen--Qwen3-8B")
    config["num_hidden_layers"] = 20  # not a preset: proves the pasted text is what is computed
    path = tmp_path / "my-model" / "config.json"
    path.parent.mkdir()
    path.write_text(json.dumps(config), encoding="utf-8")
    visit = open_page(PAGES["memory"], wait_live=True)
    form = 'form[data-calculator="memory"]'
    visit.page.fill(f'{form} [name="config-json"]', json.dumps(config, indent=2))
    wait_live(visit.page, "memory")
    values = outputs(visit.page, "memory")
    assert_matches_cli(values, "memory", "--config", str(path))
    assert "num_hidden_layers" in (visit.page.text_content(f"{form} [data-role=config-fields]") or "")
    assert "= 20" in (visit.page.text_content(f"{form} [data-role=config-fields]") or "")


def test_dropped_config_file_is_used(open_page: OpenPage, tmp_path: Path) -> None:
    """A config.json dropped on the config field (a real DataTransfer holding a File) is computed."""
    config = preset_config("Qwen--Qwen3-8B")
    config["num_hidden_layers"] = 12
    path = tmp_path / "dropped" / "config.json"
    path.parent.mkdir()
    path.write_text(json.dumps(config), encoding="utf-8")
    visit = open_page(PAGES["memory"], wait_live=True)
    form = 'form[data-calculator="memory"]'
    visit.page.eval_on_selector(
        f'{form} [name="config-json"]',
        """(el, text) => {
             const data = new DataTransfer();
             data.items.add(new File([text], "config.json", {type: "application/json"}));
             el.dispatchEvent(new DragEvent("dragover", {dataTransfer: data, bubbles: true, cancelable: true}));
             el.dispatchEvent(new DragEvent("drop", {dataTransfer: data, bubbles: true, cancelable: true}));
           }""",
        json.dumps(config),
    )
    visit.page.wait_for_function(
        "el => el.value.includes('num_hidden_layers')",
        arg=visit.page.locator(f'{form} [name="config-json"]').element_handle(),
        timeout=10_000,
    )
    wait_live(visit.page, "memory")
    assert_matches_cli(outputs(visit.page, "memory"), "memory", "--config", str(path))


def test_errors_mark_the_field_and_keep_the_text(open_page: OpenPage) -> None:
    visit = open_page(PAGES["vllm"], wait_live=True)
    page = visit.page
    form = 'form[data-calculator="vllm"]'
    before = outputs(page, "vllm")
    page.fill(f'{form} [name="gpu-memory-utilization"]', "1.5")
    field = page.locator(f'{form} [name="gpu-memory-utilization"]')
    page.wait_for_function(
        "el => el.getAttribute('aria-invalid') === 'true'", arg=field.element_handle(), timeout=60_000
    )
    assert field.input_value() == "1.5"
    error_id = field.get_attribute("data-error-id")
    assert error_id and error_id in (field.get_attribute("aria-describedby") or "").split()
    message = page.text_content(f"#{error_id}") or ""
    assert "at most 1" in message
    assert outputs(page, "vllm") == before  # the last good numbers stay, marked stale
    page.fill(f'{form} [name="gpu-memory-utilization"]', "0.8")
    wait_live(page, "vllm")
    assert field.get_attribute("aria-invalid") is None
    # A config.json that is not JSON marks the config field, with no traceback anywhere.
    page.fill(f'{form} [name="config-json"]', '{"num_hidden_layers": 4,')
    config = page.locator(f'{form} [name="config-json"]')
    page.wait_for_function(
        "el => el.getAttribute('aria-invalid') === 'true'", arg=config.element_handle(), timeout=60_000
    )
    assert config.input_value() == '{"num_hidden_layers": 4,'
    assert "not valid JSON" in (page.text_content(f"#{config.get_attribute('data-error-id')}") or "")
    body = page.text_content("body") or ""
    assert "Traceback" not in body and 'File "' not in body
    # Emptying it clears the mark: back to the preset.
    page.fill(f'{form} [name="config-json"]', "")
    wait_live(page, "vllm")
    assert config.get_attribute("aria-invalid") is None
    assert_matches_cli(outputs(page, "vllm"), "vllm", "--gpu-memory-utilization", "0.8")


def _block_pyodide(context: BrowserContext) -> None:
    context.route("**/assets/pyodide/**", lambda route: route.abort())


def test_pyodide_blocked_keeps_the_prerendered_numbers(open_page: OpenPage) -> None:
    visit = open_page(PAGES["vllm"], setup=_block_pyodide)
    page = visit.page
    form = 'form[data-calculator="vllm"]'
    page.wait_for_selector(f"{form} [data-role=notice]:not([hidden])", timeout=60_000)
    assert "Live calculation is unavailable" in (page.text_content(f"{form} [data-role=notice]") or "")
    assert status(page, "vllm") == "static results"
    assert_matches_cli(outputs(page, "vllm"), "vllm")


def _tamper_wheel(context: BrowserContext) -> None:
    def handle(route: Route) -> None:
        response = route.fetch()
        body = response.body() + b"\0"
        route.fulfill(response=response, body=body)

    context.route("**/*.whl", handle)


def test_tampered_wheel_is_refused(open_page: OpenPage) -> None:
    """A normal boot (no memory snapshot: its file is unreachable here) loads the wheel through
    Pyodide's loadPackage with the lock's sha256: a wheel that fails it is refused, and the page keeps
    the static results it was built with."""

    def setup(context: BrowserContext) -> None:
        context.route("**/snapshot-*.bin.gz", lambda route: route.abort("failed"))
        _tamper_wheel(context)

    visit = open_page(PAGES["ridge"], setup=setup)
    form = 'form[data-calculator="ridge"]'
    visit.page.wait_for_selector(f"{form} [data-role=notice]:not([hidden])", timeout=60_000)
    assert status(visit.page, "ridge") == "static results"
    assert_matches_cli(outputs(visit.page, "ridge"), "ridge")


def test_tampered_wheel_is_never_unpacked_after_a_snapshot_boot(open_page: OpenPage) -> None:
    """Booted from the (checked) memory snapshot, the page answers from it; the wheel, unpacked only
    after the first answer, fails its sha256 and is not unpacked, with a console warning."""
    warnings: list[str] = []

    def setup(context: BrowserContext) -> None:
        _tamper_wheel(context)
        page_settings(context, PAGES["ridge"], fastLinkBytesPerS=0)  # the snapshot whatever the link's speed
        context.on("console", lambda m: warnings.append(m.text) if m.type == "warning" else None)

    visit = open_page(PAGES["ridge"], setup=setup)
    wait_live(visit.page, "ridge")
    stages = visit.page.evaluate("() => window.fnCalculators.stages")
    assert stages["snapshot"] is True, stages
    assert_matches_cli(outputs(visit.page, "ridge"), "ridge")
    deadline = visit.page.evaluate("() => performance.now()") + 30_000
    while not any("could not be unpacked" in w for w in warnings):
        assert visit.page.evaluate("() => performance.now()") < deadline, warnings
        visit.page.wait_for_timeout(200)


@pytest.mark.parametrize(
    ("status_code", "expected"),
    [(404, "HTTP 404"), (401, "gated or private"), (0, "Could not reach"), (200, "Fetched")],
)
def test_hugging_face_fetch_only_on_click(open_page: OpenPage, status_code: int, expected: str) -> None:
    config = json.dumps(preset_config("Qwen--Qwen3-8B"), indent=2)
    asked: list[str] = []

    def setup(context: BrowserContext) -> None:
        def handle(route: Route) -> None:
            asked.append(route.request.url)
            if status_code == 0:
                route.abort("internetdisconnected")
            else:
                route.fulfill(status=status_code, body=config if status_code == 200 else "no",
                              headers={"access-control-allow-origin": "*"})

        context.route("https://huggingface.co/**", handle)

    visit = open_page(PAGES["kv"], allow_hosts=("huggingface.co",), setup=setup, wait_live=True)
    page = visit.page
    form = 'form[data-calculator="kv"]'
    page.fill(f"{form} [data-role=hf-repo]", "Qwen/Qwen3-8B")
    assert asked == []  # typing fetches nothing
    page.click(f"{form} [data-role=hf-fetch]")
    page.wait_for_function(
        "([sel, text]) => (document.querySelector(sel).textContent || '').includes(text)",
        arg=[f"{form} [data-role=hf-status]", expected], timeout=30_000,
    )
    assert asked == ["https://huggingface.co/Qwen/Qwen3-8B/resolve/main/config.json"]
    if status_code == 200:
        wait_live(page, "kv")
        assert page.input_value(f'{form} [name="config-json"]') == config
        assert_matches_cli(outputs(page, "kv"), "kv", "--model", "Qwen/Qwen3-8B")


def test_plain_page_loads_no_pyodide(open_page: OpenPage) -> None:
    visit = open_page("kb/")
    visit.page.wait_for_load_state("networkidle")
    loaded = [u for u in visit.requests if "pyodide" in u or "/assets/calculators/" in u]
    assert loaded == []
    assert visit.requests, "the request log saw nothing"


def test_calculator_page_loads_pyodide_only_from_the_site(open_page: OpenPage, base_url: str) -> None:
    visit = open_page(PAGES["vllm"], wait_live=True)
    pyodide = [u for u in visit.requests if "/assets/pyodide/" in u]
    assert pyodide and all(u.startswith(base_url) for u in pyodide)
    assert any(u.endswith(".whl") for u in visit.requests)
    assert not visit.console_errors, visit.console_errors


@pytest.mark.parametrize("name", ["vllm", "memory"])
def test_calculator_accessible_in_every_state(open_page: OpenPage, name: str) -> None:
    from tests.site.test_axe import axe_violations, describe

    visit = open_page(PAGES[name], wait_live=True)
    page = visit.page
    form = f'form[data-calculator="{name}"]'
    page.fill(f'{form} [name="tp"]', "0")  # an error state: aria-invalid and its message
    page.wait_for_selector(f'{form} [name="tp"][aria-invalid="true"]', timeout=60_000)
    page.click(f"{form} .fn-calc__how summary")
    violations = axe_violations(page)
    assert not violations, describe(violations)


def test_unknown_architecture_is_refused_then_estimated_on_request(open_page: OpenPage) -> None:
    """A config.json of an architecture no reader knows is refused with the reason (the text stays);
    ticking "Assume Llama-like" computes it, and the result says it is an estimate."""
    visit = open_page(PAGES["memory"], wait_live=True)
    page = visit.page
    form = 'form[data-calculator="memory"]'
    config = preset_config("meta-llama--Llama-3.2-1B-Instruct")
    config["model_type"] = "brand_new_decoder"
    text = json.dumps(config, indent=2)
    page.fill(f'{form} [name="config-json"]', text)
    field = page.locator(f'{form} [name="config-json"]')
    page.wait_for_function(
        "el => el.getAttribute('aria-invalid') === 'true'", arg=field.element_handle(), timeout=60_000
    )
    message = page.text_content(f"#{field.get_attribute('data-error-id')}") or ""
    assert "brand_new_decoder" in message and "Assume Llama-like" in message
    assert field.input_value() == text
    page.check(f'{form} [name="assume-llama-like"]')
    wait_live(page, "memory")
    assert field.get_attribute("aria-invalid") is None
    notes = page.text_content(f"{form} [data-role=notes]") or ""
    assert "ESTIMATE" in notes


# ---------------------------------------------------------------- issue 12: plan-sim, simulate, calibrate

SIM_PAGES = {"plan-sim": "calculators/plan/", "simulate": "calculators/simulate/",
             "calibrate": "calculators/calibrate/"}
BENCH = {"request_rate": 2.0, "max_concurrency": None, "input_lens": [800, 1200, 400] * 10,
         "output_lens": [100, 200, 50] * 10, "median_ttft_ms": 60.0, "median_tpot_ms": 12.0,
         "output_throughput": 250.0, "model_id": "meta-llama/Llama-3.1-8B-Instruct"}


@pytest.mark.parametrize("name", ["plan-sim", "simulate"])
def test_plan_sim_and_simulate_prerendered_match_the_cli(open_page: OpenPage, name: str) -> None:
    visit = open_page(SIM_PAGES[name], js=False)
    assert visit.page.locator(f'form[data-calculator="{name}"]').count() == 1
    assert_matches_cli(outputs(visit.page, name), name)
    for inp in forms.CALCULATORS[name].inputs:
        control = visit.page.locator(f'form[data-calculator="{name}"] [name="{inp.name}"]')
        assert control.count() == (0 if inp.cli_only else 1), inp.name


def test_plan_sim_live_with_sessions_and_prices(open_page: OpenPage) -> None:
    visit = open_page(SIM_PAGES["plan-sim"], wait_live=True)
    page = visit.page
    form = 'form[data-calculator="plan-sim"]'
    page.fill(f'{form} [name="sessions"]', "200")
    page.fill(f'{form} [name="think-time-s"]', "10")
    page.fill(f'{form} [name="gpu-prices"]', "h100-sxm=3")
    wait_live(page, "plan-sim")
    assert_matches_cli(outputs(page, "plan-sim"), "plan-sim", "--sessions", "200", "--think-time-s", "10",
                       "--gpu-prices", "h100-sxm=3")
    assert page.locator(f"{form} [data-role=chart] svg").count() >= 1
    assert "(recommended)" in (page.text_content(f"{form} [data-role=options-table]") or "")
    # a bad SLO marks its field and keeps the text
    page.fill(f'{form} [name="slo"]', "ttft<5")
    field = page.locator(f'{form} [name="slo"]')
    page.wait_for_function("el => el.getAttribute('aria-invalid') === 'true'", arg=field.element_handle(),
                           timeout=120_000)
    assert field.input_value() == "ttft<5"
    assert "Traceback" not in (page.text_content("body") or "")


def test_calibrate_page_pasted_bench_and_bad_file(open_page: OpenPage, tmp_path: Path) -> None:
    visit = open_page(SIM_PAGES["calibrate"], wait_live=True)
    page = visit.page
    form = 'form[data-calculator="calibrate"]'
    assert "no benchmark yet" in (page.text_content(f'{form} [data-output="status"]') or "")
    path = tmp_path / "bench.json"
    path.write_text(json.dumps(BENCH), encoding="utf-8")
    page.fill(f'{form} [name="bench-json"]', json.dumps(BENCH))
    wait_live(page, "calibrate")
    assert_matches_cli(outputs(page, "calibrate"), "calibrate", "--bench", str(path))
    bad = '{"input_lens": [1, 2]}'
    page.fill(f'{form} [name="bench-json"]', bad)
    field = page.locator(f'{form} [name="bench-json"]')
    page.wait_for_function("el => el.getAttribute('aria-invalid') === 'true'", arg=field.element_handle(),
                           timeout=120_000)
    assert field.input_value() == bad
    assert "--save-detailed" in (page.text_content(f"#{field.get_attribute('data-error-id')}") or "")
    assert "Traceback" not in (page.text_content("body") or "")


# ---------------------------------------------------------------- issue 12: the bench file, chosen or dropped

CALIBRATE_FORM = 'form[data-calculator="calibrate"]'


def _bench_file(tmp_path: Path, name: str = "bench.json") -> tuple[Path, str]:
    """A synthetic ``vllm bench serve --save-result --save-detailed`` result (as tests/core/test_plan_sim.py)."""
    bench = dict(BENCH, date="20261201-041200", backend="vllm", num_prompts=30)
    text = json.dumps(bench, indent=2)
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path, text


def _field_error(page: Any, field: Any) -> str:
    return page.text_content(f"#{field.get_attribute('data-error-id')}") or ""


def test_calibrate_bench_file_picker_matches_the_cli(open_page: OpenPage, tmp_path: Path) -> None:
    """A benchmark result chosen with the file picker gives the CLI's fitted numbers, and stays out of the link."""
    path, text = _bench_file(tmp_path)
    visit = open_page(SIM_PAGES["calibrate"], wait_live=True)
    page = visit.page
    picker = page.locator(f"{CALIBRATE_FORM} input[type=file][data-role=bench-file]")
    assert picker.is_visible()
    assert picker.get_attribute("name") is None  # not an input of the calculator
    assert picker.get_attribute("accept") == ".json,application/json"
    label = page.text_content(f'label[for="{picker.get_attribute("id")}"]') or ""
    assert label == "Choose a benchmark result (.json)", label
    field = page.locator(f'{CALIBRATE_FORM} [name="bench-json"]')
    assert field.get_attribute("data-link") == "never"
    picker.set_input_files(str(path))
    page.wait_for_function("el => el.value.length > 0", arg=field.element_handle(), timeout=10_000)
    assert field.input_value() == text
    wait_live(page, "calibrate")
    values = outputs(page, "calibrate")
    expected = cli_json("calibrate", "--bench", str(path))
    assert_matches_cli(values, "calibrate", "--bench", str(path))
    assert values["mbu"] and json.loads(values["mbu"]) == expected["mbu"]
    assert values["mfu"] and json.loads(values["mfu"]) == expected["mfu"]
    # a change elsewhere rewrites the link: the benchmark is never in it
    page.fill(f'{CALIBRATE_FORM} [name="tp"]', "2")
    wait_live(page, "calibrate")
    query = parse_qs(urlsplit(page.url).query)
    assert query.get("tp") == ["2"] and "bench-json" not in query, page.url
    share = page.get_attribute(f"{CALIBRATE_FORM} [data-role=share]", "href") or ""
    assert "bench-json" not in share and "input_lens" not in share, share


def test_calibrate_bench_file_dropped_matches_the_cli(open_page: OpenPage, tmp_path: Path) -> None:
    """A benchmark result dropped on the field (a real DataTransfer holding a File) is fitted as by the CLI."""
    path, text = _bench_file(tmp_path, "dropped.json")
    visit = open_page(SIM_PAGES["calibrate"], wait_live=True)
    page = visit.page
    field = page.locator(f'{CALIBRATE_FORM} [name="bench-json"]')
    assert field.get_attribute("data-drop-zone") is not None
    field.evaluate(
        """(el, text) => {
             const data = new DataTransfer();
             data.items.add(new File([text], "bench.json", {type: "application/json"}));
             el.dispatchEvent(new DragEvent("dragover", {dataTransfer: data, bubbles: true, cancelable: true}));
             el.dispatchEvent(new DragEvent("drop", {dataTransfer: data, bubbles: true, cancelable: true}));
           }""",
        text,
    )
    page.wait_for_function("el => el.value.includes('input_lens')", arg=field.element_handle(), timeout=10_000)
    assert field.input_value() == text
    wait_live(page, "calibrate")
    assert_matches_cli(outputs(page, "calibrate"), "calibrate", "--bench", str(path))


def test_calibrate_bench_file_not_json_or_too_big(open_page: OpenPage, tmp_path: Path) -> None:
    """A file that is not JSON is marked with a clear message and its text kept; one over the limit is
    refused unread, leaving the field as it was; no traceback either way."""
    visit = open_page(SIM_PAGES["calibrate"], wait_live=True)
    page = visit.page
    field = page.locator(f'{CALIBRATE_FORM} [name="bench-json"]')
    notes = tmp_path / "notes.txt"
    notes.write_text("median TPOT 12 ms, TTFT 60 ms\n", encoding="utf-8")
    page.locator(f"{CALIBRATE_FORM} input[type=file][data-role=bench-file]").set_input_files(str(notes))
    page.wait_for_function("el => el.getAttribute('aria-invalid') === 'true'", arg=field.element_handle(),
                           timeout=120_000)
    assert field.input_value() == "median TPOT 12 ms, TTFT 60 ms\n"
    message = _field_error(page, field)
    assert message.startswith("not a JSON object"), message  # as the CLI says for --bench notes.txt
    body = page.text_content("body") or ""
    assert "Traceback" not in body and "File \"" not in body
    # Over the 20,000,000-character limit (forms._coerce): refused before it reaches Python.
    field.evaluate(
        """el => {
             const data = new DataTransfer();
             data.items.add(new File(["[" + "0,".repeat(10000000) + "0]"], "huge.json", {type: "application/json"}));
             el.dispatchEvent(new DragEvent("drop", {dataTransfer: data, bubbles: true, cancelable: true}));
           }""",
    )
    page.wait_for_function(
        "el => (document.getElementById(el.dataset.errorId).textContent || '').includes('huge.json')",
        arg=field.element_handle(), timeout=30_000,
    )
    message = _field_error(page, field)
    assert "is larger than 20,000,000 characters" in message, message
    assert field.input_value() == "median TPOT 12 ms, TTFT 60 ms\n"
    assert "Traceback" not in (page.text_content("body") or "")


def test_calibrate_link_never_fills_the_bench(open_page: OpenPage) -> None:
    """A link carrying bench-json is not used, and the notice says why."""
    visit = open_page(SIM_PAGES["calibrate"] + "?bench-json=%7B%22input_lens%22%3A%5B1%5D%7D", wait_live=True)
    page = visit.page
    assert page.input_value(f'{CALIBRATE_FORM} [name="bench-json"]') == ""
    notice = page.text_content(f"{CALIBRATE_FORM} [data-role=notice]") or ""
    assert "“bench-json”" in notice and "never" in notice and "benchmark result" in notice, notice
    assert "no benchmark yet" in (page.text_content(f'{CALIBRATE_FORM} [data-output="status"]') or "")
