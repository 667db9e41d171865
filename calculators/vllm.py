"""vLLM's memory accounting: budget → available KV memory → blocks → tokens → concurrency.

Follows the v1 engine of vLLM v0.33.0 (the newest release on 2026-11-30; ``vllm_version`` picks
older behaviour where a default or a formula changed); notes with the source lines quoted are in
``notes/vllm-accounting.md``.  The parts:

* budget (``Worker.determine_available_memory``): total GPU memory as the driver reports it
  (``torch.cuda.mem_get_info``) × ``gpu_memory_utilization`` − weights − peak activation of the
  profile run (one forward over ``max_num_batched_tokens`` tokens, then the sampler over
  ``max_num_seqs`` rows) − non-torch memory − the CUDA-graph estimate (profiled since v0.21).
  Only the weights are exact; the other three are models, and a measured "Available KV cache
  memory" replaces the whole estimate.
* blocks (``vllm/v1/core/kv_cache_utils.py``): page = block_size × bytes per token per layer;
  layers are grouped into KV-cache groups (one group; or, for models mixing sliding-window and
  full attention, groups of ``group_size`` layers); num_blocks = ⌊available ÷ (page × group_size)⌋.
* hybrid models: a Mamba2 / Gated DeltaNet layer keeps a fixed state per request; vLLM raises the
  attention block size until one attention page holds a state page and pads the state page to it
  (``Platform._align_hybrid_block_size``), then groups layers as above.
* report: max concurrency = num_blocks ÷ Σ_groups blocks one max-length request needs;
  "GPU KV cache size" = ⌊max_concurrency × max_model_len⌋ tokens (v0.24 and later; releases
  v0.9–v0.23 printed num_blocks // groups × block_size, see :func:`kv_cache_tokens`).
"""

from __future__ import annotations

import math
import shlex
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from calculators import memory
from calculators.errors import CalcError
from calculators.hardware import GPU
from calculators.models import ModelSpec
from calculators.params import check_tp

GIB = 1 << 30
#: the release followed; older ones are chosen with ``vllm_version``
DEFAULT_VLLM_VERSION = "0.33.0"
#: releases whose differences are modelled (defaults and formulas that changed between them)
SUPPORTED_VERSIONS = ("0.33.0", "0.28.0", "0.25.0", "0.24.0", "0.21.0", "0.16.0", "0.14.0", "0.9.0", "0.8.0")
DEFAULT_BLOCK_SIZE = 16  # CacheConfig.block_size on CUDA
#: block sizes the MLA backends force: FlashMLA (Hopper default) 64, CUTLASS MLA (Blackwell) 128
MLA_BLOCK_SIZE_HOPPER = 64
MLA_BLOCK_SIZE_BLACKWELL = 128
#: non-torch memory counted against the budget (cuBLAS workspaces, CUDA context growth after the
#: start-up snapshot).  NCCL is initialised before that snapshot (Worker.init_device), so tensor
#: parallelism adds little.  0.26 GiB in the one log that prints it ("non_torch_memory takes
#: 0.26GiB", phi-4 on an 80 GB GPU, tests/data/vllm_logs.toml).
NON_TORCH_BYTES = int(0.25 * GIB)
#: fp32 logits + probs + logprobs + sorted values (4 B each) + sort indices (int64)
SAMPLER_BYTES_PER_LOGIT = 4 + 4 + 4 + 4 + 8
#: CUDA-graph memory, profiled before KV sizing by default since v0.21 (PR #30515,
#: VLLM_MEMORY_PROFILER_ESTIMATE_CUDAGRAPHS): 0.3–2 GiB for dense models on an H100 in the issues
#: cited in notes/vllm-accounting.md (#45178, #53013); we take 0.5 GiB.
CUDA_GRAPH_BYTES_DEFAULT = int(0.5 * GIB)


@dataclass(frozen=True)
class KVGroup:
    """A KV-cache group: ``layers`` layers sharing one block table.

    ``kind`` "attention" (``window`` None = full attention, else a sliding window), "chunked"
    (``window`` = the chunk of Llama 4's chunked local attention) or "mamba" (a fixed state).
    """

    window: int | None
    layers: int
    kind: str = "attention"
    block_size: int = 0  # tokens per block when it differs from the engine's (page-size unification)


