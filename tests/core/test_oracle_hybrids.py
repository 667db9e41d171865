"""An independent numpy oracle for three hybrid state-space families: Granite 4.0 H, Falcon-H1 and Jamba.

Written in the style of tests/core/test_oracle.py (whose ``Oracle``, ``KVLayer``, ``kv_cache`` and
``oracle_active`` it reuses): for a tiny config of each family the module tree is spelled out here,
``name → np.zeros(shape)``, from a reading of the Hugging Face Transformers modelling code (not from
:mod:`calculators.params`), and the fixed per-sequence state from vLLM's ``get_mamba_state_shape_from_config``.

granitemoehybrid: GraniteMoeHybridForCausalLM
=============================================
src/transformers/models/granitemoehybrid/modeling_granitemoehybrid.py (generated from
modular_granitemoehybrid.py; ``GraniteMoeHybridMambaLayer(BambaMixer)`` there, the same tree):

* GraniteMoeHybridDecoderLayer::

      self.input_layernorm = GraniteMoeHybridRMSNorm(config.hidden_size, eps=config.rms_norm_eps)
      self.post_attention_layernorm = GraniteMoeHybridRMSNorm(config.hidden_size, eps=config.rms_norm_eps)
      self.block_sparse_moe = GraniteMoeHybridMoE(config) if config.num_local_experts > 0 else None
      self.shared_mlp = GraniteMoeHybridMLP(config)
      if config.layers_block_type[layer_idx] == "mamba":
          self.mamba = GraniteMoeHybridMambaLayer(config, layer_idx)
      else:
          self.self_attn = GraniteMoeHybridAttention(config, layer_idx)

* GraniteMoeHybridAttention::

      self.head_dim = getattr(config, "head_dim", config.hidden_size // config.num_attention_heads)
      self.q_proj = nn.Linear(
          config.hidden_size, config.num_attention_heads * self.head_dim, bias=config.attention_bias)
      self.k_proj = nn.Linear(
          config.hidden_size, config.num_key_value_heads * self.head_dim, bias=config.attention_bias)
      self.v_proj = nn.Linear(
          config.hidden_size, config.num_key_value_heads * self.head_dim, bias=config.attention_bias)
      self.o_proj = nn.Linear(
          config.num_attention_heads * self.head_dim, config.hidden_size, bias=config.attention_bias)

* GraniteMoeHybridMambaLayer (Mamba-2)::

      self.intermediate_size = int(config.mamba_expand * self.hidden_size)
      self.conv_dim = self.intermediate_size + 2 * self.n_groups * self.ssm_state_size
      self.conv1d = nn.Conv1d(in_channels=self.conv_dim, out_channels=self.conv_dim, bias=config.mamba_conv_bias,
                              kernel_size=self.conv_kernel_size, groups=self.conv_dim,
                              padding=self.conv_kernel_size - 1)
      projection_size = self.intermediate_size + self.conv_dim + self.num_heads
      self.in_proj = nn.Linear(self.hidden_size, projection_size, bias=self.use_bias)  # use_bias = mamba_proj_bias
      self.dt_bias = nn.Parameter(torch.ones(self.num_heads))
      self.A_log = nn.Parameter(torch.log(A))  # A = torch.arange(1, self.num_heads + 1)
      self.norm = GraniteMoeHybridRMSNormGated(self.intermediate_size, eps=self.layer_norm_epsilon)
      self.D = nn.Parameter(torch.ones(self.num_heads))
      self.out_proj = nn.Linear(self.intermediate_size, self.hidden_size, bias=self.use_bias)

  (num_heads = mamba_n_heads, head_dim = mamba_d_head, ssm_state_size = mamba_d_state, n_groups =
  mamba_n_groups, conv_kernel_size = mamba_d_conv.)
* GraniteMoeHybridMoE / GraniteMoeHybridParallelExperts / GraniteMoeHybridTopKGating::

      self.input_linear = GraniteMoeHybridParallelExperts(
          config.num_local_experts, self.input_size, self.hidden_size * 2)
      self.output_linear = GraniteMoeHybridParallelExperts(
          config.num_local_experts, self.hidden_size, self.input_size)
      self.weight = nn.Parameter(torch.empty(num_experts, output_size, input_size))   # ParallelExperts
      self.layer = nn.Linear(input_size, num_experts, bias=False)                      # router.layer

  (MoE hidden_size = config.intermediate_size.)  GraniteMoeHybridMLP (shared_mlp)::

      self.hidden_size = config.shared_intermediate_size
      self.input_linear = nn.Linear(self.input_size, self.hidden_size * 2, bias=False)
      self.output_linear = nn.Linear(self.hidden_size, self.input_size, bias=False)
* GraniteMoeHybridModel: ``embed_tokens = nn.Embedding(config.vocab_size, config.hidden_size, ...)``, ``norm =
  GraniteMoeHybridRMSNorm(config.hidden_size, ...)``, ``rotary_emb ... if config.position_embedding_type == "rope"``
  (no parameters); GraniteMoeHybridForCausalLM ``lm_head = nn.Linear(config.hidden_size, config.vocab_size,
  bias=False)``, ``_tied_weights_keys = {"lm_head.weight": "model.embed_tokens.weight"}``.
* configuration_granitemoehybrid.py: vocab_size=32000, hidden_size=4096, intermediate_size=11008,
  num_hidden_layers=32, num_attention_heads=32, num_key_value_heads=None (→ num_attention_heads),
  tie_word_embeddings=False, attention_bias=False, num_local_experts=8, num_experts_per_tok=2,
  shared_intermediate_size=1024, position_embedding_type=None, layer_types=None, mamba_n_heads=128,
  mamba_n_groups=1, mamba_d_state=256, mamba_d_head="auto" (``mamba_d_head = mamba_intermediate //
  mamba_n_heads``, mamba_intermediate = mamba_expand * hidden_size), mamba_d_conv=4, mamba_expand=2,
  mamba_chunk_size=256, mamba_conv_bias=True, mamba_proj_bias=False; ``attribute_map = {"layers_block_type":
  "layer_types"}`` and ``layers_block_type``: ``self.layer_types if self.layer_types else ["mamba"] *
  self.num_hidden_layers``.
* vLLM vllm/model_executor/models/granitemoehybrid.py::

      intermediate_size = hf_config.mamba_expand * hf_config.hidden_size
      return MambaStateShapeCalculator.mamba2_state_shape(
          intermediate_size=intermediate_size, tp_world_size=parallel_config.tensor_parallel_size,
          n_groups=hf_config.mamba_n_groups, num_heads=hf_config.mamba_n_heads, head_dim=hf_config.mamba_d_head,
          state_size=hf_config.mamba_d_state, conv_kernel=hf_config.mamba_d_conv)

  with ``MambaStateDtypeCalculator.mamba2_state_dtype(model_config.dtype, cache_config.mamba_cache_dtype,
  cache_config.mamba_ssm_cache_dtype)``.  vLLM's attention there uses ``self.head_dim = self.hidden_size //
  self.total_num_heads`` and skips ``shared_mlp`` when ``shared_intermediate_size == 0`` (zero parameters either way).

falcon_h1: FalconH1ForCausalLM
==============================
src/transformers/models/falcon_h1/modular_falcon_h1.py and modeling_falcon_h1.py.  Every layer runs a Mamba-2
mixer and attention in parallel on the same normed input, then one MLP:

* FalconH1DecoderLayer::

      self.feed_forward = FalconH1MLP(config)  # LlamaMLP: gate/up/down_proj, bias=config.mlp_bias
      self.mamba = FalconH1Mixer(config=config, layer_idx=layer_idx)
      self.self_attn = FalconH1Attention(config, layer_idx)
      self.input_layernorm = FalconH1RMSNorm(config.hidden_size, eps=config.rms_norm_eps)
      self.pre_ff_layernorm = FalconH1RMSNorm(config.hidden_size, eps=config.rms_norm_eps)

* FalconH1Attention (LlamaAttention + key_multiplier)::

      self.head_dim = getattr(config, "head_dim", config.hidden_size // config.num_attention_heads)
      self.q_proj = nn.Linear(
          config.hidden_size, config.num_attention_heads * self.head_dim, bias=config.attention_bias)
      self.k_proj = nn.Linear(
          config.hidden_size, config.num_key_value_heads * self.head_dim, bias=config.attention_bias)  # v_proj alike
      self.o_proj = nn.Linear(
          config.num_attention_heads * self.head_dim, config.hidden_size, bias=config.attention_bias)

* FalconH1Mixer::

      self.intermediate_size = (int(config.mamba_expand * self.hidden_size) if config.mamba_d_ssm is None
                                else config.mamba_d_ssm)
      self.conv_dim = self.intermediate_size + 2 * self.n_groups * self.ssm_state_size
      self.conv1d = nn.Conv1d(in_channels=self.conv_dim, out_channels=self.conv_dim, bias=config.mamba_conv_bias, ...)
      projection_size = self.intermediate_size + self.conv_dim + self.num_heads
      self.in_proj = nn.Linear(self.hidden_size, projection_size, bias=self.use_bias)     # use_bias = mamba_proj_bias
      self.dt_bias = nn.Parameter(torch.ones(self.num_heads)); self.A_log = ...; self.D = ...   # [mamba_n_heads]
      if self.mamba_rms_norm:
          self.norm = FalconH1RMSNormGated(self.intermediate_size, eps=..., n_groups=self.n_groups, ...)
      self.out_proj = nn.Linear(self.intermediate_size, config.hidden_size, bias=config.projectors_bias)

  ``layer.mamba.register_buffer("mup_vector", mup_vector.clone(), persistent=False)``: a buffer, not a parameter.
* FalconH1Model: ``embed_tokens``, ``final_layernorm = FalconH1RMSNorm(config.hidden_size, ...)``; lm_head as
  LlamaForCausalLM (``nn.Linear(config.hidden_size, config.vocab_size, bias=False)``, tied when
  tie_word_embeddings).
* configuration_falcon_h1.py: vocab_size=128000, tie_word_embeddings=False, hidden_size=4096,
  intermediate_size=14336, num_hidden_layers=32, num_attention_heads=32, num_key_value_heads=8,
  mamba_d_ssm=1024 (not None: a config without the key gets 1024), mamba_n_heads=128, mamba_d_head="auto"
  (→ mamba_intermediate // mamba_n_heads), mamba_n_groups=1, mamba_d_state=256, mamba_d_conv=4, mamba_expand=2,
  mamba_chunk_size=256, mamba_conv_bias=True, mamba_proj_bias=False, mamba_norm_before_gate=True,
  mamba_rms_norm=False, projectors_bias=False, attention_bias=False, mlp_bias=False (older versions hard-code
  ``self.attention_bias = False`` / ``self.mlp_bias = False``); no head_dim field, so ``getattr(config, "head_dim",
  ...)`` sees it only when config.json carries one (the Falcon-H1 checkpoints do).
* vLLM vllm/model_executor/models/falcon_h1.py::

      intermediate_size = (int(hf_config.mamba_expand * hf_config.hidden_size)
                           if hf_config.mamba_d_ssm is None else hf_config.mamba_d_ssm)
      return MambaStateShapeCalculator.mamba2_state_shape(
          intermediate_size=intermediate_size, tp_world_size=parallel_config.tensor_parallel_size,
          n_groups=hf_config.mamba_n_groups, num_heads=hf_config.mamba_n_heads, head_dim=hf_config.mamba_d_head,
          state_size=hf_config.mamba_d_state, conv_kernel=hf_config.mamba_d_conv)

  dtype ``MambaStateDtypeCalculator.mamba2_state_dtype(...)`` as Granite.  Its attention: ``self.head_dim =
  (config.hidden_size // self.total_num_heads if getattr(config, "head_dim", None) is None else
  config.head_dim)``; ``FalconH1ParallelHybrid`` builds both branches in every layer (the SSM branch under prefix
  index ``config.num_hidden_layers + layer_idx``), so every layer holds a KV cache and a Mamba state.
  Mixer2RMSNormGated: "Register norm weight only if we're actually applying RMSNorm" (``use_rms_norm=
  config.mamba_rms_norm``), as in Transformers.

jamba: JambaForCausalLM (Mamba-1)
=================================
src/transformers/models/jamba/modular_jamba.py (modeling_jamba.py generated from it):

* JambaConfig.layers_block_type / layers_num_experts::

      "attention" if i % self.attn_layer_period == self.attn_layer_offset else "mamba"
      self.num_experts if i % self.expert_layer_period == self.expert_layer_offset else 1

* JambaAttentionDecoderLayer / JambaMambaDecoderLayer::

      ffn_layer_class = JambaSparseMoeBlock if num_experts > 1 else JambaMLP     # JambaMLP = MistralMLP (no biases)
      self.feed_forward = ffn_layer_class(config)
      self.input_layernorm = JambaRMSNorm(config.hidden_size, eps=config.rms_norm_eps)
      self.pre_ff_layernorm = JambaRMSNorm(config.hidden_size, eps=config.rms_norm_eps)

* JambaAttention(LlamaAttention) (head_dim from LlamaAttention: ``getattr(config, "head_dim",
  config.hidden_size // config.num_attention_heads)``)::

      self.q_proj = nn.Linear(config.hidden_size, config.num_attention_heads * self.head_dim, bias=False)
      self.k_proj = nn.Linear(config.hidden_size, config.num_key_value_heads * self.head_dim, bias=False)
      self.v_proj = nn.Linear(config.hidden_size, config.num_key_value_heads * self.head_dim, bias=False)
      self.o_proj = nn.Linear(config.num_attention_heads * self.head_dim, config.hidden_size, bias=False)

* JambaMambaMixer::

      self.intermediate_size = config.mamba_expand * config.hidden_size
      self.time_step_rank = config.mamba_dt_rank
      self.conv1d = nn.Conv1d(in_channels=self.intermediate_size, out_channels=self.intermediate_size,
                              bias=self.use_conv_bias, kernel_size=self.conv_kernel_size,
                              groups=self.intermediate_size, padding=self.conv_kernel_size - 1)
      self.in_proj = nn.Linear(self.hidden_size, self.intermediate_size * 2, bias=self.use_bias)
      self.x_proj = nn.Linear(self.intermediate_size, self.time_step_rank + self.ssm_state_size * 2, bias=False)
      self.dt_proj = nn.Linear(self.time_step_rank, self.intermediate_size, bias=True)
      A = torch.arange(1, self.ssm_state_size + 1)[None, :]; A = A.expand(self.intermediate_size, -1).contiguous()
      self.A_log = nn.Parameter(torch.log(A))
      self.D = nn.Parameter(torch.ones(self.intermediate_size))
      self.out_proj = nn.Linear(self.intermediate_size, self.hidden_size, bias=self.use_bias)
      self.dt_layernorm = JambaRMSNorm(self.time_step_rank, eps=config.rms_norm_eps)
      self.b_layernorm = JambaRMSNorm(self.ssm_state_size, eps=config.rms_norm_eps)
      self.c_layernorm = JambaRMSNorm(self.ssm_state_size, eps=config.rms_norm_eps)

* JambaSparseMoeBlock: ``self.router = nn.Linear(self.hidden_dim, self.num_experts, bias=False)``, ``self.experts =
  JambaExperts(config)`` (MixtralExperts: ``gate_up_proj [num_experts, 2 * intermediate, hidden]``, ``down_proj
  [num_experts, hidden, intermediate]``; the checkpoints and vLLM's loader (``FusedMoE.make_expert_params_mapping(
  ckpt_gate_proj_name="gate_proj", ckpt_down_proj_name="down_proj", ckpt_up_proj_name="up_proj", ...)``) name them
  per expert, ``feed_forward.experts.{j}.gate_proj/up_proj/down_proj``, as here: the same parameters).
* JambaModel: ``embed_tokens``, ``final_layernorm``; JambaForCausalLM(MixtralForCausalLM): lm_head without bias.
* configuration_jamba.py: vocab_size=65536, tie_word_embeddings=False, hidden_size=4096, intermediate_size=14336,
  num_hidden_layers=32, num_attention_heads=32, num_key_value_heads=8, sliding_window=None, num_experts_per_tok=2,
  num_experts=16, expert_layer_period=2, expert_layer_offset=1, attn_layer_period=8, attn_layer_offset=4,
  mamba_d_state=16, mamba_d_conv=4, mamba_expand=2, mamba_dt_rank="auto" (``math.ceil(self.hidden_size / 16)``),
  mamba_conv_bias=True, mamba_proj_bias=False.  JambaAttention applies no sliding window (neither does vLLM's).
* vLLM vllm/model_executor/models/jamba.py::

      return MambaStateShapeCalculator.mamba1_state_shape(
          tp_world_size=parallel_config.tensor_parallel_size,
          intermediate_size=hf_config.mamba_expand * hidden_size,
          state_size=hf_config.mamba_d_state, conv_kernel=hf_config.mamba_d_conv)

  with ``MambaStateDtypeCalculator.mamba1_state_dtype(model dtype, mamba_cache_dtype, mamba_ssm_cache_dtype)``;
  vLLM's JambaAttentionDecoderLayer: ``self.head_dim = config.hidden_size // self.total_num_heads``.

vLLM state shapes and dtypes (vllm/model_executor/layers/mamba/mamba_utils.py)
=============================================================================
::

    mamba1_state_shape: conv_dim = divide(intermediate_size, tp_world_size)
                        conv_state_shape = (conv_kernel - 1, conv_dim)                    # "SD" layout
                        temporal_state_shape = (divide(intermediate_size, tp_world_size), state_size)
    mamba2_state_shape: n_groups = n_groups + cls.extra_groups_for_head_shards(n_groups, tp_world_size)
                        conv_dim = intermediate_size + 2 * n_groups * state_size
                        conv_state_shape = (conv_kernel - 1 + num_spec, divide(conv_dim, tp_world_size))
                        temporal_state_shape = (divide(num_heads, tp_world_size), head_dim, state_size)
    _mamba_state_dtype: conv_state_dtype = get_kv_cache_torch_dtype(mamba_cache_dtype, model_dtype)
                        temporal_state_dtype = conv_state_dtype if mamba_ssm_cache_dtype == "auto"
                                               else STR_DTYPE_TO_TORCH_DTYPE[mamba_ssm_cache_dtype]

vllm/model_executor/models/config.py has no entry for GraniteMoeHybrid, FalconH1 or Jamba (unlike Nemotron-H's
float32), so with the default ``--mamba-ssm-cache-dtype auto`` both states are in the model dtype (bf16 here,
stood in for by np.float16).  In the ``states`` dicts Mamba-2 is ``taps = d_conv − 1``, ``channels =
intermediate``, ``per_group = 2·d_state``, ``groups = n_groups``, ``recurrent = (n_heads, d_head, d_state)``;
Mamba-1 is ``channels = intermediate``, no groups, ``recurrent = (intermediate, d_state, 1)`` (the temporal
state ``(intermediate, d_state)`` with a unit third axis so that ``kv_cache`` splits its first axis over TP).
vLLM pads a Mamba page to the attention page size (HybridAttentionMambaModelConfig); that allocator detail is not
modelled here, only the state a sequence holds.

The package's readers of these three types (calculators/models.py) were written after this oracle and
checked against it; the tests of the oracle alone (layer patterns, state sizes by hand) need no package.
"""

