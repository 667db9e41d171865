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
import re
from dataclasses import dataclass, field, replace
from functools import cache, cached_property, lru_cache
from importlib import resources
from typing import Any

from calculators import dtypes
from calculators.errors import CalcError

#: Every model_type a reader knows, with what it reads.  A config whose model_type is not here is
#: refused (``--assume-llama-like`` reads it as a Llama-like decoder and marks every figure an
#: estimate).  Keys are the ``model_type`` of the language model (after unwrapping ``text_config``).
ARCHITECTURES: dict[str, str] = {
    "llama": "Llama 2/3.x: GQA attention, gated SiLU MLP, RMSNorm",
    "mistral": "Mistral: the Llama layout with an optional sliding window",
    "qwen2": "Qwen2/2.5: the Llama layout with q/k/v biases",
    "qwen3": "Qwen3: the Llama layout with per-head q/k RMSNorm",
    "smollm3": "SmolLM3: the Llama layout (NoPE layers change no shapes)",
    "olmo2": "OLMo 2: q/k RMSNorm over the full projection, norms after attention and MLP",
    "mimo": "MiMo: the Qwen2 layout; its MTP layers are not served by default and not counted",
    "phi3": "Phi-3/Phi-4: fused qkv and gate_up projections",
    "phi": "Phi-1/2: parallel attention and non-gated MLP, LayerNorm with biases, lm_head bias",
    "gpt_neox": "GPT-NeoX/Pythia: fused qkv with biases, non-gated MLP, two LayerNorms",
    "opt": "OPT: learned positions, non-gated MLP (ffn_dim), LayerNorm with biases",
    "starcoder2": "StarCoder2: non-gated MLP with biases, LayerNorm, sliding window",
    "gemma2": "Gemma 2: four RMSNorms per layer, alternating sliding/full layers",
    "gemma3_text": "Gemma 3: Gemma 2 layout, q/k norms, 5 sliding : 1 full",
    "gemma4_text": "Gemma 4 (dense): the Gemma 3 layout; full-attention layers with their own KV heads and "
    "head_dim (K reused as V), a scalar per layer",
    "mixtral": "Mixtral: every layer MoE (num_local_experts)",
    "qwen2_moe": "Qwen2-MoE: MoE with a gated shared expert",
    "qwen3_moe": "Qwen3-MoE: MoE (num_experts, moe_intermediate_size)",
    "gpt_oss": "gpt-oss: MoE with biases, attention sinks, alternating sliding/full",
    "deepseek_v2": "DeepSeek-V2: MLA + MoE with shared experts",
    "deepseek_v3": "DeepSeek-V3/R1: MLA + MoE, router bias, MTP module reported apart",
    "kimi_k2": "Kimi K2: the DeepSeek-V3 layout",
    "glm4_moe": "GLM-4.5/4.6: MoE from first_k_dense_replace, shared expert, qkv bias",
    "minimax_m2": "MiniMax-M2: every layer MoE with router bias, q/k RMSNorm over the full projection",
    "ernie4_5_moe": "ERNIE-4.5 MoE: MoE between moe_layer_start/end_index, shared experts",
    "llama4_text": "Llama 4: MoE every interleave_moe_layer_step layers with a shared expert, chunked attention",
    "qwen2_5_vl": "Qwen2.5-VL: the Qwen2 language model (vision encoder not counted)",
    "qwen2_5_vl_text": "Qwen2.5-VL's language model: the Qwen2 layout",
    "qwen3_vl_text": "Qwen3-VL's language model: the Qwen3 layout (multimodal RoPE changes no shapes)",
    "ministral3": "Ministral 3 / Devstral 2: the Mistral layout with YaRN",
    "glm4_moe_lite": "GLM-4.7-Flash: the DeepSeek-V3 layout (MLA + MoE)",
    "deepseek_v32": "DeepSeek-V3.2: DeepSeek-V3 with the sparse-attention indexer (its own per-token cache)",
    "glm_moe_dsa": "GLM-5: MLA + MoE with DeepSeek sparse attention",
    "nemotron_h": "Nemotron-H / Nemotron 3: Mamba2, attention, MLP and MoE blocks from hybrid_override_pattern",
    "qwen3_next": "Qwen3-Next: Gated DeltaNet linear attention + gated full attention every 4th layer, MoE",
    "qwen3_5_text": "Qwen3.5/3.6 dense: Gated DeltaNet + gated full attention (layer_types)",
    "qwen3_5_moe_text": "Qwen3.5/3.6 MoE: Gated DeltaNet + gated full attention (layer_types), MoE",
    "granitemoehybrid": "Granite 4.0 H: Mamba2 / attention layers (layer_types), MoE + shared MLP in every layer",
    "falcon_h1": "Falcon-H1: attention and a Mamba2 mixer side by side in every layer, gated MLP",
    "jamba": "Jamba: Mamba-1 layers with attention every attn_layer_period, MoE every expert_layer_period",
}

#: model types that share another reader's layout exactly
LAYOUT_OF: dict[str, str] = {
    "qwen2_5_vl": "qwen2",
    "qwen2_5_vl_text": "qwen2",
    "qwen3_vl_text": "qwen3",
    "ministral3": "mistral",
    "glm4_moe_lite": "deepseek_v3",
    "glm_moe_dsa": "deepseek_v32",
    "qwen3_5_text": "qwen3_next",
    "qwen3_5_moe_text": "qwen3_next",
}

#: Multimodal wrappers: the language model is read from ``text_config``; the vision encoder and
#: projector are not counted (stated in the result).
WRAPPERS: dict[str, str] = {
    "gemma3": "gemma3_text",
    "gemma4": "gemma4_text",
    "llama4": "llama4_text",
    "mistral3": "",  # text_config names its own model_type (mistral or llama)
}

#: Keys that change a model's shapes.  A reader lists the ones it models; any other one present
#: with a value (not null, false, 0 or empty) makes the config refused rather than misread.
SHAPE_KEYS: dict[str, str] = {
    **dict.fromkeys(
        ("hybrid_override_pattern", "layers_block_type", "attn_layer_period", "attn_layer_offset",
         "mamba_d_state", "mamba_d_conv", "mamba_expand", "mamba_n_heads", "mamba_d_head", "mamba_n_groups",
         "mamba_num_heads", "mamba_head_dim", "ssm_state_size", "mamba_d_ssm"),
        "state-space (Mamba) layers",
    ),
    **dict.fromkeys(
        ("linear_num_key_heads", "linear_num_value_heads", "linear_key_head_dim", "linear_value_head_dim",
         "linear_conv_kernel_dim", "full_attention_interval", "linear_attn_config"),
        "linear-attention layers",
    ),
    "attention_chunk_size": "chunked local attention",
    **dict.fromkeys(("index_topk", "index_n_heads", "index_head_dim"), "a DeepSeek sparse-attention indexer"),
    **dict.fromkeys(("indexer_types", "index_topk_freq", "index_topk_pattern"), "indexers shared between layers"),
    "mlp_layer_types": "per-layer feed-forward types",
    **dict.fromkeys(
        ("num_local_experts", "num_experts", "n_routed_experts", "moe_num_experts", "moe_intermediate_size",
         "n_shared_experts", "moe_k", "moe_layer_start_index", "moe_layer_end_index", "moe_layer_interval",
         "interleave_moe_layer_step", "moe_layers", "shared_expert_intermediate_size", "moe_num_shared_experts",
         "expert_layer_period", "expert_layer_offset", "decoder_sparse_step", "first_k_dense_replace",
         "moe_layer_freq", "num_experts_per_tok", "mlp_only_layers"),
        "mixture-of-experts layers",
    ),
    "intermediate_size_mlp": "a second feed-forward width",
    **dict.fromkeys(("ffn_dim", "n_inner"), "a feed-forward width under another name"),
    **dict.fromkeys(("kv_lora_rank", "q_lora_rank"), "multi-head latent attention"),
    "word_embed_proj_dim": "an embedding projection",
    "cross_attention_layers": "cross-attention layers",
    **dict.fromkeys(("parallel_attn", "new_decoder_architecture", "multi_query"), "the Falcon layout"),
    **dict.fromkeys(("use_qk_norm", "qk_layernorm"), "q/k normalisation layers"),
    "mlp_bias": "biases on the feed-forward projections",
    "share_q_dim": "multi-matrix factorised attention",
    **dict.fromkeys(("altup_num_inputs", "laurel_rank", "hidden_size_per_layer_input"), "Gemma 3n's per-layer inputs"),
    **dict.fromkeys(("global_head_dim", "num_global_key_value_heads", "attention_k_eq_v"),
                    "full-attention layers shaped unlike the sliding ones"),
    "num_kv_shared_layers": "layers that reuse another layer's KV cache",
    **dict.fromkeys(("enable_moe_block", "use_second_mlp_block", "top_k_experts", "expert_intermediate_size"),
                    "a mixture-of-experts block beside the MLP"),
    "use_double_wide_mlp": "double-width MLPs on some layers",
}

