"""``calibrate`` on result files that ``benchmark_serving.py --save-result`` wrote on real GPUs.

The fixtures in tests/data/bench/ are copied verbatim from a public repository (tests/data/bench/SOURCES.md
names the repository, commit, GPU, model and tensor-parallel size).  Nothing here asserts a number the
calculators computed: the expected values are the file's own fields, read with ``json``, and the one
property asked of the fit is that it does not predict TPOT worse than the default efficiencies did.
Run with ``pytest -s`` to see the before/after errors.
"""

from __future__ import annotations

import json
import math
import statistics
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from calculators import calibrate

ROOT = Path(__file__).resolve().parents[2]
BENCH = ROOT / "tests" / "data" / "bench"


@dataclass(frozen=True)
class Run:
    """One real result file and the deployment its repository says it ran on."""

    file: str
    model_args: tuple[str, ...]  # --model ID of a bundled config with the run's shapes, and the server's settings
    gpu: str
    tp: int


RUNS = (
    Run("lambda-h100-llama3-8b-tp1.json",
        ("--model", "meta-llama/Meta-Llama-3-8B-Instruct", "--max-model-len", "2048", "--max-num-seqs", "1024"),
        "h100-sxm", 1),
    # Meta-Llama-3-70B-Instruct has Llama 3.1 70B's shapes (tests/roofline/evidence.py SAME_SHAPES); the
    # server ran with --max-model-len 2000 (the file name's len2000), which vLLM's fit check needs on 2 × A100
    Run("lambda-2xa100-llama3-70b-tp2.json",
        ("--model", "meta-llama/Llama-3.1-70B-Instruct", "--max-model-len", "2000", "--max-num-seqs", "1024"),
        "a100-80gb-sxm", 2),
)
IDS = [r.file.removesuffix(".json") for r in RUNS]


def _raw(run: Run) -> dict[str, Any]:
    data = json.loads((BENCH / run.file).read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def _rel_err(predicted: float, measured: float) -> float:
    return abs(predicted - measured) / measured


@pytest.mark.parametrize("run", RUNS, ids=IDS)
def test_fixture_is_internally_consistent(run: Run) -> None:
    """The copied arrays still add up to the summary vLLM wrote beside them (a check on the copy)."""
    raw = _raw(run)
    assert len(raw["input_lens"]) == len(raw["output_lens"]) == len(raw["ttfts"]) == len(raw["itls"])
    assert sum(raw["input_lens"]) == raw["total_input_tokens"]
    assert sum(raw["output_lens"]) == raw["total_output_tokens"]
    itls = [x for per_request in raw["itls"] for x in per_request]
    assert statistics.mean(itls) * 1000 == pytest.approx(raw["mean_itl_ms"], rel=1e-9)
    assert statistics.median(itls) * 1000 == pytest.approx(raw["median_itl_ms"], rel=1e-9)


@pytest.mark.parametrize("run", RUNS, ids=IDS)
def test_parse_bench_reads_the_files_own_fields(run: Run) -> None:
    text = (BENCH / run.file).read_text(encoding="utf-8")
    raw = _raw(run)
    bench = calibrate.parse_bench(text)
    assert bench.median_ttft_s * 1000 == pytest.approx(raw["median_ttft_ms"], rel=1e-12)
    assert bench.median_tpot_s * 1000 == pytest.approx(raw["median_tpot_ms"], rel=1e-12)
    assert bench.output_tokens_per_s == pytest.approx(raw["output_throughput"], rel=1e-12)
    assert bench.model_id == raw["model_id"]
    assert raw["request_rate"] == "inf" and bench.request_rate is None
    assert bench.max_concurrency == raw.get("max_concurrency")
    # Requests that produced no output are left out of the replay; the rest keep the file's lengths.
    expected = [(max(p, 1), o) for p, o in zip(raw["input_lens"], raw["output_lens"], strict=True) if o > 0]
    assert list(bench.lengths) == expected


def _cli(run: Run, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "calculators", "calibrate", "--bench", str(BENCH / run.file), *run.model_args,
         "--gpu", run.gpu, "--tp", str(run.tp), *extra],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
    )


@pytest.mark.parametrize("run", RUNS, ids=IDS)
def test_cli_fit_does_not_worsen_tpot(run: Run) -> None:
    raw = _raw(run)
    proc = _cli(run, "--json")
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    out = json.loads(proc.stdout)
    assert isinstance(out, dict)
    for key in ("measured", "before", "after"):
        assert set(out[key]) == {"median_ttft_s", "median_tpot_s", "output_tokens_per_s"}
        assert all(math.isfinite(v) and v > 0 for v in out[key].values())
    assert out["measured"]["median_ttft_s"] * 1000 == pytest.approx(raw["median_ttft_ms"], rel=1e-12)
    assert out["measured"]["median_tpot_s"] * 1000 == pytest.approx(raw["median_tpot_ms"], rel=1e-12)
    assert out["measured"]["output_tokens_per_s"] == pytest.approx(raw["output_throughput"], rel=1e-12)
    assert 0 < out["mbu"] <= 1 and 0 < out["mfu"] <= 1

    measured_tpot_s = raw["median_tpot_ms"] / 1000
    measured_ttft_s = raw["median_ttft_ms"] / 1000
    tpot_before = _rel_err(out["before"]["median_tpot_s"], measured_tpot_s)
    tpot_after = _rel_err(out["after"]["median_tpot_s"], measured_tpot_s)
    ttft_before = _rel_err(out["before"]["median_ttft_s"], measured_ttft_s)
    ttft_after = _rel_err(out["after"]["median_ttft_s"], measured_ttft_s)
    tput_before = _rel_err(out["before"]["output_tokens_per_s"], raw["output_throughput"])
    tput_after = _rel_err(out["after"]["output_tokens_per_s"], raw["output_throughput"])
    print(
        f"\n{run.file} ({run.gpu}, tp={run.tp}, {out['requests']} requests replayed): "
        f"mbu={out['mbu']:.3f} mfu={out['mfu']:.3f}\n"
        f"  TPOT measured {raw['median_tpot_ms']:.3f} ms; before {out['before']['median_tpot_s'] * 1000:.3f} ms "
        f"(err {tpot_before:.1%}), after {out['after']['median_tpot_s'] * 1000:.3f} ms (err {tpot_after:.1%})\n"
        f"  TTFT measured {raw['median_ttft_ms']:.2f} ms; before {out['before']['median_ttft_s'] * 1000:.2f} ms "
        f"(err {ttft_before:.1%}), after {out['after']['median_ttft_s'] * 1000:.2f} ms (err {ttft_after:.1%})\n"
        f"  output tok/s measured {raw['output_throughput']:.1f}; before {out['before']['output_tokens_per_s']:.1f} "
        f"(err {tput_before:.1%}), after {out['after']['output_tokens_per_s']:.1f} (err {tput_after:.1%})"
    )
    assert tpot_after <= tpot_before + 1e-12


@pytest.mark.parametrize("run", RUNS, ids=IDS)
def test_cli_table_shows_before_and_after(run: Run) -> None:
    proc = _cli(run)
    assert proc.returncode == 0, proc.stderr
    for label in ("measured", "predicted before", "predicted after"):
        assert f"Median TPOT {label}" in proc.stdout
        assert f"Median TTFT {label}" in proc.stdout