from __future__ import annotations

import copy
import math
import re
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest

from calculators import memory, models, params
from tests.core.test_oracle import KV_NP_DTYPE, Array, Config, KVLayer, Oracle, kv_cache, oracle_active, z


@dataclass
class Hybrid:
    """An oracle plus the layer indices that hold a KV cache and a state-space state."""

    oracle: Oracle
    attention_layers: list[int]
    ssm_layers: list[int]


def _attention(t: dict[str, Array], pre: str, h: int, heads: int, kv: int, hd: int, bias: bool) -> None:
    t[pre + "q_proj.weight"] = z(heads * hd, h)
    t[pre + "k_proj.weight"] = z(kv * hd, h)
    t[pre + "v_proj.weight"] = z(kv * hd, h)
    t[pre + "o_proj.weight"] = z(h, heads * hd)
    if bias:
        t[pre + "q_proj.bias"] = z(heads * hd)
        t[pre + "k_proj.bias"] = z(kv * hd)
        t[pre + "v_proj.bias"] = z(kv * hd)
        t[pre + "o_proj.bias"] = z(h)


def _gated_mlp(t: dict[str, Array], pre: str, h: int, inter: int, bias: bool = False) -> None:
    t[pre + "gate_proj.weight"] = z(inter, h)
    t[pre + "up_proj.weight"] = z(inter, h)
    t[pre + "down_proj.weight"] = z(h, inter)
    if bias:
        t[pre + "gate_proj.bias"] = z(inter)
        t[pre + "up_proj.bias"] = z(inter)
        t[pre + "down_proj.bias"] = z(h)