def default_gpu_memory_utilization(version: tuple[int, int]) -> float:
    """``CacheConfig.gpu_memory_utilization``: 0.92 (vllm/config/cache.py ``Field(default=0.92,
    gt=0, le=1)``, seen in v0.25 and every later release read), 0.9 before."""
    return 0.92 if version >= (0, 25) else 0.9


def mamba_cache_mode(spec: ModelSpec, version: tuple[int, int], requested: str = "auto") -> str:
    """How vLLM caches Mamba / linear-attention state: "none" (one state per request), "align"
    (two) or "all" (one per block: prefix caching of states).

    Prefix caching is on by default for hybrid models since v0.28 (PR #50991), which makes
    ``MambaModelConfig.verify_and_update_config`` pick "all" for models that support Mamba prefix
    caching (Nemotron-H's Mamba2) and "align" for the others (Gated DeltaNet); before, "none".
    """
    if requested != "auto":
        if requested not in ("none", "align", "all"):
            raise CalcError("mamba-cache-mode", f"must be auto, none, align or all, got {requested[:20]!r}")
        if requested == "all" and (spec.ssm is None or spec.ssm.kind != "mamba2"):
            return "align"  # vLLM falls back to align for models without Mamba prefix caching
        return requested
    if version < (0, 28):
        return "none"
    return "all" if spec.ssm is not None and spec.ssm.kind == "mamba2" else "align"


@dataclass(frozen=True)
class VLLMFit:
    """What vLLM would report at start-up for one configuration (bytes per GPU)."""

    gpu_memory_bytes: int
    requested_bytes: int
    weights_bytes_per_gpu: int
    activation_peak_bytes: int
    non_torch_bytes: int
    cuda_graph_bytes: int
    available_kv_cache_bytes: int
    available_measured: bool
    bytes_per_token_per_gpu: int
    block_size: int
    page_size_bytes: int
    kv_groups: tuple[KVGroup, ...]
    group_size: int
    num_gpu_blocks: int
    kv_cache_tokens: int
    max_model_len: int
    max_concurrency: float
    kv_cache_needed_bytes: int
    estimated_max_model_len: int
    fits: bool
    advice: tuple[str, ...]
    serve_command: str
    max_num_batched_tokens: int
    max_num_seqs: int
    mamba_cache_mode: str = ""  # hybrid models: "none", "align" or "all"
    vllm_version: str = DEFAULT_VLLM_VERSION
    gpu_memory_utilization: float = 0.92
    warnings: tuple[str, ...] = ()  # what the command cannot do as sized (and the fix)
    refusals: tuple[str, ...] = ()  # reasons vLLM would refuse to start with these settings

    @property
    def verdict(self) -> str:
        """One line a reader can act on: fits, does not fit (short by how much), or vLLM refuses."""
        if self.refusals:
            return "vLLM refuses to start: " + self.refusals[0]
        if self.fits:
            return (
                f"Fits: {self.max_concurrency:,.2f} requests of {self.max_model_len:,} tokens at once "
                f"({self.kv_cache_tokens:,} tokens of KV cache per GPU)"
            )
        short = self.kv_cache_needed_bytes - max(self.available_kv_cache_bytes, 0)
        return f"Does not fit: short by {short / GIB:,.2f} GiB of KV cache for one {self.max_model_len:,}-token request"


def default_scheduler_limits(gpu: GPU) -> tuple[int, int]:
    """(max_num_batched_tokens, max_num_seqs) that ``vllm serve`` picks for this GPU.

    vllm/engine/arg_utils.py ``get_batch_defaults``: ≥ 70 GiB and not an A100 → 8192 and 1024
    (≥ 160 GiB: 16384 and 1024, since v0.28); otherwise 2048 and 256.
    """
    gib = gpu.memory_bytes_usable / GIB
    if gib >= 160:
        return 16384, 1024
    if gib >= 70 and "a100" not in gpu.name.lower():
        return 8192, 1024
    return 2048, 256


def default_block_size(spec: ModelSpec, gpu: GPU) -> int:
    """16 for ordinary attention; MLA backends: 128 on Blackwell (CUTLASS MLA), 64 elsewhere (FlashMLA)."""
    if spec.mla is None:
        return DEFAULT_BLOCK_SIZE
    if spec.indexer is not None:  # "Setting kv cache block size to 64 for DEEPSEEK_V32_INDEXER backend"
        return MLA_BLOCK_SIZE_HOPPER
    return MLA_BLOCK_SIZE_BLACKWELL if gpu.id in ("b200", "gb200") else MLA_BLOCK_SIZE_HOPPER


