"""Published measurements (tests/data/measurements.toml) against the roofline's lower bound and expected figure.

Each usable point gives one comparison per time metric it states:

* ``itl_ms`` / ``tpot_ms``: the steady-state step of continuous batching at batch = concurrency
  (:func:`calculators.roofline.serving_step_time`, the user's own prefill excluded: c − 1 others');
* ``ttft_ms``: :func:`calculators.roofline.ttft` at batch = concurrency;
* ``e2e_latency_ms``: a static batch, :func:`calculators.roofline.static_batch_latency`;
* ``per_request_output_tokens_per_s``: per request, (TTFT + (O − 1) · TPOT) ÷ O seconds per token;
* ``static_batch_from_tokens_per_s``: a static batch that states only its throughput (TensorRT-LLM's
  tables): batch × O ÷ output tokens/s (per GPU × GPUs when stated per GPU) is the batch's time,
  prefill included, against :func:`calculators.roofline.static_batch_latency`.

Throughput columns (tokens/s) of a point that states a time restate the same times and are not
compared twice.

Model mapping: a point is used when its model's config is bundled, or when a bundled config has
the same shapes (listed in :data:`SAME_SHAPES` with the reason).  Points whose model has no
bundled config with identical shapes are skipped and listed by :func:`skipped`.
"""

from __future__ import annotations

import json
import statistics
import tomllib
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path
from typing import Any

from calculators import hardware, models, roofline, simulate
from calculators.models import ModelSpec

ROOT = Path(__file__).resolve().parents[2]
MEASUREMENTS = ROOT / "tests" / "data" / "measurements.toml"
MEASURED_GEMM = sorted((ROOT / "docs" / "data" / "measured").glob("*.json"))

#: measurement model → (bundled config, weights format, why the shapes are the same)
SAME_SHAPES: dict[str, tuple[str, str, str]] = {
    "meta-llama/Llama-3.3-70B-Instruct": (
        "meta-llama/Llama-3.1-70B-Instruct", "auto",
        "Llama 3.3 70B reuses Llama 3.1 70B's architecture: 80 layers, hidden 8192, 64 heads / 8 KV heads, "
        "intermediate 28672, vocab 128256 (both config.json files on Hugging Face)",
    ),
    "meta-llama/Meta-Llama-3-70B-Instruct": (
        "meta-llama/Llama-3.1-70B-Instruct", "auto",
        "Llama 3 70B has Llama 3.1 70B's shapes (only rope scaling and max_position_embeddings differ, "
        "which the roofline does not use)",
    ),
    "Qwen/Qwen3-14B-AWQ": (
        "Qwen/Qwen3-14B", "int4",
        "the AWQ export keeps Qwen3-14B's shapes; weights counted as 4-bit AWQ with group 128",
    ),
    "cognitivecomputations/DeepSeek-V3-AWQ": (
        "deepseek-ai/DeepSeek-V3", "int4",
        "the AWQ export keeps DeepSeek-V3's shapes; every linear layer counted as 4-bit AWQ with group 128",
    ),
    "nvidia/NVIDIA-Nemotron-3-Nano-30B-A3B-FP8": (
        "nvidia/NVIDIA-Nemotron-3-Nano-30B-A3B-BF16", "fp8",
        "NVIDIA's FP8 export of the same model (the card's architecture: 23 Mamba-2 and MoE layers, 6 attention "
        "layers, 128 experts + 1 shared); weights counted as FP8: 32.29 GB, against 32.7 GB for Red Hat's "
        "ModelCar image of the FP8 checkpoint "
        "(registry.redhat.io/rhai/modelcar-nvidia-nemotron-3-nano-30b-a3b-fp8:3.0, which also holds the "
        "tokenizer and the layers NVIDIA kept in BF16)",
    ),
    "zai-org/GLM-5.1-FP8": (
        "zai-org/GLM-5.1", "fp8",
        "Z.ai's FP8 release of GLM-5.1 (same repository family, block-FP8 weights); weights counted as FP8",
    ),
}