def _head_dim(c: Config) -> int:
    """``getattr(config, "head_dim", config.hidden_size // config.num_attention_heads)``."""
    hd = c["head_dim"] if c.get("head_dim") is not None else c["hidden_size"] // c["num_attention_heads"]
    return int(hd)


def _kv_heads(c: Config, default: int | None = None) -> int:
    kv = c.get("num_key_value_heads", default)
    return int(c["num_attention_heads"] if kv is None else kv)


def _embed_and_head(t: dict[str, Array], c: Config, final_norm: str) -> None:
    v, h = c["vocab_size"], c["hidden_size"]
    t["model.embed_tokens.weight"] = z(v, h)
    t[f"model.{final_norm}.weight"] = z(h)
    if not c.get("tie_word_embeddings", False):  # all three config classes default to False
        t["lm_head.weight"] = z(v, h)


def _mamba2(
    t: dict[str, Array], m: str, c: Config, h: int, inner: int, heads: int, head_dim: int,
    *, norm: bool, out_bias: bool,
) -> dict[str, Any]:
    """A Mamba-2 mixer (GraniteMoeHybridMambaLayer / FalconH1Mixer) and its vLLM state (mamba2_state_shape)."""
    n, g, k = c["mamba_d_state"], c["mamba_n_groups"], c["mamba_d_conv"]
    assert heads * head_dim == inner, "mamba_d_head * mamba_n_heads must equal the intermediate size"
    conv_dim = inner + 2 * g * n
    t[m + "in_proj.weight"] = z(inner + conv_dim + heads, h)
    if c["mamba_proj_bias"]:
        t[m + "in_proj.bias"] = z(inner + conv_dim + heads)
    t[m + "conv1d.weight"] = z(conv_dim, 1, k)
    if c["mamba_conv_bias"]:
        t[m + "conv1d.bias"] = z(conv_dim)
    for name in ("dt_bias", "A_log", "D"):
        t[m + name] = z(heads)
    if norm:
        t[m + "norm.weight"] = z(inner)
    t[m + "out_proj.weight"] = z(h, inner)
    if out_bias:
        t[m + "out_proj.bias"] = z(h)
    # --mamba-ssm-cache-dtype auto: the recurrent state follows the model dtype (bf16 → np.float16)
    return {"taps": k - 1, "channels": inner, "per_group": 2 * n, "groups": g, "recurrent": (heads, head_dim, n),
            "dtype": np.float16}


