"""Model specifications read from a Hugging Face ``config.json``.

``spec_from_config`` turns a config dict into a frozen :class:`ModelSpec`; ``load_preset`` reads one
of the bundled copies in ``calculators/data/models`` (each with the URL it was copied from);
``load_config_text`` parses text a user pasted.  Every field is checked: a missing or malformed
field raises :class:`~calculators.errors.CalcError` naming it.  Field names follow the
Transformers configuration classes of each family (``LlamaConfig``, ``Qwen3MoeConfig``,
``DeepseekV3Config``, ``GptOssConfig``, ``Gemma3TextConfig`` …).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field, replace
from importlib import resources
from typing import Any

from calculators import dtypes
from calculators.errors import CalcError

#: families whose layout we model explicitly; anything else is read as a Llama-like decoder
KNOWN_MODEL_TYPES = (
    "llama",
    "mistral",
    "qwen2",
    "qwen3",
    "qwen3_moe",
    "mixtral",
    "gemma2",
    "gemma3",
    "gemma3_text",
    "deepseek_v2",
    "deepseek_v3",
    "kimi_k2",
    "gpt_oss",
    "phi3",
)

#: Transformers fills fields a config.json omits from its config class's defaults; Gemma 3
#: checkpoints rely on that.  Source: Gemma3TextConfig.__init__ in
#: huggingface/transformers src/transformers/models/gemma3/configuration_gemma3.py.
FAMILY_DEFAULTS: dict[str, dict[str, Any]] = {
    "gemma3_text": {
        "vocab_size": 262_208,
        "num_key_value_heads": 4,
        "head_dim": 256,
        "max_position_embeddings": 131_072,
        "tie_word_embeddings": True,
        "sliding_window": 4096,
        "sliding_window_pattern": 6,
    },
}

_MAX_CONFIG_CHARS = 2_000_000
_LIMITS = {  # generous upper bounds: ten times today's largest published models
    "vocab_size": 10_000_000,
    "hidden_size": 1_000_000,
    "num_hidden_layers": 10_000,
    "num_attention_heads": 100_000,
    "num_key_value_heads": 100_000,
    "head_dim": 100_000,
    "intermediate_size": 10_000_000,
    "moe_intermediate_size": 10_000_000,
    "num_experts": 100_000,
    "num_experts_per_tok": 100_000,
    "max_position_embeddings": 1 << 31,
    "sliding_window": 1 << 31,
}


@dataclass(frozen=True)
class MLASpec:
    """Multi-head latent attention (DeepSeek-V2 paper, arXiv:2405.04434, section 2.1)."""

    q_lora_rank: int | None
    kv_lora_rank: int
    qk_nope_head_dim: int
    qk_rope_head_dim: int
    v_head_dim: int


@dataclass(frozen=True)
class MoESpec:
    """Mixture-of-experts feed-forward layers."""

    num_experts: int
    experts_per_token: int
    expert_intermediate_size: int
    shared_intermediate_size: int  # total width of the shared expert(s); 0 when none
    moe_layers: tuple[bool, ...]  # per decoder layer: True where the MLP is MoE
    router_bias: bool  # a bias (or DeepSeek-V3's e_score_correction_bias) of num_experts per layer
    expert_bias: bool  # gpt-oss: biases on gate_up and down projections of every expert
    shared_expert_gate: bool  # Qwen2-MoE's sigmoid gate of width hidden on the shared expert


@dataclass(frozen=True)
class QuantSpec:
    """A checkpoint's ``quantization_config``, reduced to what memory depends on."""

    method: str  # "fp8", "awq", "gptq", "mxfp4", "int8"
    bits: int
    group_size: int  # int4: elements per scale group; fp8 block: block edge (0 = per-tensor/channel)
    block_scaled: bool = False  # fp8 with weight_block_size (DeepSeek ships 128×128 blocks)
    zero_point: bool = False
    modules_not_converted: tuple[str, ...] = ()


