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
from collections.abc import Callable
from dataclasses import dataclass

from calculators import hardware, params, roofline, simulate, vllm
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
    limit, weights_fit = roofline.kv_max_batch(spec, gpu, tp, p, o, weights_dtype, kv_cache_dtype,
                                               enforce_eager=(eff or roofline.Efficiency()).enforce_eager)

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

    def rate(b: int) -> float:  # requests per second of one replica at batch b (Little's law on the engine's time)
        return at(b).output_tokens_per_s / o

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
        kv_max_batch=limit, output_tokens_per_s_per_replica=pt.output_tokens_per_s,
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


# ---------------------------------------------------------------- planning on the scheduler simulation

#: Requests simulated per candidate replica count (the page's default): enough for a p99 to be the
#: third-worst request, few enough for a search of a few dozen simulations to stay under seconds.
DEFAULT_SIM_REQUESTS = 300
MAX_SIM_REQUESTS = 5_000
#: Simulations one search may run before it stops and says so (each is one replica count of one
#: GPU × TP × PP × dtype configuration).
MAX_SIMULATIONS = 400
MAX_REPLICAS = 100_000


@dataclass(frozen=True)
class ServingWorkload:
    """Traffic for :func:`search`: an open loop of ``rate_per_s`` Poisson arrivals, or a closed loop
    of ``sessions`` users who each send a request, wait for its last token and think for an
    exponentially distributed ``think_s`` seconds (mean) before the next.  ``prefix_hit`` of each
    prompt is found in the prefix cache (whole blocks)."""

    prompt: simulate.Lengths
    output: simulate.Lengths
    rate_per_s: float | None = None
    sessions: int | None = None
    think_s: float = 0.0
    prefix_hit: float = 0.0


@dataclass(frozen=True)
class SimPoint:
    """One simulated plan: a configuration at a replica count."""

    gpu: str
    tp: int
    pp: int
    weights_dtype: str
    replicas: int
    gpus: int
    meets_slo: bool
    tail_latency_s: float  # the SLO's first term (its metric at its percentile)
    output_tokens_per_s: float  # all replicas together
    output_tokens_per_s_per_gpu: float
    ttft_s: simulate.Percentiles
    tpot_s: simulate.Percentiles
    e2e_s: simulate.Percentiles
    preemptions: int
    cost_per_hour: float | None
    cost_per_million_output_tokens: float | None
    curve: bool = False  # a point of one replica's load curve (not of the replica search)

    def as_dict(self) -> dict[str, object]:
        return {
            "gpu": self.gpu, "tp": self.tp, "pp": self.pp, "weights_dtype": self.weights_dtype,
            "replicas": self.replicas, "gpus": self.gpus, "meets_slo": self.meets_slo,
            "tail_latency_s": self.tail_latency_s, "output_tokens_per_s": self.output_tokens_per_s,
            "output_tokens_per_s_per_gpu": self.output_tokens_per_s_per_gpu, "ttft_s": self.ttft_s.as_dict(),
            "tpot_s": self.tpot_s.as_dict(), "preemptions": self.preemptions, "cost_per_hour": self.cost_per_hour,
            "cost_per_million_output_tokens": self.cost_per_million_output_tokens, "curve": self.curve,
        }


#: loads (fractions of one replica's saturated request rate) of the load curves drawn for the
#: cheapest configurations, and how many configurations get one
CURVE_LOADS = (0.25, 0.5, 0.7, 0.85, 1.0)
CURVE_CONFIGS = 4


@dataclass(frozen=True)
class Candidate:
    """One GPU × TP × PP × weights configuration: the fewest replicas found that meet the SLO
    (``best``), or why none does (``status``: ``meets``, ``weights``, ``kv``, ``slo``, ``replicas``,
    ``pruned`` (cannot beat a plan already found), ``budget`` (the search stopped), ``error``)."""

    gpu: str
    tp: int
    pp: int
    weights_dtype: str
    status: str
    note: str
    best: SimPoint | None = None
    weights_gib_per_gpu: float | None = None

    @property
    def feasible(self) -> bool:
        return self.best is not None

    def as_dict(self) -> dict[str, object]:
        b = self.best
        return {
            "gpu": self.gpu, "tp": self.tp, "pp": self.pp, "weights_dtype": self.weights_dtype,
            "feasible": self.feasible, "status": self.status, "binding_constraint": self.status,
            "replicas": b.replicas if b else None, "gpus": b.gpus if b else None,
            "ttft_s": b.ttft_s.as_dict() if b else None, "tpot_s": b.tpot_s.as_dict() if b else None,
            "e2e_s": b.e2e_s.as_dict() if b else None,
            "tail_latency_s": b.tail_latency_s if b else None,
            "output_tokens_per_s": b.output_tokens_per_s if b else None,
            "output_tokens_per_s_per_replica": b.output_tokens_per_s / b.replicas if b else None,
            "output_tokens_per_s_per_gpu": b.output_tokens_per_s_per_gpu if b else None,
            "cost_per_hour": b.cost_per_hour if b else None,
            "cost_per_million_output_tokens": b.cost_per_million_output_tokens if b else None,
            "preemptions": b.preemptions if b else None,
            "weights_gib_per_gpu": self.weights_gib_per_gpu, "note": self.note,
        }


