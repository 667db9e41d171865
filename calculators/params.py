"""Parameter counts: every weight tensor of a checkpoint, by shape.

``tensor_groups`` lists the tensors of a :class:`~calculators.models.ModelSpec` with their shapes
(as the Transformers modelling code of each family declares them), either as stored in the
checkpoint (``tp=None``) or as one GPU holds them under vLLM's tensor parallelism (``tp=N``:
column-parallel layers split their output rows, row-parallel layers their input columns, the
vocabulary is padded to a multiple of 64 and split, KV heads are split or replicated when
``tp > num_kv_heads``, routers and norms are replicated).  ``count_params`` adds them up.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from calculators.errors import CalcError
from calculators.models import ModelSpec

#: vLLM pads the vocabulary of ``VocabParallelEmbedding`` / ``ParallelLMHead`` to a multiple of 64
#: (``DEFAULT_VOCAB_PADDING_SIZE`` in vllm/model_executor/layers/vocab_parallel_embedding.py).
VOCAB_PADDING = 64


@dataclass(frozen=True)
class TensorGroup:
    """``count`` tensors of shape ``rows × cols`` (a vector has ``cols == 1``).

    ``kind``: ``embedding``, ``lm_head``, ``linear`` (a projection that weight quantization
    applies to), ``projection`` (one it does not), ``router``, ``bias``, ``norm`` or ``sink``.
    ``fp32``: stored in float32 whatever the checkpoint dtype (DeepSeek-V3's
    ``e_score_correction_bias``).  ``routed``: a routed-expert
    tensor, active for ``experts_per_token / num_experts`` of tokens.  ``mtp``: part of
    DeepSeek-V3's multi-token-prediction module.
    """

    name: str
    rows: int
    cols: int
    count: int
    kind: str
    routed: bool = False
    expert: bool = False
    mtp: bool = False
    fp32: bool = False
    #: Hugging Face module paths of one instance, "{i}" standing for the layer index (what a
    #: quantization config's ignore list is matched against); the decoder layers it spans
    modules: tuple[str, ...] = ()
    layers: tuple[int, ...] = ()

    @property
    def elements(self) -> int:
        return self.rows * self.cols * self.count


@dataclass(frozen=True)
class ParamCounts:
    """Parameters of the served model (MTP modules reported apart)."""

    total: int
    active: int
    embedding: int  # input embedding (+ untied lm_head)
    mtp: int  # DeepSeek-V3 multi-token prediction module, stored in the checkpoint, not served by default

    @property
    def total_with_mtp(self) -> int:
        return self.total + self.mtp


def _ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def check_tp(spec: ModelSpec, tp: int) -> None:
    """vLLM's rule: TP must divide the attention heads; KV heads split evenly or are replicated."""
    if isinstance(tp, bool) or not isinstance(tp, int) or tp < 1 or tp > 1024:
        raise CalcError("tp", f"must be an integer from 1 to 1024, got {tp!r}")
    if spec.num_attention_heads % tp:
        raise CalcError("tp", f"{tp} does not divide the {spec.num_attention_heads} attention heads; try a divisor")
    for kv in {spec.num_kv_heads, spec.full_kv_heads or spec.num_kv_heads}:
        if spec.mla is None and kv % tp and tp % kv:
            raise CalcError("tp", f"{tp} and the {kv} KV heads must divide one another")