@dataclass(frozen=True)
class ModelSpec:
    """What the calculators need to know of a decoder-only transformer."""

    model_id: str
    model_type: str
    vocab_size: int
    hidden_size: int
    num_layers: int
    num_attention_heads: int
    num_kv_heads: int
    head_dim: int
    intermediate_size: int
    tie_word_embeddings: bool
    max_position_embeddings: int
    dtype: str  # checkpoint dtype of unquantized tensors (``torch_dtype``)
    layer_windows: tuple[int | None, ...]  # per layer: sliding window in tokens, None = full attention
    qkv_bias: bool = False
    o_bias: bool = False
    qk_norm: bool = False  # per-head RMSNorm on q and k (Qwen3, Gemma 3)
    norms_per_layer: int = 2  # Gemma 2/3: four (pre/post attention, pre/post feed-forward)
    attention_sinks: bool = False  # gpt-oss: one learned sink logit per head per layer
    mla: MLASpec | None = None
    moe: MoESpec | None = None
    quant: QuantSpec | None = None
    mtp_layers: int = 0  # DeepSeek-V3's multi-token-prediction modules (not served by default)
    assumptions: tuple[str, ...] = field(default=())

    @property
    def is_moe(self) -> bool:
        return self.moe is not None

    @property
    def has_sliding_window(self) -> bool:
        return any(w is not None for w in self.layer_windows)


# ---------------------------------------------------------------- field readers


def _get(cfg: dict[str, Any], key: str, default: Any = None) -> Any:
    return cfg.get(key, default)


def _int(cfg: dict[str, Any], key: str, *, default: int | None = None, minimum: int = 1) -> int:
    if key not in cfg or cfg[key] is None:
        if default is None:
            raise CalcError(key, "missing from config.json (needed to size the model)")
        return default
    value = cfg[key]
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise CalcError(key, f"must be an integer, got {_show(value)}")
    if isinstance(value, float):
        if not math.isfinite(value) or value != int(value):
            raise CalcError(key, f"must be an integer, got {_show(value)}")
        value = int(value)
    limit = _LIMITS.get(key, 1 << 40)
    if value < minimum or value > limit:
        raise CalcError(key, f"must be between {minimum} and {limit:,}, got {_show(value)}")
    return value


def _opt_int(cfg: dict[str, Any], key: str, minimum: int = 1) -> int | None:
    if cfg.get(key) is None:
        return None
    return _int(cfg, key, minimum=minimum)


def _bool(cfg: dict[str, Any], key: str, default: bool) -> bool:
    value = cfg.get(key, default)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise CalcError(key, f"must be true or false, got {_show(value)}")
    return value


def _show(value: Any) -> str:
    """A short, safe rendering of a user's value for an error message."""
    if isinstance(value, str):
        text = repr(value[:40])
    elif isinstance(value, bool) or value is None:
        text = json.dumps(value)
    elif isinstance(value, int):
        text = str(value) if abs(value) < 10**30 else f"a {len(hex(value)) * 4 // 3}-bit-ish integer"
    elif isinstance(value, float):
        text = repr(value)
    else:
        text = f"a JSON {'object' if isinstance(value, dict) else 'array' if isinstance(value, list) else 'value'}"
    return f"{text} ({type(value).__name__})"


# ---------------------------------------------------------------- parsing


def load_config_text(text: str, model_id: str = "pasted config.json") -> ModelSpec:
    """Parse ``config.json`` text (as pasted or uploaded by a user)."""
    if not isinstance(text, str):
        raise CalcError("config", "expected the text of a config.json")
    if len(text) > _MAX_CONFIG_CHARS:
        raise CalcError("config", f"config.json is {len(text):,} characters; the limit is {_MAX_CONFIG_CHARS:,}")
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise CalcError("config", f"not valid JSON: {str(exc)[:120]}") from None
    return spec_from_config(data, model_id)