@dataclass(frozen=True)
class SearchResult:
    workload: ServingWorkload
    slo: simulate.SLO
    candidates: tuple[Candidate, ...]
    recommended: int | None  # index into candidates
    points: tuple[SimPoint, ...]  # every simulated plan, in the order run
    pareto: tuple[int, ...]  # indices into points: none has both more tokens/s per GPU and lower latency
    simulations: int
    truncated: bool
    max_model_len: int = 0  # the --max-model-len every candidate was sized and simulated at
    enforce_eager: bool = False  # the search simulated a server without CUDA graphs

    def serve_command(self, spec: ModelSpec, kv_cache_dtype: str = "auto") -> str:
        """The ``vllm serve`` command of the recommended plan's replica: every flag the search
        assumed (TP, PP, --max-model-len, the weights format, the KV dtype, --enforce-eager), from the
        same :func:`calculators.vllm.fit` the search ran; "" when nothing is recommended."""
        if self.recommended is None:
            return ""
        c = self.candidates[self.recommended]
        return vllm.fit(spec, hardware.get_gpu(c.gpu), tp=c.tp, pp=c.pp, max_model_len=self.max_model_len,
                        kv_cache_dtype=kv_cache_dtype, weights_dtype=c.weights_dtype,
                        enforce_eager=self.enforce_eager).serve_command


def _max_length(d: simulate.Lengths) -> int:
    """A length no draw exceeds (normal: mean + 4 σ; draws beyond are clipped by max_model_len)."""
    if d.kind == "list":
        return max(d.values)
    if d.kind == "uniform":
        return int(d.b)
    if d.kind == "normal":
        return math.ceil(d.a + 4 * d.b)
    return int(d.a)


def parse_prices(text: object) -> dict[str, float]:
    """``h100-sxm=2.99, h200=3.50``: a price per GPU-hour for each GPU id named."""
    if text is None or (isinstance(text, str) and not text.strip()):
        return {}
    if not isinstance(text, str) or len(text) > 2000:
        raise CalcError("gpu-prices", "expected GPU=PRICE pairs such as h100-sxm=2.99,h200=3.50")
    known = set(hardware.gpu_ids())
    out: dict[str, float] = {}
    for part in text.replace(";", ",").split(","):
        if not part.strip():
            continue
        key, sep, value = part.partition("=")
        key = key.strip().lower()
        if not sep or key not in known:
            raise CalcError("gpu-prices", f"{part.strip()[:40]!r} is not GPU=PRICE with a GPU id "
                            f"of `python -m calculators gpus` (e.g. h100-sxm=2.99)")
        try:
            price = float(value.strip().lstrip("$"))
        except ValueError:
            raise CalcError("gpu-prices", f"{value.strip()[:20]!r} is not a price") from None
        if not math.isfinite(price) or not 0 <= price <= 1e6:
            raise CalcError("gpu-prices", f"the price of {key} must be between 0 and 1,000,000 per hour")
        out[key] = price
    return out


def _e2e_cap(slo: simulate.SLO, mean_output: float) -> float | None:
    """A request's latency under the SLO, at most: the e2e limit, else TTFT limit + (mean output − 1)
    × TPOT limit; None when the SLO bounds neither (a heuristic: the SLO bounds percentiles, not
    the mean a session's cycle depends on)."""
    limits = {m: lim for m, _, lim in slo.terms}
    caps = []
    if "e2e" in limits:
        caps.append(limits["e2e"])
    if "ttft" in limits and "tpot" in limits:
        caps.append(limits["ttft"] + max(0.0, mean_output - 1) * limits["tpot"])
    return min(caps) if caps else None


def _slo_value(r: simulate.SimResult, slo: simulate.SLO) -> float:
    """The SLO's first term as simulated (e.g. the p95 of TTFT for ``ttft:p95<500ms``)."""
    return r.slo_values_s[0] if r.slo_values_s else 0.0