# ---------------------------------------------------------------- module trees


def build_granitemoehybrid(c: Config) -> Hybrid:
    """GraniteMoeHybridForCausalLM: per layer a Mamba-2 mixer or attention (layer_types), then MoE + shared MLP."""
    t: dict[str, Array] = {}
    h, layers = c["hidden_size"], c["num_hidden_layers"]
    heads, kv, hd = c["num_attention_heads"], _kv_heads(c), _head_dim(c)
    types: list[str] = c.get("layer_types") or ["mamba"] * layers
    inner = int(c.get("mamba_expand", 2) * h)
    mh = c.get("mamba_n_heads", 128)
    dh = c.get("mamba_d_head", "auto")
    dh = inner // mh if dh == "auto" else dh
    e, inter, shared = c.get("num_local_experts", 8), c.get("intermediate_size", 11008), c.get(
        "shared_intermediate_size", 1024)
    kv_layers: list[KVLayer] = []
    states: list[dict[str, Any]] = []
    attn_idx: list[int] = []
    ssm_idx: list[int] = []
    for i in range(layers):
        pre = f"model.layers.{i}."
        t[pre + "input_layernorm.weight"] = z(h)
        t[pre + "post_attention_layernorm.weight"] = z(h)
        if types[i] == "mamba":
            states.append(_mamba2(t, pre + "mamba.", c, h, inner, mh, dh, norm=True,
                                  out_bias=c.get("mamba_proj_bias", False)))
            ssm_idx.append(i)
        else:
            _attention(t, pre + "self_attn.", h, heads, kv, hd, c.get("attention_bias", False))
            kv_layers.append(KVLayer(None, kv, hd))
            attn_idx.append(i)
        if e > 0:
            moe = pre + "block_sparse_moe."
            t[moe + "input_linear.weight"] = z(e, 2 * inter, h)
            t[moe + "output_linear.weight"] = z(e, h, inter)
            t[moe + "router.layer.weight"] = z(e, h)
        t[pre + "shared_mlp.input_linear.weight"] = z(2 * shared, h)
        t[pre + "shared_mlp.output_linear.weight"] = z(h, shared)
    _embed_and_head(t, c, "norm")
    o = Oracle(t, kv_layers, top_k=c.get("num_experts_per_tok", 2) if e > 0 else 0, num_experts=e, states=states)
    return Hybrid(o, attn_idx, ssm_idx)