def spec_from_config(config: Any, model_id: str = "custom") -> ModelSpec:
    """Build a :class:`ModelSpec` from a Hugging Face config dict."""
    if not isinstance(config, dict):
        raise CalcError("config", f"config.json must be a JSON object, got {type(config).__name__}")
    model_type = config.get("model_type", "")
    if not isinstance(model_type, str):
        raise CalcError("model_type", f"must be a string, got {_show(model_type)}")
    cfg = config
    assumptions: list[str] = []
    # Gemma 3 (and other multimodal wrappers) nest the language model in text_config.
    if isinstance(config.get("text_config"), dict) and "num_hidden_layers" not in config:
        cfg = dict(config["text_config"])
        for key in ("torch_dtype", "dtype", "quantization_config", "tie_word_embeddings"):
            if key in config and key not in cfg:
                cfg[key] = config[key]
        model_type = cfg.get("model_type", model_type) if isinstance(cfg.get("model_type"), str) else model_type
        assumptions.append("language model from text_config; vision tower not counted")
    defaults = FAMILY_DEFAULTS.get(model_type, {})
    missing = [k for k in defaults if cfg.get(k) is None]
    if missing:
        cfg = {**cfg, **{k: defaults[k] for k in missing}}
        assumptions.append(f"{', '.join(missing)} not given: {model_type} defaults of Transformers' config class")
    if model_type not in KNOWN_MODEL_TYPES:
        assumptions.append(
            f"model_type {model_type[:40]!r} is not one we model explicitly: read as a Llama-like "
            "decoder (gated MLP, RMSNorm, no biases) from the standard fields"
        )

    hidden = _int(cfg, "hidden_size")
    layers = _int(cfg, "num_hidden_layers")
    heads = _int(cfg, "num_attention_heads")
    kv_heads = _int(cfg, "num_key_value_heads", default=heads)
    if heads % kv_heads:
        raise CalcError("num_key_value_heads", f"{kv_heads} does not divide num_attention_heads {heads}")
    is_mla = model_type in ("deepseek_v2", "deepseek_v3", "kimi_k2") or "kv_lora_rank" in cfg
    if "head_dim" in cfg and cfg["head_dim"] is not None:
        head_dim = _int(cfg, "head_dim")
    elif is_mla:
        head_dim = _int(cfg, "v_head_dim")  # MLA: the per-head widths are the qk_*/v_head_dim fields
    else:
        if hidden % heads:
            raise CalcError(
                "head_dim", f"missing, and hidden_size {hidden} is not a multiple of num_attention_heads {heads}"
            )
        head_dim = hidden // heads
        assumptions.append(f"head_dim not given: hidden_size / num_attention_heads = {head_dim}")
    vocab = _int(cfg, "vocab_size")
    max_pos = _int(cfg, "max_position_embeddings", default=4096)
    dtype = _checkpoint_dtype(cfg, assumptions)

    mla = _mla(cfg) if is_mla else None
    moe = _moe(cfg, model_type, layers, hidden)
    inter = _int(cfg, "intermediate_size", default=moe.expert_intermediate_size if moe else None)
    # q/k/v/o biases: Llama-style ``attention_bias`` covers all four; Qwen2 always has q/k/v
    # biases and none on o_proj; gpt-oss has all four.
    attention_bias = _bool(cfg, "attention_bias", False)
    qkv_bias = attention_bias or model_type in ("qwen2", "gpt_oss")
    o_bias = model_type == "gpt_oss" or (attention_bias and model_type != "qwen2")

    gemma = model_type in ("gemma2", "gemma3", "gemma3_text")
    spec = ModelSpec(
        model_id=model_id,
        model_type=model_type or "unknown",
        vocab_size=vocab,
        hidden_size=hidden,
        num_layers=layers,
        num_attention_heads=heads,
        num_kv_heads=kv_heads,
        head_dim=head_dim,
        intermediate_size=inter,
        tie_word_embeddings=_bool(cfg, "tie_word_embeddings", default=gemma),
        max_position_embeddings=max_pos,
        dtype=dtype,
        layer_windows=_layer_windows(cfg, model_type, layers, assumptions),
        qkv_bias=qkv_bias,
        o_bias=o_bias,
        qk_norm=model_type in ("qwen3", "qwen3_moe", "gemma3", "gemma3_text"),
        norms_per_layer=4 if gemma else 2,
        attention_sinks=model_type == "gpt_oss",
        mla=mla,
        moe=moe,
        quant=_quant(cfg.get("quantization_config")),
        mtp_layers=_int(cfg, "num_nextn_predict_layers", default=0, minimum=0) if mla else 0,
        assumptions=tuple(assumptions),
    )
    return spec


