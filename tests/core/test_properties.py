"""Property tests (hypothesis) over generated, valid model shapes.

KV cache grows with tokens, fp8 halves bf16, tensor parallelism never raises what one GPU holds,
sliding windows never raise the cache, int4 < fp8 < bf16 weights, and vLLM's accounting is
monotone and self-consistent (blocks, tokens, concurrency, the longest max_model_len that fits).
"""

from __future__ import annotations

import math
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from calculators import hardware, memory, models, params, vllm
from calculators.errors import CalcError
from calculators.models import ModelSpec

Config = dict[str, Any]
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

FAMILIES = ("llama", "mistral", "qwen2", "qwen3", "qwen3_moe", "mixtral", "gemma2", "gemma3_text", "deepseek_v3",
            "gpt_oss", "phi3", "some_new_model")


@st.composite
def configs(draw: st.DrawFn, family: str | None = None, windows: bool | None = None) -> Config:
    """A valid Hugging Face config of a drawn family with small-to-real shapes."""
    fam = family or draw(st.sampled_from(FAMILIES))
    kv = draw(st.sampled_from([1, 2, 4, 8]))
    heads = kv * draw(st.sampled_from([1, 2, 4, 8]))
    head_dim = draw(st.sampled_from([32, 64, 128, 256]))
    hidden = 64 * draw(st.integers(2, 96))
    layers = draw(st.integers(1, 40))
    cfg: Config = {
        "model_type": fam,
        "hidden_size": hidden,
        "num_hidden_layers": layers,
        "num_attention_heads": heads,
        "num_key_value_heads": kv,
        "intermediate_size": 64 * draw(st.integers(1, 300)),
        "vocab_size": draw(st.integers(1000, 260_000)),
        "max_position_embeddings": draw(st.sampled_from([2048, 4096, 8192, 32768, 131072])),
        "torch_dtype": "bfloat16",
        "tie_word_embeddings": draw(st.booleans()),
    }
    if fam in ("phi3",):
        cfg["num_attention_heads"] = heads = kv * 2
        cfg["hidden_size"] = heads * head_dim
    else:
        cfg["head_dim"] = head_dim
    use_windows = draw(st.booleans()) if windows is None else windows
    window = draw(st.sampled_from([128, 512, 1024, 4096]))
    if fam in ("qwen3_moe", "mixtral", "gpt_oss"):
        experts = draw(st.integers(2, 64))
        cfg["num_experts_per_tok"] = draw(st.integers(1, min(8, experts)))
        if fam == "qwen3_moe":
            cfg.update(num_experts=experts, moe_intermediate_size=64 * draw(st.integers(1, 30)),
                       decoder_sparse_step=draw(st.integers(1, 3)))
        else:
            cfg["num_local_experts"] = experts
    if fam == "deepseek_v3":
        cfg.pop("head_dim")
        cfg.update(kv_lora_rank=draw(st.sampled_from([64, 128, 512])), qk_rope_head_dim=64,
                   qk_nope_head_dim=128, v_head_dim=128,
                   q_lora_rank=draw(st.sampled_from([None, 256, 1536])),
                   n_routed_experts=draw(st.integers(2, 64)), n_shared_experts=draw(st.integers(0, 2)),
                   moe_intermediate_size=64 * draw(st.integers(1, 30)),
                   first_k_dense_replace=draw(st.integers(0, layers)), topk_method="noaux_tc")
        cfg["num_experts_per_tok"] = draw(st.integers(1, min(8, cfg["n_routed_experts"])))
        cfg["num_key_value_heads"] = cfg["num_attention_heads"]
    elif use_windows:
        cfg["sliding_window"] = window
        if fam in ("gpt_oss", "gemma3_text") or draw(st.booleans()) and fam not in ("qwen2", "qwen3", "qwen3_moe"):
            cfg["layer_types"] = [draw(st.sampled_from(["sliding_attention", "full_attention"])) for _ in range(layers)]
    return cfg


def spec_of(cfg: Config) -> ModelSpec:
    # "some_new_model" is no architecture we know: computed only as a requested Llama-like estimate
    return models.spec_from_config(cfg, "generated/model", assume_llama_like=cfg.get("model_type") == "some_new_model")


def valid_tps(s: ModelSpec) -> list[int]:
    out = []
    for tp in (1, 2, 4, 8, 16, 32, 64):
        try:
            params.check_tp(s, tp)
        except CalcError:
            continue
        out.append(tp)
    return out


def without_windows(cfg: Config) -> Config:
    """The same model with every layer full attention (``layer_types`` is read by every family)."""
    return {**cfg, "layer_types": ["full_attention"] * cfg["num_hidden_layers"]}