def build_falcon_h1(c: Config) -> Hybrid:
    """FalconH1ForCausalLM: every layer attention ∥ Mamba-2 mixer on the same input, then a gated MLP."""
    t: dict[str, Array] = {}
    h, layers = c["hidden_size"], c["num_hidden_layers"]
    heads, kv, hd = c["num_attention_heads"], _kv_heads(c, 8), _head_dim(c)
    d_ssm = c.get("mamba_d_ssm", 1024)
    inner = int(c.get("mamba_expand", 2) * h) if d_ssm is None else int(d_ssm)
    mh = c.get("mamba_n_heads", 128)
    dh = c.get("mamba_d_head", "auto")
    dh = inner // mh if dh == "auto" else dh
    kv_layers: list[KVLayer] = []
    states: list[dict[str, Any]] = []
    for i in range(layers):
        pre = f"model.layers.{i}."
        t[pre + "input_layernorm.weight"] = z(h)
        t[pre + "pre_ff_layernorm.weight"] = z(h)
        _attention(t, pre + "self_attn.", h, heads, kv, hd, c.get("attention_bias", False))
        kv_layers.append(KVLayer(None, kv, hd))
        states.append(_mamba2(t, pre + "mamba.", c, h, inner, mh, dh, norm=c.get("mamba_rms_norm", False),
                              out_bias=c.get("projectors_bias", False)))
        _gated_mlp(t, pre + "feed_forward.", h, c["intermediate_size"], c.get("mlp_bias", False))
    _embed_and_head(t, c, "final_layernorm")
    everything = list(range(layers))
    return Hybrid(Oracle(t, kv_layers, states=states), everything, everything)


def jamba_layer_types(c: Config) -> list[str]:
    period, offset = c.get("attn_layer_period", 8), c.get("attn_layer_offset", 4)
    return ["attention" if i % period == offset else "mamba" for i in range(c["num_hidden_layers"])]


def jamba_layer_experts(c: Config) -> list[int]:
    period, offset = c.get("expert_layer_period", 2), c.get("expert_layer_offset", 1)
    e: int = c.get("num_experts", 16)
    return [e if i % period == offset else 1 for i in range(c["num_hidden_layers"])]