def _checkpoint_dtype(cfg: dict[str, Any], assumptions: list[str]) -> str:
    raw = cfg.get("torch_dtype", cfg.get("dtype"))
    if raw is None:
        assumptions.append("torch_dtype not given: bfloat16 assumed")
        return "bfloat16"
    name = dtypes.normalize(raw, "torch_dtype")
    if name not in ("float32", "float16", "bfloat16"):
        raise CalcError("torch_dtype", f"{raw!r} is not a checkpoint dtype (float32, float16, bfloat16)")
    return name


def _mla(cfg: dict[str, Any]) -> MLASpec:
    return MLASpec(
        q_lora_rank=_opt_int(cfg, "q_lora_rank"),
        kv_lora_rank=_int(cfg, "kv_lora_rank"),
        qk_nope_head_dim=_int(cfg, "qk_nope_head_dim"),
        qk_rope_head_dim=_int(cfg, "qk_rope_head_dim"),
        v_head_dim=_int(cfg, "v_head_dim"),
    )


def _moe(cfg: dict[str, Any], model_type: str, layers: int, hidden: int) -> MoESpec | None:
    if model_type in ("deepseek_v2", "deepseek_v3", "kimi_k2") or "n_routed_experts" in cfg:
        experts = _opt_int(cfg, "n_routed_experts")
        if experts is None:
            return None
        first_dense = _int(cfg, "first_k_dense_replace", default=0, minimum=0)
        freq = _int(cfg, "moe_layer_freq", default=1)
        inter = _int(cfg, "moe_intermediate_size")
        shared = _int(cfg, "n_shared_experts", default=0, minimum=0)
        return MoESpec(
            num_experts=experts,
            experts_per_token=_bounded_topk(cfg, "num_experts_per_tok", experts),
            expert_intermediate_size=inter,
            shared_intermediate_size=shared * inter,
            moe_layers=tuple(i >= first_dense and i % freq == 0 for i in range(layers)),
            router_bias=cfg.get("topk_method") == "noaux_tc",
            expert_bias=False,
            shared_expert_gate=False,
        )
    if model_type in ("mixtral", "gpt_oss") or (model_type != "qwen3_moe" and "num_local_experts" in cfg):
        # Mixtral and gpt-oss: every layer routes over num_local_experts of width intermediate_size;
        # gpt-oss adds a router bias and biases on every expert's projections.
        experts = _int(cfg, "num_local_experts")
        gpt_oss = model_type == "gpt_oss"
        return MoESpec(
            num_experts=experts,
            experts_per_token=_bounded_topk(cfg, "num_experts_per_tok", experts),
            expert_intermediate_size=_int(cfg, "intermediate_size"),
            shared_intermediate_size=0,
            moe_layers=(True,) * layers,
            router_bias=gpt_oss,
            expert_bias=gpt_oss,
            shared_expert_gate=False,
        )
    if model_type in ("qwen3_moe", "qwen2_moe") or ("num_experts" in cfg and "moe_intermediate_size" in cfg):
        experts = _int(cfg, "num_experts")
        step = _int(cfg, "decoder_sparse_step", default=1)
        dense_only = cfg.get("mlp_only_layers") or []
        if not isinstance(dense_only, list) or not all(
            isinstance(i, int) and not isinstance(i, bool) for i in dense_only
        ):
            raise CalcError("mlp_only_layers", "must be a list of layer indices")
        shared = _int(cfg, "shared_expert_intermediate_size", default=0, minimum=0)
        return MoESpec(
            num_experts=experts,
            experts_per_token=_bounded_topk(cfg, "num_experts_per_tok", experts),
            expert_intermediate_size=_int(cfg, "moe_intermediate_size"),
            shared_intermediate_size=shared,
            moe_layers=tuple(i not in dense_only and (i + 1) % step == 0 for i in range(layers)),
            router_bias=False,
            expert_bias=False,
            shared_expert_gate=shared > 0,
        )
    return None


