"""The bundled model zoo: every model is either computed exactly or refused with a reason.

* Exact totals: tests/data/components.toml holds the element counts of real checkpoints, summed
  tensor by tensor from the per-tensor tables of gogongxt/python's model-inspector reports (URL per
  entry), split into language model, multi-token-prediction layers, vision tower and quantization
  scales.  The language-model part is what our parameter count must equal, to the unit.
* Refusals: tests/data/refused/ holds real config.json files of architectures we do not model
  (DeepSeek-V4, Kimi Linear, MiMo-V2, GLM-5.2's shared indexers, MiniMax-M3); each must be
  refused with a CalcError naming the model type or the key, never computed.
* Fuzz: an unknown model_type, or a known one with a shape key its reader does not model, is refused.
"""

from __future__ import annotations

import json
import math
import random
from pathlib import Path
from typing import Any

import pytest

from calculators import forms, hardware, memory, models, params, vllm
from calculators.errors import CalcError
from tests.core.conftest import load_toml

COMPONENTS: list[dict[str, Any]] = load_toml("components.toml")["model"]
REFUSED_DIR = Path(__file__).resolve().parent.parent / "data" / "refused"

#: components entries whose element total is not a parameter count of the served model
NOT_COMPARABLE = {
    "moonshotai/Kimi-K2.5": "int4 experts packed eight to an int32 element",
    "Qwen/Qwen3-0.6B": "the checkpoint stores a copy of the tied lm_head (tie_word_embeddings true)",
    "Qwen/Qwen3-Embedding-8B": "an embedding model (no lm_head), not bundled",
    "local/gpt-oss-20b-bf16": "a local conversion without a Hugging Face id, not bundled",
}


def _bundled(model_id: str) -> bool:
    return model_id in models.preset_ids()


EXACT = [c for c in COMPONENTS if c["id"] not in NOT_COMPARABLE and _bundled(c["id"])]


@pytest.mark.parametrize("ref", EXACT, ids=[c["id"] for c in EXACT])
def test_language_model_elements_exact(ref: dict[str, Any]) -> None:
    """Our total = the checkpoint's elements − MTP layers − vision tower − quantization scales."""
    assert ref["total_elements"] - ref["mtp_elements"] - ref["vision_elements"] - ref["scale_elements"] == (
        ref["language_model_elements"]
    )
    assert params.count_params(models.load_preset(ref["id"])).total == ref["language_model_elements"]


def test_exact_counts_cover_the_new_families() -> None:
    types = {models.load_preset(c["id"]).model_type for c in EXACT}
    for family in ("qwen3_next", "qwen3_5_text", "qwen3_5_moe_text", "glm_moe_dsa", "deepseek_v32", "minimax_m2",
                   "qwen3_vl_text"):
        assert family in types, family


# ---------------------------------------------------------------- every accepted type is tested


def _oracle_types() -> set[str]:
    pytest.importorskip("numpy")  # the oracle is numpy (not in Pyodide's npm package)
    from tests.core import test_oracle, test_oracle_hybrids

    out: set[str] = set()
    for cfg in [*test_oracle.CONFIGS.values(), *test_oracle_hybrids.CONFIGS.values()]:
        inner = cfg.get("text_config")
        if isinstance(inner, dict) and inner.get("model_type"):
            out.add(str(inner["model_type"]))
        out.add(str(cfg["model_type"]))
    return out


def _published_types() -> set[str]:
    """Model types of bundled presets checked against a published total (models.toml) or the
    component counts above."""
    from tests.core import test_params

    ids = {c["id"] for c in EXACT} | {test_params.SAME_SHAPES.get(m["id"], m["id"]) for m in test_params.REFS.values()}
    return {models.load_preset(i).model_type for i in ids if _bundled(i)}


def test_every_accepted_model_type_is_tested() -> None:
    """A model_type the readers accept is covered by the numpy oracle or by a published count; a
    type read with another's layout (models.LAYOUT_OF) is covered when that layout is."""
    covered = _oracle_types() | _published_types()
    covered |= {alias for alias, layout in models.LAYOUT_OF.items() if layout in covered}
    missing = sorted(set(models.ARCHITECTURES) - covered)
    assert not missing, f"accepted but never checked against an independent count: {missing}"


