"""Capacity planner: how many GPUs, at which tensor-parallel size, for a workload and its latency targets.

For each GPU type and each valid TP degree (:func:`calculators.params.check_tp`, up to ``max_tp``):

1. weights and KV: :func:`calculators.roofline.kv_max_batch` (vLLM's own accounting,
   max_model_len = prompt + output) gives the largest batch a replica can hold;
2. latency: :func:`calculators.roofline.curve_point` gives the expected TTFT and TPOT at a batch
   (continuous batching, steady state); the largest batch meeting both targets is found by
   bisection (both grow with batch);
3. demand: concurrent users N need ⌈N ÷ batch⌉ replicas; a request rate λ (or a batch job's
   tokens per day ÷ (prompt + output) ÷ deadline) needs replicas × B ÷ (TTFT + (O − 1)·TPOT) ≥ λ
   (Little's law);
4. the binding constraint is what stopped the batch per replica from growing: ``weights`` (the
   model does not fit at this TP), ``kv`` (KV memory), ``slo`` (even batch 1 misses a target), or
   ``bandwidth`` / ``compute`` (a target caps the batch while the step is memory- / compute-bound).

The recommended option is the cheapest feasible one (cost per hour when a price is given, else
the GPU count), ties broken by the lower TPOT.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from calculators import hardware, params, roofline
from calculators.errors import CalcError
from calculators.hardware import GPU
from calculators.models import ModelSpec


@dataclass(frozen=True)
class Workload:
    """What to serve.  ``kind``: ``interactive`` (users or a request rate, latency targets) or
    ``batch`` (tokens per day, input + output, to finish within ``deadline_hours`` of each day)."""

    kind: str
    prompt_tokens: int
    output_tokens: int
    concurrent_users: int | None = None
    request_rate_per_s: float | None = None
    ttft_target_s: float | None = None
    tpot_target_s: float | None = None
    tokens_per_day: float | None = None
    deadline_hours: float | None = None

    def required_rate_per_s(self) -> float | None:
        """Requests per second a batch job needs: tokens/day ÷ (P + O) ÷ (deadline hours × 3600)."""
        if self.kind == "batch" and self.tokens_per_day is not None:
            hours = self.deadline_hours or 24.0
            return self.tokens_per_day / (self.prompt_tokens + self.output_tokens) / (hours * 3600.0)
        return self.request_rate_per_s


#: The workshop's two use cases.  chat: 2,000 concurrent users, 1,024-token prompts, 256-token
#: answers, TTFT ≤ 1 s and TPOT ≤ 50 ms (20 tokens/s per user, faster than reading speed).
#: documents: 500 million tokens a day (8,192-token documents, 512-token outputs: ~57,000
#: documents) finished within 24 hours, no latency target: throughput first.
PRESETS: dict[str, Workload] = {
    "chat": Workload("interactive", prompt_tokens=1024, output_tokens=256, concurrent_users=2000,
                     ttft_target_s=1.0, tpot_target_s=0.05),
    "documents": Workload("batch", prompt_tokens=8192, output_tokens=512, tokens_per_day=500e6, deadline_hours=24.0),
}


@dataclass(frozen=True)
class PlanOption:
    """One (GPU, TP) choice.  ``replicas`` and the figures after it are None when infeasible."""

    gpu: str
    tp: int
    feasible: bool
    binding_constraint: str  # weights | kv | slo | bandwidth | compute
    replicas: int | None
    gpus: int | None
    batch_per_replica: int | None
    ttft_s: float | None
    tpot_s: float | None
    kv_headroom: float | None  # 1 − batch per replica ÷ the KV-limited batch
    kv_max_batch: int
    output_tokens_per_s_per_replica: float | None
    cost_per_hour: float | None
    note: str = ""

    def as_dict(self) -> dict[str, object]:
        return {
            "gpu": self.gpu, "tp": self.tp, "feasible": self.feasible, "replicas": self.replicas, "gpus": self.gpus,
            "batch_per_replica": self.batch_per_replica, "ttft_s": self.ttft_s, "tpot_s": self.tpot_s,
            "kv_headroom": self.kv_headroom, "kv_max_batch": self.kv_max_batch,
            "binding_constraint": self.binding_constraint,
            "output_tokens_per_s_per_replica": self.output_tokens_per_s_per_replica,
            "cost_per_hour": self.cost_per_hour, "note": self.note,
        }


@dataclass(frozen=True)
class Plan:
    workload: Workload
    options: tuple[PlanOption, ...]
    recommended: int | None  # index into options
    skipped: tuple[str, ...]  # GPU/TP pairs that could not be modelled, with why


def tp_candidates(spec: ModelSpec, max_tp: int = 8) -> list[int]:
    """TP degrees vLLM accepts for this model (:func:`calculators.params.check_tp`) up to ``max_tp``."""
    out = []
    for t in range(1, max_tp + 1):
        try:
            params.check_tp(spec, t)
        except CalcError:
            continue
        out.append(t)
    return out


def _check_workload(w: Workload) -> None:
    if w.kind not in ("interactive", "batch"):
        raise CalcError("preset", f"unknown workload kind {w.kind!r}")
    for name, value in (("prompt-tokens", w.prompt_tokens), ("output-tokens", w.output_tokens)):
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 1 << 24:
            raise CalcError(name, f"must be a whole number from 1 to {1 << 24:,}, got {value!r}")
    if w.kind == "interactive" and w.concurrent_users is None and w.request_rate_per_s is None:
        raise CalcError("concurrent-users", "give --concurrent-users or --request-rate (or a --preset)")
    if w.kind == "batch" and w.tokens_per_day is None:
        raise CalcError("tokens-per-day", "a batch job needs --tokens-per-day")
    if w.deadline_hours is not None and not 0 < w.deadline_hours <= 24:
        raise CalcError("deadline-hours", f"must be in (0, 24], got {w.deadline_hours!r}")


def plan_option(spec: ModelSpec, gpu: GPU, tp: int, w: Workload, weights_dtype: str = "auto",
                kv_cache_dtype: str = "auto", eff: roofline.Efficiency | None = None,
                gpu_hour_price: float | None = None) -> PlanOption:
    """Size one (GPU, TP) choice for the workload (see the module docstring for the steps)."""
    p, o = w.prompt_tokens, w.output_tokens
    limit, weights_fit = roofline.kv_max_batch(spec, gpu, tp, p, o, weights_dtype, kv_cache_dtype)

    def infeasible(constraint: str, note: str) -> PlanOption:
        return PlanOption(gpu.id, tp, False, constraint, None, None, None, None, None, None, limit, None, None, note)

    if not weights_fit:
        return infeasible("weights", "the weights alone exceed the memory budget at this TP")
    if limit < 1:
        return infeasible("kv", f"no room for the KV cache of one {p + o}-token request")

    cache: dict[int, roofline.CurvePoint] = {}

    def at(b: int) -> roofline.CurvePoint:
        if b not in cache:
            cache[b] = roofline.curve_point(spec, gpu, tp, b, p, o, weights_dtype, kv_cache_dtype, eff, limit)
        return cache[b]

    def meets(b: int) -> bool:
        pt = at(b)
        return (w.tpot_target_s is None or pt.tpot_s <= w.tpot_target_s) and (
            w.ttft_target_s is None or pt.ttft_s <= w.ttft_target_s)

    if not meets(1):
        pt = at(1)
        return infeasible("slo", f"batch 1 already gives TTFT {pt.ttft_s:.3g} s, TPOT {pt.tpot_s:.3g} s")
    if meets(limit):
        bmax, constraint = limit, "kv"
    else:
        lo, hi = 1, limit  # meets(lo), not meets(hi)
        while lo + 1 < hi:
            mid = (lo + hi) // 2
            if meets(mid):
                lo = mid
            else:
                hi = mid
        bmax = lo
        constraint = "compute" if at(bmax).bound == "compute" else "bandwidth"
    if w.kind == "batch" and constraint == "kv" and at(bmax).bound == "compute":
        constraint = "compute"

    def rate(b: int) -> float:  # requests per second of one replica at batch b
        pt = at(b)
        return b / (pt.ttft_s + (o - 1) * pt.tpot_s)

    if w.concurrent_users is not None and w.kind == "interactive":
        replicas = math.ceil(w.concurrent_users / bmax)
        batch = math.ceil(w.concurrent_users / replicas)
    else:
        need = w.required_rate_per_s() or 0.0
        replicas = max(1, math.ceil(need / rate(bmax)))
        lo, hi = 0, bmax  # smallest batch whose replicas × rate covers the demand
        while lo + 1 < hi:
            mid = (lo + hi) // 2
            if replicas * rate(mid) >= need:
                hi = mid
            else:
                lo = mid
        batch = hi
    pt = at(batch)
    gpus = replicas * tp
    return PlanOption(
        gpu=gpu.id, tp=tp, feasible=True, binding_constraint=constraint, replicas=replicas, gpus=gpus,
        batch_per_replica=batch, ttft_s=pt.ttft_s, tpot_s=pt.tpot_s, kv_headroom=1.0 - batch / limit,
        kv_max_batch=limit, output_tokens_per_s_per_replica=batch * o / (pt.ttft_s + (o - 1) * pt.tpot_s),
        cost_per_hour=None if gpu_hour_price is None else gpus * gpu_hour_price,
        note=f"largest batch within the targets: {bmax}",
    )


def plan(spec: ModelSpec, gpus: list[GPU] | None, w: Workload, weights_dtype: str = "auto",
         kv_cache_dtype: str = "auto", eff: roofline.Efficiency | None = None,
         gpu_hour_price: float | None = None, max_tp: int = 8) -> Plan:
    """Every (GPU, TP) option for the workload and the recommended one; ``gpus`` None = every preset."""
    _check_workload(w)
    if gpu_hour_price is not None and (not math.isfinite(gpu_hour_price) or gpu_hour_price < 0):
        raise CalcError("gpu-hour-price", f"must be a non-negative number, got {gpu_hour_price!r}")
    options: list[PlanOption] = []
    skipped: list[str] = []
    for gpu in gpus if gpus is not None else hardware.all_gpus():
        for tp in tp_candidates(spec, max_tp):
            try:
                options.append(plan_option(spec, gpu, tp, w, weights_dtype, kv_cache_dtype, eff, gpu_hour_price))
            except CalcError as exc:
                if gpus is not None and len(gpus) == 1 and exc.field != "gpu":
                    raise
                skipped.append(f"{gpu.id} tp={tp}: {exc.message}")
    feasible = [i for i, opt in enumerate(options) if opt.feasible]

    def key(i: int) -> tuple[float, float]:
        opt = options[i]
        main = opt.cost_per_hour if opt.cost_per_hour is not None else float(opt.gpus or 0)
        return main, opt.tpot_s or 0.0

    recommended = min(feasible, key=key) if feasible else None
    return Plan(workload=w, options=tuple(options), recommended=recommended, skipped=tuple(skipped))