def calibrated_engine(point: dict[str, Any]) -> bool:
    """An NVIDIA GPU served by a released vLLM, NIM or TensorRT-LLM: the CUDA kernels the default
    efficiencies and fixed costs were measured on (our H100/H200 GEMM sweep, vLLM's kernel
    benchmarks).  SGLang runs, AMD GPUs and custom engine builds (``custom_build``) are not: their
    fixed per-step costs (ROCm kernels, SGLang's scheduler, a forked attention kernel) are not what
    the step model describes."""
    engine = str(point.get("engine", "")).lower()
    return not ("sglang" in engine or str(point.get("gpu", "")).startswith("mi") or point.get("custom_build", False))


def hybrid(point: dict[str, Any]) -> bool:
    """Whether the point's model has state-space / linear-attention layers."""
    found = model_for(point)
    return found is not None and found[0].ssm is not None


def gated(point: dict[str, Any]) -> bool:
    """Whether a point counts in the error gates: a :func:`calibrated_engine` run of a model without
    state-space layers.  The others are compared and printed, not gated.  Hybrid (Mamba / Gated
    DeltaNet) models are printed apart because their layers' step cost is counted from the
    arithmetic (state traffic, scan FLOPs) with no measured fixed cost, and the published runs show
    it short (decode up to −49 %, TTFT −95 % and worse: docs/kb/accuracy.md), which the latency
    calculators say in their output."""
    return calibrated_engine(point) and not hybrid(point)


#: units of the time metrics compared (field → seconds per unit)
TIME_METRICS = ("itl_ms", "tpot_ms", "ttft_ms", "e2e_latency_ms", "per_request_output_tokens_per_s")


@dataclass(frozen=True)
class Comparison:
    point_id: str
    source: str
    metric: str
    measured_s: float
    lower_bound_s: float
    expected_s: float
    model_used: str
    gated: bool = True  # counted in the median-error gate (see :func:`gated`)

    @property
    def error(self) -> float:
        """Signed relative error of the expected figure: (expected − measured) ÷ measured."""
        return (self.expected_s - self.measured_s) / self.measured_s


def load_points() -> list[dict[str, Any]]:
    with MEASUREMENTS.open("rb") as fh:
        points: list[dict[str, Any]] = tomllib.load(fh)["point"]
    return points


@cache
def _points_by_id() -> dict[str, dict[str, Any]]:
    return {p["id"]: p for p in load_points()}


def point(point_id: str) -> dict[str, Any]:
    """The measurement of a comparison's ``point_id`` (the file read once; do not modify it)."""
    return _points_by_id()[point_id]


def model_for(point: dict[str, Any]) -> tuple[ModelSpec, str] | None:
    """(spec, weights format) for a point, or None when no bundled config has its shapes."""
    name = point["model"]
    bundled = set(models.preset_ids())
    weights = point.get("weights_dtype", "auto")
    if name in SAME_SHAPES:
        preset, fmt, _ = SAME_SHAPES[name]
        return models.load_preset(preset), fmt if fmt != "auto" else weights
    if name in bundled:
        return models.load_preset(name), weights
    return None


def skipped() -> list[tuple[str, str]]:
    """(point id, reason) for every point not compared."""
    out = []
    for p in load_points():
        if model_for(p) is None:
            out.append((p["id"], f"no bundled config with the shapes of {p['model']}"))
    return out


def _kv_dtype(point: dict[str, Any]) -> str:
    kv = str(point.get("kv_cache_dtype", "auto"))
    return kv if kv in ("auto", "bfloat16", "float16", "fp8") else "auto"  # "not stated": vLLM's default


def _efficiency(point: dict[str, Any], eff: roofline.Efficiency | None) -> roofline.Efficiency | None:
    """The efficiencies a point ran under: ``enforce_eager`` (no CUDA graphs) adds the eager launch
    overhead per layer."""
    if point.get("enforce_eager"):
        return replace(eff or roofline.Efficiency(), enforce_eager=True)
    return eff