_MOE = ("num_experts_per_tok",)
#: the SHAPE_KEYS each reader models (keys absent here are refused when active)
READS: dict[str, frozenset[str]] = {
    "llama": frozenset(("mlp_bias",)),
    "mistral": frozenset(),
    "qwen2": frozenset(),
    "qwen3": frozenset(),
    "smollm3": frozenset(),
    "olmo2": frozenset(),
    "mimo": frozenset(),
    "phi3": frozenset(),
    "phi": frozenset(("qk_layernorm",)),
    "gpt_neox": frozenset(),
    "opt": frozenset(("ffn_dim", "word_embed_proj_dim")),
    "starcoder2": frozenset(),
    "gemma2": frozenset(),
    "gemma3_text": frozenset(),
    "gemma4_text": frozenset(("global_head_dim", "num_global_key_value_heads", "attention_k_eq_v")),
    "mixtral": frozenset(("num_local_experts", *_MOE)),
    "qwen2_moe": frozenset(("num_experts", "moe_intermediate_size", "shared_expert_intermediate_size",
                            "decoder_sparse_step", "mlp_only_layers", *_MOE)),
    "qwen3_moe": frozenset(("num_experts", "moe_intermediate_size", "shared_expert_intermediate_size",
                            "decoder_sparse_step", "mlp_only_layers", *_MOE)),
    "gpt_oss": frozenset(("num_local_experts", *_MOE)),
    "deepseek_v2": frozenset(("n_routed_experts", "moe_intermediate_size", "n_shared_experts",
                              "first_k_dense_replace", "moe_layer_freq", "kv_lora_rank", "q_lora_rank", *_MOE)),
    "glm4_moe": frozenset(("n_routed_experts", "moe_intermediate_size", "n_shared_experts",
                           "first_k_dense_replace", "use_qk_norm", *_MOE)),
    "minimax_m2": frozenset(("num_local_experts", "use_qk_norm", *_MOE)),
    "ernie4_5_moe": frozenset(("moe_num_experts", "moe_intermediate_size", "moe_num_shared_experts", "moe_k",
                               "moe_layer_start_index", "moe_layer_end_index", "moe_layer_interval")),
    "llama4_text": frozenset(("num_local_experts", "interleave_moe_layer_step", "moe_layers",
                              "intermediate_size_mlp", "attention_chunk_size", "use_qk_norm", *_MOE)),
}
READS["deepseek_v3"] = READS["kimi_k2"] = READS["deepseek_v2"]
READS["deepseek_v32"] = READS["deepseek_v2"] | {"index_topk", "index_n_heads", "index_head_dim"}
READS["nemotron_h"] = frozenset(
    ("hybrid_override_pattern", "mamba_d_state", "mamba_num_heads", "mamba_head_dim", "ssm_state_size",
     "n_routed_experts", "moe_intermediate_size", "n_shared_experts", "num_experts_per_tok", "mlp_bias")
)
READS["granitemoehybrid"] = frozenset(
    ("layer_types", "layers_block_type", "mamba_n_heads", "mamba_d_head", "mamba_d_state", "mamba_n_groups",
     "mamba_d_conv", "mamba_expand", "num_local_experts", "num_experts_per_tok")
)
READS["falcon_h1"] = frozenset(
    ("mamba_n_heads", "mamba_d_head", "mamba_d_state", "mamba_n_groups", "mamba_d_conv", "mamba_expand",
     "mamba_d_ssm", "mlp_bias")
)
READS["jamba"] = frozenset(
    ("attn_layer_period", "attn_layer_offset", "expert_layer_period", "expert_layer_offset", "num_experts",
     "num_experts_per_tok", "mamba_d_state", "mamba_d_conv", "mamba_expand")
)
READS["qwen3_next"] = READS["qwen3_moe"] | {
    "linear_num_key_heads", "linear_num_value_heads", "linear_key_head_dim", "linear_value_head_dim",
    "linear_conv_kernel_dim", "full_attention_interval",
}
for _alias, _layout in LAYOUT_OF.items():
    READS[_alias] = READS[_layout]
assert set(READS) == set(ARCHITECTURES)

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
        "num_attention_heads": 8,
    },
    # Llama4TextConfig: attention_chunk_size=8192 (src/transformers/models/llama4/configuration_llama4.py)
    "llama4_text": {"attention_chunk_size": 8192},
    # JambaConfig: max_position_embeddings=262144 (src/transformers/models/jamba/configuration_jamba.py);
    # ai21labs/Jamba-v0.1's config.json has only the legacy "n_ctx", which vLLM does not read
    "jamba": {"max_position_embeddings": 262_144},
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
    router_bias_fp32: bool = False  # DeepSeek-V3 / GLM / ERNIE keep e_score_correction_bias in float32
    expert_gated: bool = True  # False: experts are up → act → down (Nemotron-H's relu² experts)
    shared_experts_as_one: bool = True  # the shared width is one MLP (False: not used)


@dataclass(frozen=True)
class SSMSpec:
    """A Mamba2 mixer or a Gated DeltaNet (linear attention) mixer, in one notation.

    Mamba2 (Nemotron-H): ``num_heads`` × ``head_dim`` = the inner width, ``state_size`` = N,
    ``n_groups`` = G.  Gated DeltaNet (Qwen3-Next, Qwen3.5): ``num_heads`` = value heads,
    ``head_dim`` = value head dim, ``n_groups`` = key heads, ``state_size`` = key head dim.  Both
    keep a conv state of (conv_kernel − 1) × conv_dim and a recurrent state of num_heads ×
    head_dim × state_size per sequence (vllm mamba_utils.py ``mamba2_state_shape`` /
    ``gated_delta_net_state_shape``), conv_dim = num_heads·head_dim + 2·n_groups·state_size.
    """

    kind: str  # "mamba2" or "gdn"
    num_heads: int
    head_dim: int
    state_size: int
    n_groups: int
    conv_kernel: int
    conv_bias: bool
    proj_bias: bool
    ssm_dtype: str  # dtype of the recurrent state in vLLM's cache ("" = the model dtype)
    chunk_size: int = 0  # Mamba2 scan chunk (config chunk_size / mamba_chunk_size): vLLM's "all" mode aligns to it
    norm: bool = True  # Mamba2's gated RMSNorm over the inner width (Falcon-H1 only with mamba_rms_norm)
    out_bias: bool | None = None  # out_proj bias when it differs from proj_bias (Falcon-H1 projectors_bias)
    dt_rank: int = 0  # Mamba-1: x_proj → (dt_rank + 2·N), dt_proj (inner × dt_rank)

    @property
    def inner(self) -> int:
        return self.num_heads * self.head_dim

    @property
    def conv_dim(self) -> int:
        return self.inner + 2 * self.n_groups * self.state_size


@dataclass(frozen=True)
class IndexerSpec:
    """DeepSeek sparse attention's lightning indexer (DeepSeek-V3.2, GLM-5): per layer wq_b
    (n_heads·head_dim × q_lora_rank), wk (head_dim × hidden), k_norm (LayerNorm head_dim),
    weights_proj (n_heads × hidden); it caches one fp8 key of head_dim + an fp32 scale per token."""

    n_heads: int
    head_dim: int
    topk: int


@dataclass(frozen=True)
class QuantSpec:
    """A checkpoint's ``quantization_config``, reduced to what memory depends on."""

    method: str  # "fp8", "int8", "awq", "gptq", "wna16", "nvfp4", "mxfp4", "bnb4", "bnb8"
    bits: int
    group_size: int  # int4: elements per scale group; fp8 block: block edge (0 = per-tensor/channel)
    block_scaled: bool = False  # fp8 with weight_block_size (DeepSeek ships 128×128 blocks)
    zero_point: bool = False
    modules_not_converted: tuple[str, ...] = ()
    scale_per: str = "channel"  # fp8 / int8 weight scales: "tensor", "channel" or "block"
    act_order: bool = False  # GPTQ desc_act / compressed-tensors actorder=group: an int32 g_idx per input
    #: modules left unquantized, as vLLM matches them: ("exact", name), ("re", pattern) — re.match —,
    #: ("glob", pattern) — fnmatch —, ("sub", text) — substring — or ("part", name) — bitsandbytes:
    #: a dot component or dotted prefix of the module name
    ignore: tuple[tuple[str, str], ...] = ()
    source: str = ""  # quant_method as the checkpoint names it, for display
    kv_fp8_scales: bool = False  # the checkpoint ships fp8 KV-cache scales (kv_cache_scheme / kv_cache_quant_algo)


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
    mlp_gated: bool = True  # gate_proj · act(up_proj); False: fc1 → act → fc2 (phi, gpt_neox, opt, starcoder2)
    mlp_bias: bool = False  # biases on the feed-forward projections
    norm_bias: bool = False  # LayerNorm with a bias (phi, gpt_neox, opt, starcoder2) instead of RMSNorm
    lm_head_bias: bool = False  # phi: lm_head has a bias of vocab_size
    learned_positions: int = 0  # OPT: rows of the learned position embedding (max_position_embeddings + 2)
    qk_norm_full: bool = False  # q/k norms over the whole projection (OLMo 2, MiniMax-M2), not per head
    post_norms_only: bool = False  # OLMo 2: norms after attention and MLP, none before
    parallel_block: bool = False  # phi: one LayerNorm feeds attention and MLP in parallel
    final_norm: bool = True  # OPT with do_layer_norm_before false (OPT-350m) has no final LayerNorm
    qk_norm_replicated: bool = False  # vLLM OLMo 2: q_norm / k_norm whole on every TP rank
    layer_chunks: tuple[int | None, ...] = ()  # per layer: chunked-attention chunk (Llama 4), () = none
    vision_not_counted: bool = False  # a multimodal wrapper whose vision encoder is left out
    checkpoint_dtype: str = ""  # torch_dtype as stored, when vLLM serves another (float32 → 16-bit)
    estimate: bool = False  # read as a Llama-like decoder on request: every figure is an estimate
    #: per layer: "attention", "mamba2", "gdn" or "none" (a layer that is only a feed-forward
    #: block, Nemotron-H's "-" and "E"); () = every layer attention
    layer_mixers: tuple[str, ...] = ()
    #: per layer: whether it has a feed-forward block (Nemotron-H's "M" and "*" blocks have none)
    layer_ffn: tuple[bool, ...] = ()
    ssm: SSMSpec | None = None
    indexer: IndexerSpec | None = None
    gated_attention: bool = False  # Qwen3-Next: q_proj also produces an output gate (2 × heads × head_dim)
    max_model_len_limit: int = 0  # what vLLM derives from the config (rope scaling); 0 = max_position_embeddings
    #: Gemma 4: full-attention layers have their own KV heads and head_dim (0 = as the other layers)
    #: and, with ``k_eq_v``, no v_proj in the checkpoint (vLLM loads K into both the K and V slots)
    full_kv_heads: int = 0
    full_head_dim: int = 0
    k_eq_v: bool = False
    layer_scalar: bool = False  # Gemma 4: one learned scalar per decoder layer
    assumptions: tuple[str, ...] = field(default=())

    @property
    def is_moe(self) -> bool:
        return self.moe is not None

    @property
    def has_sliding_window(self) -> bool:
        return any(w is not None for w in self.attention_windows)

    def is_full_shaped(self, layer: int) -> bool:
        """A full-attention layer with its own shapes (Gemma 4's global layers)."""
        return bool(self.full_head_dim) and self.layer_windows[layer] is None

    def kv_heads_of(self, layer: int) -> int:
        return self.full_kv_heads if self.is_full_shaped(layer) else self.num_kv_heads

    def head_dim_of(self, layer: int) -> int:
        return self.full_head_dim if self.is_full_shaped(layer) else self.head_dim

    def mixer(self, layer: int) -> str:
        return self.layer_mixers[layer] if self.layer_mixers else "attention"

    def has_ffn(self, layer: int) -> bool:
        return self.layer_ffn[layer] if self.layer_ffn else True

    @cached_property
    def attention_layers(self) -> tuple[int, ...]:
        """Indices of the layers that keep a KV cache (all of them for a plain transformer).  Derived
        once per spec (the step model asks for it on every attention cost; the spec is frozen)."""
        return tuple(i for i in range(self.num_layers) if self.mixer(i) in ("attention", "parallel"))

    @property
    def attention_windows(self) -> tuple[int | None, ...]:
        """Sliding window of each attention layer (None = full)."""
        return tuple(self.layer_windows[i] for i in self.attention_layers)

    @cached_property
    def ssm_layers(self) -> tuple[int, ...]:
        """Indices of the state-space / linear-attention layers (derived once per spec)."""
        return tuple(i for i in range(self.num_layers) if self.mixer(i) in ("mamba2", "gdn", "mamba1", "parallel"))

    @property
    def max_len(self) -> int:
        """The longest max_model_len vLLM accepts without VLLM_ALLOW_LONG_MAX_MODEL_LEN."""
        return self.max_model_len_limit or self.max_position_embeddings


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


