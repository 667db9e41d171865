"""A discrete-event simulation of vLLM's V1 scheduler serving one replica.

Requests arrive (Poisson at ``rate`` per second, or all at once), each with a prompt and an output
length drawn from :class:`Lengths`.  Every engine step the scheduler (vllm/v1/core/sched/scheduler.py
``Scheduler.schedule``) spends a token budget of ``max_num_batched_tokens``:

1. running requests first, in order: a decoding request takes one token, a request still in its
   prompt (chunked prefill) takes the rest of its prompt up to the remaining budget;
2. if a running request needs a KV block and none is free, the most recently admitted running
   request is preempted (its blocks freed; it recomputes prompt and generated tokens later);
3. then waiting requests, first come first served, while fewer than ``max_num_seqs`` run, budget
   remains and their first chunk's blocks are free (no admission in a step that preempted).

KV blocks come from the exact accounting of :mod:`calculators.vllm` (blocks, block size, KV-cache
groups).  A prefix-cache hit skips ``prefix_hit`` of each prompt, in whole blocks.  A step lasts
what the roofline model of a mixed step gives (:func:`calculators.roofline.mixed_cost`, expected
time), or what an injected ``step_time`` function says (tests use hand-workable costs).  The step
that finishes a prompt also samples that request's next token.

Outputs: throughput, TTFT and TPOT percentiles, preemptions, KV utilisation, and goodput under an
SLO written ``ttft:p95<500ms;tpot:p99<50ms``.

Closed loop (``concurrency`` clients, ``think_s``): each client sends a request, waits for its last
token, thinks for an exponentially distributed time of mean ``think_s`` (0: sends at once, as
``vllm bench serve --max-concurrency`` does), then sends the next; a client's first request comes
after one think time.

Pipeline parallelism (``pp`` > 1), as vLLM V1 runs it: the engine keeps up to ``pp`` batches in
flight (``max_concurrent_batches`` = ``pipeline_parallel_size``, vllm/v1/executor/
multiproc_executor.py; ``EngineCore.step_with_batch_queue`` in vllm/v1/engine/core.py schedules a
new batch without waiting while the queue is not full, else blocks on the oldest).  A request whose
sampled token is still in flight has nothing to schedule (its ``num_computed_tokens`` already
advanced at scheduling, vllm/v1/core/sched/scheduler.py), while the next chunk of a prompt can go
in the next batch.  Each of the ``pp`` stages runs ⌈L ÷ pp⌉ of the L layers: a stage takes the full
step's time × ⌈L ÷ pp⌉ ÷ L, then sends its activations (hidden states and residual: 2 × hidden ×
tokens × 2 bytes) to the next stage over the link (:func:`pp_send_s`).  A batch enters a stage when
the stage is free; its tokens are sampled when it leaves the last stage.  Preemption picks the
newest running request with nothing in flight.
"""

from __future__ import annotations

import heapq
import math
import random
import re
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from calculators import roofline, vllm
from calculators.errors import CalcError
from calculators.hardware import GPU
from calculators.models import ModelSpec

#: step_time(decode_batch, mean_context, prefill_tokens, prefill_prompts, mean_prompt) → seconds
StepTimeFn = Callable[[int, float, int, int, float], float]

MAX_REQUESTS = 200_000
MAX_PP = 16

#: Latency of one stage-to-stage send (NCCL send/recv of a small message inside a node is a few
#: microseconds to about ten; an assumption of this order, not a measurement).
PP_SEND_LATENCY_S = 10e-6
#: Bytes per second per GPU between nodes, per direction, when tp × pp spans more than one
#: 8-GPU node: one 400 Gb/s InfiniBand NDR port per GPU (as in NVIDIA's DGX H100), an assumption.
INTER_NODE_BYTES_PER_S = 50e9
GPUS_PER_NODE = 8