def build_jamba(c: Config) -> Hybrid:
    """JambaForCausalLM: attention every attn_layer_period layers, Mamba-1 elsewhere; MoE every expert_layer_period."""
    t: dict[str, Array] = {}
    h = c["hidden_size"]
    heads, kv, hd = c["num_attention_heads"], _kv_heads(c, 8), _head_dim(c)
    inner = c.get("mamba_expand", 2) * h
    n, k = c.get("mamba_d_state", 16), c.get("mamba_d_conv", 4)
    rank = c.get("mamba_dt_rank", "auto")
    rank = math.ceil(h / 16) if rank == "auto" else rank
    inter = c.get("intermediate_size", 14336)
    kv_layers: list[KVLayer] = []
    states: list[dict[str, Any]] = []
    attn_idx: list[int] = []
    ssm_idx: list[int] = []
    for i, (kind, e) in enumerate(zip(jamba_layer_types(c), jamba_layer_experts(c), strict=True)):
        pre = f"model.layers.{i}."
        t[pre + "input_layernorm.weight"] = z(h)
        t[pre + "pre_ff_layernorm.weight"] = z(h)
        if kind == "attention":
            _attention(t, pre + "self_attn.", h, heads, kv, hd, False)
            kv_layers.append(KVLayer(None, kv, hd))  # no sliding window in JambaAttention or vLLM's
            attn_idx.append(i)
        else:
            m = pre + "mamba."
            proj_bias = c.get("mamba_proj_bias", False)
            t[m + "in_proj.weight"] = z(2 * inner, h)
            if proj_bias:
                t[m + "in_proj.bias"] = z(2 * inner)
            t[m + "conv1d.weight"] = z(inner, 1, k)
            if c.get("mamba_conv_bias", True):
                t[m + "conv1d.bias"] = z(inner)
            t[m + "x_proj.weight"] = z(rank + 2 * n, inner)
            t[m + "dt_proj.weight"] = z(inner, rank)
            t[m + "dt_proj.bias"] = z(inner)
            t[m + "A_log"] = z(inner, n)
            t[m + "D"] = z(inner)
            t[m + "out_proj.weight"] = z(h, inner)
            if proj_bias:
                t[m + "out_proj.bias"] = z(h)
            t[m + "dt_layernorm.weight"] = z(rank)
            t[m + "b_layernorm.weight"] = z(n)
            t[m + "c_layernorm.weight"] = z(n)
            # vLLM mamba1_state_shape: conv (k − 1, intermediate), temporal (intermediate, d_state)
            states.append({"taps": k - 1, "channels": inner, "per_group": 0, "groups": 0,
                           "recurrent": (inner, n, 1), "dtype": np.float16})
            ssm_idx.append(i)
        f = pre + "feed_forward."
        if e > 1:
            t[f + "router.weight"] = z(e, h)
            for j in range(e):
                _gated_mlp(t, f + f"experts.{j}.", h, inter)
        else:
            _gated_mlp(t, f, h, inter)
    _embed_and_head(t, c, "final_layernorm")
    o = Oracle(t, kv_layers, top_k=c.get("num_experts_per_tok", 2), num_experts=c.get("num_experts", 16),
               states=states)
    return Hybrid(o, attn_idx, ssm_idx)


# ---------------------------------------------------------------- tiny configs

BASE: Config = {"vocab_size": 130, "max_position_embeddings": 4096, "torch_dtype": "bfloat16", "rms_norm_eps": 1e-5,
                "hidden_act": "silu", "pad_token_id": 0, "bos_token_id": 1, "eos_token_id": 2}

_GRANITE: Config = {
    **BASE, "model_type": "granitemoehybrid", "architectures": ["GraniteMoeHybridForCausalLM"], "hidden_size": 64,
    "num_hidden_layers": 6, "layer_types": ["mamba", "mamba", "attention", "mamba", "mamba", "attention"],
    "num_attention_heads": 4, "num_key_value_heads": 2, "attention_bias": False, "attention_dropout": 0.0,
    "intermediate_size": 24, "shared_intermediate_size": 48, "num_local_experts": 4, "num_experts_per_tok": 2,
    "mamba_n_heads": 8, "mamba_d_head": 16, "mamba_d_state": 16, "mamba_n_groups": 2, "mamba_d_conv": 4,
    "mamba_expand": 2, "mamba_chunk_size": 256, "mamba_conv_bias": True, "mamba_proj_bias": False,
    "position_embedding_type": "nope", "rope_theta": 10000.0, "rope_scaling": None, "embedding_multiplier": 12.0,
    "logits_scaling": 6.0, "residual_multiplier": 0.22, "attention_multiplier": 0.0078125,
    "router_aux_loss_coef": 0.0, "output_router_logits": False, "tie_word_embeddings": True,
}

_FALCON_H1: Config = {
    **BASE, "model_type": "falcon_h1", "architectures": ["FalconH1ForCausalLM"], "hidden_size": 64,
    "num_hidden_layers": 3, "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 32,
    "attention_bias": False, "mlp_bias": False, "attention_dropout": 0.0, "intermediate_size": 96,
    "mamba_d_ssm": 96, "mamba_n_heads": 6, "mamba_d_head": 16, "mamba_d_state": 16, "mamba_n_groups": 1,
    "mamba_d_conv": 4, "mamba_expand": 2, "mamba_chunk_size": 128, "mamba_conv_bias": True,
    "mamba_proj_bias": False, "mamba_norm_before_gate": False, "mamba_rms_norm": False, "projectors_bias": False,
    "rope_theta": 1e11, "rope_scaling": None, "lm_head_multiplier": 0.5, "embedding_multiplier": 5.0,
    "mlp_multipliers": [0.9, 0.5], "key_multiplier": 0.4, "attention_out_multiplier": 0.9,
    "attention_in_multiplier": 1.0, "ssm_multipliers": [0.3, 0.2, 0.4, 0.3, 0.6], "ssm_in_multiplier": 1.25,
    "ssm_out_multiplier": 0.2, "time_step_min": 0.001, "time_step_max": 0.1, "time_step_limit": [0.0, math.inf],
    "num_logits_to_keep": 1, "tie_word_embeddings": False,
}

