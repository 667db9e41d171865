"""Evidence: the roofline against published serving measurements and our own measured GEMM sweep.

Published points: tests/data/measurements.toml (46 points, each with its source and quoted lines);
the comparison rules and model mapping are in tests/roofline/evidence.py.  Our measurements:
docs/data/measured/h100-sxm-2026-11-28.json and h200-2026-11-28.json (bf16/fp8 GEMM of an
8192×8192 weight against batch m, scripts/device/measure_gpu.py).
"""

from __future__ import annotations

from typing import Any

import pytest

from calculators import hardware, roofline
from tests.roofline import evidence

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


def test_expected_median_error_within_35_percent(capsys: pytest.CaptureFixture[str]) -> None:
    """The gate covers NVIDIA GPUs under vLLM, NIM or TensorRT-LLM (:func:`evidence.gated`); the
    SGLang and MI300X points are printed with their own median, not gated."""
    gated = [c for c in COMPARISONS if c.gated]
    other = [c for c in COMPARISONS if not c.gated]
    err = evidence.median_abs_error(gated)
    with capsys.disabled():
        print(f"\n[roofline evidence] {len(gated)} gated comparisons (NVIDIA; vLLM, NIM, TensorRT-LLM), median "
              f"|expected − measured| / measured = {err:.1%}")
        print(evidence.table(gated))
        if other:
            print(f"[roofline evidence] {len(other)} comparisons not gated (SGLang or AMD MI300X), median "
                  f"{evidence.median_abs_error(other):.1%}:")
            print(evidence.table(other))
    assert len(gated) >= 19
    assert err <= 0.35


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
