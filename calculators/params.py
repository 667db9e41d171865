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
    kv = spec.num_kv_heads
    if spec.mla is None and kv % tp and tp % kv:
        raise CalcError("tp", f"{tp} and the {kv} KV heads must divide one another")


def kv_heads_per_gpu(spec: ModelSpec, tp: int) -> int:
    """KV heads one GPU holds: num_kv_heads / tp, at least one (replicated when tp > kv heads)."""
    return max(1, spec.num_kv_heads // tp)


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
    out += _decoder_layers(spec, t, [i for i in range(layer_count)], mtp=False)
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
        out += _decoder_layers(spec, t, [spec.num_layers - 1] * n, mtp=True)
    return tuple(g for g in out if g.count and g.rows and g.cols)


def _decoder_layers(spec: ModelSpec, t: int, layer_ids: list[int], mtp: bool) -> list[TensorGroup]:
    h, n = spec.hidden_size, len(layer_ids)
    g: list[TensorGroup] = []
    moe = spec.moe
    moe_ids = tuple(i for i in layer_ids if moe is not None and moe.moe_layers[i])
    dense_ids = tuple(i for i in layer_ids if i not in moe_ids)
    ffn = "feed_forward" if spec.model_type in ("llama4_text",) else "mlp"
    shared = {"qwen2_moe": "shared_expert", "qwen3_moe": "shared_expert", "llama4_text": "shared_expert"}.get(
        spec.model_type, "shared_experts"
    )

    def modules_of(name: str) -> tuple[str, ...]:
        """"q_proj" → model.layers.{i}.self_attn.q_proj; "experts.gate_proj+up_proj" → two expert paths."""
        head, _, tail = name.rpartition(".")
        parts = tail.split("+")
        where = {
            "": "self_attn", "mlp": ffn, "experts": f"{ffn}.experts.0", "shared_experts": f"{ffn}.{shared}",
        }.get(head.split(".")[0] if head else "", head)
        return tuple(f"model.layers.{{i}}.{where}.{p}" for p in parts)

    def add(name: str, rows: int, cols: int, count: int, kind: str, **kw: bool) -> None:  # noqa: PLR0913
        ids = moe_ids if name.startswith(("experts.", "shared_experts.", "router", "shared_expert_gate")) else (
            dense_ids if name.startswith("mlp.") else tuple(layer_ids)
        )
        mods = modules_of(name) if kind == "linear" else ()
        g.append(TensorGroup(name, rows, cols, count, kind, mtp=mtp, modules=mods, layers=ids, **kw))

    heads = spec.num_attention_heads // t
    if spec.mla is not None:
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
    else:
        hd = spec.head_dim
        kvh = spec.num_kv_heads if t == 1 else max(1, spec.num_kv_heads // t)
        add("q_proj", heads * hd, h, n, "linear")
        add("k_proj+v_proj", kvh * hd, h, 2 * n, "linear")
        add("o_proj", h, heads * hd, n, "linear")
        if spec.qkv_bias:
            add("q_proj.bias", heads * hd, 1, n, "bias")
            add("k_proj.bias+v_proj.bias", kvh * hd, 1, 2 * n, "bias")
        if spec.o_bias:
            add("o_proj.bias", h, 1, n, "bias")
        if spec.qk_norm and spec.qk_norm_full:
            # OLMo 2 / MiniMax-M2: RMSNorm over the whole q and k projections (sharded under TP)
            add("q_norm", heads * hd, 1, n, "norm")
            add("k_norm", kvh * hd, 1, n, "norm")
        elif spec.qk_norm:
            # per-head norms (Qwen3, Gemma 3, GLM); phi's qk_layernorm is a LayerNorm with a bias
            add("q_norm+k_norm", hd, 1, (4 if spec.norm_bias else 2) * n, "norm")
        if spec.attention_sinks:
            add("sinks", heads, 1, n, "sink")
    add("layernorms", h, 1, spec.norms_per_layer * n * (2 if spec.norm_bias else 1), "norm")

    moe_n = len(moe_ids)
    dense_n = n - moe_n
    inter = spec.intermediate_size // t if spec.intermediate_size % t == 0 else _ceil_div(spec.intermediate_size, t)
    if dense_n and spec.mlp_gated:
        add("mlp.gate_proj+up_proj", inter, h, 2 * dense_n, "linear")
        add("mlp.down_proj", h, inter, dense_n, "linear")
    elif dense_n:  # fc1 → activation → fc2 (phi, GPT-NeoX, OPT, StarCoder2)
        add("mlp.fc1", inter, h, dense_n, "linear")
        add("mlp.fc2", h, inter, dense_n, "linear")
    if dense_n and spec.mlp_bias:
        add("mlp.biases", inter, 1, (2 if spec.mlp_gated else 1) * dense_n, "bias")
        add("mlp.down.bias", h, 1, dense_n, "bias")
    if moe is not None and moe_n:
        e = moe.num_experts
        ie = _ceil_div(moe.expert_intermediate_size, t)
        add("router", e, h, moe_n, "router")
        if moe.router_bias:
            # DeepSeek-V3's e_score_correction_bias is float32 (vLLM deepseek_v2.py); gpt-oss's router bias bf16
            add("router.bias", e, 1, moe_n, "bias", fp32=moe.router_bias_fp32)
        add("experts.gate_proj+up_proj", ie, h, 2 * e * moe_n, "linear", routed=True, expert=True)
        add("experts.down_proj", h, ie, e * moe_n, "linear", routed=True, expert=True)
        if moe.expert_bias:
            add("experts.gate_up.bias", 2 * ie, 1, e * moe_n, "bias", routed=True, expert=True)
            add("experts.down.bias", h, 1, e * moe_n, "bias", routed=True, expert=True)
        if moe.shared_intermediate_size:
            si = _ceil_div(moe.shared_intermediate_size, t)
            add("shared_experts.gate_proj+up_proj", si, h, 2 * moe_n, "linear", expert=True)
            add("shared_experts.down_proj", h, si, moe_n, "linear", expert=True)
        if moe.shared_expert_gate:
            add("shared_expert_gate", 1, h, moe_n, "router")
    return g


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
