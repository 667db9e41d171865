"""The SVG charts: the GPU's capacity on the memory bar, text large enough to read, the KV cache
against context length, and markup the page's sanitiser (calculators.js) keeps whole.

Expected values come from the chart's own inputs (the bytes passed in, the fit vLLM would report)
and from the layout measured in headless Chromium (tests/browser/test_charts.py measures it again).
"""

from __future__ import annotations

import functools
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from calculators import charts, forms, hardware, models, vllm

GIB = 1 << 30
SVG = "{http://www.w3.org/2000/svg}"
JS = Path(__file__).resolve().parents[2] / "docs/assets/calculators/calculators.js"
# The narrowest chart on a desktop page: a calculator's results column, 376.8 px wide at 960 px
# and 378 px from 1220 to 1599 px (Material's layout, measured in Chromium; wider elsewhere).
DESKTOP_CHART_PX = 376


def svgs(text: str) -> list[ET.Element]:
    """The top-level <svg> elements of a chart_svg string (the roofline and vllm ones hold two)."""
    root = ET.fromstring(f"<fn-charts>{text}</fn-charts>")
    assert all(el.tag == f"{SVG}svg" for el in root), [el.tag for el in root]
    return list(root)


def texts(svg: ET.Element) -> list[str]:
    return ["".join(t.itertext()) for t in svg.iter(f"{SVG}text")]


def capacity_line(svg: ET.Element) -> ET.Element | None:
    return next((el for el in svg.iter(f"{SVG}line") if el.get("class") == "fn-chart__capacity"), None)


def bar_end(svg: ET.Element) -> float:
    """Right edge of the last segment of the stacked bar (the coloured rects with a <title>)."""
    segs = [r for r in svg.iter(f"{SVG}rect") if r.find(f"{SVG}title") is not None]
    return max(float(r.get("x", 0)) + float(r.get("width", 0)) for r in segs)


@functools.cache
def all_charts() -> dict[str, str]:
    return {
        "memory": forms.run("memory", {})["chart_svg"],
        "memory-gpu": charts.stacked_bar([("Weights", 60 * GIB), ("KV", 30 * GIB)], "x", total=80 * GIB),
        "vllm": forms.run("vllm", {})["chart_svg"],
        "vllm-70b": forms.run("vllm", {"model": "meta-llama/Llama-3.1-70B-Instruct"})["chart_svg"],
        "roofline": forms.run("roofline", {})["chart_svg"],
        "kv": forms.run("kv", {})["chart_svg"],
        "kv-gemma": forms.run("kv", {"model": "google/gemma-3-27b-it", "tokens": "100000"})["chart_svg"],
    }


# ---------------------------------------------------------------- capacity line


def test_capacity_is_a_labelled_line_where_the_total_falls() -> None:
    # 60 + 10 GiB used of 80: the line sits at 80/80 of the bar, the stack ends at 70/80 of it.
    svg = svgs(charts.stacked_bar([("Weights", 60 * GIB), ("KV", 10 * GIB)], "fits", total=80 * GIB))[0]
    line = capacity_line(svg)
    assert line is not None
    left, bar_w = 10, charts.WIDTH - 20
    assert float(line.get("x1", 0)) == pytest.approx(left + bar_w, abs=0.1)
    assert line.get("x1") == line.get("x2")
    assert bar_end(svg) == pytest.approx(left + bar_w * 70 / 80, abs=0.1)
    assert "GPU: 80.0 GiB" in texts(svg)
    assert "70.0 GiB of 80.0 GiB: 10.0 GiB left" in texts(svg)


def test_a_stack_over_capacity_runs_past_the_line() -> None:
    # 90 + 30 = 120 GiB on an 80 GiB GPU: the bar is scaled to 120, the line at 80/120 of it.
    svg = svgs(charts.stacked_bar([("Weights", 90 * GIB), ("KV", 30 * GIB)], "over", total=80 * GIB,
                                  total_label="H100"))[0]
    line = capacity_line(svg)
    assert line is not None
    left, bar_w = 10, charts.WIDTH - 20
    x = float(line.get("x1", 0))
    assert x == pytest.approx(left + bar_w * 80 / 120, abs=0.1)
    assert bar_end(svg) == pytest.approx(left + bar_w, abs=0.1) and bar_end(svg) > x + 100
    assert "H100: 80.0 GiB" in texts(svg)
    assert "Does not fit: 120.0 GiB is 40.0 GiB over 80.0 GiB" in texts(svg)


def test_no_total_no_line() -> None:
    svg = svgs(charts.stacked_bar([("Weights", GIB)], "x"))[0]
    assert capacity_line(svg) is None


