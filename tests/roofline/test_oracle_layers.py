"""Numpy oracles for the layer kinds the step model learned last: chunked local attention (Llama 4),
DeepSeek sparse attention (top-k keys chosen by an indexer) and the state-space / linear-attention
mixers (Mamba2, Gated DeltaNet, Mamba-1).

Each oracle runs the layer's arithmetic on small random arrays, or builds its attention mask, and
counts what it executed: (query, key) pairs from the mask's nonzero entries, FLOPs of the decode
recurrence operation by operation, state bytes from the arrays' ``nbytes``.  The roofline's
:func:`calculators.roofline.attention_cost` must agree exactly on the real bundled configs' shapes.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from calculators import hardware, models, roofline

RNG = np.random.default_rng(7)


def mask_pairs(prior: int, new: int, allowed: Any) -> int:
    """Nonzero entries of the causal mask rows prior … prior + new − 1 (0-based query positions), where
    ``allowed(q, k)`` says whether query position q may see key position k ≤ q."""
    n = prior + new
    q = np.arange(n)[:, None]
    k = np.arange(n)[None, :]
    mask = (k <= q) & allowed(q, k)
    return int(mask[prior:].sum())


@pytest.mark.parametrize("prior,new,chunk", [(0, 1, 4), (0, 9, 4), (3, 6, 4), (7, 1, 4), (8, 1, 4), (13, 22, 5)])
def test_chunked_pairs_match_the_chunked_mask(prior: int, new: int, chunk: int) -> None:
    """Llama 4's chunked attention: a query sees the keys of its own chunk (floor(k/C) == floor(q/C))."""
    counted = mask_pairs(prior, new, lambda q, k: (k // chunk) == (q // chunk))
    assert roofline.chunked_pairs(prior, new, chunk) == counted


@pytest.mark.parametrize("prior,new,topk", [(0, 1, 4), (2, 1, 4), (9, 1, 4), (0, 12, 5), (6, 9, 5)])
def test_sparse_attention_pairs_are_at_most_topk_per_query(prior: int, new: int, topk: int) -> None:
    """DeepSeek sparse attention: each query attends to its top-k keys (all of them when it has fewer):
    the oracle picks them by random indexer scores and counts the picks."""
    counted = 0
    for qpos in range(prior, prior + new):
        scores = RNG.standard_normal(qpos + 1)
        counted += len(np.argsort(scores)[-topk:])
    assert roofline.causal_pairs(prior, new, topk) == counted


def test_llama4_chunked_layers_are_timed_on_their_chunk() -> None:
    """Llama 4 Scout (bundled): at a context past one chunk, the chunked layers' attention FLOPs and
    KV reads are those of the current chunk only; the NoPE layers see everything."""
    spec = models.load_preset("unsloth/Llama-4-Scout-17B-16E-Instruct-unsloth")
    chunk = 8192
    prior = 3 * chunk + 100  # 100 tokens into the fourth chunk
    a = roofline.attention_cost(spec, 1, 1, prior, 1)
    full_layers = sum(1 for c in spec.layer_chunks if c is None)
    chunked_layers = spec.num_layers - full_layers
    h, hd = spec.num_attention_heads, spec.head_dim
    per_token = 2 * spec.num_kv_heads * hd * 2  # bf16 K and V
    flops = 4 * h * hd * (full_layers * (prior + 1) + chunked_layers * 101)
    moved = (full_layers * (prior + 1) + chunked_layers * 101) * per_token + spec.num_layers * 2 * h * hd * 2
    assert a.attention_flops == flops
    assert a.attention_bytes == moved


def _dsa_decode_oracle(spec: models.ModelSpec, prior: int) -> tuple[int, int]:
    """(FLOPs, bytes) of one DeepSeek-sparse-attention decode in one layer, by the arithmetic
    (DeepSeek-V3.2-Exp report §2.1): indexer scores q_I · k_I for every cached key per index head;
    absorbed MLA (MQA mode) over the chosen latents: scores (rank + rope) and values (rank) per head."""
    idx, m = spec.indexer, spec.mla
    assert idx is not None and m is not None
    keys = prior + 1  # the new token's own key included
    chosen = min(keys, idx.topk)
    h = spec.num_attention_heads
    flops = 2 * idx.n_heads * idx.head_dim * keys  # indexer
    flops += 2 * h * chosen * (m.kv_lora_rank + m.qk_rope_head_dim) + 2 * h * chosen * m.kv_lora_rank
    latent = m.kv_lora_rank + m.qk_rope_head_dim  # 16-bit cache
    index_key = idx.head_dim + 4  # fp8 key + fp32 scale
    read = min(prior, idx.topk) * latent * 2 + prior * index_key
    written = latent * 2 + index_key
    q_and_out = 2 * h * latent * 2
    return flops, read + written + q_and_out


@pytest.mark.parametrize("prior", [100, 2047, 2048, 50_000])
def test_deepseek_sparse_attention_decode(prior: int) -> None:
    spec = models.load_preset("zai-org/GLM-5.1")
    flops, moved = _dsa_decode_oracle(spec, prior)
    a = roofline.attention_cost(spec, 1, 1, prior, 1)
    layers = len(spec.attention_layers)
    assert a.attention_flops == layers * flops
    assert a.attention_bytes == layers * moved


def test_sparse_attention_caps_decode_reads_at_topk() -> None:
    """Past top-k tokens of context, a DSA decode's latent reads stop growing; only the indexer's
    small keys grow (a dense MLA model's reads would keep growing with the whole latent)."""
    spec = models.load_preset("zai-org/GLM-5.1")
    idx = spec.indexer
    assert idx is not None
    a = roofline.attention_cost(spec, 1, 1, 10_000, 1).attention_bytes
    b = roofline.attention_cost(spec, 1, 1, 20_000, 1).attention_bytes
    assert b - a == len(spec.attention_layers) * 10_000 * (idx.head_dim + 4)


def _mamba2_decode(h: int, p: int, n: int, groups: int) -> tuple[int, Any]:
    """One Mamba2 decode step (vLLM's selective_state_update) on random arrays; returns (FLOPs, state)."""
    flops = 0
    state = RNG.standard_normal((h, p, n)).astype(np.float32)
    x = RNG.standard_normal((h, p)).astype(np.float32)
    dt = np.abs(RNG.standard_normal(h)).astype(np.float32)
    a = -np.abs(RNG.standard_normal(h)).astype(np.float32)
    b = RNG.standard_normal((groups, n)).astype(np.float32)
    c = RNG.standard_normal((groups, n)).astype(np.float32)
    per_group = h // groups
    decay = np.exp(dt * a)[:, None, None]
    state = state * decay
    flops += state.size  # decay
    bx = (dt[:, None] * x)[:, :, None] * np.repeat(b, per_group, axis=0)[:, None, :]
    flops += state.size  # dt·x ⊗ B (the dt·x products are per (h, p): not counted against h·p·n)
    state = state + bx
    flops += state.size
    y = np.einsum("hpn,hn->hp", state, np.repeat(c, per_group, axis=0))
    flops += 2 * state.size  # C · state: a multiply and an add per state element
    assert y.shape == (h, p)
    return flops, state


@pytest.mark.parametrize("tp", [1, 2])
def test_mamba2_decode_flops_and_state_traffic(tp: int) -> None:
    """Nemotron-3 Nano (bundled): each Mamba2 layer's decode reads and writes its whole state
    (conv state in bf16, recurrent state in float32 here) and does 5 FLOPs per state element."""
    spec = models.load_preset("nvidia/NVIDIA-Nemotron-3-Nano-30B-A3B-BF16")
    s = spec.ssm
    assert s is not None and s.kind == "mamba2" and s.ssm_dtype == "float32"
    h = s.num_heads // tp
    groups = s.n_groups // tp
    flops, state = _mamba2_decode(h, s.head_dim, s.state_size, groups)
    conv_dim = (s.num_heads * s.head_dim + 2 * s.n_groups * s.state_size) // tp
    conv_state = np.zeros((s.conv_kernel - 1, conv_dim), dtype=np.float16)  # 2-byte stand-in for bf16
    state_bytes = state.nbytes + conv_state.nbytes
    batch, prior = 3, 500
    a = roofline.attention_cost(spec, tp, batch, prior, 1)
    attention = a.attention_flops - len(spec.ssm_layers) * batch * flops
    # what is left is the attention layers' work alone: 4 · heads · head_dim · (prior + 1) per layer
    heads = spec.num_attention_heads // tp
    assert attention == len(spec.attention_layers) * batch * 4 * heads * spec.head_dim * (prior + 1)
    kv_per_token = 2 * (spec.num_kv_heads // tp) * spec.head_dim * 2
    attention_bytes = len(spec.attention_layers) * batch * ((prior + 1) * kv_per_token + 2 * heads * spec.head_dim * 2)
    assert a.attention_bytes == attention_bytes + len(spec.ssm_layers) * batch * 2 * state_bytes


def test_gated_deltanet_decode_flops() -> None:
    """Qwen3-Next (bundled): the gated delta rule per value head, state S (key dim × value dim):
    decay, S·k, the rank-1 correction β(v − S·k) ⊗ k, and the output S·q: 6 FLOPs per state element
    (2 for S·k, 2 for the update, 2 for S·q; the decay's multiply folds into the update here)."""
    spec = models.load_preset("Qwen/Qwen3-Next-80B-A3B-Instruct")
    s = spec.ssm
    assert s is not None and s.kind == "gdn"
    dk, dv, heads = s.state_size, s.head_dim, s.num_heads
    flops = 0
    state = RNG.standard_normal((heads, dk, dv)).astype(np.float32)
    k = RNG.standard_normal((heads, dk)).astype(np.float32)
    q = RNG.standard_normal((heads, dk)).astype(np.float32)
    v = RNG.standard_normal((heads, dv)).astype(np.float32)
    g = np.exp(-np.abs(RNG.standard_normal(heads))).astype(np.float32)
    beta = RNG.random(heads).astype(np.float32)
    state = state * g[:, None, None]  # decay: fused with the update below in the kernels
    sk = np.einsum("hkv,hk->hv", state, k)
    flops += 2 * state.size
    state = state + np.einsum("hk,hv->hkv", k, beta[:, None] * (v - sk))
    flops += 2 * state.size
    o = np.einsum("hkv,hk->hv", state, q)
    flops += 2 * state.size
    assert o.shape == (heads, dv)
    total = roofline.attention_cost(spec, 1, 1, 0, 1).attention_flops
    heads_a, hd = spec.num_attention_heads, spec.head_dim
    attention = len(spec.attention_layers) * 4 * heads_a * hd * 1
    assert total - attention == len(spec.ssm_layers) * flops


def test_ssm_prefill_costs_more_per_token_than_decode_and_state_is_read_once() -> None:
    """A prefill chunk reads and writes each sequence's state once, whatever its length."""
    spec = models.load_preset("nvidia/NVIDIA-Nemotron-3-Nano-30B-A3B-BF16")
    one = roofline.ssm_mixer_cost(spec, 1, 1, 1)
    chunk = roofline.ssm_mixer_cost(spec, 1, 1, 512)
    assert one[1] == chunk[1] > 0
    assert chunk[0] > 512 * one[0]


def test_hybrids_get_a_step_time() -> None:
    """The roofline answers for every bundled hybrid and sparse-attention model (it refused them
    before): a lower bound under the expected time."""
    for model in ("nvidia/NVIDIA-Nemotron-3-Nano-30B-A3B-BF16", "Qwen/Qwen3-Next-80B-A3B-Instruct",
                  "ai21labs/Jamba-v0.1", "zai-org/GLM-5.1", "unsloth/Llama-4-Scout-17B-16E-Instruct-unsloth"):
        spec = models.load_preset(model)
        cost = roofline.decode_cost(spec, 8, 4, 4096)
        t = roofline.step_time(cost, hardware.get_gpu("h200"), 8, roofline.scheme_for(spec, "fp8"))
        assert 0 < t.time_s_lower_bound < t.time_s_expected, model