def test_every_bundled_model_answers() -> None:
    """params, kv, memory and vllm give a result for every bundled model (none is refused)."""
    for model_id in models.preset_ids():
        for calc in ("params", "kv", "memory", "vllm"):
            out = forms.run(calc, {"model": model_id})
            assert out["model"] == model_id
            assert out.get("estimate") is False


def test_every_bundled_model_gets_a_step_time() -> None:
    """The roofline times every bundled model (hybrid, sparse-attention and chunked layers included)
    at the largest TP of 8, 4, 2, 1 its heads allow: a lower bound under the expected figure, both
    finite, and a TPOT that no longer depends on the refusal the step model once gave them."""
    for model_id in models.preset_ids():
        for tp in (8, 4, 2, 1):
            try:
                out = forms.run("roofline", {"model": model_id, "gpu": "b200", "tp": tp, "weights-dtype": "fp8"})
            except CalcError as exc:
                assert exc.field == "tp", (model_id, tp, exc.message)  # only the split may be refused
                continue
            decode = out["decode"]
            assert 0 < decode["time_s_lower_bound"] <= decode["time_s_expected"] < 10, (model_id, decode)
            assert math.isfinite(out["tpot_s"]) and out["tpot_s"] > 0, model_id
            break
        else:
            raise AssertionError(f"{model_id}: no TP of 8, 4, 2, 1 accepted")


def test_zoo_size_and_sources() -> None:
    ids = models.preset_ids()
    assert len(ids) >= 60
    for model_id in ids:
        record = models.preset_record(model_id)
        assert record["source"] and record["retrieved"], model_id
        assert isinstance(record["config"], dict)


# ---------------------------------------------------------------- refusals


REFUSED = sorted(REFUSED_DIR.glob("*.json"))


@pytest.mark.parametrize("path", REFUSED, ids=[p.stem for p in REFUSED])
def test_real_configs_of_unmodelled_architectures_are_refused(path: Path) -> None:
    record = json.loads(path.read_text(encoding="utf-8"))
    assert record["source"]
    cfg = record["config"]
    with pytest.raises(CalcError) as err:
        models.spec_from_config(cfg, record["id"])
    field = err.value.field
    inner = cfg.get("text_config") if isinstance(cfg.get("text_config"), dict) else {}
    assert field in ("model_type", "text_config.model_type") or field in cfg or field in inner, field


def test_refusal_on_the_command_line(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    from calculators import cli

    path = REFUSED_DIR / "deepseek-ai--DeepSeek-V4-Flash.json"
    config = tmp_path / "config.json"
    config.write_text(json.dumps(json.loads(path.read_text(encoding="utf-8"))["config"]), encoding="utf-8")
    assert cli.main(["params", "--config", str(config)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: --model_type:") and "deepseek_v4" in err[0]


BASE = {
    "model_type": "llama", "hidden_size": 64, "num_hidden_layers": 4, "num_attention_heads": 4,
    "num_key_value_heads": 2, "intermediate_size": 128, "vocab_size": 512, "torch_dtype": "bfloat16",
}


def test_fuzz_unknown_model_types_are_refused() -> None:
    rng = random.Random(9)
    alphabet = "abcdefghijklmnopqrstuvwxyz_0123456789"
    for _ in range(300):
        name = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 24)))
        if name in models.ARCHITECTURES or name in models.WRAPPERS or name == "llama4":
            continue
        with pytest.raises(CalcError) as err:
            models.spec_from_config({**BASE, "model_type": name})
        assert err.value.field == "model_type" and name[:40] in err.value.message
        # on request: a Llama-like reading, marked as an estimate
        spec = models.spec_from_config({**BASE, "model_type": name}, assume_llama_like=True)
        assert spec.estimate and spec.assumptions[0].startswith("ESTIMATE")


def test_fuzz_unmodelled_shape_keys_are_refused() -> None:
    """Each reader refuses every active shape key it does not read, naming it."""
    rng = random.Random(10)
    values: list[Any] = [1, 2, 64, True, "M*M*", [0, 1], {"a": 1}]
    for reader, reads in models.READS.items():
        if reader in ("llama4_text", "nemotron_h"):
            continue  # their base config below is not theirs; covered by their own configs
        unread = [k for k in models.SHAPE_KEYS if k not in reads]
        for key in rng.sample(unread, min(12, len(unread))):
            cfg = {**BASE, "model_type": reader, key: rng.choice(values)}
            with pytest.raises(CalcError) as err:
                models.spec_from_config(cfg)
            assert err.value.field == key, (reader, key, err.value)


