"""Parameter counts against published figures (tests/data/models.toml cites each value).

Exact figures must match to the unit; rounded ones (a model card's "46.7B") must round to the
published figure at its stated precision.
"""

from __future__ import annotations

from typing import Any

import pytest

from calculators import models, params
from tests.core.conftest import load_toml

REFS: dict[str, dict[str, Any]] = {m["id"]: m for m in load_toml("models.toml")["model"]}

#: published figure's model → bundled config with the same architecture fields (the instruct
#: checkpoints share every shape with their base model; only generation settings differ)
SAME_SHAPES = {
    "meta-llama/Llama-3.1-8B": "meta-llama/Llama-3.1-8B",
    "google/gemma-2-9b": "google/gemma-2-9b-it",
    "mistralai/Mixtral-8x7B-Instruct-v0.1": "mistralai/Mixtral-8x7B-Instruct-v0.1",
    "deepseek-ai/DeepSeek-V2-Lite": "deepseek-ai/DeepSeek-V2-Lite-Chat",
    "deepseek-ai/DeepSeek-V3": "deepseek-ai/DeepSeek-V3",
    "mistralai/Mistral-7B-v0.1": "mistralai/Mistral-7B-Instruct-v0.1",
    "Qwen/Qwen3-30B-A3B-Instruct-2507": "Qwen/Qwen3-30B-A3B",  # 2507 changes context length and RoPE only
    "deepseek-ai/DeepSeek-R1": "deepseek-ai/DeepSeek-V3",  # R1 is trained from V3: same architecture
}


def _spec(model_id: str) -> models.ModelSpec:
    preset = SAME_SHAPES.get(model_id, model_id)
    if preset not in models.preset_ids():
        pytest.skip(f"no bundled config for {model_id}")
    return models.load_preset(preset)


EXACT = [m for m in REFS.values() if "params_total_exact" in m and m["id"] != "google/gemma-3-27b-it"]


@pytest.mark.parametrize("ref", EXACT, ids=[m["id"] for m in EXACT])
def test_total_exact(ref: dict[str, Any]) -> None:
    assert params.count_params(_spec(ref["id"])).total == ref["params_total_exact"]


def test_enough_exact_families() -> None:
    found = {_spec_type(m["id"]) for m in EXACT if SAME_SHAPES.get(m["id"], m["id"]) in models.preset_ids()}
    assert len(found) >= 6, found


def _spec_type(model_id: str) -> str:
    return models.load_preset(SAME_SHAPES.get(model_id, model_id)).model_type


def test_gemma3_27b_language_model() -> None:
    # KerasHub's text-only preset gemma3_instruct_27b_text: 27,009,002,240 (cited in models.toml,
    # params_total_exact_how).  Keras builds the embedding with 262,144 rows where the Hugging Face
    # checkpoint (Gemma3TextConfig default vocab_size 262,208) has 64 more, so compare at 0.01B.
    ref = REFS["google/gemma-3-27b-it"]
    assert "27009002240" in ref["params_total_exact_how"]
    assert abs(params.count_params(_spec("google/gemma-3-27b-it")).total - 27_009_002_240) <= 5e6


ROUNDED = [m for m in REFS.values() if "params_total_precision" in m]


def _close(ours: int, published: float, precision: float) -> bool:
    """The published figure is ours rounded or truncated at its precision ("30B", "37B activated"
    and "3B activated" truncate; "46.7B" rounds)."""
    rounds = abs(ours - published) <= precision / 2
    truncates = published <= ours < published + precision
    return rounds or truncates


#: publishers that count "activated" parameters without the input-embedding lookup (a gather, no
#: FLOPs): OpenAI says so in the gpt-oss card; DeepSeek's V2-Lite "2.4B activated" is 2.45B that
#: way and 2.66B with it, so their figure follows the same convention.
ACTIVE_WITHOUT_INPUT_EMBEDDING = {"deepseek-ai/DeepSeek-V2-Lite", "deepseek-ai/DeepSeek-V3"}