def pp_stage_fraction(num_layers: int, pp: int) -> float:
    """Share of the full model step one pipeline stage runs: ⌈L ÷ pp⌉ ÷ L (the busiest stage;
    vLLM's ``get_pp_indices`` splits the layers evenly, vllm/distributed/utils.py).  Embedding and
    LM head are spread with the layers: an approximation."""
    return -(-num_layers // pp) / num_layers


def pp_send_s(hidden_size: int, tokens: int, gpu: GPU, tp: int, pp: int, link_efficiency: float) -> float:
    """Time to send one batch's activations to the next stage: latency + 2 tensors (hidden states and
    residual, vLLM's ``IntermediateTensors`` of Llama-style models) × hidden × tokens × 2 bytes (bf16)
    ÷ (link bytes/s × efficiency); the link is the GPU's interconnect within a node, else
    :data:`INTER_NODE_BYTES_PER_S`.  Zero when ``pp`` is 1."""
    if pp <= 1:
        return 0.0
    link = gpu.interconnect_bytes_per_s if tp * pp <= GPUS_PER_NODE else INTER_NODE_BYTES_PER_S
    if link <= 0:
        link = 32e9  # PCIe Gen4 x16 per direction, for a preset without an interconnect figure
    return PP_SEND_LATENCY_S + 2 * hidden_size * tokens * 2 / (link * link_efficiency)


@dataclass(frozen=True)
class Lengths:
    """A token-length distribution: ``fixed:N``, ``normal:MEAN:STD`` or ``uniform:LO:HI`` (drawn
    values are rounded and kept ≥ 1), or an explicit list (drawn uniformly)."""

    kind: str
    a: float = 0.0
    b: float = 0.0
    values: tuple[int, ...] = ()

    def draw(self, rng: random.Random) -> int:
        if self.kind == "fixed":
            return int(self.a)
        if self.kind == "normal":
            return max(1, round(rng.gauss(self.a, self.b)))
        if self.kind == "uniform":
            return rng.randint(int(self.a), int(self.b))
        return rng.choice(self.values)

    @property
    def mean(self) -> float:
        if self.kind == "list":
            return sum(self.values) / len(self.values)
        return self.a if self.kind != "uniform" else (self.a + self.b) / 2


def parse_lengths(text: object, field_name: str) -> Lengths:
    """``1024``, ``fixed:1024``, ``normal:1024:256``, ``uniform:128:4096`` or a comma list."""
    if isinstance(text, int) and not isinstance(text, bool):
        text = str(text)
    if not isinstance(text, str) or not text.strip() or len(text) > 200_000:
        raise CalcError(field_name, "expected a length such as 1024, normal:1024:256 or uniform:128:4096")
    t = text.strip().lower()
    limit = 1 << 24

    def num(s: str) -> float:
        if not re.fullmatch(r"[0-9]+(\.[0-9]+)?", s):
            raise CalcError(field_name, f"{s[:20]!r} is not a number (digits 0-9)")
        v = float(s)
        if v > limit:
            raise CalcError(field_name, f"{s[:20]} is above {limit:,} tokens")
        return v

    if "," in t:
        values = tuple(int(num(x.strip())) for x in t.split(",") if x.strip())
        if not values or min(values) < 1:
            raise CalcError(field_name, "a list of lengths needs whole numbers ≥ 1")
        return Lengths("list", values=values)
    parts = t.split(":")
    if len(parts) == 1 or (len(parts) == 2 and parts[0] == "fixed"):
        n = num(parts[-1])
        if n < 1 or n != int(n):
            raise CalcError(field_name, "a fixed length is a whole number ≥ 1")
        return Lengths("fixed", n)
    if len(parts) == 3 and parts[0] in ("normal", "uniform"):
        a, b = num(parts[1]), num(parts[2])
        if parts[0] == "uniform" and not 1 <= a <= b:
            raise CalcError(field_name, "uniform:LO:HI needs 1 ≤ LO ≤ HI")
        if parts[0] == "normal" and a < 1:
            raise CalcError(field_name, "normal:MEAN:STD needs MEAN ≥ 1")
        return Lengths(parts[0], a, b)
    raise CalcError(field_name, f"unknown distribution {t[:30]!r}: use N, normal:M:S, uniform:LO:HI or a list")


@dataclass(frozen=True)
class SLO:
    """Service-level objectives: (metric, percentile, limit in seconds) terms, all to be met."""

    terms: tuple[tuple[str, float, float], ...]


def parse_slo(text: object) -> SLO:
    """``ttft:p95<500ms;tpot:p99<50ms`` (metrics ttft, tpot, e2e; units ms or s)."""
    if not isinstance(text, str) or not text.strip() or len(text) > 500:
        raise CalcError("slo", "expected terms like ttft:p95<500ms;tpot:p99<50ms")
    terms = []
    for part in text.split(";"):
        m = re.fullmatch(r"\s*(ttft|tpot|e2e):p([0-9]{1,2}(?:\.[0-9]+)?)\s*<\s*([0-9]+(?:\.[0-9]+)?)\s*(ms|s)\s*",
                         part.lower())
        if not m:
            raise CalcError("slo", f"{part.strip()[:40]!r} is not a term like ttft:p95<500ms")
        pct = float(m.group(2))
        if not 0 < pct < 100:
            raise CalcError("slo", f"percentile p{m.group(2)} must be between 0 and 100")
        limit = float(m.group(3)) / (1000 if m.group(4) == "ms" else 1)
        terms.append((m.group(1), pct, limit))
    return SLO(tuple(terms))


def percentile(values: list[float], pct: float) -> float:
    """Linear-interpolated percentile (numpy's default method)."""
    if not values:
        return 0.0
    s = sorted(values)
    k = (len(s) - 1) * pct / 100
    lo = math.floor(k)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


@dataclass(eq=False, slots=True)  # identity: requests are compared by object, never field by field
class _Req:
    arrival: float
    prompt: int
    output: int
    hit: int  # prompt tokens served from the prefix cache
    computed: int = 0
    target: int = 0  # tokens to compute before the next token is sampled (prompt, or prompt + generated)
    generated: int = 0
    blocks: int = 0
    first_token: float = -1.0
    finish: float = -1.0
    preempted: int = 0
    # fast path: a decoding request holds k + G computed tokens at the start of global step G
    decoding: bool = False
    k: int = 0
    genter: int = 0
    gen0: int = 0
    version: int = 0
    # pipeline: a batch in flight will sample this request's next token / batches holding its chunks
    awaiting: bool = False
    inflight: int = 0
    running: bool = False


@dataclass(frozen=True)
class Percentiles:
    p50: float
    p90: float
    p99: float

    def as_dict(self) -> dict[str, float]:
        return {"p50": self.p50, "p90": self.p90, "p99": self.p99}


def _pcts(values: list[float]) -> Percentiles:
    return Percentiles(percentile(values, 50), percentile(values, 90), percentile(values, 99))


@dataclass(frozen=True)
class SimResult:
    requests: int
    duration_s: float
    request_throughput_per_s: float
    output_tokens_per_s: float
    ttft_s: Percentiles
    tpot_s: Percentiles
    e2e_s: Percentiles
    preemptions: int
    steps: int
    kv_utilisation_mean: float
    kv_utilisation_max: float
    num_gpu_blocks: int
    block_size: int
    max_num_seqs: int
    max_num_batched_tokens: int
    slo_met: bool | None = None
    goodput_requests_per_s: float | None = None
    slo_values_s: tuple[float, ...] = ()  # each SLO term's metric at its percentile, in the SLO's order
    kv_timeline: tuple[tuple[float, float], ...] = field(default=())


def roofline_step_time(spec: ModelSpec, gpu: GPU, tp: int, weights_dtype: str = "auto",
                       kv_cache_dtype: str = "auto", eff: roofline.Efficiency | None = None) -> StepTimeFn:
    """The expected time of one mixed step from the roofline model, memoised on bucketed inputs
    (context by 128 tokens, prefill tokens by 64, prompt length by 256; each bucket evaluated at its
    middle, which moves a step's time by well under 1 %) so that a long simulation stays fast."""
    roofline.check_modelled(spec)
    scheme = roofline.scheme_for(spec, weights_dtype)
    cache: dict[tuple[int, int, int, int, int], float] = {}

    def step(decode_batch: int, context: float, prefill_tokens: int, prefill_prompts: int, prompt: float) -> float:
        # buckets: context 128 tokens, prefill tokens 64, prompt 256 (each evaluated at its middle)
        key = (decode_batch, int(context) >> 7, prefill_tokens >> 6, prefill_prompts, int(prompt) >> 8)
        t = cache.get(key)
        if t is None:
            ptoks = (key[2] << 6) + 32 if prefill_tokens else 0
            mean_prompt = (key[4] << 8) + 128
            cost = roofline.mixed_cost(spec, tp, decode_batch, (key[1] << 7) + 64 if decode_batch else 0,
                                       ptoks, ptoks / mean_prompt if ptoks else 0.0, mean_prompt,
                                       weights_dtype, kv_cache_dtype)
            t = roofline.step_time(cost, gpu, tp, scheme, eff).time_s_expected
            cache[key] = t
        return t

    return step


def simulate(  # noqa: PLR0913, PLR0915
    spec: ModelSpec,
    gpu: GPU,
    tp: int = 1,
    rate: float | None = 1.0,
    prompt: Lengths | None = None,
    output: Lengths | None = None,
    requests: int = 100,
    max_num_seqs: int | None = None,
    max_model_len: int | None = None,
    max_num_batched_tokens: int | None = None,
    seed: int = 0,
    pp: int = 1,
    weights_dtype: str = "auto",
    kv_cache_dtype: str = "auto",
    prefix_hit: float = 0.0,
    slo: SLO | None = None,
    eff: roofline.Efficiency | None = None,
    step_time: StepTimeFn | None = None,
    force_general: bool = False,
    concurrency: int | None = None,
    lengths: list[tuple[int, int]] | None = None,
    num_gpu_blocks: int | None = None,
    block_size: int | None = None,
    vllm_version: str = vllm.DEFAULT_VLLM_VERSION,
    think_s: float = 0.0,
) -> SimResult:
    """Simulate ``requests`` requests arriving at ``rate`` per second (None: all at time 0), or sent
    by ``concurrency`` clients that each send the next request when their previous one finishes
    (``vllm bench serve --max-concurrency N`` with an infinite request rate), after a think time of
    mean ``think_s`` seconds (exponential).  Both ``rate`` and ``concurrency``: Poisson arrivals at
    ``rate``, at most ``concurrency`` in flight; a request waiting for a free slot is sent when one
    frees and its TTFT counts from then (``vllm bench serve --request-rate R --max-concurrency N``:
    ``limited_request_func`` takes the semaphore before the request's timer starts,
    vllm/benchmarks/serve.py).  ``lengths`` gives each request's (prompt, output) tokens instead of
    drawing them.  ``pp`` > 1: pipeline stages (see the module docstring)."""
    if concurrency is not None and (isinstance(concurrency, bool) or not isinstance(concurrency, int)
                                    or not 1 <= concurrency <= MAX_REQUESTS):
        raise CalcError("concurrency", f"must be a whole number of clients from 1 to {MAX_REQUESTS:,}")
    if lengths is not None:
        if len(lengths) < requests:
            raise CalcError("requests", f"{requests} requests but only {len(lengths)} (prompt, output) lengths")
    if isinstance(requests, bool) or not isinstance(requests, int) or not 1 <= requests <= MAX_REQUESTS:
        raise CalcError("requests", f"must be a whole number from 1 to {MAX_REQUESTS:,}, got {requests!r}")
    if rate is not None and (isinstance(rate, bool) or not isinstance(rate, (int, float)) or not math.isfinite(rate)
                             or not 0 < rate <= 1e6):
        raise CalcError("rate", f"must be a request rate in (0, 1e6] per second, got {rate!r}")
    if not isinstance(prefix_hit, (int, float)) or not 0 <= prefix_hit < 1:
        raise CalcError("prefix-hit", f"must be a fraction in [0, 1), got {prefix_hit!r}")
    if isinstance(pp, bool) or not isinstance(pp, int) or not 1 <= pp <= MAX_PP:
        raise CalcError("pp", f"must be a whole number of pipeline stages from 1 to {MAX_PP}, got {pp!r}")
    if pp > spec.num_layers:
        raise CalcError("pp", f"{pp} stages but the model has {spec.num_layers} layers")
    if (isinstance(think_s, bool) or not isinstance(think_s, (int, float)) or not math.isfinite(think_s)
            or not 0 <= think_s <= 1e6):
        raise CalcError("think-time-s", f"must be a number of seconds in [0, 1e6], got {think_s!r}")
    if think_s and concurrency is None:
        raise CalcError("think-time-s", "a think time needs a closed loop: give the number of sessions (concurrency)")
    if think_s and rate is not None and concurrency is not None:
        raise CalcError("think-time-s", "give either a request rate with a concurrency cap or sessions with a think "
                                        "time, not both")
    prompt = prompt or Lengths("fixed", 1024)
    output = output or Lengths("fixed", 256)
    rng = random.Random(seed)
    e = eff or roofline.Efficiency()
    fit = vllm.fit(spec, gpu, tp=tp, pp=pp, max_model_len=max_model_len, kv_cache_dtype=kv_cache_dtype,
                   block_size=block_size, max_num_batched_tokens=max_num_batched_tokens, max_num_seqs=max_num_seqs,
                   weights_dtype=weights_dtype, vllm_version=vllm_version,
                   enforce_eager=e.enforce_eager)  # no graph memory when eager
    if num_gpu_blocks is None and not fit.fits:
        raise CalcError("model", f"vLLM would not start: {fit.verdict}")
    blocks_total = fit.num_gpu_blocks if num_gpu_blocks is None else num_gpu_blocks
    bs = fit.block_size
    budget_per_step = fit.max_num_batched_tokens
    seqs_limit = fit.max_num_seqs
    groups = fit.kv_groups
    mode = fit.mamba_cache_mode or "none"
    mnbt = fit.max_num_batched_tokens
    step = step_time or roofline_step_time(spec, gpu, tp, weights_dtype, kv_cache_dtype, eff)
    think_rng = random.Random(seed + 0x5EED)  # its own stream: the lengths do not change with think_s

    # the API server's share of each request (Efficiency.ttft_overhead_s), taken as spent before the engine
    # sees it: TTFT and end-to-end latency count it, and a closed-loop client's next request reaches the
    # engine that much after the previous one ended (open-loop arrivals all shift alike, which changes nothing)
    extra = e.ttft_overhead_s

    def think() -> float:
        return (think_rng.expovariate(1.0 / think_s) if think_s > 0 else 0.0) + extra

    full_groups = len(groups) if all(g.kind == "attention" and g.window is None for g in groups) else 0

    blocks_of = vllm.blocks_function(groups, bs, mnbt, mode)
    grain = vllm.blocks_grain(groups, bs, mnbt, mode)  # where a request's block count can grow

    def blocks_for(tokens: int) -> int:
        return blocks_of(max(tokens, 1))

    # arrivals
    reqs: list[_Req] = []
    t_arr = 0.0
    for i in range(requests):
        if rate is not None:
            t_arr += rng.expovariate(rate)
        if lengths is not None:
            p, o = lengths[i]
        else:
            p, o = prompt.draw(rng), output.draw(rng)
        p = max(1, min(p, fit.max_model_len - 1))
        o = max(1, min(o, fit.max_model_len - p))
        hit = int(p * prefix_hit) // bs * bs
        hit = min(hit, p - 1)
        reqs.append(_Req(arrival=t_arr if rate is not None else 0.0, prompt=p, output=o,
                         hit=hit, computed=hit, target=p))
    first_wave = requests if concurrency is None else min(concurrency, requests)
    if think_s > 0:  # each client's first request after one think time
        for r in reqs[:first_wave]:
            r.arrival = think()
        reqs[:first_wave] = sorted(reqs[:first_wave], key=lambda r: r.arrival)
    pending, unreleased = deque(reqs[:first_wave]), deque(reqs[first_wave:])
    if pp > 1:
        link_eff = e.link
        frac = pp_stage_fraction(spec.num_layers, pp)
        steps, preemptions, util_sum, util_max, timeline = _run_pipeline(
            pending, unreleased, requests, blocks_total, budget_per_step, seqs_limit, step, blocks_for, think,
            pp, frac, lambda tokens: pp_send_s(spec.hidden_size, tokens, gpu, tp, pp, link_eff), grain)
    else:
        fast = full_groups > 0 and seqs_limit <= budget_per_step and not force_general
        run = _run_fast if fast else _run_general
        steps, preemptions, util_sum, util_max, timeline = run(
            pending, unreleased, requests, blocks_total, bs if fast else grain, budget_per_step, seqs_limit,
            step, blocks_for, full_groups, think,
        )
    first = min(r.arrival for r in reqs)
    duration = max(r.finish for r in reqs) - first
    ttft = [r.first_token - r.arrival + extra for r in reqs]
    tpot = [(r.finish - r.first_token) / (r.output - 1) for r in reqs if r.output > 1]
    e2e = [r.finish - r.arrival + extra for r in reqs]
    out_tokens = sum(r.output for r in reqs)
    slo_met = None
    goodput = None
    slo_values: tuple[float, ...] = ()
    if slo is not None:
        series = {"ttft": ttft, "tpot": tpot, "e2e": e2e}
        slo_values = tuple(percentile(series[m], p) for m, p, _ in slo.terms)
        slo_met = all(v < lim for v, (_, _, lim) in zip(slo_values, slo.terms, strict=True))
        # per request, in reqs' order (a one-token answer has no TPOT: it meets any TPOT limit)
        per_request = {"ttft": ttft, "e2e": e2e,
                       "tpot": [(r.finish - r.first_token) / (r.output - 1) if r.output > 1 else 0.0 for r in reqs]}
        good = sum(all(per_request[m][i] < lim for m, _, lim in slo.terms) for i in range(len(reqs)))
        goodput = good / duration if duration > 0 else 0.0
    return SimResult(
        requests=requests,
        duration_s=duration,
        request_throughput_per_s=requests / duration if duration > 0 else 0.0,
        output_tokens_per_s=out_tokens / duration if duration > 0 else 0.0,
        ttft_s=_pcts(ttft),
        tpot_s=_pcts(tpot),
        e2e_s=_pcts(e2e),
        preemptions=preemptions,
        steps=steps,
        kv_utilisation_mean=util_sum / steps if steps else 0.0,
        kv_utilisation_max=util_max,
        num_gpu_blocks=blocks_total,
        block_size=bs,
        max_num_seqs=seqs_limit,
        max_num_batched_tokens=budget_per_step,
        slo_met=slo_met,
        goodput_requests_per_s=goodput,
        slo_values_s=slo_values,
        kv_timeline=tuple(timeline),
    )


def _release(pending: deque[_Req], r: _Req, at: float) -> None:
    """Closed loop: ``r`` is sent at ``at``, or at its own arrival if later (a request rate under a
    concurrency cap); ``pending`` stays sorted by arrival (an append when every pending request
    arrives no later, as with no think time)."""
    at = max(at, r.arrival)
    r.arrival = at
    i = len(pending)
    while i and pending[i - 1].arrival > at:
        i -= 1
    pending.insert(i, r)


def _batch_shape(
    scheduled: list[tuple[_Req, int]] | list[tuple[_Req, int, bool]],
) -> tuple[int, float, int, int, float]:
    """A step's arguments from what it schedules, each item (request, tokens, …) before the request's
    tokens advance: (decodes, their mean context, prompt tokens, prompt chunks, their mean prompt)."""
    n_dec = ctx_sum = n_pre = ptoks = prompt_sum = 0
    for item in scheduled:
        r = item[0]
        if r.computed >= r.target:
            n_dec += 1
            ctx_sum += r.computed
        else:
            n_pre += 1
            ptoks += item[1]
            prompt_sum += r.target
    return n_dec, ctx_sum / n_dec if n_dec else 0.0, ptoks, n_pre, prompt_sum / n_pre if n_pre else 0.0


class _KVUse:
    """The KV cache's used fraction over a run: its sum and its peak over the steps, and a sample at
    every ``requests // 50``-th step (batch, when pipelined) for the chart."""

    __slots__ = ("blocks_total", "every", "peak", "timeline", "total")

    def __init__(self, blocks_total: int, requests: int) -> None:
        self.blocks_total = blocks_total
        self.every = max(1, requests // 50)
        self.total = 0.0
        self.peak = 0.0
        self.timeline: list[tuple[float, float]] = []

    def record(self, count: int, t: float, free: int) -> None:
        """After step (batch) number ``count``, ending at ``t`` with ``free`` blocks free."""
        used = (self.blocks_total - free) / self.blocks_total if self.blocks_total else 0.0
        self.total += used
        if used > self.peak:
            self.peak = used
        if count % self.every == 0:
            self.timeline.append((t, used))


def _decode_room(running: list[_Req]) -> int:
    """Steps every running request can decode before one of them samples its last token (0 unless
    every one is decoding): the length of a decode-only stretch of :func:`_run_general`."""
    k = -1
    for r in running:
        if r.computed < r.target:
            return 0
        room = r.output - r.generated - 1
        if k < 0 or room < k:
            k = room
            if k <= 0:
                return 0
    return max(k, 0)


def _admit(waiting: deque[_Req], running: list[_Req], seqs_limit: int, budget: int, free: int,
           blocks_for: Callable[[int], int]) -> tuple[list[tuple[_Req, int]], int, int]:
    """vLLM V1's admission of waiting requests (first come, first served): while fewer than
    ``seqs_limit`` run and token budget is left, the next request's first chunk (the rest of its
    prompt, up to the budget) is scheduled if its KV blocks are free; the first that does not fit
    stops admission.  Returns the (request, tokens) admitted, the budget and the free blocks left."""
    admitted: list[tuple[_Req, int]] = []
    while waiting and len(running) < seqs_limit and budget > 0:
        r = waiting[0]
        n = min(r.target - r.computed, budget)
        need = blocks_for(r.computed + n) - r.blocks
        if need > free:
            break
        waiting.popleft()
        free -= need
        r.blocks += need
        budget -= n
        running.append(r)
        admitted.append((r, n))
    return admitted, budget, free


def _run_general(pending: deque[_Req], unreleased: deque[_Req], requests: int, blocks_total: int, grain: int,
                 budget_per_step: int, seqs_limit: int, step: StepTimeFn, blocks_for: Callable[[int], int],
                 full_groups: int, think: Callable[[], float]) -> tuple[int, int, float, float,
                                                                         list[tuple[float, float]]]:
    """Step by step, request by request: any KV-cache group layout.

    A running request holds ``blocks_for(computed)`` blocks (admission allocates for its first chunk,
    each step for what it adds), and that count grows by one token only where ``computed`` is a
    multiple of ``grain`` (:func:`calculators.vllm.blocks_grain`; 0: never), so most decode steps
    skip it."""
    waiting: deque[_Req] = deque()
    running: list[_Req] = []
    free = blocks_total
    t = 0.0
    finished = 0
    preemptions = 0
    steps = 0
    use = _KVUse(blocks_total, requests)

    while finished < requests:
        while pending and pending[0].arrival <= t:
            waiting.append(pending.popleft())
        if not running and not waiting:
            t = pending[0].arrival
            continue
        if not waiting and len(running) <= budget_per_step and (k := _decode_room(running)):
            # decode-only stretch (as in _run_fast): for the next k steps every running request decodes,
            # none samples its last token and nothing arrives; a request's block count is asked only at
            # its block boundaries (every ``grain`` tokens), and a step whose new blocks do not fit is
            # left to the loop below (it preempts); the requests are advanced once at the end
            n = len(running)
            ctx_sum = sum(r.computed for r in running)
            due: dict[int, list[_Req]] = {}  # stretch step -> requests at a block boundary then
            if grain:
                for r in running:
                    first = -r.computed % grain
                    if first < k:
                        due.setdefault(first, []).append(r)
            arrival = pending[0].arrival if pending else math.inf
            done_steps = 0
            while done_steps < k and arrival > t:
                at = due.get(done_steps)
                if at:
                    needs = [blocks_for(r.computed + done_steps + 1) - r.blocks for r in at]
                    total = sum(needs)
                    if total > free:
                        break
                    free -= total
                    for r, need in zip(at, needs, strict=True):
                        r.blocks += need
                    later = done_steps + grain
                    if later < k:
                        due.setdefault(later, []).extend(at)
                    del due[done_steps]
                t += step(n, (ctx_sum + done_steps * n) / n, 0, 0, 0.0)
                steps += 1
                done_steps += 1
                use.record(steps, t, free)
            if done_steps:
                for r in running:
                    r.computed += done_steps
                    r.generated += done_steps
                    r.target = r.computed
                continue
        budget = budget_per_step
        scheduled: list[tuple[_Req, int]] = []
        preempted_now = False
        i = 0
        while i < len(running) and budget > 0:
            r = running[i]
            n = 1 if r.computed >= r.target else min(r.target - r.computed, budget)
            if n == 1 and (not grain or r.computed % grain):
                need = 0  # no group's block boundary at this token
            else:
                need = blocks_for(r.computed + n) - r.blocks
            self_preempted = False
            while need > free:
                victim = running.pop()  # the most recently admitted (vLLM preempts from the tail)
                free += victim.blocks
                victim.blocks = 0
                victim.target = victim.prompt + victim.generated
                victim.computed = victim.hit
                victim.preempted += 1
                preemptions += 1
                preempted_now = True
                waiting.appendleft(victim)
                if victim is r:
                    self_preempted = True
                    break
            if self_preempted:
                break
            free -= need
            r.blocks += need
            budget -= n
            scheduled.append((r, n))
            i += 1
        if not preempted_now:
            admitted, budget, free = _admit(waiting, running, seqs_limit, budget, free, blocks_for)
            scheduled.extend(admitted)
        if not scheduled:
            if pending:
                t = max(t, pending[0].arrival)
                continue
            raise CalcError("max-model-len", "a request cannot be scheduled: its KV cache does not fit even alone")
        t += step(*_batch_shape(scheduled))
        steps += 1
        done: list[_Req] = []
        for r, n in scheduled:
            r.computed += n
            if r.computed >= r.target:  # a decode step, or the chunk that completes the prompt
                r.generated += 1
                if r.first_token < 0:
                    r.first_token = t
                if r.generated >= r.output:
                    r.finish = t
                    done.append(r)
                elif r.target < r.computed:
                    r.target = r.computed  # from now on one token per step
        for r in done:
            running.remove(r)
            free += r.blocks
            r.blocks = 0
            finished += 1
            if unreleased:  # closed loop: the client whose request finished sends the next one
                _release(pending, unreleased.popleft(), t + think())
        use.record(steps, t, free)
    return steps, preemptions, use.total, use.peak, use.timeline


def _run_fast(pending: deque[_Req], unreleased: deque[_Req], requests: int, blocks_total: int, bs: int,
              budget_per_step: int, seqs_limit: int, step: StepTimeFn, blocks_for: Callable[[int], int],
              full_groups: int, think: Callable[[], float]) -> tuple[int, int, float, float,
                                                                      list[tuple[float, float]]]:
    """The same scheduler when every KV group is full attention and all decodes fit the token
    budget: decoding requests advance together, so a step costs O(1) for them instead of one
    operation per request.  A request that decodes holds k + G tokens at the start of global step
    G; it needs a new block in every group when (k + G) is a multiple of the block size, so the
    blocks a step allocates are ``groups × count[(−G) mod block]`` over a count of k mod block."""
    gr = full_groups
    waiting: deque[_Req] = deque()
    order: dict[int, _Req] = {}  # running requests in admission order (preemption takes the last)
    prefilling: dict[int, _Req] = {}
    count = [0] * bs
    sum_k = 0
    n_dec = 0
    heap: list[tuple[int, int, int, _Req]] = []
    free = blocks_total
    t = 0.0
    g = 0
    finished = 0
    preemptions = 0
    steps = 0
    util_sum = 0.0
    util_max = 0.0
    timeline: list[tuple[float, float]] = []
    sample_every = max(1, requests // 50)

    def blocks(tokens: int) -> int:
        return gr * -(-tokens // bs)

    def evict(victim: _Req) -> int:
        """Preempt ``victim`` at the start of step g; returns the blocks freed."""
        nonlocal n_dec, sum_k, preemptions
        del order[id(victim)]
        if victim.decoding:
            held = blocks(victim.k + g)
            victim.generated = victim.gen0 + (g - victim.genter)
            victim.decoding = False
            victim.version += 1
            count[victim.k % bs] -= 1
            sum_k -= victim.k
            n_dec -= 1
        else:
            held = victim.blocks
            del prefilling[id(victim)]
        victim.blocks = 0
        victim.target = victim.prompt + victim.generated
        victim.computed = victim.hit
        victim.preempted += 1
        preemptions += 1
        waiting.appendleft(victim)
        return held

    while finished < requests:
        # decode-only stretch: nothing waits, nothing is in its prompt, no request finishes and no
        # request arrives: only the step clock, the block count and the KV use move
        if n_dec and not prefilling and not waiting:
            avg = sum_k / n_dec
            arrival = pending[0].arrival if pending else math.inf
            gfin = heap[0][0]
            bucket = -1
            dt = 0.0
            while g < gfin and arrival > t:
                new_blocks = gr * count[(-g) % bs]
                if new_blocks > free:
                    break
                c = avg + g
                if int(c) >> 7 != bucket:  # the step time changes only with the context bucket
                    bucket = int(c) >> 7
                    dt = step(n_dec, c, 0, 0, 0.0)
                free -= new_blocks
                t += dt
                steps += 1
                g += 1
                used = (blocks_total - free) / blocks_total if blocks_total else 0.0
                util_sum += used
                if used > util_max:
                    util_max = used
                if steps % sample_every == 0:
                    timeline.append((t, used))
        while pending and pending[0].arrival <= t:
            waiting.append(pending.popleft())
        if not order and not waiting:
            t = pending[0].arrival
            continue
        preempted_now = False
        new_blocks = gr * count[(-g) % bs]
        while new_blocks > free:
            victim = next(reversed(order.values()))
            if victim.decoding and (victim.k + g) % bs == 0:
                new_blocks -= gr
            free += evict(victim)
            preempted_now = True
        free -= new_blocks
        budget = budget_per_step - n_dec
        scheduled: list[tuple[_Req, int]] = []
        for r in list(prefilling.values()):
            if budget <= 0:
                break
            if id(r) not in prefilling:
                continue  # preempted earlier in this step
            n = min(r.target - r.computed, budget)
            need = blocks(r.computed + n) - r.blocks
            while need > free and id(r) in order:
                victim = next(reversed(order.values()))
                free += evict(victim)
                preempted_now = True
            if id(r) not in order:
                break
            free -= need
            r.blocks += need
            budget -= n
            scheduled.append((r, n))
        if not preempted_now:
            while waiting and len(order) < seqs_limit and budget > 0:
                r = waiting[0]
                n = min(r.target - r.computed, budget)
                need = blocks(r.computed + n)
                if need > free:
                    break
                waiting.popleft()
                free -= need
                r.blocks = need
                budget -= n
                order[id(r)] = r
                prefilling[id(r)] = r
                scheduled.append((r, n))
        if not n_dec and not scheduled:
            if pending:
                t = max(t, pending[0].arrival)
                continue
            raise CalcError("max-model-len", "a request cannot be scheduled: its KV cache does not fit even alone")
        ctx = sum_k / n_dec + g if n_dec else 0.0
        ptoks = sum(n for _, n in scheduled)
        mean_prompt = sum(r.target for r, _ in scheduled) / len(scheduled) if scheduled else 0.0
        t += step(n_dec, ctx, ptoks, len(scheduled), mean_prompt)
        steps += 1
        while heap and heap[0][0] == g:
            _, _, version, r = heapq.heappop(heap)
            if version != r.version or not r.decoding:
                continue
            free += blocks(r.k + g + 1)
            r.decoding = False
            r.generated = r.output
            count[r.k % bs] -= 1
            sum_k -= r.k
            n_dec -= 1
            del order[id(r)]
            r.finish = t
            finished += 1
            if unreleased:  # closed loop: the client whose request finished sends the next one
                _release(pending, unreleased.popleft(), t + think())
        for r, n in scheduled:
            r.computed += n
            if r.computed < r.target:
                continue
            r.generated += 1
            if r.first_token < 0:
                r.first_token = t
            del prefilling[id(r)]
            if r.generated >= r.output:
                free += r.blocks
                r.blocks = 0
                del order[id(r)]
                r.finish = t
                finished += 1
                if unreleased:  # closed loop: the client whose request finished sends the next one
                    _release(pending, unreleased.popleft(), t + think())
                continue
            r.decoding = True
            r.genter = g + 1
            r.gen0 = r.generated
            r.k = r.computed - r.genter
            count[r.k % bs] += 1
            sum_k += r.k
            n_dec += 1
            heapq.heappush(heap, (g + r.output - r.generated, id(r), r.version, r))
        g += 1
        used = (blocks_total - free) / blocks_total if blocks_total else 0.0
        util_sum += used
        util_max = max(util_max, used)
        if steps % sample_every == 0:
            timeline.append((t, used))
    return steps, preemptions, util_sum, util_max, timeline


def _run_pipeline(pending: deque[_Req], unreleased: deque[_Req], requests: int, blocks_total: int,
                  budget_per_step: int, seqs_limit: int, step: StepTimeFn, blocks_for: Callable[[int], int],
                  think: Callable[[], float], pp: int, stage_fraction: float,
                  send: Callable[[int], float], grain: int = 1) -> tuple[int, int, float, float,
                                                                      list[tuple[float, float]]]:
    """The scheduler with up to ``pp`` batches in flight through ``pp`` pipeline stages (module
    docstring).  The engine schedules at time ``t`` while fewer than ``pp`` batches are in flight and
    something can be scheduled; otherwise it waits for the oldest batch and applies its outputs.
    ``grain`` as in :func:`_run_general` (1: the block count is asked at every token)."""
    waiting: deque[_Req] = deque()
    running: list[_Req] = []
    inflight: deque[tuple[float, list[tuple[_Req, int, bool]]]] = deque()
    stage_free = [0.0] * pp
    free = blocks_total
    t = 0.0
    finished = 0
    preemptions = 0
    steps = 0
    use = _KVUse(blocks_total, requests)

    def evict(victim: _Req) -> None:
        nonlocal free, preemptions
        running.remove(victim)
        victim.running = False
        free += victim.blocks
        victim.blocks = 0
        victim.target = victim.prompt + victim.generated
        victim.computed = victim.hit
        victim.preempted += 1
        preemptions += 1
        waiting.appendleft(victim)

    batches_done = 0
    this_step: set[int] = set()

    def newest_idle() -> _Req | None:
        """The preemption victim: the newest running request with nothing in flight, not scheduled in
        this step."""
        for v in reversed(running):
            if not v.inflight and id(v) not in this_step:
                return v
        return None

    while finished < requests:
        while pending and pending[0].arrival <= t:
            waiting.append(pending.popleft())
        scheduled: list[tuple[_Req, int, bool]] = []
        if len(inflight) < pp:
            budget = budget_per_step
            preempted_now = False
            for r in list(running):
                if budget <= 0:
                    break
                if r.awaiting or not r.running:
                    continue  # its next token is still in the pipeline, or preempted in this step
                n = 1 if r.computed >= r.target else min(r.target - r.computed, budget)
                if n == 1 and (not grain or r.computed % grain):
                    need = 0  # no group's block boundary at this token (as in _run_general)
                else:
                    need = blocks_for(r.computed + n) - r.blocks
                while need > free:
                    victim = newest_idle()
                    if victim is None:
                        break
                    evict(victim)
                    preempted_now = True
                    if victim is r:
                        break
                if not r.running or need > free:
                    continue
                free -= need
                r.blocks += need
                budget -= n
                scheduled.append((r, n, False))
                this_step.add(id(r))
            this_step.clear()
            if not preempted_now:
                admitted, budget, free = _admit(waiting, running, seqs_limit, budget, free, blocks_for)
                for r, n in admitted:
                    r.running = True
                    scheduled.append((r, n, False))
        if scheduled:
            shape = _batch_shape(scheduled)
            stage = step(*shape) * stage_fraction
            hop = send(shape[0] + shape[2])
            arrive = t
            for k in range(pp):
                begin = max(arrive, stage_free[k])
                stage_free[k] = begin + stage
                arrive = stage_free[k] + hop
            batch = []
            for r, n, _ in scheduled:
                r.computed += n  # vLLM advances num_computed_tokens when it schedules
                samples = r.computed >= r.target
                r.awaiting = samples
                r.inflight += 1
                batch.append((r, n, samples))
            inflight.append((stage_free[-1], batch))
            steps += 1
            continue  # vLLM schedules again without blocking while the batch queue is not full
        if inflight and len(inflight) < pp and pending and pending[0].arrival < inflight[0][0]:
            t = max(t, pending[0].arrival)  # a request arrives while the queue has room: schedule it then
            continue
        if inflight:
            done_at, batch = inflight.popleft()
            t = max(t, done_at)
            for r, _, samples in batch:
                r.inflight -= 1
                if not samples:
                    continue
                r.awaiting = False
                r.generated += 1
                if r.first_token < 0:
                    r.first_token = t
                if r.generated >= r.output:
                    r.finish = t
                    running.remove(r)
                    r.running = False
                    free += r.blocks
                    r.blocks = 0
                    finished += 1
                    if unreleased:  # closed loop: the client whose request finished sends the next one
                        _release(pending, unreleased.popleft(), t + think())
                elif r.target < r.computed:
                    r.target = r.computed  # from now on one token per step
            batches_done += 1
            use.record(batches_done, t, free)
            continue
        if pending:
            t = max(t, pending[0].arrival)
            continue
        raise CalcError("max-model-len", "a request cannot be scheduled: its KV cache does not fit even alone")
    return steps, preemptions, use.total, use.peak, use.timeline