@pytest.mark.parametrize("key", ["hybrid_override_pattern", "attention_chunk_size", "index_topk", "layers_block_type",
                                 "linear_num_value_heads", "moe_num_experts"])
def test_llama_with_foreign_keys_is_refused(key: str) -> None:
    with pytest.raises(CalcError, match=key):
        models.spec_from_config({**BASE, key: 8})


def test_layer_types_beyond_attention_are_refused() -> None:
    cfg = {**BASE, "model_type": "qwen3", "head_dim": 16, "layer_types": ["linear_attention"] * 4}
    with pytest.raises(CalcError) as err:
        models.spec_from_config(cfg)
    assert err.value.field == "layer_types"


def test_page_marks_estimates() -> None:
    text = json.dumps({**BASE, "model_type": "brand_new"})
    out = forms.run_safely("params", {"config-json": text})
    assert not out["ok"] and out["field"] == "model_type"
    out = forms.run_safely("params", {"config-json": text, "assume-llama-like": "true"})
    assert out["ok"] and out["result"]["estimate"] is True


# ---------------------------------------------------------------- the seed's model


def test_kimi_k2_thinking_weights_match_the_published_checkpoint() -> None:
    """594 GB published (https://www.banandre.com/blog/2025-11/trillion-parameter-ai-on-your-desktop-
    the-kimi-k2-thinking-revolution-hits-local-hardware: 'weighs in at 594GB'; decimal GB): INT4
    routed experts (0.5 B + a bf16 scale per 32 weights) and everything else in bf16."""
    spec = models.load_preset("moonshotai/Kimi-K2-Thinking")
    total = memory.weights_memory(spec).bytes_total
    assert abs(total / 1e9 - 594) < 1.0
    assert spec.max_len == 262_144  # "Context Length 256K"


def test_kimi_k2_thinking_on_8_h200_gets_a_verdict() -> None:
    out = forms.run("vllm", {"model": "moonshotai/Kimi-K2-Thinking", "gpu": "h200", "tp": 8})
    assert isinstance(out["fits"], bool)
    assert 8 * out["weights_gib_per_gpu"] > 550  # 553.4 GiB of weights (+ replicated pieces)
    assert "--tensor-parallel-size 8" in out["serve_command"]
    assert any("derived from the bundled moonshotai/Kimi-K2-Instruct" in a for a in out["assumptions"])


def test_float32_configs_are_served_in_16_bits() -> None:
    """vllm/config/model.py _resolve_auto_dtype: a float32 checkpoint runs in bf16 (fp16 without bf16)."""
    spec32 = models.spec_from_config({**BASE, "torch_dtype": "float32"})
    spec16 = models.spec_from_config(BASE)
    assert spec32.dtype == "bfloat16" and spec32.checkpoint_dtype == "float32"
    assert memory.weights_memory(spec32).bytes_total == memory.weights_memory(spec16).bytes_total
    assert memory.kv_bytes_per_token(spec32) == memory.kv_bytes_per_token(spec16)


# ---------------------------------------------------------------- vLLM behaviour by version


def test_pipeline_parallel_check_by_version() -> None:
    """v0.14–v0.15 checked the whole model's KV against each GPU under PP (vllm issue #32105:
    "71.16 GiB is the required total KV cache for 202,752 tokens, not a single GPU"); later
    releases check each stage's layers (PR #33698)."""
    spec = models.load_preset("meta-llama/Llama-3.1-8B-Instruct")
    gpu = hardware.custom_gpu(80.0)
    one_stage = vllm.fit(spec, gpu, pp=2, max_model_len=131072, available_kv_cache_gib=10.0)
    old = vllm.fit(spec, gpu, pp=2, max_model_len=131072, available_kv_cache_gib=10.0, vllm_version="0.14.0")
    # 131,072 tokens × 16 layers × 131,072 B = 8 GiB per stage; 16 GiB for the whole model
    assert one_stage.fits and one_stage.kv_cache_needed_bytes == 8 * vllm.GIB
    assert not old.fits and old.kv_cache_needed_bytes == 16 * vllm.GIB


