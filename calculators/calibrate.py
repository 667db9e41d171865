"""Fit the step model's efficiency terms to a measured serving run.

Reads the JSON that ``vllm bench serve --save-result --save-detailed`` writes (vllm/benchmarks/serve.py: the
per-request ``input_lens`` and ``output_lens``, ``request_rate`` and ``max_concurrency``, and the
summary ``median_ttft_ms``, ``median_tpot_ms``, ``output_throughput``), replays the same requests
through :func:`calculators.simulate.simulate` and fits the two efficiencies of
:class:`calculators.roofline.Efficiency`: the bandwidth utilisation (MBU, which sets decode steps
and so TPOT) and the FLOPs utilisation (MFU, which sets prefill and so TTFT), by bisection on each
in turn (TPOT falls as MBU rises, TTFT as MFU rises).  The result says what was predicted with the
default efficiencies, and after the fit, against what was measured.  A GuideLLM report is read
too (:func:`parse_guidellm`).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, replace
from typing import Any

from calculators import roofline, simulate
from calculators.errors import CalcError
from calculators.hardware import GPU
from calculators.models import ModelSpec, check_json_nesting

MAX_BENCH_CHARS = 20_000_000
MAX_REPLAY = 5_000


@dataclass(frozen=True)
class Bench:
    """What a measured run gives: the requests and the medians to match."""

    lengths: tuple[tuple[int, int], ...]
    request_rate: float | None  # None: all at once (or closed loop with max_concurrency)
    max_concurrency: int | None
    median_ttft_s: float
    median_tpot_s: float
    output_tokens_per_s: float
    model_id: str


def _num(data: dict[str, Any], key: str, minimum: float = 0.0) -> float:
    v = data.get(key)
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v < minimum:
        raise CalcError(f"bench.{key}", f"missing or not a number ≥ {minimum:g}")
    return float(v)


def parse_bench(text: str, benchmark: int = 1) -> Bench:
    """A ``vllm bench serve --save-result --save-detailed`` JSON file's text, or a GuideLLM report
    (``guidellm benchmark --output-path report.json``: :func:`parse_guidellm`, its ``benchmark``-th
    run, counting from 1)."""
    if not isinstance(text, str) or len(text) > MAX_BENCH_CHARS:
        raise CalcError("bench", f"expected the text of a vllm bench serve result (≤ {MAX_BENCH_CHARS:,} characters)")
    if text.lstrip()[:1] != "{":
        raise CalcError("bench", "not a JSON object (vllm bench serve --save-result --save-detailed writes one)")
    check_json_nesting(text, "bench")
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise CalcError("bench", f"not valid JSON: {str(exc)[:120]}") from None
    if not isinstance(data, dict):
        raise CalcError("bench", "not a JSON object")
    if "benchmarks" in data and "input_lens" not in data:
        return parse_guidellm(data, benchmark)
    ins, outs = data.get("input_lens"), data.get("output_lens")
    if not isinstance(ins, list) or not isinstance(outs, list) or not ins or len(ins) != len(outs):
        raise CalcError(
            "bench.input_lens",
            "needs input_lens and output_lens of the same length (per request): run vllm bench serve with "
            "--save-detailed, without which it drops them from the file",
        )
    lengths = []
    for p, o in zip(ins[:MAX_REPLAY], outs[:MAX_REPLAY], strict=True):
        if any(isinstance(x, bool) or not isinstance(x, int) or not 0 <= x <= 1 << 24 for x in (p, o)):
            raise CalcError("bench.input_lens", "lengths must be whole numbers of tokens")
        if o > 0:  # a request that produced nothing (an error) is left out, as the bench does
            lengths.append((max(p, 1), o))
    if not lengths:
        raise CalcError("bench.output_lens", "no request produced output")
    rate_raw = data.get("request_rate")
    rate: float | None
    if rate_raw in (None, "inf", "Infinity") or (isinstance(rate_raw, float) and math.isinf(rate_raw)):
        rate = None
    else:
        rate = _num(data, "request_rate", 1e-9)
    conc = data.get("max_concurrency")
    if conc is not None and (isinstance(conc, bool) or not isinstance(conc, int) or conc < 1):
        raise CalcError("bench.max_concurrency", "must be a whole number of clients, or null")
    model = data.get("model_id")
    return Bench(
        lengths=tuple(lengths),
        request_rate=rate,
        max_concurrency=conc,
        median_ttft_s=_num(data, "median_ttft_ms", 1e-6) / 1000,
        median_tpot_s=_num(data, "median_tpot_ms", 1e-6) / 1000,
        output_tokens_per_s=_num(data, "output_throughput", 0.0),
        model_id=model if isinstance(model, str) else "",
    )


@dataclass(frozen=True)
class Comparison:
    ttft_s: float
    tpot_s: float
    output_tokens_per_s: float

    def as_dict(self) -> dict[str, float]:
        return {
            "median_ttft_s": self.ttft_s, "median_tpot_s": self.tpot_s, "output_tokens_per_s": self.output_tokens_per_s
        }


#: the lowest efficiency a fit may return.  Our GEMM sweep reaches 77–83 % of the datasheet bandwidth
#: and 70–83 % of the dense peak (docs/data/measured/), and the defaults sit at about three quarters of
#: that (MBU 0.6, MFU 0.5); a fit under 0.15 would make every step 3–4× slower than the defaults.  A
#: measured time that needs so low an efficiency is spent outside the GPU work the step model counts:
#: vLLM's OpenAI server adds request handling, tokenisation and streaming to each TTFT (GPUStack's
#: Qwen3-8B on an H100: 59 ms measured against about 8 ms of GPU work, docs/kb/accuracy.md), and a
#: server without CUDA graphs adds launch time to each step.  Folding that into MFU or MBU would carry
#: it into every estimate the fitted value is passed to (a 32k-token prefill priced 10× too slow), so
#: the efficiency keeps its default and the gap is reported instead.
MIN_FITTED_EFFICIENCY = 0.15


@dataclass(frozen=True)
class Calibration:
    mbu: float
    mfu: float
    measured: Comparison
    before: Comparison
    after: Comparison
    #: False when the measured time needs an efficiency under MIN_FITTED_EFFICIENCY: the value is the default
    mbu_fitted: bool = True
    mfu_fitted: bool = True
    #: when MFU is not fitted: the median TTFT the default MFU leaves over, as a per-request API server
    #: time (:attr:`calculators.roofline.Efficiency.ttft_overhead_s`); 0 otherwise
    ttft_overhead_s: float = 0.0
    #: True when the fit stopped at 1.0: even at the full datasheet figure the model predicts a slower
    #: time than measured (the file does not match the server, or the server does less work)
    mbu_at_top: bool = False
    mfu_at_top: bool = False
    #: why MFU was not fitted: "insensitive" (the run's TTFT hardly depends on it) or "floor"
    mfu_skipped: str = ""
    #: the share of the measured median TTFT that MFU governs in the replay (MIN_MFU_SHARE)
    mfu_share: float = 1.0


def _replay(spec: ModelSpec, gpu: GPU, tp: int, bench: Bench, eff: roofline.Efficiency, kv_cache_dtype: str,
            weights_dtype: str, max_num_seqs: int | None, max_model_len: int | None = None) -> Comparison:
    r = simulate.simulate(
        spec, gpu, tp=tp, rate=bench.request_rate,
        concurrency=bench.max_concurrency, lengths=list(bench.lengths), requests=len(bench.lengths),
        kv_cache_dtype=kv_cache_dtype, weights_dtype=weights_dtype, eff=eff, max_num_seqs=max_num_seqs,
        max_model_len=max_model_len,
    )
    return Comparison(r.ttft_s.p50, r.tpot_s.p50, r.output_tokens_per_s)


def _bisect(target: float, measure: Any, lo: float = 0.02, hi: float = 1.0, steps: int = 14) -> tuple[float, int]:
    """The efficiency in [lo, hi] whose predicted time equals ``target`` (times fall as it rises),
    by bisection on a log scale, and where it was clamped: −1 at ``lo`` (even there the prediction
    is faster than ``target``), +1 at ``hi`` (even there it is slower), 0 inside."""
    a, b = math.log(lo), math.log(hi)
    if measure(hi) > target:
        return hi, 1
    if measure(lo) < target:
        return lo, -1
    for _ in range(steps):
        mid = (a + b) / 2
        if measure(math.exp(mid)) > target:
            a = mid
        else:
            b = mid
    return math.exp((a + b) / 2), 0


def _bisect_rising(target: float, measure: Any, hi: float, tol: float, steps: int = 14) -> float:
    """The smallest x in [0, hi] whose ``measure(x)`` (non-decreasing in x) reaches ``target`` − ``tol``,
    by bisection.  A replayed median TTFT moves in whole steps, and with closed-loop clients it can stay
    flat while x grows (x spent in the server is x less spent queueing): the smallest x that explains
    the target is the answer, 0 when x = 0 already does."""
    if measure(0.0) >= target - tol:
        return 0.0
    a, b = 0.0, hi  # measure(a) < target − tol ≤ measure(b)
    for _ in range(steps):
        mid = (a + b) / 2
        if measure(mid) < target - tol:
            a = mid
        else:
            b = mid
    return b


#: the largest API server time per request a fit may return (the most ``--ttft-overhead-ms`` takes)
MAX_TTFT_OVERHEAD_S = 60.0


#: MFU is fitted only where it can explain the measurement: the part of the replayed median TTFT that
#: MFU governs (what raising MFU by a quarter from its default takes off it, scaled to a wholly
#: compute-bound time) must be at least half the *measured* median TTFT.  A memory-bound prefill (a
#: few hundred tokens: the weights' bytes outweigh the FLOPs) takes the same time at any MFU, and a
#: TTFT that is mostly server time or queueing is not FLOPs either; folding either into MFU would
#: price every long prefill several times too slow.
MIN_MFU_SHARE = 0.5
_MFU_STEP = 1.25


def calibrate(spec: ModelSpec, gpu: GPU, tp: int, bench: Bench, kv_cache_dtype: str = "auto",
              weights_dtype: str = "auto", max_num_seqs: int | None = None, rounds: int = 2,
              max_model_len: int | None = None, enforce_eager: bool = False) -> Calibration:
    """Fit MBU to the median TPOT and MFU to the median TTFT, alternately, ``rounds`` times.
    MFU is fitted only when it governs at least half the measured median TTFT (:data:`MIN_MFU_SHARE`), and
    an efficiency that would go under :data:`MIN_FITTED_EFFICIENCY` keeps its default; when MFU is not
    fitted, the per-request API server time (:attr:`roofline.Efficiency.ttft_overhead_s`) is fitted
    instead, by bisection, so that the replayed median TTFT matches (with several clients the time
    also spaces each client's requests, so it is not simply the difference of the medians).
    ``max_num_seqs``, ``max_model_len`` and ``enforce_eager``: the server's own settings."""
    base = replace(roofline.Efficiency(), enforce_eager=enforce_eager)

    def replay(mbu: float, mfu: float, overhead: float = 0.0) -> Comparison:
        return _replay(spec, gpu, tp, bench, replace(base, mbu=mbu, mfu=mfu, ttft_overhead_s=overhead),
                       kv_cache_dtype, weights_dtype, max_num_seqs, max_model_len)

    before = replay(base.mbu, base.mfu)
    mbu, mfu, overhead = base.mbu, base.mfu, 0.0
    mbu_ok = mfu_ok = True
    mbu_top = mfu_top = False
    skipped = ""
    share = 1.0
    floor = MIN_FITTED_EFFICIENCY
    tol = 0.002 * bench.median_ttft_s  # a replay this close to the target needs no server time
    fitted_with: tuple[float, float] = (mfu, overhead)  # what the last MBU fit assumed

    def fit_server_time() -> float:  # the smallest that brings the replayed median TTFT to the measured one
        return _bisect_rising(bench.median_ttft_s, lambda x: replay(mbu, mfu, x).ttft_s,
                              min(bench.median_ttft_s, MAX_TTFT_OVERHEAD_S), tol)

    def fit_mbu() -> None:
        nonlocal mbu, mbu_ok, mbu_top, fitted_with
        mbu, clamp = _bisect(bench.median_tpot_s, lambda x: replay(x, mfu, overhead).tpot_s, lo=floor)
        mbu_top, fitted_with = clamp > 0, (mfu, overhead)
        if clamp < 0:
            mbu, mbu_ok = base.mbu, False

    for round_ in range(rounds):
        if mbu_ok:
            fit_mbu()
        if round_ == 0:  # can MFU explain this run's TTFT at all?
            up = min(1.0, base.mfu * _MFU_STEP)
            slow, fast = replay(mbu, base.mfu).ttft_s, replay(mbu, up).ttft_s
            share = (slow - fast) / ((1 - base.mfu / up) * bench.median_ttft_s) if up > base.mfu else 0.0
            if share < MIN_MFU_SHARE:
                mfu_ok, skipped = False, "insensitive"
        if mfu_ok:
            mfu, clamp = _bisect(bench.median_ttft_s, lambda x: replay(mbu, x).ttft_s, lo=floor)  # noqa: B023
            mfu_top = clamp > 0
            if clamp < 0:
                mfu, mfu_ok, skipped = base.mfu, False, "floor"
        if not mfu_ok:  # the TTFT the GPU work leaves over is the API server's
            if replay(mbu, mfu, MAX_TTFT_OVERHEAD_S).ttft_s < bench.median_ttft_s - tol:
                raise CalcError(
                    "bench", f"the median TTFT ({bench.median_ttft_s:,.1f} s) is more than a minute above what the "
                    "GPU work of these requests explains: the run queued (past the knee, or a client that could "
                    "not keep up); calibrate from a run below saturation")
            overhead = fit_server_time()
    if mbu_ok and not mfu_ok and fitted_with != (mfu, overhead):
        # MFU went back to its default, or the server time moved, after the last MBU fit: fit MBU to
        # that, then the server time to the new MBU (an MFU that was fitted alternates as before)
        fit_mbu()
        overhead = fit_server_time()
    after = replay(mbu, mfu, overhead)
    measured = Comparison(bench.median_ttft_s, bench.median_tpot_s, bench.output_tokens_per_s)
    return Calibration(mbu=mbu, mfu=mfu, measured=measured, before=before, after=after, mbu_fitted=mbu_ok,
                       mfu_fitted=mfu_ok, ttft_overhead_s=overhead, mbu_at_top=mbu_top and mbu_ok,
                       mfu_at_top=mfu_top and mfu_ok, mfu_skipped=skipped, mfu_share=share)


def _median(values: list[float]) -> float:
    s = sorted(values)
    n = len(s)
    return s[n // 2] if n % 2 else (s[n // 2 - 1] + s[n // 2]) / 2


def parse_guidellm(data: dict[str, Any], benchmark: int = 1) -> Bench:
    """One run of a GuideLLM report (vllm-project/guidellm; ``benchmarks[i]`` of the JSON it saves).

    Read per successful request (``requests.successful``; GuideLLM may keep a sample of them):
    ``prompt_tokens`` and ``output_tokens``, ``time_to_first_token_ms`` and
    ``inter_token_latency_ms`` (GuideLLM's time between tokens after the first, which is what
    vLLM's bench calls TPOT; its ``time_per_output_token_ms`` includes the first token).  These are
    fields in GuideLLM 0.2–0.3 (schemas in ``guidellm/benchmark/benchmark.py``) and computed fields
    written to the JSON since 0.4 (``GenerativeRequestStats``, guidellm/schemas/request_stats.py).
    The load: the run's strategy (``config.strategy`` since 0.4, ``args.strategy`` before): ``synchronous`` = 1 client,
    ``concurrent`` = ``streams`` clients, ``constant`` / ``poisson`` = ``rate`` requests/s (both
    replayed as Poisson arrivals), ``throughput`` = all at once.  Output tokens/s = the requests'
    output tokens ÷ the run's ``duration`` (0 when the file has none: only shown, not fitted)."""
    runs = data.get("benchmarks")
    if not isinstance(runs, list) or not runs:
        raise CalcError("bench.benchmarks", "a GuideLLM report needs a non-empty list of benchmarks")
    if isinstance(benchmark, bool) or not isinstance(benchmark, int) or not 1 <= benchmark <= len(runs):
        raise CalcError("benchmark", f"this GuideLLM report has {len(runs)} runs: choose one from 1 to {len(runs)}")
    run = runs[benchmark - 1]
    if not isinstance(run, dict):
        raise CalcError("bench.benchmarks", "each benchmark must be a JSON object")
    requests = run.get("requests")
    ok = requests.get("successful") if isinstance(requests, dict) else None
    if not isinstance(ok, list) or not ok:
        raise CalcError("bench.requests", "the run has no requests.successful list (per-request statistics)")
    lengths: list[tuple[int, int]] = []
    ttft: list[float] = []
    itl: list[float] = []
    for r in ok[:MAX_REPLAY]:
        if not isinstance(r, dict):
            raise CalcError("bench.requests", "each request must be a JSON object")
        p, o = r.get("prompt_tokens"), r.get("output_tokens")
        if any(isinstance(x, bool) or not isinstance(x, int) or not 0 <= x <= 1 << 24 for x in (p, o)):
            raise CalcError("bench.requests", "prompt_tokens and output_tokens must be whole numbers of tokens")
        assert isinstance(p, int) and isinstance(o, int)
        if o < 1:
            continue
        lengths.append((max(p, 1), o))
        for key, out in (("time_to_first_token_ms", ttft), ("inter_token_latency_ms", itl)):
            v = r.get(key)
            if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) and v > 0:
                out.append(float(v) / 1000)
    if not lengths:
        raise CalcError("bench.requests", "no successful request produced output")
    if not ttft or not itl:
        raise CalcError("bench.requests", "the requests carry no time_to_first_token_ms / inter_token_latency_ms")
    args = run.get("config") if isinstance(run.get("config"), dict) else run.get("args")
    strategy = args.get("strategy") if isinstance(args, dict) else None
    if not isinstance(strategy, dict):
        raise CalcError("bench.config", "the run names no strategy (config.strategy or args.strategy)")
    kind = strategy.get("type_")
    rate: float | None = None
    conc: int | None = None
    if kind == "synchronous":
        conc = 1
    elif kind == "concurrent":
        streams = strategy.get("streams")
        if isinstance(streams, bool) or not isinstance(streams, int) or streams < 1:
            raise CalcError("bench.config", "a concurrent strategy needs streams ≥ 1")
        conc = streams
    elif kind in ("constant", "poisson"):
        rate = _num(strategy, "rate", 1e-9)
    elif kind != "throughput":
        raise CalcError("bench.config", f"strategy {str(kind)[:30]!r} is not synchronous, concurrent, constant, "
                        "poisson or throughput")
    duration = run.get("duration")
    out_tps = 0.0
    if isinstance(duration, (int, float)) and not isinstance(duration, bool) and math.isfinite(duration) \
            and duration > 0:
        out_tps = sum(o for _, o in lengths) / duration
    model = ""
    backend = args.get("backend") if isinstance(args, dict) else None
    if isinstance(backend, dict) and isinstance(backend.get("model"), str):
        model = backend["model"]
    return Bench(lengths=tuple(lengths), request_rate=rate, max_concurrency=conc, median_ttft_s=_median(ttft),
                 median_tpot_s=_median(itl), output_tokens_per_s=out_tps, model_id=model)
