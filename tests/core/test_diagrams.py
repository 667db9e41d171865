"""calculators.diagrams: SVGs that parse, are accessible and readable, and draw the package's numbers."""

from __future__ import annotations

import ast
import math
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from calculators import diagrams, hardware, memory, models, params, roofline, vllm
from calculators.errors import CalcError

NS = "{http://www.w3.org/2000/svg}"
LLAMA_8B = "meta-llama/Llama-3.1-8B-Instruct"
H100 = "h100-sxm"


def _svg(d: diagrams.Diagram) -> ET.Element:
    return ET.fromstring(d.svg)


@pytest.mark.parametrize("name", sorted(diagrams.DIAGRAMS))
def test_each_diagram_is_accessible_readable_svg(name: str) -> None:
    # the rules: <title> and <desc>, text ≥ 12 units in a viewBox ≤ 720 wide, no style
    # attributes or scripts (the site's CSP), text in currentColor (Material's light and dark schemes)
    d = diagrams.render(name)
    root = _svg(d)
    assert root.tag == f"{NS}svg"
    for tag in ("title", "desc"):
        el = root.find(f"{NS}{tag}")
        assert el is not None and (el.text or "").strip(), tag
    assert root.get("role") == "img" and root.get("aria-label")
    _, _, width, height = (float(v) for v in (root.get("viewBox") or "").split())
    assert 0 < width <= 720 and height > 0
    texts = list(root.iter(f"{NS}text"))
    assert texts
    for t in texts:
        assert float(t.get("font-size") or 0) >= 12, (t.text, t.get("font-size"))
        assert t.get("fill") == "currentColor"
    for el in root.iter():
        assert "style" not in el.attrib
        assert not any(k.startswith("on") for k in el.attrib)
        assert el.tag != f"{NS}script"
    assert d.caption and "\n" not in d.svg


def test_paged_kv_caption_numbers_are_the_packages() -> None:
    # bytes per block = page size (vllm.fit) = bytes per token per layer × block size, × layers
    spec, gpu = models.load_preset(LLAMA_8B), hardware.get_gpu(H100)
    d = diagrams.paged_kv(spec, gpu)
    block = vllm.default_block_size(spec, gpu)
    page = vllm.fit(spec, gpu, max_model_len=8192).page_size_bytes
    per_layer = memory.kv_bytes_per_token_per_layer(spec)
    assert page == per_layer * block
    assert f"holds {block} tokens" in d.caption
    assert f"{page:,} bytes" in d.caption
    assert f"{page * spec.num_layers:,} bytes" in d.caption
    # the same total as the kv calculator's bytes per sequence of one block's tokens
    assert page * spec.num_layers == memory.kv_bytes_per_sequence(spec, block)


def test_paged_kv_block_tables_are_scattered_and_cover_the_tokens() -> None:
    reqs = diagrams.page_blocks((40, 21, 51), 16, 16)
    assert [len(r.block_table) for r in reqs] == [math.ceil(n / 16) for n in (40, 21, 51)]
    used = [p for r in reqs for p in r.block_table]
    assert len(used) == len(set(used))  # no physical block shared
    assert any(b - a != 1 for r in reqs for a, b in zip(r.block_table, r.block_table[1:], strict=False))
    for r in reqs:
        assert sum(r.filled(16, i) for i in range(len(r.block_table))) == r.tokens
        assert 0 < r.filled(16, len(r.block_table) - 1) <= 16


def test_paged_kv_mla_uses_the_mla_block_size() -> None:
    # vllm.default_block_size: 64 for FlashMLA on Hopper
    spec, gpu = models.load_preset("deepseek-ai/DeepSeek-V3"), hardware.get_gpu(H100)
    assert "holds 64 tokens" in diagrams.paged_kv(spec, gpu).caption


def test_schedule_trace_follows_v1_rule() -> None:
    # hand-worked: budget 8; A (5-token prompt) and B (9) arrive at step 0
    reqs = (diagrams.ToyRequest("A", 0, 5, 2), diagrams.ToyRequest("B", 0, 9, 1))
    t = diagrams.schedule_trace(reqs, budget=8)
    a, b = t.cells
    # step 1: A's whole prompt (5), B's first chunk (3); step 2: A decodes first, B its last 6
    assert (a[0], b[0]) == (diagrams.Cell("prefill", 5), diagrams.Cell("prefill", 3))
    assert (a[1], b[1]) == (diagrams.Cell("decode", 1), diagrams.Cell("prefill", 6))
    assert t.steps == 2  # A: first token at step 1, second at 2; B: its only token at step 2


def test_schedule_trace_never_exceeds_budget_and_finishes_everyone() -> None:
    t = diagrams.schedule_trace()
    for s in range(t.steps):
        assert t.tokens_in_step(s) <= t.budget
    for r, row in zip(t.requests, t.cells, strict=True):
        assert sum(c.tokens for c in row if c.kind == "prefill") == r.prompt
        # the step finishing the prompt yields the first token; each decode one more
        assert 1 + sum(1 for c in row if c.kind == "decode") == r.output
    kinds = {c.kind for row in t.cells for c in row}
    assert {"prefill", "decode", "waiting"} <= kinds


def test_batching_timeline_caption_quotes_vllm_defaults() -> None:
    gpu = hardware.get_gpu(H100)
    budget, seqs = vllm.default_scheduler_limits(gpu)
    assert f"is {budget:,}, with up to {seqs:,}" in diagrams.batching_timeline(gpu).caption


@pytest.mark.parametrize(("model", "tp"), [(LLAMA_8B, 2), (LLAMA_8B, 4), ("meta-llama/Llama-3.1-70B-Instruct", 8),
                                           ("microsoft/phi-2", 4)])