def kv_groups(spec: ModelSpec, pp: int = 1, hybrid: bool = True) -> tuple[tuple[KVGroup, ...], int]:
    """KV-cache groups of the busiest pipeline stage and the group size (layers per pool tensor).

    vLLM ``get_kv_cache_groups``: one group when every layer has the same spec (or the hybrid
    manager is off, which makes sliding and chunked layers full); otherwise each layer type is
    cut into groups of ``group_size`` = the smallest type's layer count (the largest when max <
    1.5 × min).  Layer types: full attention, each sliding window, each chunk size, Mamba state.
    """
    counts: dict[tuple[str, int | None], int] = {}
    for i in range(-(-spec.num_layers // pp)):
        mixer = spec.mixer(i)
        if mixer == "parallel":  # Falcon-H1: an attention layer and a Mamba layer (vLLM registers both)
            counts[("mamba", None)] = counts.get(("mamba", None), 0) + 1
            mixer = "attention"
        if mixer in ("mamba2", "gdn", "mamba1"):
            key: tuple[str, int | None] = ("mamba", None)
        elif mixer != "attention":
            continue
        elif not hybrid:
            key = ("attention", None)
        elif spec.layer_chunks and spec.layer_chunks[i] is not None:
            key = ("chunked", spec.layer_chunks[i])
        else:
            key = ("attention", spec.layer_windows[i])
        counts[key] = counts.get(key, 0) + 1
    if not counts:
        raise CalcError("pp", "the first pipeline stage holds no attention or state layer")
    if len(counts) == 1:
        (((kind, w), n),) = counts.items()
        return (KVGroup(w, n, kind),), n
    lo, hi = min(counts.values()), max(counts.values())
    size = hi if hi < 1.5 * lo else lo
    order = {"attention": 0, "chunked": 1, "mamba": 2}
    groups: list[KVGroup] = []
    for (kind, w), n in sorted(counts.items(), key=lambda kv: (order[kv[0][0]], kv[0][1] is not None, kv[0][1] or 0)):
        groups += [KVGroup(w, size, kind)] * (-(-n // size))
    return tuple(groups), size


#: one KV-cache group's share of a request's blocks: (how many such groups, the most tokens it holds
#: (None: all of them), its block size, blocks it holds beyond them)
_BlockTerm = tuple[int, int | None, int, int]


def _block_terms(groups: tuple[KVGroup, ...], block_size: int, mnbt: int,
                 mamba_mode: str) -> tuple[int, tuple[_BlockTerm, ...]]:
    """(blocks every request holds whatever its length, the terms that grow with it), identical groups
    counted once: the rules of :func:`blocks_per_request`."""
    const = 0
    terms: list[_BlockTerm] = []
    for group, count in Counter(groups).items():
        size = group.block_size or block_size
        if group.kind == "mamba":
            if mamba_mode in ("none", "align"):
                const += count * (1 if mamba_mode == "none" else 2)
            else:
                terms.append((count, None, size, 0))
        elif group.kind == "chunked" and group.window is not None:
            terms.append((count, group.window + mnbt, size, 0))
        elif group.window is None:
            terms.append((count, None, size, 0))
        else:
            terms.append((count, group.window - 1 + mnbt, size, 1))
    return const, tuple(terms)


def blocks_function(
    groups: tuple[KVGroup, ...], block_size: int, mnbt: int, mamba_mode: str = "none"
) -> Callable[[int], int]:
    """Blocks one request of L tokens needs, summed over the KV-cache groups
    (``max_memory_usage_bytes`` ÷ page size per group), as a function of L.

    Full: ⌈L / block⌉.  Sliding window W: ⌈min(W − 1 + max_num_batched_tokens, L) / block⌉ + 1.
    Chunked (chunk C): ⌈min(C + max_num_batched_tokens, L) / block⌉ (``ChunkedLocalAttentionSpec``).
    Mamba state (``MambaSpec``): 1 ("none"), 2 ("align") or ⌈L / block⌉ ("all").
    Identical groups are counted once and multiplied, so a call is a few integer operations whatever
    the number of groups (Gemma's dozens of sliding-window groups): the scheduler simulation asks it
    for every running request it schedules."""
    const, terms = _block_terms(groups, block_size, mnbt, mamba_mode)

    def blocks(tokens: int) -> int:
        total = const
        for count, cap, size, extra in terms:
            held = tokens if cap is None or tokens < cap else cap
            total += count * (-(-held // size) + extra)
        return total

    return blocks


def blocks_per_request(
    groups: tuple[KVGroup, ...], max_model_len: int, block_size: int, mnbt: int, mamba_mode: str = "none"
) -> int:
    """Blocks one request of ``max_model_len`` tokens needs (:func:`blocks_function`)."""
    return blocks_function(groups, block_size, mnbt, mamba_mode)(max_model_len)


def blocks_grain(groups: tuple[KVGroup, ...], block_size: int, mnbt: int, mamba_mode: str = "none") -> int:
    """The greatest common divisor of the block sizes of the groups whose block count grows with the
    tokens (0 when none does): :func:`blocks_per_request` of c + 1 tokens exceeds that of c only when
    c is a multiple of it, so a scheduler can skip the count for every other decode step."""
    grain = 0
    for _, _, size, _ in _block_terms(groups, block_size, mnbt, mamba_mode)[1]:
        grain = math.gcd(grain, size)
    return grain


def unify_page_size(
    spec: ModelSpec, groups: tuple[KVGroup, ...], by_layer: dict[int, int], block_size: int
) -> tuple[tuple[KVGroup, ...], int]:
    """Groups whose layers hold fewer bytes per token get a larger block so every page is equal.

    vLLM ``unify_kv_cache_spec_page_size`` (vllm/v1/core/kv_cache_utils.py): page = block_size ×
    bytes per token; each smaller page's block size is multiplied by max page ÷ its page, which
    must divide (else vLLM raises NotImplementedError).  Returns the groups and the bytes per token
    of the largest layer (the page is block_size × that).  Only Gemma 4 has attention layers of
    two sizes among the models we read.
    """
    per_window: dict[int | None, int] = {}
    for i, b in by_layer.items():
        per_window.setdefault(spec.layer_windows[i], b)
    top = max(by_layer.values())
    out = []
    for g in groups:
        b = per_window.get(g.window, top) if g.kind == "attention" else top
        if top % b:
            raise CalcError(
                "model",
                f"{spec.model_type}: layers of {b} and {top} bytes per token give pages vLLM cannot unify "
                "(unify_kv_cache_spec_page_size raises NotImplementedError)",
            )
        out.append(KVGroup(g.window, g.layers, g.kind, block_size * (top // b) if b != top else 0))
    return tuple(out), top


def hybrid_block_size(spec: ModelSpec, attn_bytes_per_token: int, block_size: int, mode: str, tp: int) -> int:
    """The attention block size vLLM sets so that one attention page holds a Mamba state page.

    ``Platform._align_hybrid_block_size``: align = max(kernel block size, block_size); modes
    "none"/"align": block = align · ⌈state page ÷ (align · attention bytes per token)⌉; mode "all":
    chunk = lcm(mamba chunk size, align), block = chunk · ⌈⌈state page ÷ attention bytes per
    token⌉ ÷ chunk⌉.  The block size only grows; the state page is padded to the attention page.
    """
    state = memory.ssm_state_bytes_per_layer(spec, tp)
    if spec.ssm is None or state == 0:
        return block_size
    align = block_size
    if mode == "all":
        base = spec.ssm.chunk_size or align
        chunk = base * align // math.gcd(base, align)
        tokens_per_state = -(-state // attn_bytes_per_token)
        need = chunk * -(-tokens_per_state // chunk)
    else:
        need = align * -(-state // (align * attn_bytes_per_token))
    return max(block_size, need)


def max_concurrency(
    num_blocks: int,
    groups: tuple[KVGroup, ...],
    block_size: int,
    max_model_len: int,
    max_num_batched_tokens: int,
    version: tuple[int, int] = (0, 33),
    mamba_mode: str = "none",
) -> float:
    """The "Maximum concurrency for L tokens per request: X" figure.

    v0.9 and later: num_blocks ÷ Σ_groups blocks one max_model_len request needs.
    v0.7–v0.8 and the v0 engine: num_blocks × block_size ÷ max_model_len.
    """
    if version < (0, 9):
        return num_blocks * block_size / max_model_len
    return num_blocks / blocks_per_request(groups, max_model_len, block_size, max_num_batched_tokens, mamba_mode)


def kv_cache_tokens(
    num_blocks: int,
    groups: tuple[KVGroup, ...],
    block_size: int,
    max_model_len: int,
    max_concurrency: float,
    version: tuple[int, int] = (0, 33),
) -> int:
    """The "GPU KV cache size: N tokens" figure vLLM logs.

    After PRs #38364/#40694: ⌊max_concurrency × max_model_len⌋ — already so in v0.24.0 (a
    Qwen3.6 log in tests/data/vllm_logs.toml), so from v0.24 here.  v0.9–v0.23:
    num_blocks // number of groups × block_size.  v0.7–v0.8 and v0: num_blocks × block_size.
    """
    if version >= (0, 24):
        return int(max_concurrency * max_model_len)
    if version >= (0, 9):
        return num_blocks // len(groups) * block_size
    return num_blocks * block_size


def activation_peak_bytes(spec: ModelSpec, tp: int, max_num_batched_tokens: int, max_num_seqs: int) -> int:
    """Peak transient torch memory of vLLM's profile run (an estimate, bf16 activations).

    Forward over T = max_num_batched_tokens tokens: residual, hidden and attention buffers
    (≈ 4·T·hidden) plus the feed-forward intermediates, T·3·I/tp for a dense gated MLP or, for
    MoE, fused-MoE caches T·top_k·(3·I_expert/tp + hidden); plus the sampler's dummy run over
    min(max_num_seqs, T) rows of the full vocabulary: fp32 logits, probabilities and log-probs and
    the sort of top-k/top-p (values fp32, indices int64) ≈ 24 bytes per row × vocab entry.
    Forward and sampler peaks are added (conservative).  Checked against the one log that prints
    the profile breakdown (tests/data/vllm_logs.toml, phi-4: 0.94 GiB logged).
    """
    t = max_num_batched_tokens
    act = 2
    hidden = 4 * t * spec.hidden_size * act
    ffn = 3 * t * (-(-spec.intermediate_size // tp)) * act
    if spec.moe is not None:
        m = spec.moe
        ffn = max(ffn, t * m.experts_per_token * (3 * (-(-m.expert_intermediate_size // tp)) + spec.hidden_size) * act)
    rows = min(max_num_seqs, t)
    sampler = rows * spec.vocab_size * SAMPLER_BYTES_PER_LOGIT
    return hidden + ffn + sampler


def rotary_cache_bytes(spec: ModelSpec) -> int:
    """vLLM's ``RotaryEmbedding.cos_sin_cache`` buffer, made at load time and counted in
    "Model loading took": max_position_embeddings × rotary dim × 2 bytes (model dtype), one per
    distinct rotary embedding (Gemma 3 has a local and a global one)."""
    rotary_dim = spec.mla.qk_rope_head_dim if spec.mla is not None else spec.head_dim
    ropes = 2 if spec.model_type in ("gemma3", "gemma3_text") else 1
    return ropes * spec.max_position_embeddings * rotary_dim * 2


def parse_version(text: str) -> tuple[int, int]:
    if not isinstance(text, str) or len(text) > 40:
        raise CalcError("vllm-version", "expected a version like 0.33.0")
    parts = text.strip().lstrip("v").split(".")
    try:
        return int(parts[0]), int(parts[1])
    except (ValueError, IndexError):
        raise CalcError("vllm-version", f"expected a version like 0.29.0, got {text[:20]!r}") from None


def _positive_int(name: str, value: object, top: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= top:
        raise CalcError(name, f"must be a whole number from 1 to {top:,}, got {value!r}")
    return value


def weights_flags(spec: ModelSpec, weights_dtype: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The ``vllm serve`` flags that load the weights in the format the sizing assumed, and
    warnings where vLLM cannot do that from this checkpoint.

    A quantised checkpoint is detected by vLLM from its quantization_config (no flag).  On an
    unquantised checkpoint: 16/32-bit formats are ``--dtype``; fp8 is vLLM's online
    ``--quantization fp8``; bitsandbytes quantises to 4-bit NF4 at load time; int4, int8 and MXFP4
    need a checkpoint quantised offline (AWQ/GPTQ/compressed-tensors, or gpt-oss's MXFP4).
    """
    wd = weights_dtype.strip().lower() if isinstance(weights_dtype, str) else "auto"
    q = spec.quant
    if wd == "auto":
        return (), ()
    if q is not None:
        same = (wd == "fp8" and q.method == "fp8") or (wd == "mxfp4" and q.method == "mxfp4") or (
            wd == "bitsandbytes" and q.method == "bnb4") or (wd == "int4" and q.bits == 4 and q.method != "mxfp4")
        if same:
            return (), ()
        return (), (
            f"this checkpoint is already quantised ({q.source or q.method}); vLLM loads it as it is, so a "
            f"{wd} sizing needs another checkpoint: choose weights 'auto' to size what vLLM will load",
        )
    if wd in ("bfloat16", "float16", "float32"):
        return (("--dtype", wd) if wd != spec.dtype else ()), ()
    if wd == "fp8":
        return ("--quantization", "fp8"), ()
    if wd == "bitsandbytes":
        return ("--quantization", "bitsandbytes"), ()
    if wd == "int4":
        return (), (
            "int4 needs a pre-quantised AWQ, GPTQ or compressed-tensors checkpoint (serve that repository "
            "instead), or choose 'bitsandbytes' to quantise at load time (sized as bitsandbytes)",
        )
    if wd == "int8":
        return (), ("int8 weights need a pre-quantised W8A8 / W8A16 checkpoint (compressed-tensors or GPTQ 8-bit)",)
    return (), (f"{wd} weights need a checkpoint quantised to {wd} (gpt-oss ships MXFP4 experts)",)


#: kernel block sizes the CUDA attention backends accept: multiples of 16 (FlashAttention,
#: FlashInfer: ``MultipleOf(16)`` in get_supported_kernel_block_sizes)
BLOCK_MULTIPLE = 16


def fit(
    spec: ModelSpec,
    gpu: GPU,
    tp: int = 1,
    pp: int = 1,
    gpu_memory_utilization: float | None = None,
    max_model_len: int | None = None,
    kv_cache_dtype: str = "auto",
    block_size: int | None = None,
    max_num_batched_tokens: int | None = None,
    max_num_seqs: int | None = None,
    available_kv_cache_gib: float | None = None,
    weights_dtype: str = "auto",
    enforce_eager: bool = False,
    hybrid_kv_cache: bool = True,
    vllm_version: str = DEFAULT_VLLM_VERSION,
    mamba_mode: str = "auto",
) -> VLLMFit:
    """Predict vLLM's start-up memory report for ``spec`` on ``tp × pp`` GPUs of type ``gpu``."""
    check_tp(spec, tp)
    version = parse_version(vllm_version)
    u = default_gpu_memory_utilization(version) if gpu_memory_utilization is None else gpu_memory_utilization
    if isinstance(u, bool) or not isinstance(u, (int, float)) or not math.isfinite(u) or not 0 < u <= 1:
        raise CalcError("gpu-memory-utilization", f"must be a fraction in (0, 1], got {u!r}")
    max_len = spec.max_len if max_model_len is None else _positive_int("max-model-len", max_model_len, 1 << 31)
    d_mnbt, d_seqs = default_scheduler_limits(gpu)
    mnbt = (
        d_mnbt
        if max_num_batched_tokens is None
        else _positive_int("max-num-batched-tokens", max_num_batched_tokens, 1 << 24)
    )
    seqs = d_seqs if max_num_seqs is None else _positive_int("max-num-seqs", max_num_seqs, 1 << 20)
    bs = default_block_size(spec, gpu) if block_size is None else _positive_int("block-size", block_size, 1 << 16)
    if spec.ssm is not None and not hybrid_kv_cache:
        raise CalcError(
            "hybrid-kv-cache", "vLLM needs the hybrid KV cache manager for Mamba / linear-attention models"
        )
    mode = mamba_cache_mode(spec, version, mamba_mode) if spec.ssm is not None else "none"
    weights = memory.weights_memory(spec, weights_dtype, tp=tp, pp=pp)
    loaded = weights.bytes_per_gpu + rotary_cache_bytes(spec)
    per_layer = memory.kv_bytes_per_token_per_layer(spec, kv_cache_dtype, tp)
    by_layer = memory.kv_bytes_by_layer(spec, kv_cache_dtype, tp)
    if spec.ssm is not None:
        bs = hybrid_block_size(spec, per_layer, bs, mode, tp)
    groups, group_size = kv_groups(spec, pp, hybrid_kv_cache)
    if len(set(by_layer.values())) > 1:
        if not hybrid_kv_cache:
            raise CalcError(
                "hybrid-kv-cache",
                f"{spec.model_type} has attention layers of two sizes; without the hybrid KV cache manager "
                "vLLM's accounting for it is not modelled",
            )
        groups, per_layer = unify_page_size(spec, groups, by_layer, bs)
    page = bs * per_layer

    total = gpu.memory_bytes_usable
    requested = math.ceil(total * u)
    act = activation_peak_bytes(spec, tp, mnbt, seqs)
    non_torch = NON_TORCH_BYTES
    graphs = 0 if enforce_eager or version < (0, 21) else CUDA_GRAPH_BYTES_DEFAULT
    if available_kv_cache_gib is not None:
        a = available_kv_cache_gib
        if isinstance(a, bool) or not isinstance(a, (int, float)) or not math.isfinite(a) or not 0 <= a <= 100_000:
            raise CalcError("available-kv-cache-gib", f"must be a number of GiB from 0 to 100000, got {a!r}")
        available = int(a * GIB)
    else:
        available = requested - loaded - act - non_torch - graphs

    num_blocks = max(0, available // (page * group_size))
    concurrency = max_concurrency(num_blocks, groups, bs, max_len, mnbt, version, mode)
    tokens = kv_cache_tokens(num_blocks, groups, bs, max_len, concurrency, version)

    # The start-up check: one max_model_len request must fit.  It counts the layers one GPU holds
    # (kv_cache_planning.py get_kv_cache_configs: groups projected onto each worker) — except
    # v0.14–v0.15, which checked the whole model's layers against each GPU under pipeline
    # parallelism (PR #29431's regression, vllm issue #32105, fixed by PR #33698).
    whole_model = pp > 1 and (0, 14) <= version < (0, 16)
    check_groups, check_size = kv_groups(spec, 1, hybrid_kv_cache) if whole_model else (groups, group_size)
    if whole_model and len(set(by_layer.values())) > 1:
        check_groups = unify_page_size(spec, check_groups, by_layer, bs)[0]

    def needed_for(length: int) -> int:
        return check_size * page * blocks_per_request(check_groups, length, bs, mnbt, mode)

    needed = needed_for(max_len)

    if available <= 0 or needed_for(1) > available:
        est = 0
    else:
        lo, hi = 1, max_len
        while lo < hi:  # vLLM _estimate_max_model_len_from_groups: binary search in [1, max_model_len]
            mid = (lo + hi + 1) // 2
            if needed_for(mid) <= available:
                lo = mid
            else:
                hi = mid - 1
        est = lo
    too_long = max_len > spec.max_len
    memory_fits = available > 0 and needed <= available
    fits = memory_fits and not too_long
    advice = _advice(spec, gpu, tp, loaded, requested, available, needed, est, max_len, kv_cache_dtype, memory_fits)
    if too_long:
        advice = (
            f"lower --max-model-len to at most {min(spec.max_len, est or spec.max_len):,}, or set "
            "VLLM_ALLOW_LONG_MAX_MODEL_LEN=1 at your own risk (the model was not trained that long)",
            *(x for x in advice if not x.startswith("shorten")),
        )
    refusals: list[str] = []
    if too_long:
        refusals.append(
            f"max_model_len {max_len:,} is above the {spec.max_len:,} tokens vLLM derives from config.json "
            "(it stops with 'User-specified max_model_len … is greater than the derived max_model_len')"
        )
    if block_size is not None and block_size % BLOCK_MULTIPLE:
        refusals.append(
            f"--block-size {block_size} is not a multiple of {BLOCK_MULTIPLE}, which vLLM's CUDA attention kernels need"
        )
        advice = (f"use --block-size {max(BLOCK_MULTIPLE, block_size // BLOCK_MULTIPLE * BLOCK_MULTIPLE)}", *advice)
        fits = False
    flags, warnings = weights_flags(spec, weights_dtype)
    if whole_model and not fits and available > 0:
        advice = (
            *advice,
            f"vLLM {version[0]}.{version[1]} checks the whole model's KV cache against each GPU under pipeline "
            "parallelism (vllm issue #32105); v0.16 and later check each stage's own layers",
        )
    return VLLMFit(
        gpu_memory_bytes=total,
        requested_bytes=requested,
        weights_bytes_per_gpu=loaded,
        activation_peak_bytes=act,
        non_torch_bytes=non_torch,
        cuda_graph_bytes=graphs,
        available_kv_cache_bytes=available,
        available_measured=available_kv_cache_gib is not None,
        bytes_per_token_per_gpu=sum(
            b for i, b in by_layer.items() if i < -(-spec.num_layers // pp) and spec.mixer(i) == "attention"
        ),
        block_size=bs,
        page_size_bytes=page,
        kv_groups=groups,
        group_size=group_size,
        num_gpu_blocks=num_blocks,
        kv_cache_tokens=tokens,
        max_model_len=max_len,
        max_concurrency=concurrency,
        kv_cache_needed_bytes=needed,
        estimated_max_model_len=est,
        fits=fits,
        advice=advice,
        serve_command=serve_command(
            spec.model_id,
            tp=tp,
            pp=pp,
            max_model_len=max_len,
            gpu_memory_utilization=u,
            kv_cache_dtype=kv_cache_dtype,
            block_size=block_size,
            max_num_batched_tokens=max_num_batched_tokens,
            default_utilization=default_gpu_memory_utilization(version),
            max_num_seqs=max_num_seqs,
            extra=flags + (("--mamba-cache-mode", mode) if spec.ssm is not None and mamba_mode != "auto" else ())
            + (("--enforce-eager",) if enforce_eager else ()),
        ),
        max_num_batched_tokens=mnbt,
        max_num_seqs=seqs,
        mamba_cache_mode=mode if spec.ssm is not None else "",
        vllm_version=vllm_version,
        gpu_memory_utilization=u,
        warnings=warnings,
        refusals=tuple(refusals),
    )


def _advice(
    spec: ModelSpec,
    gpu: GPU,
    tp: int,
    weights: int,
    requested: int,
    available: int,
    needed: int,
    est: int,
    max_len: int,
    kv_dtype: str,
    fits: bool,
) -> tuple[str, ...]:
    if fits:
        return ()
    out: list[str] = []
    if weights >= requested:
        out.append(
            f"the weights alone need {weights / GIB:.2f} GiB per GPU, more than the {requested / GIB:.2f} GiB budget: "
            "raise --tensor-parallel-size or use a quantized checkpoint (fp8, int4)"
        )
    else:
        out.append(
            f"one {max_len:,}-token request needs {needed / GIB:.2f} GiB of KV cache but only "
            f"{max(available, 0) / GIB:.2f} GiB is available"
        )
        if est > 0:
            out.append(f"shorten the context: --max-model-len {est} fits")
        if kv_dtype in ("auto", "bfloat16", "float16"):
            out.append("halve the KV cache with --kv-cache-dtype fp8")
        if requested < 0.95 * gpu.memory_bytes_usable:
            out.append("give vLLM more of each GPU: --gpu-memory-utilization 0.95")
    # keep tensor parallelism inside one 8-GPU node; beyond it, pipeline stages across nodes
    larger = [t for t in (2, 4, 8) if t > tp and spec.num_attention_heads % t == 0]
    if larger:
        out.append(f"spread the model over more GPUs: --tensor-parallel-size {larger[0]}")
    elif tp >= 8:
        out.append("add a second node as a pipeline stage: --tensor-parallel-size 8 --pipeline-parallel-size 2")
    return tuple(out)


def serve_command(
    model_id: str,
    tp: int = 1,
    pp: int = 1,
    max_model_len: int | None = None,
    gpu_memory_utilization: float = 0.92,
    kv_cache_dtype: str = "auto",
    block_size: int | None = None,
    max_num_batched_tokens: int | None = None,
    default_utilization: float = 0.92,
    max_num_seqs: int | None = None,
    extra: tuple[str, ...] = (),
) -> str:
    """The ``vllm serve`` command line for these settings: every flag the sizing assumed that is
    not vLLM's default, plus ``extra`` (weights format, Mamba cache mode)."""
    parts = ["vllm", "serve", shlex.quote(model_id)]
    if tp != 1:
        parts += ["--tensor-parallel-size", str(tp)]
    if pp != 1:
        parts += ["--pipeline-parallel-size", str(pp)]
    if max_model_len is not None:
        parts += ["--max-model-len", str(max_model_len)]
    if gpu_memory_utilization != default_utilization:
        parts += ["--gpu-memory-utilization", f"{gpu_memory_utilization:g}"]
    if kv_cache_dtype != "auto":
        parts += ["--kv-cache-dtype", kv_cache_dtype]
    if block_size is not None:
        parts += ["--block-size", str(block_size)]
    if max_num_batched_tokens is not None:
        parts += ["--max-num-batched-tokens", str(max_num_batched_tokens)]
    if max_num_seqs is not None:
        parts += ["--max-num-seqs", str(max_num_seqs)]
    parts += [shlex.quote(x) for x in extra]
    return " ".join(parts)