def _bounded_topk(cfg: dict[str, Any], key: str, experts: int) -> int:
    k = _int(cfg, key)
    if k > experts:
        raise CalcError(key, f"{k} experts per token exceeds the {experts} experts")
    return k


def _layer_windows(cfg: dict[str, Any], model_type: str, layers: int, assumptions: list[str]) -> tuple[int | None, ...]:
    """Sliding window of each layer, None for full attention.

    Sources: ``layer_types`` (Transformers ≥ 4.53 configs of Gemma 3, gpt-oss, Qwen3); Gemma 2
    alternates local/global starting with local (``Gemma2DecoderLayer``: ``not bool(layer_idx % 2)``);
    Gemma 3 puts a global layer every ``sliding_window_pattern`` layers; Mistral 7B v0.1 and
    Phi-3 apply ``sliding_window`` to every layer.  ``use_sliding_window: false`` (Qwen) turns it off.
    """
    window = _opt_int(cfg, "sliding_window")
    types = cfg.get("layer_types")
    if types is not None:
        if not isinstance(types, list) or len(types) != layers:
            raise CalcError("layer_types", f"must be a list of {layers} layer types")
        out: list[int | None] = []
        for t in types:
            if t == "sliding_attention":
                if window is None:
                    raise CalcError("sliding_window", "layer_types names sliding layers but sliding_window is missing")
                out.append(window)
            elif t == "full_attention":
                out.append(None)
            else:
                raise CalcError("layer_types", f"unknown layer type {_show(t)}")
        return tuple(out)
    if window is None or cfg.get("use_sliding_window") is False:
        return (None,) * layers
    if model_type == "gemma2":
        return tuple(window if i % 2 == 0 else None for i in range(layers))
    if model_type in ("gemma3", "gemma3_text"):
        pattern = _int(cfg, "sliding_window_pattern", default=6)
        return tuple(None if (i + 1) % pattern == 0 else window for i in range(layers))
    if model_type in ("qwen2", "qwen3", "qwen3_moe", "qwen2_moe"):
        # Qwen configs carry sliding_window with use_sliding_window false; max_window_layers counts
        # the bottom layers that would use full attention.
        return (None,) * layers
    if window >= _int(cfg, "max_position_embeddings", default=1 << 31):
        return (None,) * layers
    assumptions.append(f"sliding_window {window} applied to every layer")
    return (window,) * layers


def _quant(qc: Any) -> QuantSpec | None:
    if qc is None:
        return None
    if not isinstance(qc, dict):
        raise CalcError("quantization_config", "must be a JSON object")
    method = qc.get("quant_method")
    if not isinstance(method, str):
        raise CalcError("quantization_config.quant_method", "missing or not a string")
    method = method.lower()
    skip = qc.get("modules_to_not_convert") or qc.get("ignored_layers") or []
    if not isinstance(skip, list):
        skip = []
    skipped = tuple(str(s)[:200] for s in skip[:10_000])
    if method == "fp8":
        block = qc.get("weight_block_size")
        if block is not None:
            if (
                not isinstance(block, list)
                or len(block) != 2
                or not all(isinstance(b, int) and not isinstance(b, bool) and 1 <= b <= 65536 for b in block)
                or block[0] != block[1]
            ):
                raise CalcError("quantization_config.weight_block_size", "must be two equal positive integers")
            return QuantSpec("fp8", 8, block[0], block_scaled=True, modules_not_converted=skipped)
        return QuantSpec("fp8", 8, 0, modules_not_converted=skipped)
    if method in ("awq", "gptq"):
        bits = _int(qc, "bits", default=_int(qc, "w_bit", default=4))
        if bits not in (4, 8):
            raise CalcError("quantization_config.bits", f"{bits}-bit {method} is not modelled (4 or 8)")
        group = qc.get("group_size", qc.get("q_group_size", 128))
        if isinstance(group, bool) or not isinstance(group, int) or not (group == -1 or 1 <= group <= 1 << 20):
            raise CalcError("quantization_config.group_size", f"must be a positive integer or -1, got {_show(group)}")
        zero = method == "gptq" or bool(qc.get("zero_point", True))
        return QuantSpec(method, bits, group, zero_point=zero, modules_not_converted=skipped)
    if method == "mxfp4":
        return QuantSpec("mxfp4", 4, 32, modules_not_converted=skipped)
    if method in ("compressed-tensors", "bitsandbytes", "int8"):
        raise CalcError(
            "quantization_config.quant_method",
            f"{method!r} checkpoints are not modelled yet; choose the weights dtype by hand",
        )
    raise CalcError("quantization_config.quant_method", f"unknown method {method[:40]!r}")


