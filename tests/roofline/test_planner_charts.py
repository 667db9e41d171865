"""Planner constraints, chunked prefill and the SVG charts."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import replace

import pytest

from calculators import charts, forms, hardware, models, planner, roofline
from calculators.errors import CalcError

L70 = models.load_preset("meta-llama/Llama-3.1-70B-Instruct")
H100 = hardware.get_gpu("h100-sxm")
CHAT = planner.PRESETS["chat"]


def test_binding_constraints_for_70b_bf16_on_h100() -> None:
    by_tp = {o.tp: o for o in planner.plan(L70, [H100], CHAT).options}
    assert by_tp[1].binding_constraint == "weights" and not by_tp[1].feasible  # 141 GB of bf16 weights
    # 70.6 GB of weights per GPU leaves KV room for a handful of sequences at most
    assert by_tp[2].binding_constraint == "kv"
    # (vLLM 0.33 default --gpu-memory-utilization 0.92: about 1.6 GB more KV than at 0.9)
    assert not by_tp[2].feasible or (by_tp[2].batch_per_replica or 0) <= 16
    assert by_tp[4].feasible and by_tp[4].binding_constraint in ("bandwidth", "compute")


def test_unreachable_latency_target_is_an_slo_constraint() -> None:
    opt = planner.plan_option(L70, H100, 8, replace(CHAT, tpot_target_s=0.001))
    assert not opt.feasible and opt.binding_constraint == "slo"


def test_kv_binds_when_there_is_no_latency_target() -> None:
    w = planner.Workload("interactive", 1024, 256, concurrent_users=100_000)
    opt = planner.plan_option(L70, H100, 4, w)
    # users are spread evenly over the replicas, so the batch may sit one below the KV limit
    assert opt.binding_constraint in ("kv", "compute") and opt.kv_max_batch is not None
    assert opt.kv_max_batch - 1 <= (opt.batch_per_replica or 0) <= opt.kv_max_batch
    assert opt.kv_headroom == pytest.approx(0.0, abs=0.02)


def test_presets_state_their_numbers_in_the_help_text() -> None:
    text = forms.CALCULATORS["plan"].input("preset").help
    assert "2,000 concurrent users" in text and "50 ms" in text and "500 million tokens" in text
    assert CHAT.concurrent_users == 2000 and CHAT.tpot_target_s == 0.05
    assert planner.PRESETS["documents"].tokens_per_day == 500e6


def test_tp_candidates_follow_vllm_rules() -> None:
    assert planner.tp_candidates(L70) == [1, 2, 4, 8]  # 64 heads, 8 KV heads
    qwen = models.load_preset("Qwen/Qwen3-14B")  # 40 heads, 8 KV heads: 5 divides 40 but not 8
    assert 5 not in planner.tp_candidates(qwen)


def test_chunked_prefill_takes_more_steps_but_the_same_flops() -> None:
    whole = roofline.prefill_time(L70, H100, 4, 8000, max_num_batched_tokens=8192)
    chunked = roofline.prefill_time(L70, H100, 4, 8000, max_num_batched_tokens=2048)
    assert (whole.steps, chunked.steps) == (1, 4)
    # same GEMM and attention work; only the lm_head runs once per chunk (vLLM computes logits for
    # every scheduled request, partial prefills included, and discards them)
    assert chunked.cost.flops == pytest.approx(whole.cost.flops, rel=1e-5)
    assert chunked.cost.bytes > whole.cost.bytes  # weights re-read each chunk
    assert chunked.time_s_lower_bound >= whole.time_s_lower_bound


def test_short_prompts_are_packed_into_one_step() -> None:
    st = roofline.prefill_time(L70, H100, 4, 128, sequences=64, max_num_batched_tokens=8192)
    assert st.steps == 1 and st.cost.tokens == 64 * 128


def test_moe_decode_reads_more_experts_as_batch_grows() -> None:
    mix = models.load_preset("mistralai/Mixtral-8x7B-Instruct-v0.1")
    one, eight = (roofline.decode_cost(mix, 2, b, 1000) for b in (1, 8))
    assert one.experts_touched_per_layer == pytest.approx(2.0)
    assert eight.experts_touched_per_layer == pytest.approx(8 * (1 - 0.75**8))
    assert eight.gemm_bytes > 2.5 * one.gemm_bytes


def test_fp8_falls_back_to_16_bit_on_a100() -> None:
    a100 = hardware.get_gpu("a100-80gb-sxm")
    assert roofline.peak_flops(a100, "fp8") == (312e12, "bf16")


def test_efficiency_is_checked() -> None:
    with pytest.raises(CalcError):
        roofline.Efficiency(mbu=0.0)
    with pytest.raises(CalcError):
        roofline.Efficiency(mfu=1.2)


def _svg(text: str) -> ET.Element:
    root = ET.fromstring(text)
    assert root.tag.endswith("svg")
    return root


def test_roofline_chart_is_valid_svg_with_ridge_and_points() -> None:
    svg = charts.roofline_chart(989.5e12, 3.35e12, [("decode <B=8>", 8.0, 2.6e13), ("prefill", 700.0, 8e14)], "t & t")
    root = _svg(svg)
    texts = "".join(t.text or "" for t in root.iter() if t.tag.endswith("text"))
    assert "ridge 295" in texts and "decode <B=8>" in texts
    assert len([e for e in root.iter() if e.tag.endswith("circle")]) == 2


def test_batch_curve_chart_and_the_roofline_calculator_charts() -> None:
    _svg(charts.batch_curve_chart([1, 2, 4], [10.0, 19.0, 35.0], [0.01, 0.0105, 0.011], "curve", kv_limit=3))
    out = forms.run("roofline", {"model": "meta-llama/Llama-3.1-8B-Instruct", "gpu": "h100-sxm", "batch": "16"})
    first, second = out["chart_svg"].split("</svg>")[:2]
    _svg(first + "</svg>")
    _svg(second + "</svg>")


def test_stacked_bar_still_works() -> None:
    _svg(charts.stacked_bar([("Weights", 1 << 30)], "x", total=2 << 30))