def test_default_utilization_by_version() -> None:
    spec = models.load_preset("meta-llama/Llama-3.1-8B-Instruct")
    gpu = hardware.get_gpu("h100-sxm")
    assert vllm.fit(spec, gpu).gpu_memory_utilization == 0.92
    assert vllm.fit(spec, gpu, vllm_version="0.24.0").gpu_memory_utilization == 0.9
    # the command carries the utilisation only when it differs from that release's default
    assert "--gpu-memory-utilization" not in vllm.fit(spec, gpu).serve_command
    assert "--gpu-memory-utilization 0.9" in vllm.fit(spec, gpu, gpu_memory_utilization=0.9).serve_command


def test_max_model_len_above_the_derived_limit_is_refused() -> None:
    spec = models.load_preset("meta-llama/Llama-3.1-8B-Instruct")
    f = vllm.fit(spec, hardware.get_gpu("h200"), max_model_len=262_144)
    assert not f.fits and "VLLM_ALLOW_LONG_MAX_MODEL_LEN" in f.advice[0]
    assert f.verdict.startswith("vLLM refuses to start: max_model_len 262,144")


def test_derived_max_model_len_uses_rope_scaling() -> None:
    """yarn: original_max_position_embeddings × factor (DeepSeek-V3: 4096 × 40 = 163,840);
    llama3 rope type is not scaled (Llama 3.1: 131,072)."""
    assert models.load_preset("deepseek-ai/DeepSeek-V3").max_len == 163_840
    assert models.load_preset("meta-llama/Llama-3.1-8B-Instruct").max_len == 131_072
    cfg = {**BASE, "max_position_embeddings": 32768,
           "rope_scaling": {"type": "yarn", "factor": 4.0, "original_max_position_embeddings": 32768}}
    assert models.spec_from_config(cfg).max_len == 131_072


def test_llama4_chunked_attention_groups() -> None:
    """Llama 4 (48 layers, NoPE every 4th): 12 full + 36 chunked layers → group size 12, one full
    group and three chunked groups; a chunked group needs ⌈min(8192 + max_num_batched_tokens, L) /
    block⌉ blocks per request (ChunkedLocalAttentionSpec.max_memory_usage_bytes)."""
    cfg = {"model_type": "llama4_text", "hidden_size": 256, "num_hidden_layers": 48, "num_attention_heads": 8,
           "num_key_value_heads": 2, "head_dim": 32, "intermediate_size": 64, "intermediate_size_mlp": 128,
           "num_local_experts": 4, "num_experts_per_tok": 1, "interleave_moe_layer_step": 1, "vocab_size": 512,
           "attention_chunk_size": 8192, "use_qk_norm": True}
    spec = models.spec_from_config(cfg)
    groups, size = vllm.kv_groups(spec)
    assert size == 12
    assert [(g.kind, g.window) for g in groups] == [("attention", None)] + [("chunked", 8192)] * 3
    need = vllm.blocks_per_request(groups, 131072, 16, 8192)
    assert need == 131072 // 16 + 3 * ((8192 + 8192) // 16)


def test_nemotron_h_state_and_block_alignment() -> None:
    """Nemotron-3-Nano (config in calculators/data/models): Mamba2 state per layer = conv 3 ×
    (64·64 + 2·8·128) × 2 B + recurrent 64 × 64 × 128 × 4 B (float32, its mamba_ssm_cache_dtype)
    = 36,864 + 2,097,152 = 2,134,016 B; attention per token per layer 2 × 2 × 128 × 2 B = 1024 B.
    Mode "all" (v0.28+ prefix caching, Mamba2): chunk lcm(128, 16) = 128, block = 128 ×
    ⌈⌈2,134,016 / 1024⌉ / 128⌉ = 128 × 17 = 2176 tokens (Platform._align_hybrid_block_size)."""
    spec = models.load_preset("nvidia/NVIDIA-Nemotron-3-Nano-30B-A3B-BF16")
    assert len(spec.attention_layers) == 6 and len(spec.ssm_layers) == 23
    assert memory.ssm_state_bytes_per_layer(spec) == 2_134_016
    f = vllm.fit(spec, hardware.get_gpu("h100-sxm"), max_model_len=32768, available_kv_cache_gib=20.0)
    assert f.mamba_cache_mode == "all" and f.block_size == 2176
    assert f.kv_cache_tokens > 0 and f.max_concurrency > 0


