"""Whole decode steps measured on an H100 SXM (docs/data/measured/h100-sxm-decode-llama8b-2026-11-28.json).

Measured by this project on a lent NVIDIA H100 80GB HBM3 with scripts/device/measure_decode.py:
Llama-3.1-8B shapes (random bf16 weights), one CUDA graph per (batch, context), mean of 20 replays.
The roofline lower bound must never exceed a measured step; the expected figure (default MBU/MFU)
must land within 35 % of it, the same bar as the published points.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from calculators import hardware, models, roofline

DATA = Path(__file__).resolve().parents[2] / "docs" / "data" / "measured" / "h100-sxm-decode-llama8b-2026-11-28.json"
STEPS: list[dict[str, Any]] = json.loads(DATA.read_text(encoding="utf-8"))["steps"]


@pytest.mark.parametrize("step", STEPS, ids=[f"b{s['batch']}-ctx{s['context']}" for s in STEPS])
def test_decode_step_against_h100_measurement(step: dict[str, Any]) -> None:
    spec = models.load_preset("meta-llama/Llama-3.1-8B-Instruct")
    t = roofline.decode_time(spec, hardware.get_gpu("h100-sxm"), 1, step["batch"], step["context"])
    assert t.bound == "memory"
    assert t.time_s_lower_bound <= step["seconds"]
    assert abs(t.time_s_expected - step["seconds"]) / step["seconds"] <= 0.35