def kv_heads_per_gpu(spec: ModelSpec, tp: int, layer: int | None = None) -> int:
    """KV heads one GPU holds: num_kv_heads / tp, at least one (replicated when tp > kv heads);
    of ``layer`` when given (Gemma 4's full-attention layers have their own count)."""
    return max(1, (spec.num_kv_heads if layer is None else spec.kv_heads_of(layer)) // tp)


def tensor_groups(spec: ModelSpec, tp: int | None = None, include_mtp: bool = True) -> tuple[TensorGroup, ...]:
    """The weight tensors of ``spec``; per GPU under tensor parallelism ``tp`` if given."""
    t = 1 if tp is None else tp
    if tp is not None:
        check_tp(spec, tp)
    h = spec.hidden_size
    vocab = spec.vocab_size if tp is None else _ceil_div(_ceil_div(spec.vocab_size, VOCAB_PADDING) * VOCAB_PADDING, t)
    out: list[TensorGroup] = [TensorGroup("embed_tokens", vocab, h, 1, "embedding")]
    if spec.learned_positions:  # OPT's OPTLearnedPositionalEmbedding (max_position_embeddings + 2 rows)
        out.append(TensorGroup("embed_positions", spec.learned_positions, h, 1, "embedding"))
    layer_count = spec.num_layers
    out += _decoder_layers(spec, t, [i for i in range(layer_count)], mtp=False, served=tp is not None)
    if spec.final_norm:
        out.append(TensorGroup("norm", h, 1, 2 if spec.norm_bias else 1, "norm"))
    if not spec.tie_word_embeddings:
        out.append(TensorGroup("lm_head", vocab, h, 1, "lm_head", modules=("lm_head",)))
    if spec.lm_head_bias:  # phi: lm_head = Linear(hidden, vocab, bias=True)
        out.append(TensorGroup("lm_head.bias", vocab, 1, 1, "bias"))
    if include_mtp and spec.mtp_layers:
        # DeepSeek-V3 checkpoint layer 61 (modeling in vllm/model_executor/models/deepseek_mtp.py):
        # its own embed_tokens and shared_head, enorm, hnorm, eh_proj (2H → H) and one decoder layer.
        n = spec.mtp_layers
        out += [
            TensorGroup("mtp.embed_tokens", vocab, h, n, "embedding", mtp=True),
            TensorGroup("mtp.enorm+hnorm+shared_head.norm", h, 1, 3 * n, "norm", mtp=True),
            # eh_proj is stored in bf16 even in the fp8 checkpoint (no weight_scale_inv for it)
            TensorGroup("mtp.eh_proj", h, 2 * h, n, "projection", mtp=True),
            TensorGroup("mtp.shared_head.head", vocab, h, n, "lm_head", mtp=True),
        ]
        out += _decoder_layers(spec, t, [spec.num_layers - 1] * n, mtp=True, served=tp is not None)
    return tuple(g for g in out if g.count and g.rows and g.cols)


def _decoder_layers(
    spec: ModelSpec, t: int, layer_ids: list[int], mtp: bool, served: bool = False
) -> list[TensorGroup]:
    """The tensors of the decoder layers ``layer_ids`` (per GPU under TP ``t``).

    Each layer has a mixer (attention, a Mamba2 / Gated DeltaNet mixer, or none) and/or a
    feed-forward block (dense or MoE), as :meth:`ModelSpec.mixer` / :meth:`ModelSpec.has_ffn` say.
    """
    h = spec.hidden_size
    g: list[TensorGroup] = []
    moe = spec.moe
    attn_ids = tuple(i for i in layer_ids if spec.mixer(i) in ("attention", "parallel"))
    ssm_ids = tuple(i for i in layer_ids if spec.mixer(i) in ("mamba2", "gdn", "mamba1", "parallel"))
    ffn_ids = tuple(i for i in layer_ids if spec.has_ffn(i))
    moe_ids = tuple(i for i in ffn_ids if moe is not None and moe.moe_layers[i])
    dense_ids = tuple(i for i in ffn_ids if i not in moe_ids)
    ffn = "feed_forward" if spec.model_type in ("llama4_text",) else "mlp"
    shared = {
        "qwen2_moe": "shared_expert", "qwen3_moe": "shared_expert", "llama4_text": "shared_expert",
        "qwen3_next": "shared_expert", "qwen3_5_moe_text": "shared_expert",
    }.get(spec.model_type, "shared_experts")
    mixer_path = {"mamba2": "mixer", "gdn": "linear_attn", "mamba1": "mamba"}.get(
        spec.ssm.kind if spec.ssm else "", "mixer")

    def modules_of(name: str) -> tuple[str, ...]:
        """"q_proj" → model.layers.{i}.self_attn.q_proj; "experts.gate_proj+up_proj" → two expert paths."""
        head, _, tail = name.rpartition(".")
        parts = tail.split("+")
        where = {
            "": "self_attn", "full": "self_attn", "mlp": ffn, "experts": f"{ffn}.experts.0",
            "shared_experts": f"{ffn}.{shared}", "ssm": mixer_path, "indexer": "self_attn.indexer",
        }.get(head.split(".")[0] if head else "", head)
        return tuple(f"model.layers.{{i}}.{where}.{p}" for p in parts)

    def add(  # noqa: PLR0913
        name: str, rows: int, cols: int, count: int, kind: str, ids: tuple[int, ...] | None = None, **kw: bool
    ) -> None:
        if ids is not None:
            pass
        elif name.startswith(("experts.", "shared_experts.", "router", "shared_expert_gate")):
            ids = moe_ids
        elif name.startswith("mlp."):
            ids = dense_ids
        elif name.startswith("ssm."):
            ids = ssm_ids
        elif name == "layernorms":
            ids = tuple(layer_ids)
        else:
            ids = attn_ids
        mods = modules_of(name) if kind == "linear" else ()
        g.append(TensorGroup(name, rows, cols, count, kind, mtp=mtp, modules=mods, layers=ids, **kw))

    heads = spec.num_attention_heads // t
    full_ids = tuple(i for i in attn_ids if spec.is_full_shaped(i))
    if full_ids:  # Gemma 4: the full-attention layers' own shapes; the rest as below
        attn_ids = tuple(i for i in attn_ids if i not in full_ids)
        _full_shaped_attention(spec, t, heads, full_ids, add, vllm_slots=served)
    n = len(attn_ids)
    if spec.mla is not None and n:
        m = spec.mla
        qk = m.qk_nope_head_dim + m.qk_rope_head_dim
        if m.q_lora_rank:
            add("q_a_proj", m.q_lora_rank, h, n, "linear")
            add("q_a_layernorm", m.q_lora_rank, 1, n, "norm")
            add("q_b_proj", heads * qk, m.q_lora_rank, n, "linear")
        else:
            add("q_proj", heads * qk, h, n, "linear")
        add("kv_a_proj_with_mqa", m.kv_lora_rank + m.qk_rope_head_dim, h, n, "linear")
        add("kv_a_layernorm", m.kv_lora_rank, 1, n, "norm")
        add("kv_b_proj", heads * (m.qk_nope_head_dim + m.v_head_dim), m.kv_lora_rank, n, "linear")
        add("o_proj", h, heads * m.v_head_dim, n, "linear")
        if spec.qkv_bias:  # DeepseekV2Attention: q_a_proj, kv_a_proj_with_mqa and o_proj take attention_bias
            if m.q_lora_rank:  # q_proj (no q LoRA) is bias-free whatever attention_bias says
                add("q_a_proj.bias", m.q_lora_rank, 1, n, "bias")
            add("kv_a_proj_with_mqa.bias", m.kv_lora_rank + m.qk_rope_head_dim, 1, n, "bias")
        if spec.o_bias:
            add("o_proj.bias", h, 1, n, "bias")
        if spec.indexer is not None:
            # DeepSeek-V3.2 Indexer (replicated on every TP rank in vLLM): wq_b, wk, k_norm, weights_proj
            ix = spec.indexer
            add("indexer.wq_b", ix.n_heads * ix.head_dim, m.q_lora_rank or h, n, "linear")
            add("indexer.wk", ix.head_dim, h, n, "linear")
            add("indexer.k_norm", ix.head_dim, 1, 2 * n, "norm")
            add("indexer.weights_proj", ix.n_heads, h, n, "projection")
    elif n:
        hd = spec.head_dim
        kvh = spec.num_kv_heads if t == 1 else max(1, spec.num_kv_heads // t)
        # Qwen3-Next's gated attention: q_proj also yields a sigmoid output gate of heads × head_dim
        add("q_proj", heads * hd * (2 if spec.gated_attention else 1), h, n, "linear")
        add("k_proj+v_proj", kvh * hd, h, 2 * n, "linear")
        add("o_proj", h, heads * hd, n, "linear")
        if spec.qkv_bias:
            add("q_proj.bias", heads * hd, 1, n, "bias")
            add("k_proj.bias+v_proj.bias", kvh * hd, 1, 2 * n, "bias")
        if spec.o_bias:
            add("o_proj.bias", h, 1, n, "bias")
        if spec.qk_norm and spec.qk_norm_full:
            # OLMo 2 / MiniMax-M2: RMSNorm over the whole q and k projections (sharded under TP by
            # MiniMax-M2; whole on every rank in vLLM's olmo2.py, which all-gathers q and k first)
            whole = spec.qk_norm_replicated
            add("q_norm", (spec.num_attention_heads if whole else heads) * hd, 1, n, "norm")
            add("k_norm", (spec.num_kv_heads if whole else kvh) * hd, 1, n, "norm")
        elif spec.qk_norm:
            # per-head norms (Qwen3, Gemma 3, GLM); phi's qk_layernorm is a LayerNorm with a bias
            add("q_norm+k_norm", hd, 1, (4 if spec.norm_bias else 2) * n, "norm")
        if spec.attention_sinks:
            add("sinks", heads, 1, n, "sink")
    if spec.ssm is not None and ssm_ids:
        _ssm_tensors(spec, t, len(ssm_ids), add)
    add("layernorms", h, 1, spec.norms_per_layer * len(layer_ids) * (2 if spec.norm_bias else 1), "norm")
    if spec.layer_scalar:  # Gemma 4's layer_scalar [1] in every decoder layer
        add("layer_scalar", 1, 1, len(layer_ids), "norm", ids=tuple(layer_ids))

    moe_n = len(moe_ids)
    dense_n = len(dense_ids)
    inter = spec.intermediate_size // t if spec.intermediate_size % t == 0 else _ceil_div(spec.intermediate_size, t)
    if dense_n and spec.mlp_gated:
        add("mlp.gate_proj+up_proj", inter, h, 2 * dense_n, "linear")
        add("mlp.down_proj", h, inter, dense_n, "linear")
    elif dense_n:  # fc1 → activation → fc2 (phi, GPT-NeoX, OPT, StarCoder2; Nemotron-H's up/down)
        add("mlp.fc1", inter, h, dense_n, "linear")
        add("mlp.fc2", h, inter, dense_n, "linear")
    if dense_n and spec.mlp_bias:
        add("mlp.biases", inter, 1, (2 if spec.mlp_gated else 1) * dense_n, "bias")
        add("mlp.down.bias", h, 1, dense_n, "bias")
    if moe is not None and moe_n:
        e = moe.num_experts
        ie = _ceil_div(moe.expert_intermediate_size, t)
        up = 2 if moe.expert_gated else 1
        add("router", e, h, moe_n, "router")
        if moe.router_bias:
            # DeepSeek-V3's e_score_correction_bias is float32 (vLLM deepseek_v2.py); gpt-oss's router bias bf16
            add("router.bias", e, 1, moe_n, "bias", fp32=moe.router_bias_fp32)
        name = "experts.gate_proj+up_proj" if moe.expert_gated else "experts.up_proj"
        add(name, ie, h, up * e * moe_n, "linear", routed=True, expert=True)
        add("experts.down_proj", h, ie, e * moe_n, "linear", routed=True, expert=True)
        if moe.expert_bias:
            add("experts.gate_up.bias", 2 * ie, 1, e * moe_n, "bias", routed=True, expert=True)
            add("experts.down.bias", h, 1, e * moe_n, "bias", routed=True, expert=True)
        if moe.shared_intermediate_size:
            si = _ceil_div(moe.shared_intermediate_size, t)
            name = "shared_experts.gate_proj+up_proj" if moe.expert_gated else "shared_experts.up_proj"
            add(name, si, h, up * moe_n, "linear", expert=True)
            add("shared_experts.down_proj", h, si, moe_n, "linear", expert=True)
        if moe.shared_expert_gate:
            add("shared_expert_gate", 1, h, moe_n, "router")
    return g


def _full_shaped_attention(
    spec: ModelSpec, t: int, heads: int, ids: tuple[int, ...], add: Any, vllm_slots: bool
) -> None:
    """Gemma 4's full-attention layers (Transformers ``Gemma4TextAttention``, vLLM gemma4.py): q
    (heads × global_head_dim), k (global KV heads × global_head_dim), v the same unless K is reused
    as V (``attention_k_eq_v``: no v_proj in the checkpoint), o, and per-head q/k norms of
    global_head_dim (the v norm has no weight).  vLLM's fused ``QKVParallelLinear`` still holds a
    V slot, into which it loads K: counted in the memory a GPU holds (``vllm_slots``), not in the
    checkpoint's parameters."""
    h = spec.hidden_size
    hd = spec.full_head_dim
    kvh = max(1, spec.full_kv_heads // t)
    n = len(ids)
    add("full.q_proj", heads * hd, h, n, "linear", ids=ids)
    add("full.k_proj", kvh * hd, h, n, "linear", ids=ids)
    if not spec.k_eq_v or vllm_slots:
        add("full.v_proj", kvh * hd, h, n, "linear", ids=ids)
    add("full.o_proj", h, heads * hd, n, "linear", ids=ids)
    add("full.q_norm+k_norm", hd, 1, 2 * n, "norm", ids=ids)


def _ssm_tensors(spec: ModelSpec, t: int, n: int, add: Any) -> None:
    """Mamba2 (Transformers ``NemotronHMamba2Mixer``): in_proj (hidden → 2·inner + 2·G·N + heads),
    conv1d (conv_dim × kernel, + bias), dt_bias, A_log and D (heads), a gated RMSNorm over inner,
    out_proj (inner → hidden).  Gated DeltaNet (``Qwen3NextGatedDeltaNet``): in_proj_qkvz
    (hidden → 2·key_dim + 2·value_dim), in_proj_ba (hidden → 2·value heads), conv1d (conv_dim ×
    kernel, no bias), dt_bias and A_log (value heads), RMSNormGated over one value head, out_proj."""
    s = spec.ssm
    assert s is not None
    h = spec.hidden_size
    heads = _ceil_div(s.num_heads, t)
    inner = _ceil_div(s.inner, t)
    groups = s.n_groups if t == 1 else s.n_groups + (0 if s.n_groups % t == 0 else t - s.n_groups % t)
    conv = _ceil_div(s.inner + 2 * groups * s.state_size, t) if t > 1 else s.conv_dim
    out_bias = s.proj_bias if s.out_bias is None else s.out_bias
    if s.kind == "mamba1":
        add("ssm.in_proj", 2 * inner, h, n, "linear")
        if s.proj_bias:
            add("ssm.in_proj.bias", 2 * inner, 1, n, "bias")
        add("ssm.conv1d", inner, s.conv_kernel, n, "projection")
        if s.conv_bias:
            add("ssm.conv1d.bias", inner, 1, n, "bias")
        add("ssm.x_proj", s.dt_rank + 2 * s.state_size, inner, n, "linear")
        add("ssm.dt_proj", inner, s.dt_rank, n, "linear")
        add("ssm.dt_proj.bias+D", inner, 1, 2 * n, "bias")
        add("ssm.A_log", inner, s.state_size, n, "projection")
        add("ssm.dt_layernorm", s.dt_rank, 1, n, "norm")
        add("ssm.b_layernorm+c_layernorm", s.state_size, 1, 2 * n, "norm")
    elif s.kind == "mamba2":
        add("ssm.in_proj", 2 * inner + conv - inner + heads, h, n, "linear")
        if s.proj_bias:
            add("ssm.in_proj.bias", 2 * inner + conv - inner + heads, 1, n, "bias")
        add("ssm.conv1d", conv, s.conv_kernel, n, "projection")
        if s.conv_bias:
            add("ssm.conv1d.bias", conv, 1, n, "bias")
        add("ssm.dt_bias+A_log+D", heads, 1, 3 * n, "norm")
        if s.norm:
            add("ssm.norm", inner, 1, n, "norm")
    else:
        key = _ceil_div(s.n_groups * s.state_size, t)
        add("ssm.in_proj_qkvz", 2 * key + 2 * inner, h, n, "linear")
        add("ssm.in_proj_ba", 2 * heads, h, n, "linear")
        add("ssm.conv1d", conv, s.conv_kernel, n, "projection")
        add("ssm.dt_bias+A_log", heads, 1, 2 * n, "norm")
        add("ssm.norm", s.head_dim, 1, n, "norm")
    add("ssm.out_proj", h, inner, n, "linear")
    if out_bias:
        add("ssm.out_proj.bias", h, 1, n, "bias")


def count_params(spec: ModelSpec) -> ParamCounts:
    """Total and active parameters as stored in the checkpoint.

    total = Σ rows × cols × count over every tensor (tied embeddings once);
    active = total − routed-expert parameters × (1 − experts_per_token / num_experts)
    (non-expert weights, embeddings, the head, shared experts and top-k routed experts).
    """
    groups = tensor_groups(spec)
    total = sum(g.elements for g in groups if not g.mtp)
    routed = sum(g.elements for g in groups if g.routed and not g.mtp)
    active = total
    if spec.moe is not None and routed:
        active = total - routed + routed * spec.moe.experts_per_token // spec.moe.num_experts
    embedding = sum(g.elements for g in groups if g.kind in ("embedding", "lm_head") and not g.mtp)
    mtp = sum(g.elements for g in groups if g.mtp)
    return ParamCounts(total=total, active=active, embedding=embedding, mtp=mtp)