def test_tp_shards_multiply_back_to_the_full_matrix(model: str, tp: int) -> None:
    spec = models.load_preset(model)
    shards = diagrams.tp_shards(spec, tp)
    assert [s.split for s in shards] == ["column", "column", "row", "column", "row"]
    for s in shards:
        if s.split == "column":
            assert (s.gpu_in, s.gpu_out * tp) == (s.full_in, s.full_out)
        else:
            assert (s.gpu_in * tp, s.gpu_out) == (s.full_in, s.full_out)
    q = shards[0]
    assert q.full_out == spec.num_attention_heads * spec.head_dim and q.full_in == spec.hidden_size
    d = diagrams.tp_sharding(spec, tp)
    assert f"GPU: {q.gpu_in:,} × {q.gpu_out:,}" in d.svg


def test_tp_shards_are_tensor_groups_shapes() -> None:
    # params.tensor_groups stores out × in (PyTorch); the diagram shows in × out (Megatron's Y = X·A)
    spec = models.load_preset(LLAMA_8B)
    per_gpu = {g.name: g for g in params.tensor_groups(spec, tp=4)}
    o = diagrams.tp_shards(spec, 4)[2]
    assert (o.gpu_out, o.gpu_in) == (per_gpu["o_proj"].rows, per_gpu["o_proj"].cols)


def test_tp_sharding_replicates_kv_heads_beyond_their_count() -> None:
    # 8 KV heads at TP 16: vLLM replicates them (ModelConfig.get_num_kv_heads)
    spec = models.load_preset("meta-llama/Llama-3.1-70B-Instruct")
    assert diagrams.tp_shards(spec, 16)[1].split == "replicated"


def test_tp_sharding_refuses_moe_and_mla() -> None:
    with pytest.raises(CalcError):
        diagrams.tp_shards(models.load_preset("deepseek-ai/DeepSeek-V3"), 8)


def test_kv_shapes_bars_are_proportional_to_the_bytes() -> None:
    ids = diagrams.KV_SHAPES_DEFAULT
    specs = tuple(models.load_preset(i) for i in ids)
    root = _svg(diagrams.kv_shapes(specs))
    bars = [r for r in root.iter(f"{NS}rect") if r.get("class") == "fn-diagram__bar"]
    assert len(bars) == 3
    expected = [memory.kv_bytes_per_token_per_layer(s) for s in specs]
    assert [int(b.get("data-bytes") or 0) for b in bars] == expected
    widths = [float(b.get("width") or 0) for b in bars]
    for w, n in zip(widths, expected, strict=True):
        assert w / widths[0] == pytest.approx(n / expected[0], abs=0.002)


def test_kv_shape_kinds_and_parts() -> None:
    # phi-2: 32 heads = 32 KV heads (MHA); Llama-3.1-8B: 8 of 32 (GQA); DeepSeek-V3: 512 + 64 latent (MLA)
    kinds = [diagrams.kv_shape(models.load_preset(i)) for i in diagrams.KV_SHAPES_DEFAULT]
    assert [k.kind for k in kinds] == ["MHA", "GQA", "MLA"]
    for k in kinds:
        assert sum(n for _, n in k.parts) == k.bytes_per_token_per_layer
    assert len(kinds[0].parts) == 64 and len(kinds[1].parts) == 16 and len(kinds[2].parts) == 2
    assert kinds[2].bytes_per_token_per_layer == (512 + 64) * 2


def test_pareto_front_is_the_non_dominated_points() -> None:
    p = diagrams.ParetoPoint
    pts = [p(1, 1, 10, 5), p(1, 2, 8, 9), p(2, 1, 12, 4), p(2, 2, 7, 8), p(2, 4, 5, 12)]
    front = diagrams.pareto_front(pts)
    assert front == [p(2, 4, 5, 12), p(1, 2, 8, 9), p(1, 1, 10, 5), p(2, 1, 12, 4)]


def test_pareto_uses_the_roofline_sweep() -> None:
    spec, gpu = models.load_preset("meta-llama/Llama-3.1-70B-Instruct"), hardware.get_gpu(H100)
    pts = diagrams.pareto_points(spec, gpu, (4,), 1024, 256)
    curve = [c for c in roofline.roofline(spec, gpu, tp=4, prompt_tokens=1024, output_tokens=256).curve if c.fits_kv]
    assert [(q.batch, q.tokens_per_s_per_gpu) for q in pts] == [(c.batch, c.output_tokens_per_s_per_gpu)
                                                                for c in curve]
    d = diagrams.pareto(spec, gpu, (4,), 1024, 256)
    best = max(curve, key=lambda c: c.output_tokens_per_s_per_gpu)
    assert f"{best.output_tokens_per_s_per_gpu:,.0f}/s" in d.caption


@pytest.mark.parametrize(("body", "message"), [
    ("", "empty"), ("nope", "unknown diagram"), ("paged_kv colour=red", "no option colour"),
    ("tp_sharding tp=x", "whole number"), ("tp_sharding tp=3", "tp"), ("paged_kv model=no/such", "model"),
])
def test_render_rejects_bad_markers(body: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        diagrams.render(body)


def test_diagrams_imports_only_the_standard_library_and_the_package() -> None:
    # it also runs in Pyodide, where only the stdlib and our wheel exist
    source = Path(diagrams.__file__).read_text(encoding="utf-8")
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            names = [node.module or ""]
        else:
            continue
        for name in names:
            top = name.split(".")[0]
            assert top in sys.stdlib_module_names or top in ("calculators", "__future__"), name