_JAMBA: Config = {
    **BASE, "model_type": "jamba", "architectures": ["JambaForCausalLM"], "hidden_size": 64, "num_hidden_layers": 8,
    "num_attention_heads": 4, "num_key_value_heads": 2, "intermediate_size": 96, "attention_dropout": 0.0,
    "attn_layer_period": 4, "attn_layer_offset": 2, "expert_layer_period": 2, "expert_layer_offset": 1,
    "num_experts": 4, "num_experts_per_tok": 2, "mamba_d_state": 8, "mamba_d_conv": 4, "mamba_expand": 2,
    "mamba_dt_rank": 6, "mamba_conv_bias": True, "mamba_proj_bias": False, "use_mamba_kernels": True,
    "sliding_window": None, "num_logits_to_keep": 1, "output_router_logits": False, "router_aux_loss_coef": 0.001,
    "tie_word_embeddings": False,
}

CONFIGS: dict[str, Config] = {
    "granitemoehybrid": _GRANITE,
    # Granite 4.0 H Micro's shape: no routed experts, every FFN the shared MLP; RoPE; untied head; GQA 1 KV head
    "granitemoehybrid-dense": {**_GRANITE, "num_local_experts": 0, "num_experts_per_tok": 0,
                               "layer_types": ["attention", "mamba", "mamba", "mamba"], "num_hidden_layers": 4,
                               "num_key_value_heads": 1, "mamba_n_groups": 1, "shared_intermediate_size": 80,
                               "position_embedding_type": "rope", "tie_word_embeddings": False},
    "falcon_h1": _FALCON_H1,
    # mamba_rms_norm on (FalconH1RMSNormGated [d_ssm]), mamba_d_ssm null → mamba_expand · hidden, no head_dim, tied
    "falcon_h1-rms_norm": {**{k: v for k, v in _FALCON_H1.items() if k != "head_dim"}, "mamba_rms_norm": True,
                           "mamba_d_ssm": None, "mamba_n_heads": 8, "mamba_d_head": 16, "mamba_n_groups": 2,
                           "num_hidden_layers": 2, "tie_word_embeddings": True},
    "jamba": _JAMBA,
    # mamba_dt_rank "auto" → ceil(80 / 16) = 5; MoE on every layer; attention on layers 0 and 3
    "jamba-dt-auto": {**_JAMBA, "hidden_size": 80, "mamba_dt_rank": "auto", "num_hidden_layers": 6,
                      "attn_layer_period": 3, "attn_layer_offset": 0, "expert_layer_period": 1,
                      "expert_layer_offset": 0, "num_experts": 2, "num_experts_per_tok": 1, "mamba_d_state": 4},
}

BUILDERS = {
    "granitemoehybrid": build_granitemoehybrid, "granitemoehybrid-dense": build_granitemoehybrid,
    "falcon_h1": build_falcon_h1, "falcon_h1-rms_norm": build_falcon_h1,
    "jamba": build_jamba, "jamba-dt-auto": build_jamba,
}
FAMILIES = list(CONFIGS)

def _cases(families: list[str]) -> list[Any]:
    """pytest params, one per family variant."""
    return [pytest.param(f, id=f) for f in families]


def hybrid(name: str) -> Hybrid:
    return BUILDERS[name](copy.deepcopy(CONFIGS[name]))


def spec(name: str) -> models.ModelSpec:
    return models.spec_from_config(copy.deepcopy(CONFIGS[name]), name)


_LAYER = re.compile(r"layers\.(\d+)\.")
_ROUTED = re.compile(r"\.experts\.|block_sparse_moe\.(input|output)_linear\.")


def hybrid_active(o: Oracle) -> int:
    """Non-routed parameters + top_k / num_experts of each layer's routed experts (Jamba's per-expert
    ``experts.{j}.*`` and Granite's fused ``block_sparse_moe.input_linear / output_linear`` [E, ·, ·]);
    routers are always active."""
    total = sum(a.size for a in o.tensors.values())
    if not o.num_experts:
        return total
    routed_by_layer: dict[int, int] = {}
    for name, a in o.tensors.items():
        if _ROUTED.search(name):
            m = _LAYER.search(name)
            assert m is not None
            routed_by_layer[int(m.group(1))] = routed_by_layer.get(int(m.group(1)), 0) + a.size
    active = total - sum(routed_by_layer.values())
    for n in routed_by_layer.values():
        assert n % o.num_experts == 0
        active += n // o.num_experts * o.top_k
    return active


# ---------------------------------------------------------------- the oracle alone (no package involved)


def test_every_family_is_covered() -> None:
    assert {c["model_type"] for c in CONFIGS.values()} == {"granitemoehybrid", "falcon_h1", "jamba"}


def test_granite_tree_by_hand() -> None:
    """Tiny Granite: intermediate 2·64 = 128 = 8 heads × 16, conv_dim 128 + 2·2·16 = 192, in_proj 128 + 192 + 8."""
    o = hybrid("granitemoehybrid").oracle
    assert o.tensors["model.layers.0.mamba.in_proj.weight"].shape == (328, 64)
    assert o.tensors["model.layers.0.mamba.conv1d.weight"].shape == (192, 1, 4)
    assert o.tensors["model.layers.0.block_sparse_moe.input_linear.weight"].shape == (4, 48, 64)
    assert o.tensors["model.layers.0.block_sparse_moe.output_linear.weight"].shape == (4, 64, 24)
    assert "lm_head.weight" not in o.tensors  # tie_word_embeddings true
    assert not any(".block_sparse_moe." in n for n in hybrid("granitemoehybrid-dense").oracle.tensors)
    # per Mamba layer and sequence: conv 3 × 192 + recurrent 8 × 16 × 16, bf16
    state = sum(a.nbytes for a in kv_cache(o, 1, np.float16, 1, 0)) - sum(
        a.nbytes for a in kv_cache(o, 1, np.float16, 1, 0, windows=False))
    assert state == 4 * (3 * 192 + 8 * 16 * 16) * 2