def compare(point: dict[str, Any], eff: roofline.Efficiency | None = None) -> list[Comparison]:
    """Every time metric of one point against the model (empty if the point is skipped)."""
    found = model_for(point)
    if found is None:
        return []
    spec, weights = found
    gpu = hardware.get_gpu(point["gpu"])
    tp = int(point["tensor_parallel_size"])
    batch = int(point.get("concurrency", point.get("batch_size", 1)))
    p_tok, o_tok = int(point["input_tokens"]), int(point["output_tokens"])
    kv = _kv_dtype(point)
    eff = _efficiency(point, eff)
    out: list[Comparison] = []

    def add(metric: str, measured_s: float, lower: float, expected: float) -> None:
        out.append(Comparison(point["id"], point["source"], metric, measured_s, lower, expected, spec.model_id,
                              gated(point)))

    # between two tokens of one user: decodes of all c plus the c − 1 other users' prompts
    st = roofline.serving_step_time(spec, gpu, tp, batch, p_tok, o_tok, weights, kv, eff)
    first = roofline.ttft(spec, gpu, tp, batch, p_tok, o_tok, weights, kv, eff)
    server = (eff or roofline.Efficiency()).ttft_overhead_s  # the API server's time: expected figures only
    for metric in ("itl_ms", "tpot_ms"):
        if metric in point:
            add(metric, point[metric] / 1000, st.time_s_lower_bound, st.time_s_expected)
    if "ttft_ms" in point:
        add("ttft_ms", point["ttft_ms"] / 1000, first.time_s_lower_bound, first.time_s_expected + server)
    if "e2e_latency_ms" in point:
        lo, ex = roofline.static_batch_latency(spec, gpu, tp, batch, p_tok, o_tok, weights, kv, eff)
        add("e2e_latency_ms", point["e2e_latency_ms"] / 1000, lo, ex)
    if not any(m in point for m in TIME_METRICS) and "batch_size" in point:
        total = point.get("output_tokens_per_s")
        if total is None and "output_tokens_per_s_per_gpu" in point:
            total = point["output_tokens_per_s_per_gpu"] * int(point.get("num_gpus", tp))
        if total:
            lo, ex = roofline.static_batch_latency(spec, gpu, tp, batch, p_tok, o_tok, weights, kv, eff)
            add("static_batch_from_tokens_per_s", batch * o_tok / total, lo, ex)
    if "per_request_output_tokens_per_s" in point:
        lo = (first.time_s_lower_bound + (o_tok - 1) * st.time_s_lower_bound) / o_tok
        ex = (first.time_s_expected + server + (o_tok - 1) * st.time_s_expected) / o_tok
        add("per_request_output_tokens_per_s", 1 / point["per_request_output_tokens_per_s"], lo, ex)
    return out


def all_comparisons(eff: roofline.Efficiency | None = None) -> list[Comparison]:
    return [c for p in load_points() for c in compare(p, eff)]


#: the step-time metrics of the first gate (one decode step, or a static batch of them)
STEP_METRICS = ("itl_ms", "tpot_ms", "e2e_latency_ms", "per_request_output_tokens_per_s",
                "static_batch_from_tokens_per_s")


def step_comparisons(comparisons: list[Comparison]) -> list[Comparison]:
    """The comparisons of a step time (ITL/TPOT, static-batch latency, per-request speed)."""
    return [c for c in comparisons if c.metric in STEP_METRICS]


