"""Inputs for comparing Pyodide's results with CPython's: many combinations, deterministic."""

from __future__ import annotations

import itertools
import random
from typing import Any

from calculators import forms, hardware, models


def cases(limit: int = 240) -> list[tuple[str, dict[str, str]]]:
    """(calculator, raw form values) pairs, valid and invalid, as a page would send them."""
    rng = random.Random(20261128)
    presets = models.preset_ids()
    gpus = [g.id for g in hardware.all_gpus()]
    out: list[tuple[str, dict[str, str]]] = []
    for name, model in itertools.product(("params", "kv", "memory", "vllm"), presets):
        out.append((name, {"model": model}))
    for gpu in gpus:
        for dtype in ("bf16", "fp8", "fp16"):
            out.append(("ridge", {"gpu": gpu, "compute-dtype": dtype}))
    while len(out) < limit:
        name = rng.choice(("kv", "memory", "vllm"))
        calc = forms.CALCULATORS[name]
        raw: dict[str, str] = {"model": rng.choice(presets)}
        names = {i.name for i in calc.inputs}
        if "tp" in names:
            raw["tp"] = str(rng.choice((1, 2, 4, 8, 0, 3)))
        if "tokens" in names:
            raw["tokens"] = str(rng.choice((1, 512, 8192, 131072, -1)))
        if "batch" in names:
            raw["batch"] = rng.choice(("1", "16", "256", "x"))
        if "kv-cache-dtype" in names:
            raw["kv-cache-dtype"] = rng.choice(("auto", "fp8", "bogus"))
        if name == "vllm":
            raw["gpu"] = rng.choice(gpus)
            raw["gpu-memory-utilization"] = rng.choice(("0.9", "0.5", "0.95", "1.5"))
            raw["max-model-len"] = rng.choice(("", "4096", "32768", "1000000"))
        out.append((name, raw))
    return out[:limit] if len(out) > limit else out


def expected(limit: int = 240) -> list[dict[str, Any]]:
    from calculators import display

    return [{"name": n, "raw": r, "out": display.page_result(n, r)} for n, r in cases(limit)]
