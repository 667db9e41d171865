"""Numpy oracle: run the real matmuls of small models and count 2·m·k·n for every product executed.

Three tiny configs: a Llama-like GQA model (under TP2, shapes sharded by hand as vLLM does), a
Mixtral-like MoE (router, top-k experts) and a DeepSeek-V3-like model (MLA in the absorbed decode
form and the unabsorbed prefill form, shared expert, dense first layer).  The FLOPs counted here
must equal :func:`calculators.roofline.decode_cost` / :func:`prefill_chunk_cost` exactly.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from calculators import models, roofline
from calculators.models import ModelSpec

RNG = np.random.default_rng(0)

LLAMA = {"model_type": "llama", "hidden_size": 64, "num_hidden_layers": 3, "num_attention_heads": 8,
         "num_key_value_heads": 2, "head_dim": 8, "intermediate_size": 96, "vocab_size": 256,
         "max_position_embeddings": 512, "torch_dtype": "bfloat16"}
MIXTRAL = {"model_type": "mixtral", "hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 4,
           "num_key_value_heads": 2, "head_dim": 8, "intermediate_size": 48, "num_local_experts": 8,
           "num_experts_per_tok": 2, "vocab_size": 128, "max_position_embeddings": 512, "torch_dtype": "bfloat16"}
DSV3 = {"model_type": "deepseek_v3", "hidden_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4,
        "num_key_value_heads": 4, "intermediate_size": 96, "moe_intermediate_size": 16, "n_routed_experts": 8,
        "num_experts_per_tok": 2, "n_shared_experts": 1, "first_k_dense_replace": 1, "kv_lora_rank": 16,
        "q_lora_rank": 24, "qk_nope_head_dim": 8, "qk_rope_head_dim": 4, "v_head_dim": 8, "vocab_size": 128,
        "max_position_embeddings": 512, "torch_dtype": "bfloat16", "topk_method": "noaux_tc"}


class Counter:
    """Executes matmuls and adds 2·m·k·n per product."""

    def __init__(self) -> None:
        self.flops = 0

    def mm(self, a: Any, b: Any) -> Any:
        m, k = a.shape
        k2, n = b.shape
        assert k == k2
        self.flops += 2 * m * k * n
        return a @ b


def w(rows: int, cols: int) -> Any:
    return RNG.standard_normal((rows, cols)).astype(np.float32) * 0.1


def _attention_rows(c: Counter, q: Any, k: Any, v: Any, prior: int) -> Any:
    """Causal attention of len(q) new queries after ``prior`` cached keys: query i sees prior + i + 1 keys."""
    out = []
    for i in range(q.shape[0]):
        n = prior + i + 1
        s = c.mm(q[i:i + 1], k[:n].T)
        p = np.exp(s - s.max())
        out.append(c.mm(p / p.sum(), v[:n]))
    return np.vstack(out)


def _mlp(c: Counter, x: Any, inter: int, h: int) -> Any:
    g, u = c.mm(x, w(h, inter)), c.mm(x, w(h, inter))
    return c.mm(g * u, w(inter, h))


def _moe(c: Counter, x: Any, experts: int, k: int, inter: int, h: int) -> tuple[Any, int]:
    logits = c.mm(x, w(h, experts))
    top = np.argsort(-logits, axis=1)[:, :k]
    out = np.zeros_like(x)
    touched = 0
    for e in range(experts):
        rows = np.nonzero((top == e).any(axis=1))[0]
        if len(rows):
            touched += 1
            out[rows] += _mlp(c, x[rows], inter, h)
    return out, touched


def gqa_forward(cfg: dict[str, Any], tp: int, seqs: int, prior: int, new: int, experts: bool = False) -> int:
    """FLOPs of one step on one GPU of a TP group: ``seqs`` sequences each adding ``new`` tokens."""
    h, hd = cfg["hidden_size"], cfg["head_dim"]
    hq, hkv = cfg["num_attention_heads"] // tp, max(1, cfg["num_key_value_heads"] // tp)
    inter = cfg["intermediate_size"] // tp
    c = Counter()
    for _ in range(cfg["num_hidden_layers"]):
        for _s in range(seqs):
            x = RNG.standard_normal((new, h)).astype(np.float32)
            q = c.mm(x, w(h, hq * hd)).reshape(new, hq, hd)
            kn = c.mm(x, w(h, hkv * hd)).reshape(new, hkv, hd)
            vn = c.mm(x, w(h, hkv * hd)).reshape(new, hkv, hd)
            kc = np.concatenate([RNG.standard_normal((prior, hkv, hd)).astype(np.float32), kn])
            vc = np.concatenate([RNG.standard_normal((prior, hkv, hd)).astype(np.float32), vn])
            heads = [_attention_rows(c, q[:, j], kc[:, j * hkv // hq], vc[:, j * hkv // hq], prior) for j in range(hq)]
            o = c.mm(np.hstack(heads), w(hq * hd, h))
            if experts:
                _moe(c, o, cfg["num_local_experts"], cfg["num_experts_per_tok"], inter, h)
            else:
                _mlp(c, o, inter, h)
    c.mm(RNG.standard_normal((seqs, h)).astype(np.float32), w(h, cfg["vocab_size"] // tp))  # lm_head: last tokens
    return c.flops


def spec(cfg: dict[str, Any]) -> ModelSpec:
    return models.spec_from_config(cfg, "tiny")


@pytest.mark.parametrize("tp", [1, 2, 4])
@pytest.mark.parametrize("batch,context", [(1, 1), (3, 17), (5, 40)])
def test_llama_decode_flops(tp: int, batch: int, context: int) -> None:
    counted = gqa_forward(LLAMA, tp, batch, context - 1, 1)
    assert roofline.decode_cost(spec(LLAMA), tp, batch, context).flops == counted


@pytest.mark.parametrize("tp", [1, 2])
@pytest.mark.parametrize("prior,new", [(0, 12), (20, 7)])
def test_llama_prefill_flops(tp: int, prior: int, new: int) -> None:
    counted = gqa_forward(LLAMA, tp, 1, prior, new)
    assert roofline.prefill_chunk_cost(spec(LLAMA), tp, new, prior).flops == counted


def test_chunked_prefill_adds_up_to_the_whole_prompt() -> None:
    s = spec(LLAMA)
    whole = roofline.prefill_chunk_cost(s, 1, 30, 0).attention_flops
    chunks = sum(roofline.prefill_chunk_cost(s, 1, 10, p).attention_flops for p in (0, 10, 20))
    assert whole == chunks


@pytest.mark.parametrize("batch", [1, 4])
def test_moe_decode_flops(batch: int) -> None:
    # top-k routing: every token runs exactly k experts, whichever they are
    counted = gqa_forward(MIXTRAL, 1, batch, 9, 1, experts=True)
    assert roofline.decode_cost(spec(MIXTRAL), 1, batch, 10).flops == pytest.approx(counted, rel=1e-12)


@pytest.mark.parametrize("tokens", [1, 2, 4, 16])
def test_expected_distinct_experts_matches_random_routing(tokens: int) -> None:
    experts, k = 8, 2
    counts = []
    for _ in range(4000):
        logits = RNG.standard_normal((tokens, experts))
        top = np.argsort(-logits, axis=1)[:, :k]
        counts.append(len(np.unique(top)))
    assert roofline.experts_touched(experts, k, tokens) == pytest.approx(float(np.mean(counts)), abs=0.08)


def mla_forward(cfg: dict[str, Any], seqs: int, prior: int, new: int) -> int:
    """One step of the tiny DeepSeek-V3 on one GPU: absorbed MLA when new == 1, unabsorbed otherwise."""
    h, hq = cfg["hidden_size"], cfg["num_attention_heads"]
    lr, rr, nope, vd = cfg["kv_lora_rank"], cfg["qk_rope_head_dim"], cfg["qk_nope_head_dim"], cfg["v_head_dim"]
    c = Counter()
    for layer in range(cfg["num_hidden_layers"]):
        w_uk = [w(nope, lr) for _ in range(hq)]
        w_uv = [w(lr, vd) for _ in range(hq)]
        for _s in range(seqs):
            x = RNG.standard_normal((new, h)).astype(np.float32)
            q = c.mm(c.mm(x, w(h, cfg["q_lora_rank"])), w(cfg["q_lora_rank"], hq * (nope + rr)))
            q = q.reshape(new, hq, nope + rr)
            latent_new = c.mm(x, w(h, lr + rr))
            latent = np.concatenate([RNG.standard_normal((prior, lr + rr)).astype(np.float32), latent_new])
            outs = []
            if new == 1:  # absorbed: q_nope·W_UK, scores and values over the cached latent, then W_UV
                for j in range(hq):
                    q_lat = c.mm(q[:, j, :nope], w_uk[j])
                    qf = np.hstack([q_lat, q[:, j, nope:]])
                    o_lat = _attention_rows(c, qf, latent, latent[:, :lr], prior)
                    outs.append(c.mm(o_lat, w_uv[j]))
            else:  # unabsorbed: up-project every token's latent to per-head K and V
                kv = c.mm(latent[:, :lr], w(lr, hq * (nope + vd))).reshape(prior + new, hq, nope + vd)
                for j in range(hq):
                    k = np.hstack([kv[:, j, :nope], latent[:, lr:]])
                    outs.append(_attention_rows(c, q[:, j], k, kv[:, j, nope:], prior))
            o = c.mm(np.hstack(outs), w(hq * vd, h))
            if layer < cfg["first_k_dense_replace"]:
                _mlp(c, o, cfg["intermediate_size"], h)
            else:
                _moe(c, o, cfg["n_routed_experts"], cfg["num_experts_per_tok"], cfg["moe_intermediate_size"], h)
                _mlp(c, o, cfg["moe_intermediate_size"] * cfg["n_shared_experts"], h)
    c.mm(RNG.standard_normal((seqs, h)).astype(np.float32), w(h, cfg["vocab_size"]))
    return c.flops


@pytest.mark.parametrize("batch,context", [(1, 1), (2, 33)])
def test_mla_absorbed_decode_flops(batch: int, context: int) -> None:
    counted = mla_forward(DSV3, batch, context - 1, 1)
    assert roofline.decode_cost(spec(DSV3), 1, batch, context).flops == pytest.approx(counted, rel=1e-12)


@pytest.mark.parametrize("prior,new", [(0, 9), (6, 5)])
def test_mla_prefill_flops(prior: int, new: int) -> None:
    counted = mla_forward(DSV3, 1, prior, new)
    assert roofline.prefill_chunk_cost(spec(DSV3), 1, new, prior).flops == pytest.approx(counted, rel=1e-12)


def test_mla_absorbed_intensity_is_about_twice_the_heads() -> None:
    # DeepSeek-V3: 128 heads share one 576-wide latent; absorbed decode attention does
    # 2·h·(512 + 64) + 2·h·512 FLOPs per cached token per layer for 576 × 2 bytes read:
    # h · 2176 / 1152 ≈ 1.9 · h FLOPs/byte in bf16 (242 at TP1), against 1 for GQA's ~group size.
    s = models.load_preset("deepseek-ai/DeepSeek-V3")
    a = roofline.attention_cost(s, 1, 1, 100_000, 1, "bfloat16")
    assert a.attention_flops / a.attention_bytes == pytest.approx(128 * 2176 / 1152, rel=0.01)