# ---------------------------------------------------------------- quantisation formats as vLLM reads them


def _llama8b() -> dict[str, Any]:
    return dict(models.preset_record("meta-llama/Llama-3.1-8B-Instruct")["config"])


def test_modelopt_hf_quant_config_beside_config(tmp_path: Path) -> None:
    """A checkpoint folder with config.json and a ModelOpt hf_quant_config.json (the pre-0.31 layout
    vLLM still reads): FP8 → one byte per linear weight and one fp32 scale per tensor
    (ModelOptFp8LinearMethod); the folder or its config.json both work."""
    (tmp_path / "config.json").write_text(json.dumps(_llama8b()), encoding="utf-8")
    quant = {"producer": {"name": "modelopt", "version": "0.29.0"},
             "quantization": {"quant_algo": "FP8", "kv_cache_quant_algo": "FP8", "exclude_modules": ["lm_head"]}}
    (tmp_path / "hf_quant_config.json").write_text(json.dumps(quant), encoding="utf-8")
    by_folder = forms.run("memory", {"config": str(tmp_path)})
    by_file = forms.run("memory", {"config": str(tmp_path / "config.json")})
    assert by_folder["weights_bytes_per_gpu"] == by_file["weights_bytes_per_gpu"]
    # Llama-3.1-8B: 6,979,321,856 linear weights in the 32 layers (fp8, 1 B + 4 B per tensor: 7 per
    # layer), 1,050,673,152 in the bf16 embedding and lm_head, 266,240 norm weights (bf16)
    linear = 32 * (4096 * 4096 * 2 + 1024 * 4096 * 2 + 14336 * 4096 * 3)
    expected = linear + 32 * 7 * 4 + (128256 * 4096 * 2 + 4096 * 65) * 2
    assert by_folder["weights_bytes_total"] == expected


def test_vllm_refusals_are_refusals() -> None:
    cfg = _llama8b()
    for qc, key in (
        ({"quant_method": "awq", "bits": 8, "group_size": 128}, "bits"),  # "only 4-bit ... for AWQ"
        ({"quant_method": "gptq", "bits": 5, "group_size": 128}, "bits"),
        ({"quant_method": "modelopt", "quant_algo": "W4A8_AWQ"}, "quant_algo"),
        ({"quant_method": "hqq"}, "quant_method"),
    ):
        with pytest.raises(CalcError) as err:
            models.spec_from_config({**cfg, "quantization_config": qc})
        assert err.value.field.endswith(key), (qc, err.value.field)


