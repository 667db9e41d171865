"""Evidence: the roofline against published serving measurements and our own measured GEMM sweep.

Published points: tests/data/measurements.toml (every point with its source and quoted lines);
the comparison rules and model mapping are in tests/roofline/evidence.py.  Our measurements:
docs/data/measured/h100-sxm-2026-11-28.json and h200-2026-11-28.json (bf16/fp8 GEMM of an
8192×8192 weight against batch m, scripts/device/measure_gpu.py).
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from calculators import hardware, models, roofline
from calculators.errors import CalcError
from tests.roofline import evidence

ROOT = Path(__file__).resolve().parents[2]
COMPARISONS = evidence.all_comparisons()


def test_enough_points_are_used() -> None:
    # the issue asks for at least 12 measured points; 13 of the 26 have a bundled config with their shapes
    used = {c.point_id for c in COMPARISONS}
    assert len(used) >= 12
    assert len(used) + len(evidence.skipped()) == len(evidence.load_points())


def test_skipped_points_are_reported(capsys: pytest.CaptureFixture[str]) -> None:
    skipped = evidence.skipped()
    with capsys.disabled():
        print(f"\n[roofline evidence] {len(skipped)} published points skipped (no bundled config with their shapes):")
        for pid, why in skipped:
            print(f"  - {pid}: {why}")
    # every skipped point names a model that is neither bundled nor mapped to identical shapes
    assert all("no bundled config" in why for _, why in skipped)


@pytest.mark.parametrize("c", COMPARISONS, ids=lambda c: f"{c.point_id}:{c.metric}")
def test_lower_bound_never_exceeds_measurement(c: evidence.Comparison) -> None:
    assert c.lower_bound_s <= c.measured_s, (c.lower_bound_s, c.measured_s)
    assert c.lower_bound_s <= c.expected_s


def _print(title: str, comparisons: list[evidence.Comparison]) -> None:
    print(f"\n[roofline evidence] {title}: {len(comparisons)} comparisons, median "
          f"|expected − measured| / measured = {evidence.median_abs_error(comparisons):.1%}")
    print(evidence.table(comparisons))


def test_step_time_gate(capsys: pytest.CaptureFixture[str]) -> None:
    """Issue 12's first gate: the expected time of a decode step (ITL/TPOT, a static batch's
    latency, per-request speed) within 15 % median and no point off by more than 50 %, on the
    gated points (:func:`evidence.gated`: NVIDIA, released vLLM/NIM/TensorRT-LLM)."""
    steps = evidence.step_comparisons(COMPARISONS)
    gated = [c for c in steps if c.gated]
    other = [c for c in steps if not c.gated]
    with capsys.disabled():
        _print("step times, gated (NVIDIA; released vLLM, NIM, TensorRT-LLM)", gated)
        if other:
            _print("step times, not gated (SGLang, AMD MI300X, a custom engine build or a hybrid model)", other)
    assert len(gated) >= 9
    assert evidence.median_abs_error(gated) <= 0.15
    worst = max(gated, key=lambda c: abs(c.error))
    assert abs(worst.error) <= 0.50, (worst.point_id, worst.metric, worst.error)


def test_all_gated_figures_within_35_percent(capsys: pytest.CaptureFixture[str]) -> None:
    """Every gated comparison, the steady-state TTFT formula included (it ignores queueing, so it
    is looser than the step times; the simulation's TTFT is gated apart)."""
    gated = [c for c in COMPARISONS if c.gated]
    with capsys.disabled():
        print(f"\n[roofline evidence] all gated comparisons: {len(gated)}, median "
              f"{evidence.median_abs_error(gated):.1%}")
    assert len(gated) >= 15
    assert evidence.median_abs_error(gated) <= 0.35


def test_serving_gate(capsys: pytest.CaptureFixture[str]) -> None:
    """Issue 12's serving gate: TTFT and TPOT of the published serving runs at their stated
    concurrency, replayed in the scheduler simulation (:func:`evidence.simulate_point`), within 25 %
    median on the gated points; the simulated figures never beat the roofline's lower bound."""
    sims = evidence.serving_comparisons()
    gated = [c for c in sims if c.gated]
    with capsys.disabled():
        _print("serving runs in the simulation, gated", gated)
        other = [c for c in sims if not c.gated]
        if other:
            _print("serving runs in the simulation, not gated", other)
    assert len(gated) >= 10
    assert evidence.median_abs_error(gated) <= 0.25
    for c in sims:
        assert c.lower_bound_s <= c.expected_s, (c.point_id, c.metric)


def _expert_bytes_batch1(model: str, weights: str, tp: int) -> float:
    """Bytes of the experts one token touches in one MoE layer on one GPU, written out from the
    config (top-k experts × gate, up and down projections × hidden × moe_intermediate ÷ tp)."""
    path = ROOT / "calculators" / "data" / "models" / (model.replace("/", "--") + ".json")
    cfg = json.loads(path.read_text(encoding="utf-8"))
    cfg = cfg.get("config", cfg)
    per_weight = {"fp8": 1, "bfloat16": 2}[weights]
    return float(cfg["num_experts_per_tok"] * 3 * cfg["hidden_size"] * cfg["moe_intermediate_size"] / tp * per_weight)


def test_moe_layer_overhead_is_what_published_kernel_runs_leave_over() -> None:
    """The MoE fixed cost per layer: a published batch-1 fused-MoE kernel time minus the expert
    bytes at the default MBU (roofline.MOE_KERNEL_RUNS, quoted there).  The default must sit inside
    the range the three runs give, and each run must leave a positive remainder."""
    left = []
    for _source, model, weights, tp, gpu_id, kernel_s in roofline.MOE_KERNEL_RUNS:
        gpu = hardware.get_gpu(gpu_id)
        stream_s = _expert_bytes_batch1(model, weights, tp) / (gpu.bandwidth_bytes_per_s * roofline.DEFAULT_MBU)
        assert stream_s < kernel_s
        left.append(kernel_s - stream_s)
    assert min(left) <= roofline.DEFAULT_MOE_LAYER_OVERHEAD_S <= max(left), left
    assert max(left) - min(left) < 5e-6  # three GPUs, three models: the remainder is a constant


def test_fixed_costs_only_in_the_expected_time() -> None:
    """MoE layer and eager-launch costs raise the expected time, never the lower bound; a dense
    model pays no MoE cost; eager mode adds its per-layer cost to every layer run."""
    gpu = hardware.get_gpu("h100-sxm")
    moe = models.load_preset("Qwen/Qwen3-30B-A3B")
    dense = models.load_preset("meta-llama/Llama-3.1-8B-Instruct")
    no_moe = roofline.Efficiency(moe_layer_overhead_s=0.0)
    a = roofline.decode_time(moe, gpu, 1, 1, 1024)
    b = roofline.decode_time(moe, gpu, 1, 1, 1024, eff=no_moe)
    assert a.time_s_lower_bound == b.time_s_lower_bound
    assert a.time_s_expected - b.time_s_expected == pytest.approx(48 * roofline.DEFAULT_MOE_LAYER_OVERHEAD_S)
    c = roofline.decode_time(dense, gpu, 1, 1, 1024)
    d = roofline.decode_time(dense, gpu, 1, 1, 1024, eff=no_moe)
    assert c.time_s_expected == d.time_s_expected
    e = roofline.decode_time(dense, gpu, 1, 1, 1024, eff=roofline.Efficiency(enforce_eager=True))
    assert e.time_s_expected - c.time_s_expected == pytest.approx(32 * roofline.EAGER_LAYER_OVERHEAD_S)
    assert e.time_s_lower_bound == c.time_s_lower_bound


@pytest.mark.parametrize("bad", [-1e-6, float("nan"), 2.0, True])
def test_moe_overhead_rejects_nonsense(bad: float) -> None:
    with pytest.raises(CalcError, match="moe-layer-overhead-s"):
        roofline.Efficiency(moe_layer_overhead_s=bad)


def _gpu_of(file_name: str) -> hardware.GPU:
    return hardware.get_gpu(file_name.rsplit("-2026", 1)[0])


GEMMS = evidence.measured_gemms()


@pytest.mark.parametrize("name,rec", GEMMS, ids=lambda x: x if isinstance(x, str) else f"{x['dtype']}-m{x['m']}")
def test_measured_gemm_never_beats_the_roofline(name: str, rec: dict[str, Any]) -> None:
    gpu = _gpu_of(name)
    flops = 2.0 * rec["m"] * rec["k"] * rec["n"]
    nbytes = rec["bytes_per_s"] * rec["seconds"]  # (m·k + k·n) × input bytes + m·n × output bytes, as measured
    cost = roofline.StepCost(tokens=rec["m"], sequences=rec["m"], gemm_flops=flops, gemm_bytes=nbytes,
                             attention_flops=0.0, attention_bytes=0.0, allreduces=0, allreduce_payload_bytes=0.0,
                             experts_touched_per_layer=0.0)
    st = roofline.step_time(cost, gpu, 1, roofline.Scheme(rec["dtype"], "auto", rec["dtype"]))
    assert st.time_s_lower_bound <= rec["seconds"]
    # the regime the roofline predicts is the one measured: far left of the ridge the GEMM streams
    # its weight at ≥ 40 % of the datasheet bandwidth, far right it runs at ≥ 60 % of the dense peak
    intensity = flops / nbytes
    ridge = roofline.ridge_point(gpu, rec["dtype"])
    if intensity < ridge / 4:
        assert st.bound == "memory" and rec["bytes_per_s"] >= 0.4 * gpu.bandwidth_bytes_per_s
    if intensity > ridge * 2:
        assert st.bound == "compute" and rec["flops_per_s"] >= 0.6 * gpu.flops(rec["dtype"])


def test_default_efficiencies_sit_below_the_measured_gemm_ceilings() -> None:
    # MBU: bf16 GEMMs at m ≤ 128 stream 77–82 % of the datasheet bandwidth; MFU: m ≥ 1024 reach
    # 70–83 % of the dense peak (bf16 and fp8).  A whole step cannot do better than its GEMMs.
    for name, rec in GEMMS:
        gpu = _gpu_of(name)
        if rec["dtype"] == "bf16" and rec["m"] <= 128:
            assert rec["bytes_per_s"] / gpu.bandwidth_bytes_per_s >= roofline.DEFAULT_MBU
        if rec["m"] >= 1024:
            assert rec["flops_per_s"] / gpu.flops(rec["dtype"]) >= roofline.DEFAULT_MFU


def test_amd_caveat_matches_the_evidence() -> None:
    """The latency calculators say of AMD GPUs (roofline.step_model_caveats) that published MI300X runs
    took longer per step than the estimate at batch 8 and more, and for MoE models on SGLang at any
    load, "52–68 % under at one client": every such comparison must be slower than expected, and the
    one-client SGLang MoE errors must span that range, else the sentence is stale."""
    def load(c: evidence.Comparison) -> int:
        p = evidence.point(c.point_id)
        return int(max(p.get("batch_size") or 0, p.get("concurrency") or 0))

    def sglang_moe(c: evidence.Comparison) -> bool:
        p = evidence.point(c.point_id)
        return str(p["engine"]).startswith("SGLang") and models.load_preset(c.model_used).moe is not None

    mi = [c for c in evidence.step_comparisons(evidence.all_comparisons())
          if str(evidence.point(c.point_id)["gpu"]).startswith("mi")]
    slower = [c for c in mi if load(c) >= 8 or sglang_moe(c)]
    assert len(slower) >= 5
    assert all(c.error < 0 for c in slower), [(c.point_id, f"{c.error:+.0%}") for c in slower if c.error >= 0]
    one_client = sorted(round(c.error * 100) for c in mi if sglang_moe(c) and load(c) == 1)
    assert len(one_client) >= 2 and (one_client[0], one_client[-1]) == (-68, -52), one_client
    gpu = hardware.get_gpu("mi300x")
    spec = models.load_preset("Qwen/Qwen3-30B-A3B")
    assert any("took longer per step" in line for line in roofline.step_model_caveats(spec, (gpu,)))
    assert not roofline.step_model_caveats(spec, (hardware.get_gpu("h100-sxm"),))


def test_quoted_misses_match_the_evidence() -> None:
    """docs/kb/accuracy.md and the AMD caveat (roofline.step_model_caveats) quote figures of our own
    estimate against published runs; recomputed here so that a change to the step model cannot leave
    them stale.  AMD's vLLM table (batch 1, 2,048 tokens): 70B 3.8 ms and 405B 5.5 ms a token above
    the estimate without roofline.DEFAULT_ROCM_LAYER_OVERHEAD_S, "47 µs over 80 layers and 44 µs over
    126"; with it, batch 128–256 "42–51 % under".  TTFT through the
    API server: GPUStack's Qwen3-8B "about 8 ms of GPU work", PR 23151's Qwen3-30B-A3B "42 ms"."""
    def one(point_id: str, metric: str) -> evidence.Comparison:
        (c,) = [c for c in evidence.compare(evidence.point(point_id)) if c.metric == metric]
        return c

    amd = "amd-rocmvllm0111-llama31-{}-fp8-tp8-mi300x-128in-{}"
    no_rocm = roofline.Efficiency(rocm_layer_overhead_s=0.0)
    for size, layers, excess_ms in (("70b", 80, 3.8), ("405b", 126, 5.5)):
        (c,) = [c for c in evidence.compare(evidence.point(amd.format(size, "2048out-b1")), no_rocm)
                if c.metric == "e2e_latency_ms"]
        per_token_s = (c.measured_s - c.expected_s) / 2048
        assert round(per_token_s * 1e3, 1) == excess_ms, (size, per_token_s)
        assert 40e-6 <= per_token_s / layers <= 50e-6, (size, per_token_s / layers)
        # roofline.DEFAULT_ROCM_LAYER_OVERHEAD_S is that residual, rounded: these rows agree by construction
        assert abs(one(amd.format(size, "2048out-b1"), "e2e_latency_ms").error) < 0.05
    # the caveat's "42–51 % under at batch 128–256" and the accuracy page's "at batch 128 the 70B and 405B
    # are 46 % and 42 % under, Oracle's 405B at batch 256 51 % under" (vLLM on MI300X, with the ROCm term)
    for point_id, quoted in ((amd.format("70b", "2048out-b128"), -46), (amd.format("405b", "2048out-b128"), -42),
                             ("oci-llama31-405b-fp8-8xmi300x-128in-128out-b256", -51)):
        assert round(one(point_id, "e2e_latency_ms").error * 100) == quoted, point_id
    for c_ in (1, 2, 4, 8):
        ttft = one(f"gpustack-qwen3-8b-bf16-tp1-h100-sharegpt-c{c_}", "ttft_ms").expected_s
        assert 7.5e-3 <= ttft <= 8.5e-3, (c_, ttft)
    assert round(one("vllm-23151-qwen3-30b-a3b-bf16-tp1-h100-2048in-1024out-c10", "ttft_ms").expected_s * 1e3) == 42



def test_server_time_fitted_at_one_client_predicts_the_others() -> None:
    """docs/kb/accuracy.md: calibrate on GPUStack's c = 1 summary alone (vLLM 0.11.0, Qwen3-8B, one H100:
    median TTFT 60.38 ms, median TPOT 7.22 ms, 132.86 output tok/s, 232.6 / 220.6 tokens on average;
    tests/data/measurements.toml) fits "52.4 ms" of API server time; replaying the c = 2, 4, 8 runs with
    it (points the fit did not see) gives TTFT errors "+3 %, +3 % and −9 %" against their published
    means, where the same replay without the server time is 88–89 % under."""
    import json

    from calculators import calibrate

    spec = models.load_preset("Qwen/Qwen3-8B")
    text = json.dumps({"request_rate": "inf", "max_concurrency": 1, "input_lens": [233] * 20,
                       "output_lens": [221] * 20, "median_ttft_ms": 60.38, "median_tpot_ms": 7.22,
                       "output_throughput": 132.86})
    c = calibrate.calibrate(spec, hardware.get_gpu("h100-sxm"), 1, calibrate.parse_bench(text))
    assert not c.mfu_fitted and round(c.ttft_overhead_s * 1e3, 1) == 52.4
    eff = roofline.Efficiency(mbu=c.mbu, ttft_overhead_s=c.ttft_overhead_s)
    errors, plain = [], []
    for clients in (2, 4, 8):
        point = evidence.point(f"gpustack-qwen3-8b-bf16-tp1-h100-sharegpt-c{clients}")
        (fitted,) = [x for x in evidence.simulate_point(point, eff) if x.metric == "sim:ttft_ms"]
        (engine,) = [x for x in evidence.simulate_point(point, replace(eff, ttft_overhead_s=0.0))
                     if x.metric == "sim:ttft_ms"]
        errors.append(round(fitted.error * 100))
        plain.append(round(engine.error * 100))
    assert errors == [3, 3, -9], errors
    assert min(plain) == -89 and max(plain) == -88, plain