KV_16 = ("auto", "bfloat16", "float16")
KV_8 = ("fp8", "fp8_e4m3", "fp8_e5m2")


# ---------------------------------------------------------------- KV cache


@SETTINGS
@given(configs(), st.integers(0, 1 << 20), st.integers(0, 1 << 20), st.sampled_from(KV_16 + KV_8))
def test_kv_grows_with_tokens(cfg: Config, a: int, b: int, kvd: str) -> None:
    s = spec_of(cfg)
    lo, hi = sorted((a, b))
    for tp in valid_tps(s)[:3]:
        small = memory.kv_bytes_per_sequence(s, lo, kvd, tp)
        large = memory.kv_bytes_per_sequence(s, hi, kvd, tp)
        assert 0 <= small <= large
        assert large <= hi * memory.kv_bytes_per_token(s, kvd, tp)
    assert memory.kv_bytes_per_sequence(s, 0, kvd) == 0


@SETTINGS
@given(configs(), st.integers(0, 1 << 20), st.sampled_from(KV_8), st.sampled_from(KV_16))
def test_fp8_kv_is_half_of_bf16(cfg: Config, tokens: int, fp8: str, half: str) -> None:
    s = spec_of(cfg)
    for tp in valid_tps(s):
        assert 2 * memory.kv_bytes_per_token(s, fp8, tp) == memory.kv_bytes_per_token(s, half, tp)
        assert 2 * memory.kv_bytes_per_sequence(s, tokens, fp8, tp) == memory.kv_bytes_per_sequence(s, tokens, half, tp)


@SETTINGS
@given(configs(), st.integers(1, 1 << 20), st.sampled_from(KV_16 + KV_8))
def test_more_tp_never_raises_kv_per_gpu(cfg: Config, tokens: int, kvd: str) -> None:
    s = spec_of(cfg)
    tps = valid_tps(s)
    seq = [memory.kv_bytes_per_sequence(s, tokens, kvd, tp) for tp in tps]
    tok = [memory.kv_bytes_per_token(s, kvd, tp) for tp in tps]
    assert seq == sorted(seq, reverse=True)
    assert tok == sorted(tok, reverse=True)
    if s.mla is not None:
        assert len(set(tok)) == 1  # one latent per token, whole on every GPU


@SETTINGS
@given(configs(windows=True), st.integers(0, 1 << 20), st.sampled_from(KV_16 + KV_8))
def test_windows_never_raise_kv(cfg: Config, tokens: int, kvd: str) -> None:
    windowed, full = spec_of(cfg), spec_of(without_windows(cfg))
    assert not full.has_sliding_window
    for tp in valid_tps(full)[:3]:
        with_w = memory.kv_bytes_per_sequence(windowed, tokens, kvd, tp)
        assert with_w <= memory.kv_bytes_per_sequence(full, tokens, kvd, tp)
        # every attention layer counted for every token: windows do not change the per-token figure
        assert memory.kv_bytes_per_token(windowed, kvd, tp) == memory.kv_bytes_per_token(full, kvd, tp)


# ---------------------------------------------------------------- weights


@SETTINGS
@given(configs(), st.sampled_from(["auto", "float32", "bfloat16", "fp8", "int8", "int4"]))
def test_more_tp_never_raises_weights_per_gpu(cfg: Config, weights_dtype: str) -> None:
    s = spec_of(cfg)
    per_gpu = [memory.weights_memory(s, weights_dtype, tp=tp).bytes_per_gpu for tp in valid_tps(s)]
    assert per_gpu == sorted(per_gpu, reverse=True)
    # one GPU holds everything, plus vLLM's padding of the vocabulary to a multiple of 64
    assert per_gpu[0] >= memory.weights_memory(s, weights_dtype).bytes_total


@SETTINGS
@given(configs())
def test_int4_below_fp8_below_bf16(cfg: Config) -> None:
    s = spec_of(cfg)
    tp = valid_tps(s)[-1] if len(valid_tps(s)) > 1 else 1
    for t in (1, tp):
        w = {d: memory.weights_memory(s, d, tp=t) for d in ("int4", "fp8", "bfloat16", "float32")}
        b = {d: m.bytes_per_gpu for d, m in w.items()}
        assert b["int4"] < b["fp8"] < b["bfloat16"] < b["float32"]
    totals = {d: memory.weights_memory(s, d).bytes_total for d in ("int4", "fp8", "bfloat16")}
    assert totals["int4"] < totals["fp8"] < totals["bfloat16"]
    assert memory.weights_memory(s, "auto").bytes_total == totals["bfloat16"]


@SETTINGS
@given(configs())
def test_active_never_exceeds_total(cfg: Config) -> None:
    c = params.count_params(spec_of(cfg))
    assert 0 < c.active <= c.total
    assert c.embedding <= c.total