def test_bitsandbytes_4bit_bytes() -> None:
    """bitsandbytes 4-bit in vLLM: N·K/2 bytes + an fp32 absmax per 64 weights (double quantisation
    is undone at load: bitsandbytes_loader.py dequantize_dq) on every linear layer."""
    cfg = {**_llama8b(), "quantization_config": {"quant_method": "bitsandbytes", "load_in_4bit": True,
                                                 "bnb_4bit_use_double_quant": True}}
    w = memory.weights_memory(models.spec_from_config(cfg))
    per_layer = [(4096, 4096), (1024, 4096), (1024, 4096), (4096, 4096), (14336, 4096), (14336, 4096), (4096, 14336)]
    linear = 32 * sum(n * k // 2 + n * k // 64 * 4 for n, k in per_layer)
    assert w.bytes_total == linear + (128256 * 4096 * 2 + 4096 * 65) * 2


@pytest.mark.parametrize("with_copy", [False, True])
def test_mlx_quantized_configs_are_refused(with_copy: bool) -> None:
    """mlx-community configs carry ``"quantization": {"group_size": 64, "bits": 6}`` (e.g.
    mlx-community/Llama-4-Maverick-17B-16E-Instruct-6bit), sometimes repeated as a
    quantization_config without quant_method; vLLM does not load MLX weights, and reading them
    as bf16 would overstate memory 2.7×: refused, naming the key."""
    config = json.loads(json.dumps(models.preset_record("meta-llama/Llama-3.1-8B-Instruct")["config"]))
    config["quantization"] = {"group_size": 64, "bits": 6}
    if with_copy:
        config["quantization_config"] = {"group_size": 64, "bits": 6}
    with pytest.raises(CalcError) as err:
        models.spec_from_config(config)
    assert err.value.field == "quantization" and "MLX" in err.value.message


def test_nemotron_h_state_size_under_two_names() -> None:
    """Nemotron-H-47B-Reasoning-128K's config repeats ssm_state_size 256 as mamba_d_state 256
    (hlky/dinoml_v2 agents/plans/transformers/nemotron_h/): accepted when equal, refused when not."""
    config = json.loads(json.dumps(models.preset_record("nvidia/Nemotron-H-56B-Base-8K")["config"]))
    base = params.count_params(models.spec_from_config(config)).total
    config["mamba_d_state"] = config["ssm_state_size"]
    assert params.count_params(models.spec_from_config(config)).total == base
    config["mamba_d_state"] = config["ssm_state_size"] * 2
    with pytest.raises(CalcError) as err:
        models.spec_from_config(config)
    assert err.value.field == "mamba_d_state"


def test_glm_355b_language_model_exact() -> None:
    """GLM-4.5-FP8's checkpoint (gogongxt/python report, tests/data/components.toml) has the shapes of
    the bundled zai-org/GLM-4.7 config (92 layers, 3 dense, 160 experts of 1536 + 1 shared, 96/8
    heads x 128, vocab 151552): its language-model elements, without the MTP layer and the FP8
    weight_scale tensors, equal our count to the unit. The card's "355B" is neither figure."""
    ref = next(c for c in COMPONENTS if c["id"] == "zai-org/GLM-4.5-FP8")
    assert ref["same_shapes_as"] == "zai-org/GLM-4.7"
    assert ref["total_elements"] - ref["mtp_elements"] - ref["scale_elements"] == ref["language_model_elements"]
    spec = models.load_preset("zai-org/GLM-4.7")
    assert params.count_params(spec).total == ref["language_model_elements"] == 352_797_829_024


def test_step3_is_refused_with_its_model_type() -> None:
    """stepfun-ai/step3 (Step3VLForConditionalGeneration wrapping a step3_text model) has no reader:
    its attention is Step's multi-matrix factorization attention (share_q_dim 2048, one KV group
    of head_dim 256) with MoE only on moe_layers_enum, which vLLM serves with its own
    vllm/model_executor/models/step3_text.py. Its config.json is not bundled (only a truncated page
    was found: https://huggingface.co/stepfun-ai/step3/blob/refs%2Fpr%2F2/config.json); these are
    the text_config fields that page shows. It must be refused, naming the model type."""
    text = {
        "architectures": ["Step3TextForCausalLM"], "model_type": "step3_text", "hidden_size": 7168,
        "intermediate_size": 18432, "num_hidden_layers": 61, "max_seq_len": 65536, "max_position_embedding": 65536,
        "vocab_size": 128815, "torch_dtype": "bfloat16", "moe_layers_enum": ",".join(str(i) for i in range(4, 60)),
        "num_attention_heads": 64, "num_attention_groups": 1, "head_dim": 256, "share_q_dim": 2048,
        "moe_num_experts": 48, "moe_top_k": 3, "moe_intermediate_size": 5120, "share_expert_dim": 5120,
        "norm_expert_weight": False, "rope_theta": 500000,
    }
    cfg = {"architectures": ["Step3VLForConditionalGeneration"], "model_type": "step3_vl", "text_config": text,
           "vision_config": {"hidden_size": 1792}}
    with pytest.raises(CalcError) as err:
        models.spec_from_config(cfg, "stepfun-ai/step3")
    assert "step3" in err.value.message and err.value.field in ("model_type", "text_config.model_type")


def test_jamba_context_from_the_config_class_default() -> None:
    """ai21labs/Jamba-v0.1's config.json has no max_position_embeddings (only the legacy n_ctx,
    which vLLM does not read); Transformers' JambaConfig fills 262144
    (src/transformers/models/jamba/configuration_jamba.py) and vLLM derives its max_model_len from
    that. KV: 4 attention layers (offset 4, period 8) x 2 x 8 kv heads x 128 x 2 B."""
    spec = models.load_preset("ai21labs/Jamba-v0.1")
    assert (spec.max_model_len_limit or spec.max_position_embeddings) == 262_144
    out = forms.run("kv", {"model": "ai21labs/Jamba-v0.1"})
    assert out["attention_layers"] == 4 and out["bytes_per_token"] == 4 * 2 * 8 * 128 * 2