@pytest.mark.parametrize("model", ["meta-llama/Llama-3.1-8B-Instruct", "meta-llama/Llama-3.1-70B-Instruct"])
def test_the_vllm_memory_bar_shows_the_gpus_memory(model: str) -> None:
    # The 70B model's 131 GiB of weights do not fit an H100: its bar runs past the line.
    out = forms.run("vllm", {"model": model})
    bar = svgs(out["chart_svg"])[0]
    line = capacity_line(bar)
    assert line is not None
    gib = out["gpu_memory_gib"]
    assert f"GPU: {gib:,.1f} GiB" in texts(bar)
    overflows = bar_end(bar) > float(line.get("x1", 0)) + 1
    assert overflows == (out["weights_gib_per_gpu"] > gib)


# ---------------------------------------------------------------- legible text


@pytest.mark.parametrize("name", sorted(all_charts()))
def test_text_is_at_least_11px_on_a_desktop_page(name: str) -> None:
    """font-size × (rendered width ÷ viewBox width) ≥ 11 px at the narrowest desktop chart."""
    for svg in svgs(all_charts()[name]):
        view_w = float(svg.get("viewBox", "").split()[2])
        sizes = [float(t.get("font-size", 0)) for t in svg.iter(f"{SVG}text")]
        assert sizes, name
        assert min(sizes) * DESKTOP_CHART_PX / view_w >= 11, (name, min(sizes), view_w)


def test_long_titles_wrap_inside_the_chart() -> None:
    title = "meta-llama/Llama-3.1-8B-Instruct on NVIDIA H100 SXM5 80GB, W16A16, TP1 (per GPU)"
    svg = svgs(charts.roofline_chart(989.5e12, 3.35e12, [("decode", 8.0, 2.6e13)], title))[0]
    lines = [t for t in svg.iter(f"{SVG}text") if t.get("font-size") == str(charts.FONT_TITLE)]
    assert len(lines) >= 2 and " ".join("".join(t.itertext()) for t in lines) == title
    for t in lines:
        width = charts._text_width("".join(t.itertext()), charts.FONT_TITLE)
        assert float(t.get("x", 0)) + width <= charts.WIDTH


# ---------------------------------------------------------------- KV cache against context length


def marker_x(svg: ET.Element) -> float:
    line = next(el for el in svg.iter(f"{SVG}line") if el.get("class") == "fn-chart__marker")
    return float(line.get("x1", 0))


def point_titles(svg: ET.Element) -> list[str]:
    return ["".join(c.itertext()) for c in svg.iter(f"{SVG}circle")]


def test_kv_chart_follows_the_kv_calculator() -> None:
    out = forms.run("kv", {"tokens": "8192"})
    (svg,) = svgs(out["chart_svg"])
    spec = models.load_preset(out["model"])
    assert "8,192 tokens" in texts(svg)
    # one point per power of two from 1k to the model's longest context; the 8k one is the result
    assert len(point_titles(svg)) == len(charts.context_lengths(spec.max_len, 8192))
    assert f"8,192 tokens: {out['bytes_per_sequence'] / GIB:,.1f} GiB of KV cache" in point_titles(svg)


def test_vllm_context_chart_matches_the_fit() -> None:
    out = forms.run("vllm", {"max-model-len": "32768"})
    bar, ctx = svgs(out["chart_svg"])
    assert f"{out['max_concurrency']:,.2f}× at 32,768" in texts(ctx)
    assert f"32,768 tokens: {out['max_concurrency']:,.2f} requests at once" in point_titles(ctx)
    assert f"32,768 tokens: {out['kv_cache_needed_gib']:,.1f} GiB of KV cache" in point_titles(ctx)
    # other lengths: the concurrency vLLM would report for them (same GPU, same blocks)
    fit = vllm.fit(models.load_preset(out["model"]), hardware.get_gpu("h100-sxm"), max_model_len=8192)
    assert f"8,192 tokens: {fit.max_concurrency:,.2f} requests at once" in point_titles(ctx)


def test_context_lengths() -> None:
    assert charts.context_lengths(10_000, 3000) == [1024, 2048, 3000, 4096, 8192, 10_000]
    assert charts.context_lengths(512) == [512]


# ---------------------------------------------------------------- what the page's sanitiser keeps


def allow_list(name: str) -> set[str]:
    if not JS.is_file():  # under tests/pyodide only tests/ is copied in
        pytest.skip(f"{JS.name} is not in this file system")
    match = re.search(rf"const {name} = new Set\(\[(.*?)\]\);", JS.read_text(encoding="utf-8"), re.S)
    assert match, name
    return set(re.findall(r'"([^"]+)"', match.group(1)))


@pytest.mark.parametrize("name", sorted(all_charts()))
def test_charts_use_only_what_the_sanitiser_keeps(name: str) -> None:
    tags, attrs = allow_list("SVG_TAGS"), allow_list("SVG_ATTRS")
    for svg in svgs(all_charts()[name]):
        for el in svg.iter():
            assert el.tag.removeprefix(SVG) in tags, el.tag
            assert set(el.attrib) <= attrs, (el.tag, set(el.attrib) - attrs)
