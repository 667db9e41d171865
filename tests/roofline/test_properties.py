"""Hypothesis properties of the roofline and the planner (monotonicity the physics demands)."""

from __future__ import annotations

from dataclasses import replace

from hypothesis import given, settings
from hypothesis import strategies as st

from calculators import hardware, memory, models, params, planner, roofline

DENSE = ["meta-llama/Llama-3.1-8B-Instruct", "meta-llama/Llama-3.1-70B-Instruct", "Qwen/Qwen3-14B",
         "google/gemma-2-9b-it"]
ANY = DENSE + ["mistralai/Mixtral-8x7B-Instruct-v0.1", "deepseek-ai/DeepSeek-V3", "openai/gpt-oss-120b"]
GPUS = ["h100-sxm", "h200", "a100-80gb-sxm", "l40s", "mi300x"]
WEIGHTS = ["auto", "bfloat16", "fp8", "int8", "int4"]
KV = ["auto", "fp8"]


def _spec(name: str) -> models.ModelSpec:
    return models.load_preset(name)


def _tp(spec: models.ModelSpec, i: int) -> int:
    tps = planner.tp_candidates(spec, 8)
    return tps[i % len(tps)]


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(DENSE), st.integers(1, 4096), st.integers(1, 4096), st.integers(1, 64 * 1024),
       st.sampled_from(WEIGHTS), st.sampled_from(KV), st.integers(0, 3))
def test_more_batch_never_lowers_dense_decode_intensity(name: str, b1: int, b2: int, ctx: int, wd: str, kv: str,
                                                        i: int) -> None:
    s = _spec(name)
    tp = _tp(s, i)
    lo, hi = sorted((b1, b2))
    a = roofline.decode_cost(s, tp, lo, ctx, wd, kv).arithmetic_intensity
    b = roofline.decode_cost(s, tp, hi, ctx, wd, kv).arithmetic_intensity
    assert b >= a * (1 - 1e-12)


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(ANY), st.sampled_from(GPUS), st.integers(1, 2048), st.integers(1, 32 * 1024),
       st.floats(1.0, 10.0), st.integers(0, 3))
def test_more_bandwidth_never_raises_the_bound(name: str, gpu_id: str, batch: int, ctx: int, k: float, i: int) -> None:
    s, gpu = _spec(name), hardware.get_gpu(gpu_id)
    tp = _tp(s, i)
    cost = roofline.decode_cost(s, tp, batch, ctx)
    scheme = roofline.scheme_for(s)
    faster = replace(gpu, bandwidth_bytes_per_s=gpu.bandwidth_bytes_per_s * k)
    assert (roofline.step_time(cost, faster, tp, scheme).time_s_lower_bound
            <= roofline.step_time(cost, gpu, tp, scheme).time_s_lower_bound * (1 + 1e-12))


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(ANY), st.integers(1, 1024), st.integers(1, 32 * 1024), st.sampled_from(KV))
def test_more_tp_never_raises_per_gpu_bytes(name: str, batch: int, ctx: int, kv: str) -> None:
    s = _spec(name)
    tps = planner.tp_candidates(s, 16)
    bytes_ = [roofline.decode_cost(s, t, batch, ctx, kv_cache_dtype=kv).bytes for t in tps]
    assert all(b2 <= b1 * (1 + 1e-12) for b1, b2 in zip(bytes_, bytes_[1:], strict=False))


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(ANY), st.sampled_from(GPUS), st.integers(1, 512), st.integers(1, 16 * 1024),
       st.floats(0.05, 1.0), st.floats(0.05, 1.0), st.integers(0, 3))
def test_expected_is_never_below_the_lower_bound(name: str, gpu_id: str, batch: int, ctx: int, mbu: float,
                                                 mfu: float, i: int) -> None:
    s, gpu = _spec(name), hardware.get_gpu(gpu_id)
    tp = _tp(s, i)
    st_ = roofline.decode_time(s, gpu, tp, batch, ctx, eff=roofline.Efficiency(mbu=mbu, mfu=mfu))
    assert st_.time_s_expected >= st_.time_s_lower_bound
    assert st_.bound == ("compute" if st_.compute_s > st_.memory_s else "memory")


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(ANY), st.integers(1, 1024), st.integers(1, 1024), st.integers(1, 16 * 1024))
def test_more_batch_never_shortens_a_step(name: str, b1: int, b2: int, ctx: int) -> None:
    s, gpu = _spec(name), hardware.get_gpu("h100-sxm")
    lo, hi = sorted((b1, b2))
    tp = planner.tp_candidates(s)[-1]
    assert (roofline.decode_time(s, gpu, tp, hi, ctx).time_s_lower_bound
            >= roofline.decode_time(s, gpu, tp, lo, ctx).time_s_lower_bound * (1 - 1e-12))


@given(st.integers(1, 512), st.integers(1, 8), st.floats(0, 1e6))
def test_experts_touched_bounds(experts: int, k: int, tokens: float) -> None:
    k = min(k, experts)
    t = roofline.experts_touched(experts, k, tokens)
    assert 0 <= t <= experts + 1e-9
    if tokens >= 1:
        assert t >= k - 1e-9
    assert roofline.experts_touched(experts, k, tokens + 1) >= t - 1e-9


@given(st.integers(0, 100_000), st.integers(1, 50_000), st.integers(1, 50_000),
       st.one_of(st.none(), st.integers(1, 40_000)))
def test_causal_pairs_split_into_chunks(prior: int, a: int, b: int, window: int | None) -> None:
    whole = roofline.causal_pairs(prior, a + b, window)
    assert whole == roofline.causal_pairs(prior, a, window) + roofline.causal_pairs(prior + a, b, window)


@settings(max_examples=25, deadline=None)
@given(st.integers(1, 20_000), st.integers(1, 20_000))
def test_more_users_never_need_fewer_gpus(u1: int, u2: int) -> None:
    s = _spec("meta-llama/Llama-3.1-8B-Instruct")
    gpu = hardware.get_gpu("h100-sxm")
    lo, hi = sorted((u1, u2))
    base = planner.PRESETS["chat"]
    few = planner.plan_option(s, gpu, 1, replace(base, concurrent_users=lo))
    many = planner.plan_option(s, gpu, 1, replace(base, concurrent_users=hi))
    assert few.feasible and many.feasible
    assert (many.gpus or 0) >= (few.gpus or 0)


def test_batch_one_reads_the_weights_held_less_the_embedding_table() -> None:
    # calculators.memory holds every shard; a decode step at batch 1 reads all of them except the
    # embedding table (one row gathered) and, for MoE, all but the k experts a token picks
    for name in ANY:
        s = _spec(name)
        tp = planner.tp_candidates(s)[-1]
        read = roofline.gemm_cost(s, tp, 1, 1).gemm_bytes
        held = memory.weights_memory(s, "auto", tp=tp).bytes_per_gpu
        emb = sum(g.elements for g in params.tensor_groups(s, tp) if g.kind == "embedding") * 2
        if s.moe is None:
            assert held - emb <= read <= (held - emb) * 1.01
        else:
            assert read < (held - emb) * 0.5