@pytest.mark.parametrize("ref", ROUNDED, ids=[m["id"] for m in ROUNDED])
def test_total_and_active_rounded(ref: dict[str, Any]) -> None:
    spec = _spec(ref["id"])
    counts = params.count_params(spec)
    assert _close(counts.total, ref["params_total"], ref["params_total_precision"])
    if "params_active" in ref and "params_active_card" not in ref:  # gpt-oss: see the model-card test
        active = counts.active
        if ref["id"] in ACTIVE_WITHOUT_INPUT_EMBEDDING:
            active -= spec.vocab_size * spec.hidden_size
        assert _close(active, ref["params_active"], ref["params_active_precision"])


@pytest.mark.parametrize("model_id", ["openai/gpt-oss-120b", "openai/gpt-oss-20b"])
def test_gpt_oss_model_card(model_id: str) -> None:
    """OpenAI's gpt-oss model card, Table 1 (two decimals of a billion).

    The card's "active" counts the unembedding but not the input embedding, so compare it with
    our active count less the input embedding (vocab × hidden).
    """
    ref = REFS[model_id]
    spec = _spec(model_id)
    counts = params.count_params(spec)
    prec = ref["params_total_card_precision"]
    assert abs(counts.total - ref["params_total_card"]) <= prec / 2
    embed = spec.vocab_size * spec.hidden_size
    assert abs(counts.active - embed - ref["params_active_card"]) <= ref["params_active_card_precision"] / 2
    assert abs(2 * embed - ref["params_embed_unembed_card"]) <= ref["params_components_card_precision"] / 2


def test_deepseek_v3_checkpoint_total_with_mtp_and_scales() -> None:
    """HF's 685B for DeepSeek-V3 counts the MTP layer and the fp32 weight_scale_inv tensors."""
    ref = REFS["deepseek-ai/DeepSeek-V3"]
    spec = _spec("deepseek-ai/DeepSeek-V3")
    counts = params.count_params(spec)
    scales = sum(
        -(-g.rows // 128) * -(-g.cols // 128) * g.count for g in params.tensor_groups(spec) if g.kind == "linear"
    )
    assert abs(counts.total_with_mtp + scales - ref["params_total_hf"]) <= ref["params_total_hf_precision"] / 2
    assert counts.mtp > 0


def test_qwen3_32b_non_embedding() -> None:
    ref = REFS["Qwen/Qwen3-32B"]
    counts = params.count_params(_spec("Qwen/Qwen3-32B"))
    assert abs(counts.total - counts.embedding - ref["params_nonembedding"]) <= ref["params_nonembedding_precision"] / 2


SAFETENSORS = [m for m in REFS.values() if "params_safetensors" in m and not m.get("params_safetensors_packed")]


@pytest.mark.parametrize("ref", SAFETENSORS, ids=[m["id"] for m in SAFETENSORS])
def test_total_equals_safetensors_sum(ref: dict[str, Any]) -> None:
    """Σ elements of every tensor of a real checkpoint (gogongxt/python model reports, cited per
    value), less the tensors that are not parameters (fp8 scales, MTP layer, rotary buffers),
    and less a stored copy of a tied lm_head."""
    expected = ref["params_safetensors"] - ref.get("params_safetensors_extra", 0)
    expected -= ref.get("params_safetensors_tied_duplicate", 0)
    assert params.count_params(_spec(ref["id"])).total == expected


def test_gpt_oss_20b_bf16_copy() -> None:
    ref = REFS["openai/gpt-oss-20b"]
    assert params.count_params(_spec("openai/gpt-oss-20b")).total == ref["params_safetensors_bf16"]


def test_deepseek_v3_mtp_layer_exact() -> None:
    # the MTP layer 61 of the checkpoint: the report's extra less the weight_scale_inv tensors
    ref = REFS["deepseek-ai/DeepSeek-V3"]
    spec = _spec("deepseek-ai/DeepSeek-V3")
    scales = sum(
        -(-g.rows // 128) * -(-g.cols // 128) * g.count for g in params.tensor_groups(spec) if g.kind == "linear"
    )
    assert params.count_params(spec).mtp + scales == ref["params_safetensors_extra"]