def search(  # noqa: PLR0913, PLR0915
    spec: ModelSpec,
    gpus: list[GPU] | None,
    w: ServingWorkload,
    slo: simulate.SLO,
    weights_dtypes: tuple[str, ...] = ("auto",),
    kv_cache_dtype: str = "auto",
    eff: roofline.Efficiency | None = None,
    prices: dict[str, float] | None = None,
    gpu_hour_price: float | None = None,
    max_tp: int = 8,
    max_pp: int = 1,
    requests: int = DEFAULT_SIM_REQUESTS,
    seed: int = 0,
    max_simulations: int = MAX_SIMULATIONS,
) -> SearchResult:
    """The cheapest GPU × TP × PP × weights × replicas plan whose simulated tail latency meets ``slo``.

    For each configuration (GPUs in the order given, TP from :func:`tp_candidates`, PP in 1, 2, 4, 8
    up to ``max_pp``, each weights format), cheapest per replica first:

    1. :func:`calculators.vllm.fit` at max_model_len = the longest prompt + output the distributions
       draw (capped at the model's): ``weights`` or ``kv`` when vLLM would not start;
    2. one request alone (:func:`calculators.simulate.simulate`, 1 request): ``slo`` when even it
       misses a target;
    3. the saturated throughput μ (all ``requests`` at once) gives a first replica count:
       R₀ = ⌈λ ÷ μ⌉ (open loop), ⌈N ÷ ((T + e2e cap) × μ)⌉ (closed loop: a session sends one request
       per think time + latency, and under the SLO the latency is at most the e2e limit, or the TTFT
       limit + (mean output − 1) × the TPOT limit; 1 when the SLO bounds neither); a configuration
       whose R₀ already costs more than the best plan found is ``pruned``;
    4. replicas doubled from R₀ until the simulation meets the SLO, then bisected down; when R₀
       meets at once, R₀ − 1, R₀ − 2, … are tried until one misses (μ from a finite run is
       approximate).  Assumes more replicas never worsen the tail, which the tests check on samples.  Replicas
       split the load evenly: λ ÷ R each (open loop), ⌈N ÷ R⌉ sessions each (closed loop).

    Every simulation uses the same seed, so the same requests (scaled in time) are replayed at each
    replica count.  Cost per hour = GPUs × price (``prices[gpu]``, else ``gpu_hour_price``); per
    million output tokens = cost per hour ÷ (output tokens per hour ÷ 10⁶), output tokens per hour =
    λ × mean output × 3600 (open loop) or the simulated output rate (closed loop).  Without prices the
    plans are ranked by GPU count; with prices for some GPU types and no ``gpu_hour_price``, only
    those types are searched.  The recommendation is the cheapest plan meeting the SLO, ties to
    the lower tail latency.
    """
    if (w.rate_per_s is None) == (w.sessions is None):
        raise CalcError("rate", "give a request rate, or a number of sessions with a think time, not both")
    if w.rate_per_s is not None and (not math.isfinite(w.rate_per_s) or not 0 < w.rate_per_s <= 1e7):
        raise CalcError("rate", f"must be a request rate in (0, 1e7] per second, got {w.rate_per_s!r}")
    if w.sessions is not None and not 1 <= w.sessions <= 10_000_000:
        raise CalcError("sessions", f"must be from 1 to 10,000,000, got {w.sessions!r}")
    if isinstance(requests, bool) or not isinstance(requests, int) or not 10 <= requests <= MAX_SIM_REQUESTS:
        raise CalcError("requests", f"must be a whole number from 10 to {MAX_SIM_REQUESTS:,}, got {requests!r}")
    if not isinstance(max_pp, int) or not 1 <= max_pp <= simulate.MAX_PP:
        raise CalcError("max-pp", f"must be from 1 to {simulate.MAX_PP}, got {max_pp!r}")
    if not weights_dtypes:
        raise CalcError("weights-dtypes", "name at least one weights format")
    prices = prices or {}
    if gpu_hour_price is not None and (not math.isfinite(gpu_hour_price) or gpu_hour_price < 0):
        raise CalcError("gpu-hour-price", f"must be a non-negative number, got {gpu_hour_price!r}")
    mml = min(spec.max_len, _max_length(w.prompt) + _max_length(w.output))
    eager = bool(eff is not None and eff.enforce_eager)  # sized, simulated and printed without CUDA graphs
    gpu_list = gpus if gpus is not None else hardware.all_gpus()
    if prices and gpu_hour_price is None:  # prices for some GPU types only: search those
        missing = [g.id for g in gpu_list if g.id not in prices]
        gpu_list = [g for g in gpu_list if g.id in prices]
        if not gpu_list:
            raise CalcError("gpu-prices", f"no price for {', '.join(missing[:5])}: add it, or give --gpu-hour-price")
    priced = all(g.id in prices or gpu_hour_price is not None for g in gpu_list)

    def price(g: GPU) -> float | None:
        return prices.get(g.id, gpu_hour_price) if priced else None

    def unit_cost(g: GPU, n_gpus: int) -> float:  # what ranks plans: cost per hour, else GPUs
        p = price(g)
        return n_gpus * p if p is not None else float(n_gpus)

    configs = [(g, tp, pp, d) for g in gpu_list for tp in tp_candidates(spec, max_tp)
               for pp in (1, 2, 4, 8, 16) if pp <= max_pp and pp <= spec.num_layers for d in weights_dtypes]
    configs.sort(key=lambda c: unit_cost(c[0], c[1] * c[2]))  # stable: the order given within a price
    candidates: list[Candidate] = []
    points: list[SimPoint] = []
    best_cost = math.inf
    sims = 0
    truncated = False
    runners: dict[int, tuple[Callable[..., simulate.SimResult], float]] = {}  # candidate index → (run, μ)

    for g, tp, pp, dtype in configs:
        per_replica = tp * pp

        def done(status: str, note: str, best: SimPoint | None = None, wgib: float | None = None,
                 g: GPU = g, tp: int = tp, pp: int = pp, dtype: str = dtype) -> None:
            candidates.append(Candidate(g.id, tp, pp, dtype, status, note, best, wgib))

        if unit_cost(g, per_replica) > best_cost:
            done("pruned", "one replica already costs more than the plan found")
            continue
        if sims >= max_simulations:
            truncated = True
            done("budget", f"not simulated: the search stopped after {max_simulations} simulations")
            continue
        try:
            fit = vllm.fit(spec, g, tp=tp, pp=pp, max_model_len=mml, kv_cache_dtype=kv_cache_dtype,
                           weights_dtype=dtype, enforce_eager=eager)
        except CalcError as exc:
            done("error", exc.message)
            continue
        wgib = fit.weights_bytes_per_gpu / (1 << 30)
        if not fit.fits:
            status = "weights" if fit.available_kv_cache_bytes <= 0 else "kv"
            done(status, fit.verdict, wgib=wgib)
            continue
        try:
            step = simulate.roofline_step_time(spec, g, tp, dtype, kv_cache_dtype, eff)
        except CalcError as exc:
            done("error", exc.message, wgib=wgib)
            continue

        def run(n: int, rate: float | None, sessions: int | None, g: GPU = g, tp: int = tp, pp: int = pp,
                dtype: str = dtype, step: simulate.StepTimeFn = step) -> simulate.SimResult:
            nonlocal sims
            sims += 1
            return simulate.simulate(
                spec, g, tp=tp, pp=pp, rate=rate, prompt=w.prompt, output=w.output, requests=n,
                max_model_len=mml, seed=seed, weights_dtype=dtype, kv_cache_dtype=kv_cache_dtype,
                prefix_hit=w.prefix_hit, slo=slo, eff=eff, step_time=step, concurrency=sessions,
                think_s=w.think_s if sessions is not None else 0.0)

        try:
            alone = run(1, None, None)
            if not alone.slo_met:
                done("slo", f"one request alone: TTFT {1000 * alone.ttft_s.p50:,.1f} ms, TPOT "
                     f"{1000 * alone.tpot_s.p50:,.2f} ms, which misses the SLO", wgib=wgib)
                continue
            mu = run(requests, None, None).request_throughput_per_s
            runners[len(candidates)] = (run, mu)
            if w.rate_per_s is not None:
                lo_r = max(1, math.ceil(w.rate_per_s / mu))
            else:
                assert w.sessions is not None
                cap = _e2e_cap(slo, w.output.mean)
                lo_r = 1 if cap is None else max(1, min(w.sessions, math.ceil(w.sessions / ((w.think_s + cap) * mu))))
            if unit_cost(g, max(1, lo_r - 1) * per_replica) > best_cost:  # one below R₀: μ is approximate
                done("pruned", f"needs at least {lo_r:,} replicas (saturated throughput {mu:,.2f} requests/s "
                     "each), which cost more than the plan found", wgib=wgib)
                continue

            tried: dict[int, SimPoint] = {}

            def at(r: int, g: GPU = g, tp: int = tp, pp: int = pp, dtype: str = dtype,
                   per_replica: int = per_replica, tried: dict[int, SimPoint] = tried) -> SimPoint:
                if r not in tried:
                    if w.rate_per_s is not None:
                        res = run(requests, w.rate_per_s / r, None)
                        out_rate = w.rate_per_s * w.output.mean  # delivered = offered when stable
                    else:
                        assert w.sessions is not None
                        res = run(requests, None, -(-w.sessions // r))
                        out_rate = res.output_tokens_per_s * r
                    n_gpus = r * per_replica
                    cost = n_gpus * p if (p := price(g)) is not None else None
                    per_m = cost / (out_rate * 3600 / 1e6) if cost is not None and out_rate > 0 else None
                    pt = SimPoint(g.id, tp, pp, dtype, r, n_gpus, bool(res.slo_met), _slo_value(res, slo),
                                  out_rate, out_rate / n_gpus, res.ttft_s, res.tpot_s, res.e2e_s, res.preemptions,
                                  cost, per_m)
                    tried[r] = pt
                    points.append(pt)
                return tried[r]

            limit = MAX_REPLICAS if w.sessions is None else w.sessions
            r, failed = lo_r, lo_r - 1
            status, note = "meets", ""
            while not at(r).meets_slo:
                failed = r
                if r >= limit:
                    status, note = "replicas", f"{r:,} replicas still miss the SLO"
                    break
                r = min(limit, r * 2)
                if unit_cost(g, r * per_replica) > best_cost:
                    status, note = "pruned", f"{failed:,} replicas miss the SLO; more cost more than the plan found"
                    break
                if sims >= max_simulations:
                    truncated = True
                    status, note = "budget", f"the search stopped after {max_simulations} simulations"
                    break
            if status != "meets":
                done(status, note, wgib=wgib)
                continue
            if r == lo_r:  # the bound met at once: check below it (μ from a finite run is approximate)
                while r > 1 and sims < max_simulations and at(r - 1).meets_slo:
                    r -= 1
                failed = r - 1
            while failed + 1 < r and sims < max_simulations:  # the fewest replicas that meet it
                mid = (failed + r) // 2
                if at(mid).meets_slo:
                    r = mid
                else:
                    failed = mid
            best = at(r)
            done("meets", f"{r:,} replica{'s' if r > 1 else ''} meet{'' if r > 1 else 's'} the SLO"
                 + (f"; {failed:,} do{'es' if failed == 1 else ''} not" if failed >= 1 else ""),
                 best, wgib)
            best_cost = min(best_cost, unit_cost(g, best.gpus))
        except CalcError as exc:
            done("error", exc.message, wgib=wgib)
            continue

    feasible = [i for i, c in enumerate(candidates) if c.best is not None]

    def key(i: int) -> tuple[float, float]:
        b = candidates[i].best
        assert b is not None
        return (b.cost_per_hour if b.cost_per_hour is not None else float(b.gpus)), b.tail_latency_s

    recommended = min(feasible, key=key) if feasible else None
    for i in sorted(feasible, key=key)[:CURVE_CONFIGS]:  # one replica's throughput against latency
        c = candidates[i]
        if i not in runners:
            continue
        run, mu = runners[i]
        g = hardware.get_gpu(c.gpu)
        n_gpus = c.tp * c.pp
        for load in CURVE_LOADS:
            res = run(requests, load * mu, None)
            out_rate = load * mu * w.output.mean
            cost = n_gpus * p if (p := price(g)) is not None else None
            per_m = cost / (out_rate * 3600 / 1e6) if cost is not None and out_rate > 0 else None
            points.append(SimPoint(c.gpu, c.tp, c.pp, c.weights_dtype, 1, n_gpus, bool(res.slo_met),
                                   _slo_value(res, slo), out_rate, out_rate / n_gpus, res.ttft_s, res.tpot_s,
                                   res.e2e_s, res.preemptions, cost, per_m, curve=True))
    return SearchResult(w, slo, tuple(candidates), recommended, tuple(points), pareto_front(points), sims, truncated,
                        mml, eager)


def pareto_front(points: list[SimPoint] | tuple[SimPoint, ...]) -> tuple[int, ...]:
    """Indices of the points no other point beats on both output tokens/s per GPU (higher) and tail
    latency (lower), ordered by latency."""
    order = sorted(range(len(points)), key=lambda i: (points[i].tail_latency_s, -points[i].output_tokens_per_s_per_gpu))
    front: list[int] = []
    best = -math.inf
    for i in order:
        if points[i].output_tokens_per_s_per_gpu > best:
            front.append(i)
            best = points[i].output_tokens_per_s_per_gpu
    return tuple(front)