#: deepest JSON nesting accepted (real configs nest 3–4 levels; Pyodide's stack overflows near 1,000)
MAX_JSON_DEPTH = 32


def check_json_nesting(text: str, field: str) -> None:
    """Refuse JSON nested deeper than :data:`MAX_JSON_DEPTH` before parsing it (a scan of the
    brackets outside strings; json.loads recurses once per level)."""
    depth = 0
    in_string = False
    escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            if depth > MAX_JSON_DEPTH:
                raise CalcError(field, f"JSON nested more than {MAX_JSON_DEPTH} levels deep; a config.json is not")
        elif ch in "]}":
            depth -= 1


#: what a Hugging Face repo id looks like (org/name)
REPO_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,95}/[A-Za-z0-9_.-]{1,96}$")
#: the model id of a config whose repository is unknown (shown in commands: replace it)
PLACEHOLDER_ID = "<model-repo-or-path>"


def load_config_text(
    text: str,
    model_id: str | None = None,
    assume_llama_like: bool = False,
    hf_quant_config: str | None = None,
    fallback_id: str = PLACEHOLDER_ID,
) -> ModelSpec:
    """Parse ``config.json`` text (as pasted or uploaded by a user), with the text of a ModelOpt
    ``hf_quant_config.json`` found beside it (used when config.json has no quantization_config).

    The model id (what ``vllm serve`` is given): ``model_id`` when known, else the config's
    ``_name_or_path`` when it is a Hugging Face repo id, else ``fallback_id`` (a local folder, or
    :data:`PLACEHOLDER_ID`)."""
    if not isinstance(text, str):
        raise CalcError("config", "expected the text of a config.json")
    if len(text) > _MAX_CONFIG_CHARS:
        raise CalcError("config", f"config.json is {len(text):,} characters; the limit is {_MAX_CONFIG_CHARS:,}")
    check_json_nesting(text, "config")
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise CalcError("config", f"not valid JSON: {str(exc)[:120]}") from None
    if hf_quant_config is not None and isinstance(data, dict) and "quantization_config" not in data:
        check_json_nesting(hf_quant_config, "hf_quant_config.json")
        try:
            quant = json.loads(hf_quant_config)
        except (ValueError, RecursionError) as exc:
            raise CalcError("hf_quant_config.json", f"not valid JSON: {str(exc)[:120]}") from None
        data = {**data, "quantization_config": quant}
    if model_id is None:
        named = data.get("_name_or_path") if isinstance(data, dict) else None
        model_id = named if isinstance(named, str) and REPO_ID.match(named) else fallback_id
    return spec_from_config(data, model_id, assume_llama_like)