def simulate_point(point: dict[str, Any], eff: roofline.Efficiency | None = None) -> list[Comparison]:
    """A serving run at a stated concurrency replayed in :func:`calculators.simulate.simulate`:
    ``concurrency`` clients (``vllm bench serve --max-concurrency``, NIM's AIPerf concurrency),
    fixed prompt and output lengths, 8 × concurrency requests (at least 64); the
    simulated median TTFT and TPOT against the measured figures (metric ``sim:ttft_ms``,
    ``sim:tpot_ms``).  Several clients start staggered (see the comment below).  Static batches (``batch_size``
    without a serving run) are not replayed.  The lower bound of a simulated figure is the
    roofline's, as in :func:`compare`."""
    found = model_for(point)
    if found is None or "concurrency" not in point or "e2e_latency_ms" in point:
        return []
    if not any(k in point for k in ("ttft_ms", "tpot_ms", "itl_ms")):
        return []
    spec, weights = found
    eff = _efficiency(point, eff)
    gpu = hardware.get_gpu(point["gpu"])
    tp = int(point["tensor_parallel_size"])
    c = int(point["concurrency"])
    p_tok, o_tok = int(point["input_tokens"]), int(point["output_tokens"])
    kv = _kv_dtype(point)
    # c clients that send back to back, their first requests spread over about half a request's
    # time: Poisson arrivals at 2c ÷ (one request's time) under a cap of c in flight (vllm bench
    # serve --request-rate R --max-concurrency c).  Started all at once, c clients with fixed lengths
    # stay in lock-step in a deterministic replay (each wave's prompts prefilled together), which
    # real runs do not; the cap keeps c in flight once the first wave is in.  The request time is the
    # roofline's steady state at batch c (TTFT + (O − 1) · TPOT).
    first = roofline.ttft(spec, gpu, tp, c, p_tok, o_tok, weights, kv, eff).time_s_expected
    step = roofline.serving_step_time(spec, gpu, tp, c, p_tok, o_tok, weights, kv, eff).time_s_expected
    n = max(64, 8 * c)
    rate = None if c == 1 else 2 * c / (first + (o_tok - 1) * step)
    r = simulate.simulate(spec, gpu, tp=tp, rate=rate, concurrency=c, lengths=[(p_tok, o_tok)] * n, requests=n,
                          weights_dtype=weights, kv_cache_dtype=kv, eff=eff, max_model_len=p_tok + o_tok)
    lower = {c_.metric: c_.lower_bound_s for c_ in compare(point, eff)}
    out: list[Comparison] = []
    if "ttft_ms" in point:
        out.append(Comparison(point["id"], point["source"], "sim:ttft_ms", point["ttft_ms"] / 1000,
                              lower["ttft_ms"], r.ttft_s.p50, spec.model_id, gated(point)))
    for metric in ("itl_ms", "tpot_ms"):
        if metric in point:
            out.append(Comparison(point["id"], point["source"], "sim:tpot_ms", point[metric] / 1000,
                                  lower[metric], r.tpot_s.p50, spec.model_id, gated(point)))
    return out


def serving_comparisons(eff: roofline.Efficiency | None = None) -> list[Comparison]:
    """Every serving run at a stated concurrency, simulated (:func:`simulate_point`)."""
    return [c for p in load_points() for c in simulate_point(p, eff)]


def median_abs_error(comparisons: list[Comparison]) -> float:
    return statistics.median(abs(c.error) for c in comparisons)


def measured_gemms() -> list[tuple[str, dict[str, Any]]]:
    """(file name, GEMM record) of our own H100/H200 sweep (docs/data/measured/*.json)."""
    out = []
    for path in MEASURED_GEMM:
        data = json.loads(path.read_text(encoding="utf-8"))
        for rec in data.get("gemm", []):  # the decode-step files hold "steps" instead
            out.append((path.name, rec))
    return out


def table(comparisons: list[Comparison]) -> str:
    """Markdown table of every comparison (times in ms)."""
    lines = ["| point | metric | measured ms | lower bound ms | expected ms | error |", "|---|---|---:|---:|---:|---:|"]
    for c in comparisons:
        lines.append(f"| {c.point_id} | {c.metric} | {c.measured_s * 1000:,.2f} | {c.lower_bound_s * 1000:,.2f} | "
                     f"{c.expected_s * 1000:,.2f} | {c.error:+.0%} |")
    return "\n".join(lines)