# ---------------------------------------------------------------- vLLM accounting

GPU80 = hardware.custom_gpu(80.0)


def fit(s: ModelSpec, **kw: Any) -> vllm.VLLMFit:
    return vllm.fit(s, kw.pop("gpu", GPU80), **kw)


@SETTINGS
@given(configs(), st.floats(0.05, 1.0), st.floats(0.05, 1.0),
       st.sampled_from(["h100-sxm", "a100-80gb-sxm", "h200", "l4"]))
def test_more_utilization_never_lowers_blocks(cfg: Config, u1: float, u2: float, gpu_id: str) -> None:
    s = spec_of(cfg)
    gpu = hardware.get_gpu(gpu_id)
    lo, hi = sorted((u1, u2))
    tp = valid_tps(s)[min(2, len(valid_tps(s)) - 1)]
    a = fit(s, gpu=gpu, tp=tp, gpu_memory_utilization=lo, max_model_len=8192)
    b = fit(s, gpu=gpu, tp=tp, gpu_memory_utilization=hi, max_model_len=8192)
    assert a.available_kv_cache_bytes <= b.available_kv_cache_bytes
    assert a.num_gpu_blocks <= b.num_gpu_blocks
    assert a.kv_cache_tokens <= b.kv_cache_tokens
    assert a.estimated_max_model_len <= b.estimated_max_model_len
    assert not a.fits or b.fits


@SETTINGS
@given(configs(), st.floats(0, 200), st.floats(0, 200), st.integers(1, 1 << 18))
def test_more_measured_memory_never_lowers_tokens(cfg: Config, g1: float, g2: float, max_len: int) -> None:
    s = spec_of(cfg)
    lo, hi = sorted((g1, g2))
    a = fit(s, available_kv_cache_gib=lo, max_model_len=max_len)
    b = fit(s, available_kv_cache_gib=hi, max_model_len=max_len)
    assert a.num_gpu_blocks <= b.num_gpu_blocks
    assert a.kv_cache_tokens <= b.kv_cache_tokens
    assert a.max_concurrency <= b.max_concurrency
    assert a.estimated_max_model_len <= b.estimated_max_model_len


@SETTINGS
@given(configs(), st.floats(0.01, 100), st.integers(1, 1 << 20), st.sampled_from([None, 16, 32, 64]),
       st.sampled_from(["auto", "fp8"]))
def test_estimated_max_model_len_is_the_longest_that_fits(cfg: Config, gib: float, max_len: int, bs: int | None,
                                                          kvd: str) -> None:
    s = spec_of(cfg)
    f = fit(s, available_kv_cache_gib=gib, max_model_len=max_len, block_size=bs, kv_cache_dtype=kvd)
    est = f.estimated_max_model_len
    assert 0 <= est <= max_len
    # vLLM also refuses a max_model_len above what it derives from the config
    assert f.fits == (est == max_len and max_len <= s.max_len)
    if 0 < est <= s.max_len:
        at = fit(s, available_kv_cache_gib=gib, max_model_len=est, block_size=bs, kv_cache_dtype=kvd)
        assert at.fits and at.kv_cache_needed_bytes <= at.available_kv_cache_bytes
    if est < max_len:
        over = fit(s, available_kv_cache_gib=gib, max_model_len=est + 1, block_size=bs, kv_cache_dtype=kvd)
        assert not over.fits and over.kv_cache_needed_bytes > over.available_kv_cache_bytes


@SETTINGS
@given(configs(), st.floats(0, 100), st.integers(1, 1 << 20), st.sampled_from([None, 16, 128]))
def test_concurrency_consistent_with_blocks(cfg: Config, gib: float, max_len: int, bs: int | None) -> None:
    s = spec_of(cfg)
    f = fit(s, available_kv_cache_gib=gib, max_model_len=max_len, block_size=bs)
    assert f.num_gpu_blocks == max(0, f.available_kv_cache_bytes // (f.page_size_bytes * f.group_size))
    assert f.page_size_bytes == f.block_size * memory.kv_bytes_per_token_per_layer(s)
    assert f.kv_cache_tokens == int(f.max_concurrency * f.max_model_len)
    if not s.has_sliding_window:
        blocks_per_request = math.ceil(max_len / f.block_size)
        assert f.max_concurrency == f.num_gpu_blocks / blocks_per_request
        assert f.kv_cache_needed_bytes == blocks_per_request * f.page_size_bytes * s.num_layers
    assert f.fits == (f.max_concurrency >= 1 and f.max_model_len <= s.max_len)
    assert f.fits == (f.kv_cache_needed_bytes <= f.available_kv_cache_bytes and f.max_model_len <= s.max_len)