def spec_from_config(config: Any, model_id: str = "custom", assume_llama_like: bool = False) -> ModelSpec:
    """Build a :class:`ModelSpec` from a Hugging Face config dict.

    Only a reader that knows the architecture computes a config: an unknown ``model_type``, or a
    known one carrying a key that changes the shapes and that its reader does not model
    (:data:`SHAPE_KEYS`), raises :class:`CalcError` naming it.  ``assume_llama_like`` reads an
    unknown type as a Llama-like decoder instead and marks the spec an estimate.
    """
    if not isinstance(config, dict):
        raise CalcError("config", f"config.json must be a JSON object, got {type(config).__name__}")
    model_type = config.get("model_type", "")
    if not isinstance(model_type, str):
        raise CalcError("model_type", f"must be a string, got {_show(model_type)}")
    cfg = config
    assumptions: list[str] = []
    vision = False
    for where in (config, config.get("text_config")):
        qc = config.get("quantization_config")
        if isinstance(where, dict) and isinstance(where.get("quantization"), dict) and (
            not isinstance(qc, dict) or "quant_method" not in qc
        ):
            raise CalcError(
                "quantization",
                "an MLX quantization (bits and group_size, mlx-community's format): vLLM does not load MLX "
                "weights; size the original checkpoint, or a quantized format vLLM loads (AWQ, GPTQ, fp8, ...)",
            )
    # Multimodal wrappers (Gemma 3, Llama 4, Mistral 3, …) nest the language model in text_config.
    if isinstance(config.get("text_config"), dict) and "num_hidden_layers" not in config:
        cfg = dict(config["text_config"])
        for key in ("torch_dtype", "dtype", "quantization_config", "tie_word_embeddings"):
            if key in config and key not in cfg:
                cfg[key] = config[key]
        inner = cfg.get("model_type")
        if not isinstance(inner, str) or not inner:
            inner = WRAPPERS.get(model_type, "")
            if not inner:
                raise CalcError("text_config.model_type", "missing: cannot tell which language model the wrapper holds")
        wrapper = model_type
        model_type = inner
        vision = isinstance(config.get("vision_config"), dict)
        assumptions.append(
            f"language model from text_config ({model_type[:40]}) of the {wrapper[:40] or 'multimodal'} wrapper"
            + ("; the vision encoder and projector are not counted in parameters or memory" if vision else "")
        )
    if model_type == "llama4":
        model_type = "llama4_text"
    defaults = FAMILY_DEFAULTS.get(model_type, {})
    missing = [k for k in defaults if cfg.get(k) is None]
    if missing:
        cfg = {**cfg, **{k: defaults[k] for k in missing}}
        assumptions.append(f"{', '.join(missing)} not given: {model_type} defaults of Transformers' config class")

    if isinstance(config.get("vision_config"), dict) and not vision:
        vision = True
        assumptions.append(
            f"{model_type[:40]}: the vision encoder and projector are not counted in parameters or memory"
        )
    estimate = False
    reader = LAYOUT_OF.get(model_type, model_type)
    if reader not in ARCHITECTURES:
        shown = repr(model_type[:40]) if model_type else "(none)"
        if not assume_llama_like:
            raise CalcError(
                "model_type",
                f"{shown} is not an architecture we model, so no figure would be trustworthy; "
                "pass --assume-llama-like (the page: 'Assume Llama-like') to read it as a Llama-like "
                "decoder, every figure then marked as an estimate",
            )
        estimate = True
        reader = "llama"
        ignored = [k for k, _ in _unmodelled_keys(cfg, READS["llama"])]
        assumptions.insert(
            0,
            f"ESTIMATE: model_type {shown} is not modelled; read as a Llama-like decoder (gated MLP, "
            "RMSNorm, no biases) from the standard fields"
            + (f", ignoring {', '.join(ignored[:8])}" if ignored else ""),
        )
    else:
        bad = _unmodelled_keys(cfg, READS[reader])
        if bad:
            key, what = bad[0]
            raise CalcError(
                key,
                f"{model_type} config sets {key} ({what}), which our {model_type} reader does not model; "
                "refusing rather than giving a wrong number",
            )

    hidden = _int(cfg, "hidden_size")
    layers = _int(cfg, "num_hidden_layers")
    heads = _int(cfg, "num_attention_heads")
    kv_heads = _int(cfg, "num_key_value_heads", default=heads)
    if heads % kv_heads:
        raise CalcError("num_key_value_heads", f"{kv_heads} does not divide num_attention_heads {heads}")
    is_mla = reader in ("deepseek_v2", "deepseek_v3", "kimi_k2", "deepseek_v32")
    if is_mla:
        head_dim = _int(cfg, "v_head_dim")  # MLA: the per-head widths are the qk_*/v_head_dim fields
    elif "head_dim" in cfg and cfg["head_dim"] is not None:
        head_dim = _int(cfg, "head_dim")
    elif reader == "nemotron_h" and cfg.get("attention_head_dim") is not None:
        # vLLM nemotron_h.py NemotronHAttention: head_dim, else attention_head_dim, else hidden / heads
        head_dim = _int(cfg, "attention_head_dim")
    else:
        if hidden % heads:
            raise CalcError(
                "head_dim", f"missing, and hidden_size {hidden} is not a multiple of num_attention_heads {heads}"
            )
        head_dim = hidden // heads
        assumptions.append(f"head_dim not given: hidden_size / num_attention_heads = {head_dim}")
    vocab = _int(cfg, "vocab_size")
    max_pos = _int(cfg, "max_position_embeddings", default=4096 if reader != "opt" else 2048)
    dtype, stored = _served_dtype(cfg, assumptions)

    mla = _mla(cfg) if is_mla else None
    moe = _moe(cfg, reader, layers, hidden)
    if reader == "opt":
        inter = _int(cfg, "ffn_dim")
        proj = cfg.get("word_embed_proj_dim")
        if proj is not None and proj != hidden:
            raise CalcError(
                "word_embed_proj_dim", f"{_show(proj)} differs from hidden_size: OPT's project_in/out is not modelled"
            )
    elif reader == "llama4_text":
        inter = _int(cfg, "intermediate_size_mlp")
    elif reader == "granitemoehybrid":
        # every layer's feed-forward is the shared MLP (+ the experts when num_local_experts > 0)
        inter = _int(cfg, "shared_intermediate_size", default=1024, minimum=0) if moe is None else 1
    elif reader == "qwen3_next" and moe is not None and not moe.moe_layers.count(False):
        inter = _int(cfg, "intermediate_size", default=moe.expert_intermediate_size)  # unused: every layer MoE
    else:
        inter = _int(cfg, "intermediate_size", default=moe.expert_intermediate_size if moe else None)
    qkv_bias, o_bias, mlp_bias = _biases(cfg, reader)
    classic = reader in ("phi", "gpt_neox", "opt", "starcoder2")
    gemma = reader in ("gemma2", "gemma3_text", "gemma4_text")
    qk_norm = reader in ("qwen3", "qwen3_moe", "gemma3_text", "gemma4_text", "olmo2", "minimax_m2") or (
        reader in ("glm4_moe", "phi") and _bool(cfg, "use_qk_norm" if reader == "glm4_moe" else "qk_layernorm", False)
    )
    if reader == "minimax_m2":
        if cfg.get("qk_norm_type", "per_layer") != "per_layer":
            raise CalcError("qk_norm_type", f"{_show(cfg.get('qk_norm_type'))} is not modelled (per_layer)")
        qk_norm = _bool(cfg, "use_qk_norm", True)
        kinds = cfg.get("attn_type_list")
        if kinds is not None and (not isinstance(kinds, list) or any(k != 1 for k in kinds)):
            raise CalcError("attn_type_list", "lightning (linear) attention layers are not modelled; only full (1)")
    mtp_key = next((k for k in ("num_nextn_predict_layers", "num_mtp_modules") if cfg.get(k)), None)
    if mtp_key and not mla:
        assumptions.append(
            f"{mtp_key} = {_show(cfg.get(mtp_key)).split(' ')[0]}: the checkpoint's multi-token-prediction "
            "layers are not served by default and are not counted"
        )
    # PreTrainedConfig's default is tied; LlamaConfig and most others set False explicitly, while
    # SmolLM3Config and Ernie4_5_MoeConfig leave it (tied), and OPT / StarCoder2 / Gemma set True
    tie_default = gemma or reader in ("opt", "starcoder2", "smollm3", "ernie4_5_moe")
    if reader == "ernie4_5_moe" and _bool(cfg, "use_bias", False):
        raise CalcError("use_bias", "ERNIE-4.5 MoE with biases (on every expert and lm_head) is not modelled")
    mixers, ffn = _layer_kinds(cfg, reader, layers)
    ssm = _ssm(cfg, reader)
    if reader in ("nemotron_h", "granitemoehybrid", "falcon_h1", "jamba"):
        qk_norm = False
    if reader == "granitemoehybrid" and cfg.get("head_dim") not in (None, hidden // heads):
        raise CalcError("head_dim", "differs from hidden_size / num_attention_heads, which vLLM's Granite uses")
    if reader == "qwen3_next":
        qk_norm = True
    full_kv, full_hd, k_eq_v = _gemma4_full(cfg, heads) if reader == "gemma4_text" else (0, 0, False)
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
        tie_word_embeddings=_bool(cfg, "tie_word_embeddings", default=tie_default),
        max_position_embeddings=max_pos,
        dtype=dtype,
        layer_windows=_layer_windows(cfg, reader, layers, assumptions),
        qkv_bias=qkv_bias,
        o_bias=o_bias,
        qk_norm=qk_norm,
        norms_per_layer=4 if gemma else 1 if reader in ("phi", "nemotron_h") else 2,
        attention_sinks=reader == "gpt_oss",
        mla=mla,
        moe=moe,
        quant=_quant(cfg.get("quantization_config")),
        mtp_layers=_int(cfg, "num_nextn_predict_layers", default=0, minimum=0) if mla else 0,
        mlp_gated=not classic and reader != "nemotron_h",
        mlp_bias=mlp_bias,
        norm_bias=classic,
        lm_head_bias=reader == "phi",
        learned_positions=max_pos + 2 if reader == "opt" else 0,
        qk_norm_full=reader in ("olmo2", "minimax_m2"),
        post_norms_only=reader == "olmo2",
        parallel_block=reader == "phi",
        final_norm=not (reader == "opt" and not _bool(cfg, "do_layer_norm_before", True)),
        qk_norm_replicated=reader == "olmo2",
        layer_chunks=_layer_chunks(cfg, layers) if reader == "llama4_text" else (),
        vision_not_counted=vision,
        checkpoint_dtype=stored,
        estimate=estimate,
        layer_mixers=mixers,
        layer_ffn=ffn,
        ssm=ssm,
        indexer=_indexer(cfg) if reader == "deepseek_v32" else None,
        gated_attention=reader == "qwen3_next" and _bool(cfg, "attn_output_gate", True),
        max_model_len_limit=_derived_max_len(cfg, model_type, max_pos),
        full_kv_heads=full_kv,
        full_head_dim=full_hd,
        k_eq_v=k_eq_v,
        layer_scalar=reader == "gemma4_text",
        assumptions=tuple(assumptions),
    )
    return spec


def _gemma4_full(cfg: dict[str, Any], heads: int) -> tuple[int, int, bool]:
    """Gemma 4's full-attention layers (vLLM gemma4.py ``Gemma4DecoderLayer``): head_dim =
    ``global_head_dim``; KV heads = ``num_global_key_value_heads`` when ``attention_k_eq_v``, else
    ``num_key_value_heads``; with k_eq_v the checkpoint has no v_proj and vLLM loads K into both
    the K and V slots of its fused qkv_proj (so V is allocated and cached like any other)."""
    k_eq_v = _bool(cfg, "attention_k_eq_v", False)
    hd = _int(cfg, "global_head_dim", default=_int(cfg, "head_dim"))
    kv = _int(cfg, "num_global_key_value_heads", default=_int(cfg, "num_key_value_heads")) if k_eq_v else (
        _int(cfg, "num_key_value_heads"))
    if heads % kv:
        raise CalcError("num_global_key_value_heads", f"{kv} does not divide num_attention_heads {heads}")
    return kv, hd, k_eq_v


def _layer_kinds(cfg: dict[str, Any], reader: str, layers: int) -> tuple[tuple[str, ...], tuple[bool, ...]]:
    """Per layer (mixer, has a feed-forward block) for the hybrid families; ((), ()) otherwise.

    Nemotron-H ``hybrid_override_pattern``: "M" Mamba2, "*" attention, "-" MLP, "E" MoE, one per
    block (Transformers ``NemotronHBlock``: the mixer is one of the four).  Qwen3-Next / Qwen3.5:
    ``layer_types`` ("linear_attention" = Gated DeltaNet, "full_attention"), else full attention
    every ``full_attention_interval`` layers (Transformers Qwen3NextConfig: ``"linear_attention"
    if bool((i + 1) % full_attention_interval) else "full_attention"``); every layer has an FFN.
    """
    if reader == "nemotron_h":
        pattern = cfg.get("hybrid_override_pattern")
        if not isinstance(pattern, str) or len(pattern) != layers or any(c not in "M*-E" for c in pattern):
            raise CalcError(
                "hybrid_override_pattern", f"must be a string of {layers} characters from M, *, - and E"
            )
        kinds = {"M": "mamba2", "*": "attention", "-": "none", "E": "none"}
        return tuple(kinds[c] for c in pattern), tuple(c in "-E" for c in pattern)
    if reader == "granitemoehybrid":
        # GraniteMoeHybridConfig.layers_block_type: layer_types, else every layer Mamba
        types = cfg.get("layer_types", cfg.get("layers_block_type")) or ["mamba"] * layers
        if not isinstance(types, list) or len(types) != layers or any(t not in ("mamba", "attention") for t in types):
            raise CalcError("layer_types", f"must be a list of {layers} 'mamba' / 'attention'")
        return tuple("mamba2" if t == "mamba" else "attention" for t in types), (True,) * layers
    if reader == "falcon_h1":
        return ("parallel",) * layers, (True,) * layers  # attention and Mamba2 side by side
    if reader == "jamba":
        # JambaConfig.layers_block_type: attention where i % attn_layer_period == attn_layer_offset
        period = _int(cfg, "attn_layer_period", default=8)
        offset = _int(cfg, "attn_layer_offset", default=4, minimum=0)
        return tuple("attention" if i % period == offset else "mamba1" for i in range(layers)), (True,) * layers
    if reader == "qwen3_next":
        types = cfg.get("layer_types")
        if types is None:
            interval = _int(cfg, "full_attention_interval", default=4)
            types = ["linear_attention" if (i + 1) % interval else "full_attention" for i in range(layers)]
        if (
            not isinstance(types, list)
            or len(types) != layers
            or any(t not in ("linear_attention", "full_attention") for t in types)
        ):
            raise CalcError("layer_types", f"must be a list of {layers} 'linear_attention' / 'full_attention'")
        return tuple("gdn" if t == "linear_attention" else "attention" for t in types), (True,) * layers
    return (), ()