def test_falcon_h1_every_layer_is_both() -> None:
    h = hybrid("falcon_h1")
    assert h.attention_layers == h.ssm_layers == [0, 1, 2]
    o = h.oracle
    # mamba_d_ssm 96 (not 2·64), head_dim 32 (not 64 / 4): in_proj 96 + (96 + 2·16) + 6 = 230, q_proj 4·32
    assert o.tensors["model.layers.1.mamba.in_proj.weight"].shape == (230, 64)
    assert o.tensors["model.layers.1.self_attn.q_proj.weight"].shape == (128, 64)
    assert "model.layers.1.mamba.norm.weight" not in o.tensors  # mamba_rms_norm false
    r = hybrid("falcon_h1-rms_norm").oracle
    assert r.tensors["model.layers.0.mamba.norm.weight"].shape == (128,)  # mamba_d_ssm null → 2 · 64
    assert r.tensors["model.layers.0.self_attn.q_proj.weight"].shape == (64, 64)  # no head_dim → 64 / 4


def test_jamba_layer_pattern() -> None:
    """attn_layer_period 4 / offset 2 → attention on 2 and 6; expert_layer_period 2 / offset 1 → MoE on odd layers."""
    h = hybrid("jamba")
    assert h.attention_layers == [2, 6]
    assert h.ssm_layers == [0, 1, 3, 4, 5, 7]
    moe = sorted({int(m.group(1)) for n in h.oracle.tensors if ".experts." in n and (m := _LAYER.search(n))})
    assert moe == [1, 3, 5, 7]
    assert h.oracle.tensors["model.layers.0.mamba.x_proj.weight"].shape == (6 + 2 * 8, 128)
    auto = hybrid("jamba-dt-auto")
    assert auto.attention_layers == [0, 3]
    assert auto.oracle.tensors["model.layers.1.mamba.dt_proj.weight"].shape == (160, 5)  # ceil(80 / 16)
    # the two active counts agree where the experts are named per expert
    for name in ("jamba", "jamba-dt-auto"):
        o = hybrid(name).oracle
        assert hybrid_active(o) == oracle_active(o) < sum(a.size for a in o.tensors.values())


def test_jamba_state_by_hand() -> None:
    """Mamba-1: conv (d_conv − 1) × intermediate + temporal intermediate × d_state, per Mamba layer, bf16."""
    o = hybrid("jamba").oracle
    full = sum(a.nbytes for a in kv_cache(o, 5, np.float16, 1, 0))
    kv_only = sum(a.nbytes for a in kv_cache(o, 5, np.float16, 1, 0, windows=False))
    assert full - kv_only == 6 * (3 * 128 + 128 * 8) * 2
    assert kv_only == 2 * 5 * 2 * 2 * 16 * 2  # two attention layers × 5 tokens × K,V × 2 heads × 16 × 2 bytes


# ---------------------------------------------------------------- against the package


@pytest.mark.parametrize("family", _cases(FAMILIES))
def test_param_total_matches_module_tree(family: str) -> None:
    o = hybrid(family).oracle
    assert params.count_params(spec(family)).total == sum(a.size for a in o.tensors.values())


@pytest.mark.parametrize("family", _cases(FAMILIES))
def test_param_active_matches_module_tree(family: str) -> None:
    o = hybrid(family).oracle
    counts = params.count_params(spec(family))
    assert counts.active == hybrid_active(o)
    if o.num_experts:
        assert counts.active < counts.total
    else:
        assert counts.active == counts.total


@pytest.mark.parametrize("weights_dtype", ["auto", "float32"])
@pytest.mark.parametrize("family", _cases(FAMILIES))
def test_weight_bytes(family: str, weights_dtype: str) -> None:
    """Every tensor at the checkpoint's bf16 (2 bytes) or at the chosen float32."""
    o = hybrid(family).oracle
    dt = np.float32 if weights_dtype == "float32" else np.float16
    expected = sum(a.astype(dt).nbytes for a in o.tensors.values())
    assert memory.weights_memory(spec(family), weights_dtype).bytes_total == expected


@pytest.mark.parametrize("family", _cases(FAMILIES))
def test_kv_and_state_bytes_tp1(family: str) -> None:
    """KV of the attention layers (per token) + the fixed Mamba state of every state layer, one sequence, TP 1."""
    o = hybrid(family).oracle
    s = spec(family)
    dt = KV_NP_DTYPE["auto"]
    assert memory.kv_bytes_per_token(s, "auto", 1) == sum(a.nbytes for a in kv_cache(o, 1, dt, 1, 0, windows=False))
    for tokens in (1, 2, 15, 16, 17, 100, 1000, 4096):
        want = sum(a.nbytes for a in kv_cache(o, tokens, dt, 1, 0))
        assert memory.kv_bytes_per_sequence(s, tokens, "auto", 1) == want, tokens


@pytest.mark.parametrize("family", _cases(FAMILIES))
def test_attention_windows(family: str) -> None:
    """No sliding window in any of the three (JambaAttention ignores sliding_window)."""
    assert list(spec(family).attention_windows) == [layer.window for layer in hybrid(family).oracle.kv_layers]


@pytest.mark.parametrize("family", _cases(FAMILIES))
def test_layer_kinds(family: str) -> None:
    h = hybrid(family)
    s = spec(family)
    assert list(s.attention_layers) == h.attention_layers
    assert list(s.ssm_layers) == h.ssm_layers
