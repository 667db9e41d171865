"""KV cache bytes per token against published per-layer element counts (tests/data/models.toml)."""

from __future__ import annotations

from typing import Any

import pytest

from calculators import memory, models
from tests.core.conftest import load_toml

REFS = [m for m in load_toml("models.toml")["model"] if "kv_bytes_per_token_bf16" in m]
PRESET = {"deepseek-ai/DeepSeek-V2-Lite": "deepseek-ai/DeepSeek-V2-Lite-Chat"}


@pytest.mark.parametrize("ref", REFS, ids=[m["id"] for m in REFS])
def test_mla_bytes_per_token(ref: dict[str, Any]) -> None:
    preset = PRESET.get(ref["id"], ref["id"])
    if preset not in models.preset_ids():
        pytest.skip(f"no bundled config for {ref['id']}")
    spec = models.load_preset(preset)
    assert memory.kv_bytes_per_token(spec, "bfloat16") == ref["kv_bytes_per_token_bf16"]
    # one latent per token, not split by tensor parallelism (DeepSeek-V2 paper §2.1.2)
    assert memory.kv_bytes_per_token(spec, "bfloat16", tp=8) == ref["kv_bytes_per_token_bf16"]


def test_llama_31_70b_gqa_from_config_fields() -> None:
    # Meta's Llama 3.1 70B config: 80 layers, 8 KV heads of 128 (GQA; the 64 query heads must not
    # be used): 2 × 80 × 8 × 128 × 2 bytes = 327,680 bytes, i.e. 320 KiB per token in bf16.
    spec = models.load_preset("meta-llama/Llama-3.1-70B-Instruct")
    assert (spec.num_layers, spec.num_kv_heads, spec.head_dim) == (80, 8, 128)
    assert memory.kv_bytes_per_token(spec) == 327_680
    assert memory.kv_bytes_per_token(spec, tp=16) == 327_680 // 8  # 1 head per GPU, replicated past TP 8