def _ssm(cfg: dict[str, Any], reader: str) -> SSMSpec | None:
    """The state-space / linear-attention mixer of Nemotron-H (Mamba2) and Qwen3-Next / 3.5 (GDN).

    Recurrent-state dtype in vLLM's cache: ``mamba_ssm_cache_dtype`` / ``mamba_ssm_dtype`` from
    the config when given; Nemotron-H defaults to float32 (vllm models/config.py
    ``NemotronHForCausalLMConfig``: "Only float32 is known to have no accuracy issues").
    """
    raw = cfg.get("mamba_ssm_cache_dtype", cfg.get("mamba_ssm_dtype"))
    dtype = "" if raw is None else dtypes.normalize(raw, "mamba_ssm_cache_dtype")
    if reader == "nemotron_h":
        heads = _int(cfg, "mamba_num_heads")
        dup = cfg.get("mamba_d_state")  # some Nemotron-H configs repeat ssm_state_size under this name
        if dup is not None and dup != cfg.get("ssm_state_size"):
            raise CalcError("mamba_d_state", f"{_show(dup)} differs from ssm_state_size, which vLLM's Nemotron-H reads")
        return SSMSpec(
            kind="mamba2",
            num_heads=heads,
            head_dim=_int(cfg, "mamba_head_dim"),
            state_size=_int(cfg, "ssm_state_size"),
            n_groups=_int(cfg, "n_groups", default=1),
            conv_kernel=_int(cfg, "conv_kernel", default=4),
            conv_bias=_bool(cfg, "use_conv_bias", True),
            proj_bias=_bool(cfg, "use_bias", False),
            ssm_dtype=dtype or "float32",
            chunk_size=_int(cfg, "chunk_size", default=_int(cfg, "mamba_chunk_size", default=256)),
        )
    if reader in ("granitemoehybrid", "falcon_h1"):
        # GraniteMoeHybridMambaLayer / FalconH1Mixer (Bamba's Mamba2): inner = mamba_expand · hidden
        # (Falcon-H1: mamba_d_ssm when set; its config class defaults it to 1024)
        hidden = _int(cfg, "hidden_size")
        if reader == "falcon_h1":
            d_ssm = cfg.get("mamba_d_ssm", 1024)
            inner = _int(cfg, "mamba_expand", default=2) * hidden if d_ssm is None else _int(
                {"mamba_d_ssm": d_ssm}, "mamba_d_ssm")
        else:
            inner = _int(cfg, "mamba_expand", default=2) * hidden
        heads = _int(cfg, "mamba_n_heads", default=128)
        head_raw = cfg.get("mamba_d_head", "auto")
        head_dim = inner // heads if head_raw in (None, "auto") else _int(cfg, "mamba_d_head")
        if heads * head_dim != inner:
            raise CalcError(
                "mamba_d_head", f"mamba_n_heads × mamba_d_head = {heads * head_dim} ≠ the Mamba width {inner}"
            )
        return SSMSpec(
            kind="mamba2",
            num_heads=heads,
            head_dim=head_dim,
            state_size=_int(cfg, "mamba_d_state", default=256),
            n_groups=_int(cfg, "mamba_n_groups", default=1),
            conv_kernel=_int(cfg, "mamba_d_conv", default=4),
            conv_bias=_bool(cfg, "mamba_conv_bias", True),
            proj_bias=_bool(cfg, "mamba_proj_bias", False),
            ssm_dtype=dtype,
            chunk_size=_int(cfg, "mamba_chunk_size", default=256),
            norm=reader != "falcon_h1" or _bool(cfg, "mamba_rms_norm", False),
            out_bias=_bool(cfg, "projectors_bias", False) if reader == "falcon_h1" else None,
        )
    if reader == "jamba":
        # JambaMambaMixer (Mamba-1): in_proj (hidden → 2·inner), conv1d (inner × k + bias), x_proj
        # (inner → dt_rank + 2·N), dt_proj (dt_rank → inner, with bias), A_log (inner × N), D (inner),
        # out_proj, and dt/b/c layernorms; vLLM mamba1_state_shape: conv (k − 1, inner), ssm (inner, N)
        hidden = _int(cfg, "hidden_size")
        inner = _int(cfg, "mamba_expand", default=2) * hidden
        rank = cfg.get("mamba_dt_rank", "auto")
        dt_rank = -(-hidden // 16) if rank in (None, "auto") else _int(cfg, "mamba_dt_rank")
        return SSMSpec(
            kind="mamba1",
            num_heads=inner,
            head_dim=1,
            state_size=_int(cfg, "mamba_d_state", default=16),
            n_groups=0,
            conv_kernel=_int(cfg, "mamba_d_conv", default=4),
            conv_bias=_bool(cfg, "mamba_conv_bias", True),
            proj_bias=_bool(cfg, "mamba_proj_bias", False),
            ssm_dtype=dtype,
            dt_rank=dt_rank,
        )
    if reader == "qwen3_next":
        return SSMSpec(
            kind="gdn",
            num_heads=_int(cfg, "linear_num_value_heads"),
            head_dim=_int(cfg, "linear_value_head_dim"),
            state_size=_int(cfg, "linear_key_head_dim"),
            n_groups=_int(cfg, "linear_num_key_heads"),
            conv_kernel=_int(cfg, "linear_conv_kernel_dim", default=4),
            conv_bias=False,
            proj_bias=False,
            ssm_dtype=dtype,
        )
    return None


def _indexer(cfg: dict[str, Any]) -> IndexerSpec:
    return IndexerSpec(
        n_heads=_int(cfg, "index_n_heads"), head_dim=_int(cfg, "index_head_dim"), topk=_int(cfg, "index_topk")
    )


#: keys vLLM reads for the model's length limit (vllm/config/model.py ``_get_and_verify_max_len``)
_LENGTH_KEYS = (
    "max_position_embeddings", "n_positions", "max_seq_len", "seq_length", "model_max_length",
    "max_target_positions", "max_sequence_length", "max_seq_length", "seq_len",
)


def _derived_max_len(cfg: dict[str, Any], model_type: str, max_pos: int) -> int:
    """The max_model_len vLLM derives: the smallest length key (``model_max_length`` wins when
    set), times the RoPE scaling factor for every rope type but su / longrope / llama3 (yarn
    starting from ``original_max_position_embeddings``); never scaled for Gemma 3; longrope
    defaults to ``original_max_position_embeddings``."""
    lengths = [cfg[k] for k in _LENGTH_KEYS if isinstance(cfg.get(k), int) and not isinstance(cfg.get(k), bool)]
    derived = min(lengths) if lengths else max_pos
    if isinstance(cfg.get("model_max_length"), int) and not isinstance(cfg.get("model_max_length"), bool):
        derived = cfg["model_max_length"]
    rope = cfg.get("rope_scaling") or cfg.get("rope_parameters")
    if isinstance(rope, dict) and "gemma3" not in model_type:
        kind = rope.get("rope_type", rope.get("type"))
        if kind == "longrope":
            orig = cfg.get("original_max_position_embeddings", rope.get("original_max_position_embeddings"))
            if isinstance(orig, int) and not isinstance(orig, bool) and orig > 0:
                return min(orig, 1 << 31)
        elif kind not in ("su", "llama3", None):
            factor = rope.get("factor", 1.0)
            if isinstance(factor, bool) or not isinstance(factor, (int, float)) or not 0 < factor <= 1e4:
                raise CalcError("rope_scaling.factor", f"must be a positive number, got {_show(factor)}")
            if kind == "yarn":
                orig = rope.get("original_max_position_embeddings", derived)
                if isinstance(orig, int) and not isinstance(orig, bool) and orig > 0:
                    derived = orig
            derived = int(derived * factor)
    return max(1, min(derived, 1 << 31))


def _unmodelled_keys(cfg: dict[str, Any], reads: frozenset[str]) -> list[tuple[str, str]]:
    """Active :data:`SHAPE_KEYS` of ``cfg`` that a reader reading ``reads`` does not model."""
    out = []
    for key, what in SHAPE_KEYS.items():
        if key in reads or key not in cfg:
            continue
        value = cfg[key]
        if value is None or value is False or value == 0 or value in ("", [], {}):
            continue
        out.append((key, what))
    return out


def _biases(cfg: dict[str, Any], reader: str) -> tuple[bool, bool, bool]:
    """(q/k/v bias, o_proj bias, feed-forward bias) as each family's modelling code declares them.

    Llama-style ``attention_bias`` covers all four attention projections and ``mlp_bias`` the MLP;
    Qwen2, Qwen2-MoE and MiMo always have q/k/v biases and none on o_proj; GLM-4.5 ``attention_bias`` puts
    biases on q/k/v only; gpt-oss has all four; phi, GPT-NeoX (``attention_bias``, default true),
    OPT (``enable_bias``, default true) and StarCoder2 (``use_bias``, default true) put biases on
    every projection; ERNIE-4.5 ``use_bias`` likewise.
    """
    if reader in ("qwen2", "mimo", "qwen2_moe"):
        return True, False, False
    if reader == "gpt_oss":
        return True, True, False
    if reader == "glm4_moe":
        return _bool(cfg, "attention_bias", False), False, False
    if reader == "phi":
        return True, True, True
    if reader == "gpt_neox":
        b = _bool(cfg, "attention_bias", True)
        return b, b, True
    if reader == "opt":
        b = _bool(cfg, "enable_bias", True)
        return b, b, b
    if reader in ("starcoder2", "ernie4_5_moe"):
        b = _bool(cfg, "use_bias", reader == "starcoder2")
        return b, b, b
    b = _bool(cfg, "attention_bias", False)
    return b, b, _bool(cfg, "mlp_bias", False) if reader == "llama" else False


def _layer_chunks(cfg: dict[str, Any], layers: int) -> tuple[int | None, ...]:
    """Llama 4: RoPE layers attend within chunks of ``attention_chunk_size``; NoPE layers
    (``no_rope_layers[i] == 0``; default every 4th) attend globally (Transformers
    ``Llama4TextAttention``: ``use_rope = config.no_rope_layers[layer_idx]``)."""
    chunk = _opt_int(cfg, "attention_chunk_size")
    if chunk is None:
        return ()
    flags = cfg.get("no_rope_layers")
    if flags is None or flags == []:
        interval = _int(cfg, "no_rope_layer_interval", default=4)
        flags = [int((i + 1) % interval != 0) for i in range(layers)]
    if not isinstance(flags, list) or len(flags) != layers or any(f not in (0, 1) for f in flags):
        raise CalcError("no_rope_layers", f"must be a list of {layers} zeros and ones")
    return tuple(chunk if f else None for f in flags)


def _served_dtype(cfg: dict[str, Any], assumptions: list[str]) -> tuple[str, str]:
    """(dtype vLLM serves with ``--dtype auto``, the checkpoint's dtype when that differs, else "").

    vLLM reads ``dtype`` (Transformers ≥ 4.56) or ``torch_dtype``; a float32 config is served in
    the platform's preferred 16-bit type (vllm/config/model.py ``_resolve_auto_dtype``: "Downcast
    for float32 models" — bfloat16 on GPUs with bf16, float16 on T4/V100; 2 bytes either way).
    """
    raw = cfg.get("dtype", cfg.get("torch_dtype"))
    if raw is None:
        raw = cfg.get("torch_dtype")
    if raw is None:
        assumptions.append("torch_dtype not given: bfloat16 assumed")
        return "bfloat16", ""
    name = dtypes.normalize(raw, "torch_dtype")
    if name not in ("float32", "float16", "bfloat16"):
        raise CalcError("torch_dtype", f"{raw!r} is not a checkpoint dtype (float32, float16, bfloat16)")
    if name == "float32":
        assumptions.append(
            "torch_dtype float32: vLLM's --dtype auto serves float32 checkpoints in 16 bits "
            "(bfloat16; float16 on GPUs without bf16), so weights and KV cache take 2 bytes per element"
        )
        return "bfloat16", "float32"
    return name, ""


def _mla(cfg: dict[str, Any]) -> MLASpec:
    return MLASpec(
        q_lora_rank=_opt_int(cfg, "q_lora_rank"),
        kv_lora_rank=_int(cfg, "kv_lora_rank"),
        qk_nope_head_dim=_int(cfg, "qk_nope_head_dim"),
        qk_rope_head_dim=_int(cfg, "qk_rope_head_dim"),
        v_head_dim=_int(cfg, "v_head_dim"),
    )


def _moe(cfg: dict[str, Any], reader: str, layers: int, hidden: int) -> MoESpec | None:
    """The MoE layout of each family, from the keys its Transformers config class defines."""
    if reader == "nemotron_h":
        # NemotronHMoE: router (n_routed_experts × hidden) + float32 e_score_correction_bias,
        # experts and shared expert are relu² MLPs (up_proj, down_proj), "E" blocks only
        experts = _opt_int(cfg, "n_routed_experts")
        if experts is None:
            return None
        pattern = cfg.get("hybrid_override_pattern")
        if not isinstance(pattern, str) or len(pattern) != layers:
            raise CalcError("hybrid_override_pattern", f"must be a string of {layers} characters")
        return MoESpec(
            num_experts=experts,
            experts_per_token=_bounded_topk(cfg, "num_experts_per_tok", experts),
            expert_intermediate_size=_int(cfg, "moe_intermediate_size"),
            shared_intermediate_size=_int(cfg, "moe_shared_expert_intermediate_size", default=0, minimum=0)
            * _int(cfg, "n_shared_experts", default=1, minimum=0),
            moe_layers=tuple(c == "E" for c in pattern),
            router_bias=True,
            expert_bias=False,
            shared_expert_gate=False,
            router_bias_fp32=True,
            expert_gated=False,
        )
    if reader in ("deepseek_v2", "deepseek_v3", "kimi_k2", "glm4_moe", "deepseek_v32"):
        experts = _opt_int(cfg, "n_routed_experts")
        if experts is None:
            return None
        first_dense = _int(cfg, "first_k_dense_replace", default=0, minimum=0)
        freq = _int(cfg, "moe_layer_freq", default=1)
        inter = _int(cfg, "moe_intermediate_size")
        shared = _int(cfg, "n_shared_experts", default=0, minimum=0)
        glm = reader == "glm4_moe"
        return MoESpec(
            num_experts=experts,
            experts_per_token=_bounded_topk(cfg, "num_experts_per_tok", experts),
            expert_intermediate_size=inter,
            shared_intermediate_size=shared * inter,
            moe_layers=tuple(i >= first_dense and i % freq == 0 for i in range(layers)),
            # Glm4MoeTopkRouter always has e_score_correction_bias (float32)
            router_bias=glm or cfg.get("topk_method") == "noaux_tc",
            expert_bias=False,
            shared_expert_gate=False,
            router_bias_fp32=True,
        )
    if reader in ("mixtral", "gpt_oss", "minimax_m2"):
        # every layer routes over num_local_experts of width intermediate_size; gpt-oss adds a router
        # bias and biases on every expert's projections; MiniMax-M2 a float32 e_score_correction_bias.
        experts = _int(cfg, "num_local_experts")
        gpt_oss = reader == "gpt_oss"
        minimax = reader == "minimax_m2"
        return MoESpec(
            num_experts=experts,
            experts_per_token=_bounded_topk(cfg, "num_experts_per_tok", experts),
            expert_intermediate_size=_int(cfg, "intermediate_size"),
            shared_intermediate_size=0,
            moe_layers=(True,) * layers,
            router_bias=gpt_oss or (minimax and _bool(cfg, "use_routing_bias", True)),
            expert_bias=gpt_oss,
            shared_expert_gate=False,
            router_bias_fp32=minimax,
        )
    if reader in ("qwen3_moe", "qwen2_moe", "qwen3_next"):
        if reader == "qwen3_next" and not cfg.get("num_experts"):
            return None  # Qwen3.5 dense
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
    if reader == "granitemoehybrid":
        # GraniteMoeHybridMoE in every layer: router.layer (E × hidden), input_linear (E, 2·I, hidden)
        # (gate and up), output_linear (E, hidden, I); plus the shared MLP (gated, shared_intermediate_size)
        experts = _int(cfg, "num_local_experts", default=8, minimum=0)
        if experts == 0:
            return None
        return MoESpec(
            num_experts=experts,
            experts_per_token=_bounded_topk(cfg, "num_experts_per_tok", experts),
            expert_intermediate_size=_int(cfg, "intermediate_size"),
            shared_intermediate_size=_int(cfg, "shared_intermediate_size", default=1024, minimum=0),
            moe_layers=(True,) * layers,
            router_bias=False,
            expert_bias=False,
            shared_expert_gate=False,
        )
    if reader == "jamba":
        # JambaSparseMoeBlock where i % expert_layer_period == expert_layer_offset (router + experts)
        experts = _int(cfg, "num_experts", default=16, minimum=0)
        if experts <= 1:
            return None
        period = _int(cfg, "expert_layer_period", default=2)
        offset = _int(cfg, "expert_layer_offset", default=1, minimum=0)
        return MoESpec(
            num_experts=experts,
            experts_per_token=_bounded_topk(cfg, "num_experts_per_tok", experts),
            expert_intermediate_size=_int(cfg, "intermediate_size"),
            shared_intermediate_size=0,
            moe_layers=tuple(i % period == offset for i in range(layers)),
            router_bias=False,
            expert_bias=False,
            shared_expert_gate=False,
        )
    if reader == "ernie4_5_moe":
        # Ernie4_5_MoeDecoderLayer: MoE where (i + 1) % moe_layer_interval == 0 and
        # moe_layer_start_index <= i <= moe_layer_end_index (-1 = the last layer); shared experts are
        # one MLP of moe_intermediate_size × moe_num_shared_experts; moe_use_aux_free adds a float32
        # e_score_correction_bias (Ernie4_5_MoeStatics).
        experts = _int(cfg, "moe_num_experts")
        start = _int(cfg, "moe_layer_start_index", default=1, minimum=0)  # Ernie4_5_MoeConfig default 1
        end = cfg.get("moe_layer_end_index", -1)
        if end == -1 or end is None:
            end = layers - 1
        end = _int({"moe_layer_end_index": end}, "moe_layer_end_index", minimum=0)
        interval = _int(cfg, "moe_layer_interval", default=1)
        inter = _int(cfg, "moe_intermediate_size")
        shared = _int(cfg, "moe_num_shared_experts", default=0, minimum=0)
        return MoESpec(
            num_experts=experts,
            experts_per_token=_bounded_topk(cfg, "moe_k", experts),
            expert_intermediate_size=inter,
            shared_intermediate_size=shared * inter,
            moe_layers=tuple((i + 1) % interval == 0 and start <= i <= end for i in range(layers)),
            router_bias=_bool(cfg, "moe_use_aux_free", False),
            expert_bias=False,
            shared_expert_gate=False,
            router_bias_fp32=True,
        )
    if reader == "llama4_text":
        # Llama4TextDecoderLayer: MoE where layer_idx in moe_layers (default every
        # interleave_moe_layer_step-th layer, starting at step - 1); Llama4TextMoe has a router
        # without bias, experts of width intermediate_size and one shared expert of the same width.
        experts = _int(cfg, "num_local_experts")
        listed = cfg.get("moe_layers")
        if listed is None:
            step = _int(cfg, "interleave_moe_layer_step", default=1)
            listed = list(range(step - 1, layers, step))
        if not isinstance(listed, list) or not all(isinstance(i, int) and not isinstance(i, bool) for i in listed):
            raise CalcError("moe_layers", "must be a list of layer indices")
        inter = _int(cfg, "intermediate_size")
        return MoESpec(
            num_experts=experts,
            experts_per_token=_bounded_topk(cfg, "num_experts_per_tok", experts),
            expert_intermediate_size=inter,
            shared_intermediate_size=inter,
            moe_layers=tuple(i in listed for i in range(layers)),
            router_bias=False,
            expert_bias=False,
            shared_expert_gate=False,
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
    if model_type in ("qwen3_next", "nemotron_h", "granitemoehybrid", "falcon_h1", "jamba"):
        return (None,) * layers  # their attention layers are full attention
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
                raise CalcError(
                    "layer_types",
                    f"layer type {_show(t)} is not modelled for {model_type} (full and sliding attention are)",
                )
        return tuple(out)
    if window is None or cfg.get("use_sliding_window") is False:
        return (None,) * layers
    if model_type == "smollm3":
        # SmolLM3Config: "sliding_attention" only where use_sliding_window and the layer has no RoPE
        if not _bool(cfg, "use_sliding_window", False):
            return (None,) * layers
        flags = cfg.get("no_rope_layers")
        if flags is None:
            interval = _int(cfg, "no_rope_layer_interval", default=4)
            flags = [int((i + 1) % interval != 0) for i in range(layers)]
        if not isinstance(flags, list) or len(flags) != layers or any(f not in (0, 1) for f in flags):
            raise CalcError("no_rope_layers", f"must be a list of {layers} zeros and ones")
        return tuple(None if f else window for f in flags)
    if model_type == "gemma2":
        return tuple(window if i % 2 == 0 else None for i in range(layers))
    if model_type == "gemma4_text":
        raise CalcError("layer_types", "Gemma 4 configs list layer_types; without it the layer pattern is unknown")
    if model_type in ("gemma3", "gemma3_text"):
        pattern = _int(cfg, "sliding_window_pattern", default=6)
        return tuple(None if (i + 1) % pattern == 0 else window for i in range(layers))
    if model_type in ("qwen2", "qwen3", "qwen3_moe", "qwen2_moe", "mimo"):
        # Qwen configs carry sliding_window with use_sliding_window false; max_window_layers counts
        # the bottom layers that would use full attention.
        return (None,) * layers
    if window >= _int(cfg, "max_position_embeddings", default=1 << 31):
        return (None,) * layers
    assumptions.append(f"sliding_window {window} applied to every layer")
    return (window,) * layers


def _quant(qc: Any) -> QuantSpec | None:
    """The ``quantization_config`` as vLLM reads it (sources in notes/vllm-accounting.md, "Quantisation").

    fp8 (block or per-tensor), AWQ (4-bit only, as vLLM), GPTQ (2/3/4/8-bit), mxfp4 (gpt-oss),
    compressed-tensors (int4/int8 weight-only ``pack-quantized``, fp8 and int8 W8A8, NVFP4),
    ModelOpt (FP8, FP8 per channel, FP8 block, NVFP4; inline or from ``hf_quant_config.json``) and
    bitsandbytes (4-bit, 8-bit).  Anything vLLM rejects is refused with vLLM's reason.
    """
    if qc is None:
        return None
    if not isinstance(qc, dict):
        raise CalcError("quantization_config", "must be a JSON object")
    if "quant_method" not in qc and isinstance(qc.get("producer"), dict) and isinstance(qc.get("quantization"), dict):
        return _modelopt({**qc["quantization"], "quant_method": "modelopt"})  # hf_quant_config.json layout
    method = qc.get("quant_method")
    if not isinstance(method, str):
        raise CalcError("quantization_config.quant_method", "missing or not a string")
    method = method.lower()
    skip = qc.get("modules_to_not_convert") or qc.get("ignored_layers") or []
    if not isinstance(skip, list):
        skip = []
    skipped = tuple(str(s)[:200] for s in skip[:10_000])
    if method == "fp8":
        # Fp8Config: ignored_layers / modules_to_not_convert, matched as whole module names
        # (vllm quant_utils.is_layer_skipped without skip_with_substr)
        ignore = tuple(("exact", name) for name in skipped)
        block = qc.get("weight_block_size")
        if block is not None:
            if (
                not isinstance(block, list)
                or len(block) != 2
                or not all(isinstance(b, int) and not isinstance(b, bool) and 1 <= b <= 65536 for b in block)
                or block[0] != block[1]
            ):
                raise CalcError("quantization_config.weight_block_size", "must be two equal positive integers")
            return QuantSpec(
                "fp8", 8, block[0], block_scaled=True, modules_not_converted=skipped, scale_per="block",
                ignore=ignore, source="fp8",
            )
        # a serialized fp8 checkpoint without blocks: one fp32 scale per tensor (Fp8LinearMethod)
        return QuantSpec("fp8", 8, 0, modules_not_converted=skipped, scale_per="tensor", ignore=ignore, source="fp8")
    if method in ("awq", "gptq"):
        bits = _int(qc, "bits", default=_int(qc, "w_bit", default=4))
        if method == "awq" and bits != 4:
            raise CalcError(
                "quantization_config.bits",
                "vLLM refuses it: 'Currently, only 4-bit weight quantization is supported for AWQ, "
                f"but got {bits} bits.'",
            )
        if method == "gptq" and bits not in (2, 3, 4, 8):
            raise CalcError(
                "quantization_config.bits",
                "vLLM refuses it: 'only 2/3/4/8-bit weight quantization is supported for GPTQ, "
                f"but got {bits} bits.'",
            )
        group = qc.get("group_size", qc.get("q_group_size", 128))
        if isinstance(group, bool) or not isinstance(group, int) or not (group == -1 or 1 <= group <= 1 << 20):
            raise CalcError("quantization_config.group_size", f"must be a positive integer or -1, got {_show(group)}")
        ignore = tuple(("sub", name) for name in skipped)
        if method == "awq":  # AWQ / AWQ-Marlin always keep 4-bit zero points; no g_idx
            return QuantSpec(
                "awq", 4, group, zero_point=True, modules_not_converted=skipped, ignore=ignore, source="awq"
            )
        sym = _bool(qc, "sym", True)
        desc = _bool(qc, "desc_act", False) and group != -1
        # GPTQ-Marlin (CUDA, symmetric 4/8-bit) drops zero points and keeps g_idx only with desc_act;
        # plain GPTQ (asymmetric or 2/3-bit) keeps both (vllm gptq_marlin.py / gptq.py)
        marlin = sym and bits in (4, 8)
        return QuantSpec(
            "gptq", bits, group, zero_point=not marlin, act_order=desc or not marlin,
            modules_not_converted=skipped, ignore=ignore, source="gptq",
        )
    if method == "mxfp4":
        return QuantSpec("mxfp4", 4, 32, modules_not_converted=skipped, source="mxfp4")
    if method == "compressed-tensors":
        return _compressed_tensors(qc)
    if method in ("modelopt", "modelopt_fp4"):
        return _modelopt(qc)
    if method == "bitsandbytes":
        names = qc.get("llm_int8_skip_modules") or []
        if not isinstance(names, list):
            raise CalcError("quantization_config.llm_int8_skip_modules", "must be a list of module names")
        ignore = tuple(("part", str(n)[:200]) for n in names[:10_000])
        if _bool(qc, "load_in_8bit", False):
            return QuantSpec("bnb8", 8, 0, ignore=ignore, source="bitsandbytes 8-bit")
        storage = qc.get("bnb_4bit_quant_storage", "uint8")
        if storage not in (None, "uint8"):
            raise CalcError("quantization_config.bnb_4bit_quant_storage", f"vLLM refuses {_show(storage)} (uint8 only)")
        return QuantSpec("bnb4", 4, 64, ignore=ignore, source="bitsandbytes 4-bit")
    raise CalcError(
        "quantization_config.quant_method",
        f"{method[:40]!r} is not a format we model (fp8, awq, gptq, mxfp4, compressed-tensors, modelopt, bitsandbytes)",
    )


def _ct_ignore(raw: Any, field: str) -> tuple[tuple[str, str], ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list) or not all(isinstance(x, str) for x in raw):
        raise CalcError(field, "must be a list of module names or 're:' patterns")
    out = []
    for name in raw[:10_000]:
        if name.startswith("re:"):
            try:
                re.compile(name[3:])
            except re.error:
                raise CalcError(field, f"{name[:60]!r} is not a valid regular expression") from None
            out.append(("re", name[3:][:500]))
        else:
            out.append(("exact", name[:500]))
    return tuple(out)


def _compressed_tensors(qc: dict[str, Any]) -> QuantSpec:
    """compressed-tensors: one config group targeting ``Linear`` (what vLLM's schemes select on).

    vllm compressed_tensors.py ``_get_scheme_from_parts``: weight-only int 4/8-bit with group or
    channel strategy in ``pack-quantized`` format → WNA16; fp8 weights → W8A8Fp8 (tensor, channel or
    block scales); int8 weights with int8 activations → W8A8Int8; fp4 (``tensor_group``, group 16)
    → NVFP4.  Layers matching ``ignore`` (exact names, or ``re:`` patterns with ``re.match``) stay
    16-bit; embeddings and lm_head are never quantized by it.
    """
    groups = qc.get("config_groups")
    if not isinstance(groups, dict) or not groups:
        raise CalcError("quantization_config.config_groups", "missing: a compressed-tensors config needs one")
    if len(groups) != 1:
        raise CalcError(
            "quantization_config.config_groups",
            f"{len(groups)} groups (mixed precision per module) are not modelled; one group is",
        )
    ((name, group),) = groups.items()
    field = f"quantization_config.config_groups.{str(name)[:30]}"
    if not isinstance(group, dict):
        raise CalcError(field, "must be a JSON object")
    targets = group.get("targets")
    if not isinstance(targets, list) or [t for t in targets if t != "Linear"]:
        raise CalcError(f"{field}.targets", f"{_show(targets)}: only ['Linear'] targets are modelled")
    w = group.get("weights")
    if not isinstance(w, dict):
        raise CalcError(f"{field}.weights", "missing or not a JSON object")
    bits = _int(w, "num_bits", default=8)
    kind = w.get("type", "int")
    fmt = group.get("format") or qc.get("format") or ""
    strategy = w.get("strategy")
    gs = w.get("group_size")
    if strategy is None:
        strategy = "tensor" if gs is None else "channel" if gs == -1 else "group"
    acts = group.get("input_activations")
    ignore = _ct_ignore(qc.get("ignore"), "quantization_config.ignore")
    kv = qc.get("kv_cache_scheme") is not None
    common = {"ignore": ignore, "source": f"compressed-tensors {fmt}".strip(), "kv_fp8_scales": kv}
    if kind == "float" and bits == 4:
        if strategy != "tensor_group" or gs != 16:
            raise CalcError(f"{field}.weights", "fp4 is modelled as NVFP4 only (tensor_group, group_size 16)")
        return QuantSpec("nvfp4", 4, 16, **common)  # type: ignore[arg-type]
    if kind == "float" and bits == 8:
        if strategy == "block":
            block = w.get("block_structure")
            if not (isinstance(block, list) and len(block) == 2 and block[0] == block[1] and isinstance(block[0], int)
                    and not isinstance(block[0], bool) and 1 <= block[0] <= 65536):
                raise CalcError(f"{field}.weights.block_structure", "must be two equal positive integers")
            return QuantSpec("fp8", 8, block[0], block_scaled=True, scale_per="block", **common)  # type: ignore[arg-type]
        if strategy not in ("tensor", "channel"):
            raise CalcError(f"{field}.weights.strategy", f"{_show(strategy)} is not an fp8 strategy vLLM runs")
        return QuantSpec("fp8", 8, 0, scale_per=strategy, **common)  # type: ignore[arg-type]
    if kind != "int":
        raise CalcError(f"{field}.weights.type", f"{_show(kind)} is not modelled (int or float)")
    if acts is None:
        if bits not in (4, 8):
            raise CalcError(f"{field}.weights.num_bits", f"vLLM refuses it: 'Unsupported num_bits = {bits}' (4 or 8)")
        if strategy not in ("group", "channel"):
            raise CalcError(
                f"{field}.weights.strategy",
                "vLLM refuses it: Marlin kernels require group quantization or channelwise quantization",
            )
        if fmt not in ("pack-quantized", ""):
            where = f"{field}.format" if group.get("format") else "quantization_config.format"
            raise CalcError(where, f"{_show(fmt)}: weight-only int is modelled as pack-quantized")
        group_size = -1 if strategy == "channel" else _int(w, "group_size")
        return QuantSpec(
            "wna16", bits, group_size, zero_point=not _bool(w, "symmetric", True),
            act_order=w.get("actorder") in ("group", True, "dynamic"), **common,  # type: ignore[arg-type]
        )
    if bits == 8:
        if strategy not in ("tensor", "channel"):
            raise CalcError(f"{field}.weights.strategy", f"{_show(strategy)} is not an int8 strategy vLLM runs")
        return QuantSpec("int8", 8, 0, scale_per=strategy, **common)  # type: ignore[arg-type]
    raise CalcError(f"{field}.weights", f"int{bits} weights with quantized activations are not modelled")


def _modelopt(qc: dict[str, Any]) -> QuantSpec:
    """NVIDIA ModelOpt checkpoints (vllm modelopt.py): FP8 (one scale per tensor),
    FP8_PER_CHANNEL_PER_TOKEN, FP8_PB_WO (128×128 blocks) and NVFP4; vLLM refuses other algorithms.
    Excluded modules: names, substrings and shell wildcards (``is_layer_excluded``)."""
    algo = qc.get("quant_algo")
    if not isinstance(algo, str):
        raise CalcError("quantization_config.quant_algo", "missing: a ModelOpt config names its quant_algo")
    algo = algo.upper()
    raw = qc.get("exclude_modules", qc.get("ignore")) or []
    if not isinstance(raw, list) or not all(isinstance(x, str) for x in raw):
        raise CalcError("quantization_config.exclude_modules", "must be a list of module names or patterns")
    ignore = tuple(("glob" if any(c in x for c in "*?[") else "sub", x[:500]) for x in raw[:10_000])
    kv = str(qc.get("kv_cache_quant_algo") or "").upper() == "FP8"
    common = {"ignore": ignore, "source": f"modelopt {algo}", "kv_fp8_scales": kv}
    if algo == "FP8":
        return QuantSpec("fp8", 8, 0, scale_per="tensor", **common)  # type: ignore[arg-type]
    if algo == "FP8_PER_CHANNEL_PER_TOKEN":
        return QuantSpec("fp8", 8, 0, scale_per="channel", **common)  # type: ignore[arg-type]
    if algo == "FP8_PB_WO":
        return QuantSpec("fp8", 8, 128, block_scaled=True, scale_per="block", **common)  # type: ignore[arg-type]
    if algo == "NVFP4":
        return QuantSpec("nvfp4", 4, 16, **common)  # type: ignore[arg-type]
    raise CalcError(
        "quantization_config.quant_algo",
        f"vLLM refuses {algo[:40]!r}: 'ModelOpt currently only supports: FP8, FP8_PER_CHANNEL_PER_TOKEN, "
        "FP8_PB_WO, NVFP4'",
    )


# ---------------------------------------------------------------- presets


def _data_dir() -> Any:
    return resources.files("calculators") / "data" / "models"


@lru_cache(maxsize=1)
def _preset_names() -> frozenset[str]:
    """File stems (``org--name``) of the bundled configs."""
    return frozenset(entry.name[:-5] for entry in _data_dir().iterdir() if entry.name.endswith(".json"))


def _preset_text(name: str) -> str | None:
    """Text of one bundled config (None if there is none), read once and kept in memory (only
    bundled names are cached: whatever a user types is not)."""
    return _read_preset(name) if name in _preset_names() else None


@cache
def _read_preset(name: str) -> str:
    text: str = (_data_dir() / f"{name}.json").read_text(encoding="utf-8")
    return text


def preload_presets() -> None:
    """Every bundled config read into memory (384 KB), so the page's memory snapshot carries them
    (scripts/memory-snapshot.mjs): a worker restored from it needs no file system for the presets
    (docs/assets/calculators/worker.js unpacks the wheel only after its first answer)."""
    for name in _preset_names():
        _preset_text(name)


def preset_ids() -> list[str]:
    """Ids (Hugging Face repo ids) of the bundled configs."""
    return sorted(name.replace("--", "/", 1) for name in _preset_names())


def preset_record(model_id: str) -> dict[str, Any]:
    """The bundled record ``{"id", "source", "retrieved", "config"}`` of ``model_id``."""
    if not isinstance(model_id, str) or "/" not in model_id or len(model_id) > 200:
        raise CalcError("model", f"expected a preset id like 'meta-llama/Llama-3.1-8B', got {str(model_id)[:60]!r}")
    name = model_id.strip().replace("/", "--", 1)
    if any(c in name for c in "/\\") or name.startswith("."):
        raise CalcError("model", f"not a preset id: {model_id[:60]!r}")
    text = _preset_text(name)
    if text is None:
        close = [p for p in preset_ids() if p.lower() == model_id.strip().lower()]
        if close:
            return preset_record(close[0])
        raise CalcError(
            "model",
            f"no bundled preset {model_id[:60]!r}; pass --config FILE or pick one of: {', '.join(preset_ids())}",
        )
    record: dict[str, Any] = json.loads(text)
    if "derived_from" in record:
        # a preset built from a sibling's verbatim config plus sourced overrides (the record's note
        # names the source of each); its result says so
        base = preset_record(record["derived_from"])
        record = {**record, "config": {**base["config"], **record["overrides"]}}
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
    spec = spec_from_config(record["config"], record["id"])
    if "derived_from" in record:
        note = (
            f"config derived from the bundled {record['derived_from']} config.json with sourced overrides of "
            f"{', '.join(sorted(record['overrides']))} (no verbatim copy of this model's config.json was available)"
        )
        spec = replace(spec, assumptions=(note, *spec.assumptions))
    return spec
