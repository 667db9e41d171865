"""GPU memory of a model's weights and of its KV cache.

Weights: every tensor of :func:`calculators.params.tensor_groups` times its storage size, with the
scales and zero points of quantized formats counted (formats in :data:`WEIGHT_FORMATS`).
KV cache: what one token adds to the cache of every attention layer, per GPU under tensor
parallelism, and what a sequence of N tokens holds when sliding-window layers keep at most their
window.
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass

from calculators import dtypes
from calculators.errors import CalcError
from calculators.models import ModelSpec, QuantSpec
from calculators.params import TensorGroup, check_tp, kv_heads_per_gpu, tensor_groups

GIB = 1 << 30

#: user-selectable weight formats and how vLLM stores them
WEIGHT_FORMATS = {
    "auto": "the checkpoint's own format (quantization_config when present, else torch_dtype)",
    "float32": "4 bytes per weight",
    "bfloat16": "2 bytes per weight",
    "float16": "2 bytes per weight",
    "fp8": "1 byte per weight + one fp32 scale per tensor (vLLM's online --quantization fp8)",
    "int8": "1 byte per weight + one fp32 scale per output channel (W8A8/W8A16)",
    "int4": "AWQ-style: 4 bits per weight + an fp16 scale and a 4-bit zero point per group of 128",
    "mxfp4": "OCP MX FP4: 4 bits per weight + one 8-bit E8M0 scale per 32 weights, on MoE experts only",
    "bitsandbytes": "4-bit NF4 quantised at load time (--quantization bitsandbytes): ½ byte + an fp32 absmax per 64",
}


@dataclass(frozen=True)
class WeightsMemory:
    """Bytes of weights: ``bytes_total`` as stored, ``bytes_per_gpu`` on the busiest GPU."""

    bytes_total: int
    bytes_per_gpu: int
    format: str  # what was assumed, for display
    quantized_bytes_per_gpu: int  # of which in quantized linear layers (incl. scales)


def quant_for(spec: ModelSpec, weights_dtype: str) -> tuple[QuantSpec | None, str]:
    """The quantization in force: the checkpoint's (``auto``) or the user's choice."""
    wd = weights_dtype.strip().lower() if isinstance(weights_dtype, str) else weights_dtype
    if wd not in WEIGHT_FORMATS:
        wd = dtypes.normalize(weights_dtype, "weights-dtype")
        if wd not in WEIGHT_FORMATS:
            raise CalcError(
                "weights-dtype", f"unsupported weights dtype {weights_dtype!r}; use one of {', '.join(WEIGHT_FORMATS)}"
            )
    if wd == "auto":
        if spec.quant is None:
            return None, spec.dtype
        q = spec.quant
        label = {
            "fp8": "fp8"
            + (f" ({q.group_size}×{q.group_size} block scales)" if q.block_scaled else f" (per-{q.scale_per} scales)"),
            "awq": f"int{q.bits} AWQ (group {q.group_size})",
            "gptq": f"int{q.bits} GPTQ (group {q.group_size})",
            "wna16": f"int{q.bits} weights (group {q.group_size}{', asymmetric' if q.zero_point else ''})",
            "int8": f"int8 W8A8 (per-{q.scale_per} scales)",
            "nvfp4": "NVFP4 (fp8 scale per 16)",
            "mxfp4": "MXFP4 experts",
            "bnb4": "bitsandbytes 4-bit (absmax per 64)",
            "bnb8": "bitsandbytes 8-bit",
        }.get(q.method, q.method)
        if q.source and not q.source.startswith(q.method):
            label += f" [{q.source}]"
        if q.ignore:
            label += ", ignore list applied"
        return q, label
    if wd in ("float32", "bfloat16", "float16"):
        return None, wd
    if wd == "mxfp4" and spec.moe is None:
        raise CalcError(
            "weights-dtype", "mxfp4 applies to MoE expert weights only (as gpt-oss ships them); this model is dense"
        )
    q = {
        "fp8": QuantSpec("fp8", 8, 0, scale_per="tensor"),
        "int8": QuantSpec("int8", 8, 0),
        "int4": QuantSpec("awq", 4, 128, zero_point=True),
        "mxfp4": QuantSpec("mxfp4", 4, 32),
        "bitsandbytes": QuantSpec("bnb4", 4, 64),
    }[wd]
    return q, wd


_NESTED_QUANTIFIER = re.compile(r"\([^)]*[+*}][^)]*\)[+*{]")


def ignored(q: QuantSpec, module: str) -> bool:
    """Whether ``module`` (a Hugging Face module path) is left unquantized by ``q``'s ignore list,
    matched as vLLM matches it (see :class:`~calculators.models.QuantSpec`)."""
    for kind, pattern in q.ignore:
        if kind == "exact" and module == pattern:
            return True
        if kind == "sub" and pattern in module:
            return True
        if kind == "glob" and fnmatch.fnmatchcase(module, pattern):
            return True
        if kind == "part":
            comps = module.split(".")
            if pattern in comps or any(".".join(comps[:k]) == pattern for k in range(1, len(comps) + 1)):
                return True
        if kind == "re":
            if _NESTED_QUANTIFIER.search(pattern):
                raise CalcError(
                    "quantization_config.ignore", f"pattern {pattern[:60]!r} nests quantifiers; not evaluated"
                )
            if re.match(pattern, module):
                return True
    return False


def _quantized_layers(g: TensorGroup, q: QuantSpec | None) -> int:
    """How many of ``g.layers`` hold ``g`` quantized (all of them, none, or as the ignore list says)."""
    layers = g.layers or (0,)
    if q is None or g.kind != "linear":
        return 0
    if q.method == "mxfp4" and not (g.expert and g.routed):
        return 0  # gpt-oss: MXFP4 on the routed experts only
    if not q.ignore or not g.modules:
        return len(layers)
    count = 0
    for i in dict.fromkeys(layers):
        states = {ignored(q, m.replace("{i}", str(i))) for m in g.modules}
        if len(states) > 1:
            raise CalcError(
                "quantization_config.ignore",
                f"ignores only part of the fused {g.name} of layer {i}; vLLM requires one scheme per fused layer",
            )
        if not states.pop():
            count += layers.count(i)
    return count


def _quantized_bytes(rows: int, cols: int, q: QuantSpec, expert: bool) -> int:
    """Bytes of one [rows = out, cols = in] weight in format ``q`` with its scales (per TP shard)."""
    if q.method == "fp8" and q.block_scaled:
        b = q.group_size  # fp32 weight_scale_inv per b×b block (DeepSeek-V3: 128)
        return rows * cols + (-(-rows // b)) * (-(-cols // b)) * 4
    if q.method in ("fp8", "int8"):
        return rows * cols + (4 if q.scale_per == "tensor" else rows * 4)
    if q.method in ("awq", "gptq", "wna16"):
        gs = cols if q.group_size == -1 else q.group_size
        groups = -(-cols // gs)
        weight = rows * cols * q.bits // 8
        scales = groups * rows * 2  # scales in the activation dtype (fp16/bf16)
        zeros = groups * rows * q.bits // 8 if q.zero_point else 0
        g_idx = cols * 4 if q.act_order else 0  # int32 g_idx per input column
        return weight + scales + zeros + g_idx
    if q.method == "mxfp4":
        return rows * cols // 2 + -(-rows * cols // 32)  # 4-bit E2M1 + one E8M0 byte per 32
    if q.method == "nvfp4":
        # uint8 pairs + an fp8 E4M3 scale per 16; linear layers' scales are swizzled to
        # [round_up(rows, 128), round_up(cols / 16, 4)]; two fp32 global scales
        groups = -(-cols // 16)
        if expert:
            return rows * cols // 2 + rows * groups
        return rows * cols // 2 + (-(-rows // 128) * 128) * (-(-groups // 4) * 4) + 8
    if q.method == "bnb4":
        return rows * cols // 2 + -(-rows * cols // 64) * 4  # fp32 absmax per 64 (double quant undone at load)
    if q.method == "bnb8":
        return rows * cols + rows * 4
    raise CalcError("weights-dtype", f"unmodelled quantization {q.method}")  # pragma: no cover


def group_bytes(g: TensorGroup, q: QuantSpec | None, base_bytes: int) -> tuple[int, bool]:
    """Bytes of a tensor group in the format in force; second value: quantized (in part) or not.

    Quantized linear layers add their scales: fp8 block-scaled ⌈rows/b⌉·⌈cols/b⌉ fp32; fp8/int8
    one fp32 per tensor or per output row; AWQ/GPTQ/compressed-tensors int ``bits``/8 per weight
    + per group an fp16 scale (+ a zero point when asymmetric, + an int32 g_idx per input with
    act-order); MXFP4 ½ + 1/32 byte; NVFP4 ½ + 1/16 byte (padded scales on linear layers);
    bitsandbytes 4-bit ½ byte + an fp32 absmax per 64.
    """
    unq = g.elements * (4 if g.fp32 else base_bytes)
    quantized = _quantized_layers(g, q)
    if not quantized:
        return unq, False
    assert q is not None
    layers = len(g.layers) or 1
    per = _quantized_bytes(g.rows, g.cols, q, g.expert and g.routed)
    per_layer_count = g.count // layers if g.count % layers == 0 else g.count
    q_count = per_layer_count * quantized if g.count % layers == 0 else g.count
    return per * q_count + (g.count - q_count) * g.rows * g.cols * base_bytes, True


def weights_memory(spec: ModelSpec, weights_dtype: str = "auto", tp: int = 1, pp: int = 1) -> WeightsMemory:
    """Weight bytes in total and per GPU.

    bytes = Σ over tensors of elements × bytes per element, where quantized linear layers add their
    scales: fp8 block-scaled ⌈rows/128⌉·⌈cols/128⌉ fp32 scales; fp8/int8 per-channel one fp32 per
    output row; AWQ/GPTQ int4 ½ byte per weight + per group of ``group_size`` inputs an fp16 scale
    and a 4-bit zero (GPTQ also an int32 ``g_idx`` per input); MXFP4 ½ byte + 1 byte per 32 weights.
    Per GPU: vLLM's tensor-parallel shards (:func:`calculators.params.tensor_groups`) on the pipeline
    stage with the most layers (⌈layers / pp⌉) plus the embedding and head.
    """
    check_tp(spec, tp)
    if isinstance(pp, bool) or not isinstance(pp, int) or not 1 <= pp <= spec.num_layers:
        raise CalcError("pp", f"must be an integer from 1 to the {spec.num_layers} layers, got {pp!r}")
    q, label = quant_for(spec, weights_dtype)
    base = int(dtypes.BYTES_PER_ELEMENT[spec.dtype if q is not None else label])
    total = sum(group_bytes(g, q, base)[0] for g in tensor_groups(spec, include_mtp=False))
    layer_share = -(-spec.num_layers // pp) / spec.num_layers
    per_gpu = 0.0
    quantized = 0.0
    for g in tensor_groups(spec, tp=tp, include_mtp=False):
        b, isq = group_bytes(g, q, base)
        if g.kind in ("embedding", "lm_head") or g.name == "norm":
            share = 1.0  # on the first/last stage; with pp = 1 both on the same GPU
        else:
            share = layer_share
        per_gpu += b * share
        if isq:
            quantized += b * share
    return WeightsMemory(
        bytes_total=total, bytes_per_gpu=round(per_gpu), format=label, quantized_bytes_per_gpu=round(quantized)
    )


# ---------------------------------------------------------------- KV cache


def kv_bytes_per_token_per_layer(spec: ModelSpec, kv_dtype: str = "auto", tp: int = 1, layer: int | None = None) -> int:
    """Bytes one token adds to one attention layer's cache on one GPU (of ``layer`` when given:
    Gemma 4's full-attention layers have their own KV heads and head_dim; default: the others).

    Full/sliding attention: 2 (K and V) × max(1, kv_heads // tp) × head_dim × dtype bytes
    (vLLM ``ModelConfig.get_num_kv_heads`` replicates KV heads when tp > kv_heads).
    MLA: (kv_lora_rank + qk_rope_head_dim) × dtype bytes, one latent per token, not split by TP
    (DeepSeek-V2 paper §2.1.2; vLLM ``MLAAttentionSpec.page_size_bytes``).  DeepSeek sparse
    attention adds the indexer's key: index_head_dim fp8 bytes + one fp32 scale (128 + 4 = 132 B,
    vLLM ``Indexer``: "we store value in fp8 and scale in fp32"), and an fp8 KV cache is vLLM's
    ``fp8_ds_mla`` layout: 512 fp8 latent + 4 fp32 scales + 64 bf16 rope = 656 B.
    """
    check_tp(spec, tp)
    elem = dtypes.kv_bytes_per_element(kv_dtype, spec.dtype)
    if spec.mla is not None:
        latent = (spec.mla.kv_lora_rank + spec.mla.qk_rope_head_dim) * elem
        if spec.indexer is not None:
            if elem == 1:  # fp8_ds_mla: fp8 latent, an fp32 scale per 128, rope kept in bf16
                latent = spec.mla.kv_lora_rank + 4 * -(-spec.mla.kv_lora_rank // 128) + 2 * spec.mla.qk_rope_head_dim
            return latent + spec.indexer.head_dim + 4
        return latent
    head_dim = spec.head_dim if layer is None else spec.head_dim_of(layer)
    return 2 * kv_heads_per_gpu(spec, tp, layer) * head_dim * elem


def kv_bytes_by_layer(spec: ModelSpec, kv_dtype: str = "auto", tp: int = 1) -> dict[int, int]:
    """Attention layer index → :func:`kv_bytes_per_token_per_layer` of that layer."""
    return {i: kv_bytes_per_token_per_layer(spec, kv_dtype, tp, i) for i in spec.attention_layers}


def kv_bytes_per_token(spec: ModelSpec, kv_dtype: str = "auto", tp: int = 1) -> int:
    """Bytes of KV cache per token on one GPU, every attention layer counted for every token.

    = attention layers × :func:`kv_bytes_per_token_per_layer` (state-space and linear-attention
    layers keep a fixed state instead: :func:`ssm_state_bytes_per_sequence`).  Sliding-window and
    chunked layers stop growing: see :func:`kv_bytes_per_sequence` for a sequence of given length.
    """
    return sum(kv_bytes_by_layer(spec, kv_dtype, tp).values())


def ssm_state_bytes_per_layer(spec: ModelSpec, tp: int = 1) -> int:
    """Bytes of one Mamba2 / Gated DeltaNet layer's state for one sequence on one GPU (vLLM
    ``MambaSpec.page_size_bytes`` before padding): conv state (kernel − 1) × conv_dim / tp in the
    model dtype + recurrent state heads / tp × head_dim × state_size in the SSM cache dtype
    (vllm mamba_utils.py ``mamba2_state_shape`` / ``gated_delta_net_state_shape``; Mamba2's
    groups are raised to a multiple of tp)."""
    s = spec.ssm
    if s is None:
        return 0
    groups = s.n_groups if s.n_groups % tp == 0 else s.n_groups + tp - s.n_groups % tp
    conv_dim = (s.inner + 2 * groups * s.state_size) // tp if s.kind == "mamba2" else s.conv_dim // tp
    conv = (s.conv_kernel - 1) * conv_dim * int(dtypes.BYTES_PER_ELEMENT[spec.dtype])
    ssm_dtype = s.ssm_dtype or spec.dtype
    state = (s.num_heads // tp) * s.head_dim * s.state_size * int(dtypes.BYTES_PER_ELEMENT[ssm_dtype])
    return conv + state


def ssm_state_bytes_per_sequence(spec: ModelSpec, tp: int = 1) -> int:
    """Fixed state one sequence holds in every state-space / linear-attention layer on one GPU."""
    return len(spec.ssm_layers) * ssm_state_bytes_per_layer(spec, tp)


def kv_bytes_per_sequence(spec: ModelSpec, tokens: int, kv_dtype: str = "auto", tp: int = 1) -> int:
    """Bytes of KV cache (and recurrent state) one sequence of ``tokens`` holds on one GPU.

    Σ over attention layers of the tokens the layer keeps × bytes per token per layer: all of them
    (full attention), min(tokens, window) (sliding window) or the current chunk's (tokens − 1) mod
    chunk + 1 (Llama 4's chunked attention); + the fixed state of state-space layers.
    """
    if isinstance(tokens, bool) or not isinstance(tokens, int) or tokens < 0 or tokens > 1 << 40:
        raise CalcError("tokens", f"must be a whole number of tokens from 0 to 2^40, got {tokens!r}")
    held = 0
    for i, per_layer in kv_bytes_by_layer(spec, kv_dtype, tp).items():
        chunk = spec.layer_chunks[i] if spec.layer_chunks else None
        window = spec.layer_windows[i]
        if chunk is not None:  # chunked attention: only the current chunk's keys are read
            held += ((tokens - 1) % chunk + 1 if tokens else 0) * per_layer
        else:
            held += (min(tokens, window) if window is not None else tokens) * per_layer
    return held + (ssm_state_bytes_per_sequence(spec, tp) if tokens else 0)