# ---------------------------------------------------------------- presets


def _data_dir() -> Any:
    return resources.files("calculators") / "data" / "models"


def preset_ids() -> list[str]:
    """Ids (Hugging Face repo ids) of the bundled configs."""
    ids = []
    for entry in _data_dir().iterdir():
        if entry.name.endswith(".json"):
            ids.append(entry.name[:-5].replace("--", "/", 1))
    return sorted(ids)


def preset_record(model_id: str) -> dict[str, Any]:
    """The bundled record ``{"id", "source", "retrieved", "config"}`` of ``model_id``."""
    if not isinstance(model_id, str) or "/" not in model_id or len(model_id) > 200:
        raise CalcError("model", f"expected a preset id like 'meta-llama/Llama-3.1-8B', got {str(model_id)[:60]!r}")
    name = model_id.strip().replace("/", "--", 1)
    if any(c in name for c in "/\\") or name.startswith("."):
        raise CalcError("model", f"not a preset id: {model_id[:60]!r}")
    entry = _data_dir() / f"{name}.json"
    if not entry.is_file():
        close = [p for p in preset_ids() if p.lower() == model_id.strip().lower()]
        if close:
            return preset_record(close[0])
        raise CalcError(
            "model",
            f"no bundled preset {model_id[:60]!r}; pass --config FILE or pick one of: {', '.join(preset_ids())}",
        )
    record: dict[str, Any] = json.loads(entry.read_text(encoding="utf-8"))
    return record


#: base checkpoints whose config.json differs from a bundled sibling only in generation settings
#: (eos_token_id, chat template): every architecture field is the same, so the sibling's config
#: answers for them, and the result says so.
ALIASES: dict[str, str] = {
    "meta-llama/Llama-3.1-70B": "meta-llama/Llama-3.1-70B-Instruct",
    "meta-llama/Llama-3.2-1B": "meta-llama/Llama-3.2-1B-Instruct",
    "mistralai/Mistral-7B-v0.1": "mistralai/Mistral-7B-Instruct-v0.1",
    "mistralai/Mixtral-8x7B-v0.1": "mistralai/Mixtral-8x7B-Instruct-v0.1",
    "google/gemma-2-9b": "google/gemma-2-9b-it",
}


def load_preset(model_id: str) -> ModelSpec:
    """The :class:`ModelSpec` of a bundled preset (id = Hugging Face repo id, or an alias)."""
    if isinstance(model_id, str) and model_id.strip() in ALIASES and model_id.strip() not in preset_ids():
        sibling = ALIASES[model_id.strip()]
        record = preset_record(sibling)
        spec = spec_from_config(record["config"], model_id.strip())
        note = f"architecture read from the bundled {sibling} config.json (same shapes; generation settings differ)"
        return replace(spec, assumptions=(note, *spec.assumptions))
    record = preset_record(model_id)
    return spec_from_config(record["config"], record["id"])
