"""Roofline of a vLLM forward step: FLOPs, bytes, bound and time, then latency and throughput over batch.

One step of a decoder-only transformer on one GPU of a tensor-parallel group does two kinds of work:

* **weight GEMMs**: every linear layer multiplies the step's tokens by its weight shard,
  2 · tokens · rows · cols FLOPs, and reads the shard once (bytes of
  :func:`calculators.memory.weights_memory`'s formats, scales included) plus its activations;
  routed MoE experts see tokens · top_k / E of the tokens each and only the experts some token
  picked are read: E · (1 − (1 − k/E)^tokens) distinct experts per layer;
* **attention**: 4 · heads_per_gpu · head_dim FLOPs per (query, key) pair and the KV cache read
  once per step (MLA decode: the absorbed form, scores and values over the cached latent).

Time on a roofline (Williams, Waterman and Patterson, "Roofline", CACM 2009):
lower bound = max(FLOPs ÷ peak FLOP/s, bytes ÷ bandwidth) + tensor-parallel all-reduces,
2 per layer, each 2 · (tp − 1)/tp · payload ÷ link bandwidth (ring all-reduce, Patarasuk and
Yuan 2009).  The *expected* time divides each term by an efficiency (:class:`Efficiency`).

Conventions: FLOPs count matrix products only (norms, activations, softmax and rotary are
left out: < 1 % of a step for the models bundled here); activations are 16-bit; bytes are
decimal; times in seconds.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import wraps
from typing import Any, TypeVar

from calculators import dtypes, memory, params, vllm
from calculators.errors import CalcError
from calculators.hardware import GPU
from calculators.models import ModelSpec

ACT_BYTES = 2  # bf16/fp16 activations

#: Default efficiencies of the *expected* figure.  Ceilings measured by this project: an
#: 8192×8192 bf16 GEMM at m ≤ 128 streams its weights at 2.75 TB/s on an H100 SXM (82 % of the
#: 3.35 TB/s datasheet) and 3.8 TB/s on an H200 (79 % of 4.8); at m ≥ 1024 it reaches 800–820
#: TFLOP/s bf16 (81–83 % of 989.5) and 1.38–1.47 PFLOP/s fp8 (70–74 % of 1979)
#: (docs/data/measured/h100-sxm-2026-11-28.json, h200-2026-11-28.json).  A whole forward step
#: adds attention, norms, small kernels and the sampler to those GEMMs: the defaults are round
#: numbers about three quarters of the GEMM ceilings (MBU 0.6 ≈ 0.75 × 0.80; MFU 0.5 ≈ 0.7 × 0.74).
#: Against the 19 published serving measurements of tests/data/measurements.toml they give a
#: median absolute error of 17 % (0.55 would give 11 %, 0.7 24 %: notes/roofline.md).
DEFAULT_MBU = 0.6
DEFAULT_MFU = 0.5
#: NCCL ring all-reduce reaches ~80 % of NVLink's per-direction bandwidth on large messages
#: (nccl-tests "busbw"); small decode messages are latency-bound, hence the fixed cost below.
DEFAULT_LINK_EFFICIENCY = 0.8
#: fixed cost of one all-reduce of a small message (vLLM's custom all-reduce / NCCL LL protocol,
#: a few microseconds per call): added to the expected figure only, never to the lower bound.
#: vLLM's custom all-reduce on H100, 512 B–32 KB: 8.7–11.8 µs at TP 2/4/8 without CUDA graphs
#: (sgl-project/sglang#2904, its "vllm" table); graph replay removes the launch, hence 8 µs.
DEFAULT_ALLREDUCE_LATENCY_S = 8e-6
#: fixed cost of one MoE layer's expert kernels at small batch (token sort and
#: ``moe_align_block_size``, two grouped GEMM launches that each wait on a tile of every touched
#: expert, the activation and the weighted sum): what vLLM's ``benchmarks/kernels/benchmark_moe.py``
#: measures at batch 1 beyond the expert bytes ÷ (bandwidth × MBU).  Three published runs
#: (:data:`MOE_KERNEL_RUNS`) give 23.9–25.5 µs; added to the expected figure per MoE layer per step.
DEFAULT_MOE_LAYER_OVERHEAD_S = 25e-6
#: Published batch-1 fused-MoE kernel times the MoE overhead is derived from:
#: (source, model id, weights format, tp, GPU id, kernel time in seconds).
MOE_KERNEL_RUNS: tuple[tuple[str, str, str, int, str, float], ...] = (
    ("https://github.com/sgl-project/sglang/pull/11730 (untuned Triton fused_moe, batch 1: 31.70 us)",
     "Qwen/Qwen3-235B-A22B-Instruct-2507", "fp8", 8, "h200", 31.70e-6),
    ("https://github.com/vllm-project/vllm/pull/44830 (baseline, batch_size 1: 29.45 us, E=512 N=128)",
     "Qwen/Qwen3-Next-80B-A3B-Instruct", "fp8", 4, "h100-sxm", 29.45e-6),
    ("https://github.com/vllm-project/vllm/pull/31448 (default config, batch size 1: 39.61 us, E=128 N=768)",
     "Qwen/Qwen3-30B-A3B", "bfloat16", 1, "b200", 39.61e-6),
)
#: time per decoder layer per step that eager PyTorch adds when vLLM runs without CUDA graphs
#: (``--enforce-eager``: every kernel launched from Python).  vllm-project/vllm-omni#7960: the
#: Qwen2.5-Omni-7B thinker (28 layers, Qwen2.5-7B's) on A800: TPOT ~22.5 ms eager vs ~13 ms with
#: graphs, (22.5 − 13) ms ÷ 28 = 0.34 ms.  Host-CPU dependent: an order of magnitude, not a constant.
EAGER_LAYER_OVERHEAD_S = 0.34e-3
#: time per decoder layer per step that vLLM on ROCm (CDNA3: MI300X and MI325X, one die and one
#: kernel set) takes beyond the CUDA-derived terms above, under graph replay.  AMD's own vLLM
#: latency table (ROCm/vllm ``docs/dev-docker/README.md``, image
#: rocm/vllm:rocm7.0.0_vllm_0.11.1_20251103, ``vllm bench latency``, 8 × MI300X, TP 8, FP8, batch 1,
#: 128 in / 2,048 out): Llama 3.1 70B 16.154 s and 405B 48.138 s, i.e. 3.8 ms and 5.5 ms a token
#: above this model without the term, 47 µs over 80 layers and 44 µs over 126: 45 µs.  Not the
#: all-reduce alone (vLLM's on MI355X: 6–7 µs at TP 8, vllm-project/vllm#39080).  Derived at batch
#: 1 only: published MI300X runs at larger batches are slower still (docs/kb/accuracy.md).
DEFAULT_ROCM_LAYER_OVERHEAD_S = 45e-6
#: GPU vendors whose steps pay :data:`DEFAULT_ROCM_LAYER_OVERHEAD_S` (presets' ``vendor``).
ROCM_VENDORS = frozenset({"amd"})

#: the four weight/activation schemes whose critical batch size is reported:
#: name → (weights format of calculators.memory, tensor-core dtype of the GEMMs)
SCHEMES: dict[str, tuple[str, str]] = {
    "W16A16": ("bfloat16", "bf16"),
    "W8A16": ("int8", "bf16"),
    "W4A16": ("int4", "bf16"),
    "FP8": ("fp8", "fp8"),
}


@dataclass(frozen=True)
class Efficiency:
    """Fractions of the datasheet peaks a real step reaches (user-adjustable).

    mbu: model bandwidth utilization (achieved ÷ peak memory bandwidth); mfu: model FLOPs
    utilization (achieved ÷ dense peak FLOP/s); link: achieved ÷ per-direction interconnect
    bandwidth for all-reduce; allreduce_latency_s: fixed time per all-reduce call;
    moe_layer_overhead_s: fixed time per MoE layer per step; rocm_layer_overhead_s: fixed time per
    decoder layer per step on AMD GPUs (ROCm); enforce_eager: vLLM runs without CUDA graphs (adds
    :data:`EAGER_LAYER_OVERHEAD_S` per decoder layer per step); ttft_overhead_s: time each request
    spends outside the GPU's steps before its first token reaches the client (the API server's
    request handling, tokenisation, the first streamed chunk), added to TTFT and end-to-end latency,
    never to a step or a lower bound.  Default 0: published runs show anything from a few to a few
    hundred milliseconds (docs/kb/accuracy.md); ``calibrate`` measures it from your own run.
    """

    mbu: float = DEFAULT_MBU
    mfu: float = DEFAULT_MFU
    link: float = DEFAULT_LINK_EFFICIENCY
    allreduce_latency_s: float = DEFAULT_ALLREDUCE_LATENCY_S
    moe_layer_overhead_s: float = DEFAULT_MOE_LAYER_OVERHEAD_S
    rocm_layer_overhead_s: float = DEFAULT_ROCM_LAYER_OVERHEAD_S
    enforce_eager: bool = False
    ttft_overhead_s: float = 0.0

    def __post_init__(self) -> None:
        for name, value in (("mbu", self.mbu), ("mfu", self.mfu), ("link-efficiency", self.link)):
            ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
            if not ok or not 0 < value <= 1:
                raise CalcError(name, f"must be a fraction in (0, 1], got {value!r}")
        for name, lat in (("allreduce-latency-s", self.allreduce_latency_s),
                          ("moe-layer-overhead-s", self.moe_layer_overhead_s),
                          ("rocm-layer-overhead-s", self.rocm_layer_overhead_s)):
            number = isinstance(lat, (int, float)) and not isinstance(lat, bool)
            if not number or not math.isfinite(lat) or not 0 <= lat <= 1:
                raise CalcError(name, f"must be from 0 to 1 second, got {lat!r}")
        t = self.ttft_overhead_s
        if isinstance(t, bool) or not isinstance(t, (int, float)) or not math.isfinite(t) or not 0 <= t <= 60:
            raise CalcError("ttft-overhead-ms", f"must be from 0 to 60,000 ms, got {t!r} s")
        if not isinstance(self.enforce_eager, bool):
            raise CalcError("enforce-eager", f"must be true or false, got {self.enforce_eager!r}")

    @property
    def layer_overhead_s(self) -> float:
        """Fixed time every decoder layer adds to a step (eager launches; 0 under CUDA graphs)."""
        return EAGER_LAYER_OVERHEAD_S if self.enforce_eager else 0.0

    def rocm_overhead_on(self, gpu: GPU) -> float:
        """``rocm_layer_overhead_s`` on an AMD GPU, else 0."""
        return self.rocm_layer_overhead_s if gpu.vendor.lower() in ROCM_VENDORS else 0.0

    def layer_overhead_on(self, gpu: GPU) -> float:
        """Fixed time every decoder layer adds to a step on this GPU: eager launches, plus the ROCm
        cost on an AMD GPU."""
        return self.layer_overhead_s + self.rocm_overhead_on(gpu)


@dataclass(frozen=True)
class Scheme:
    """How the GEMMs run: weights format (for bytes) and tensor-core dtype (for the peak)."""

    name: str  # "W16A16", "W8A16", "W4A16", "FP8 (W8A8)", ...
    weights_dtype: str  # a key of calculators.memory.WEIGHT_FORMATS
    compute_dtype: str  # a key of GPU.dense_flops


@dataclass(frozen=True)
class StepCost:
    """FLOPs and bytes of one forward step on one GPU (``tokens`` new tokens, ``sequences`` sampled)."""

    tokens: float
    sequences: float
    gemm_flops: float
    gemm_bytes: float  # weight shards read (scales included) + GEMM activations read and written
    attention_flops: float
    attention_bytes: float  # KV cache read and written + attention's q and output
    allreduces: int  # all-reduce calls of the step (2 per layer when tp > 1)
    allreduce_payload_bytes: float  # bytes each all-reduce reduces (tokens × hidden × 2)
    experts_touched_per_layer: float  # expected distinct routed experts per MoE layer (0: dense)
    moe_layer_runs: int = 0  # MoE layers run in the step (forward passes × MoE layers)
    layer_runs: int = 0  # decoder layers run in the step (forward passes × layers)

    @property
    def flops(self) -> float:
        return self.gemm_flops + self.attention_flops

    @property
    def bytes(self) -> float:
        return self.gemm_bytes + self.attention_bytes

    @property
    def arithmetic_intensity(self) -> float:
        """FLOPs per byte moved to or from GPU memory."""
        return self.flops / self.bytes if self.bytes else 0.0

    def __add__(self, other: StepCost) -> StepCost:
        """Two steps' work as one sum (all-reduce calls and payloads add up)."""
        calls = self.allreduces + other.allreduces
        payload = (self.allreduces * self.allreduce_payload_bytes + other.allreduces * other.allreduce_payload_bytes)
        return StepCost(
            tokens=self.tokens + other.tokens,
            sequences=self.sequences + other.sequences,
            gemm_flops=self.gemm_flops + other.gemm_flops,
            gemm_bytes=self.gemm_bytes + other.gemm_bytes,
            attention_flops=self.attention_flops + other.attention_flops,
            attention_bytes=self.attention_bytes + other.attention_bytes,
            allreduces=calls,
            allreduce_payload_bytes=payload / calls if calls else 0.0,
            experts_touched_per_layer=max(self.experts_touched_per_layer, other.experts_touched_per_layer),
            moe_layer_runs=self.moe_layer_runs + other.moe_layer_runs,
            layer_runs=self.layer_runs + other.layer_runs,
        )


@dataclass(frozen=True)
class StepTime:
    """Where a step sits on the roofline and how long it takes (seconds, one GPU of the group)."""

    cost: StepCost
    compute_s: float  # GEMM FLOPs ÷ peak of the scheme's dtype + attention FLOPs ÷ 16-bit peak
    memory_s: float  # bytes ÷ memory bandwidth
    allreduce_s: float  # ring all-reduce bytes ÷ link bandwidth
    bound: str  # "memory" or "compute"
    time_s_lower_bound: float
    time_s_expected: float
    steps: int = 1  # forward steps summed here (a chunked prefill takes several)
    fixed_s: float = 0.0  # fixed costs in the expected time: all-reduce latency, MoE layers, eager launches

    @property
    def arithmetic_intensity(self) -> float:
        return self.cost.arithmetic_intensity

    def as_dict(self) -> dict[str, float | int | str]:
        c = self.cost
        return {
            "flops": c.flops,
            "bytes": c.bytes,
            "arithmetic_intensity": c.arithmetic_intensity,
            "bound": self.bound,
            "time_s_lower_bound": self.time_s_lower_bound,
            "time_s_expected": self.time_s_expected,
            "tokens": c.tokens,
            "steps": self.steps,
            "gemm_flops": c.gemm_flops,
            "gemm_bytes": c.gemm_bytes,
            "attention_flops": c.attention_flops,
            "attention_bytes": c.attention_bytes,
            "compute_s": self.compute_s,
            "memory_s": self.memory_s,
            "allreduce_s": self.allreduce_s,
            "fixed_s": self.fixed_s,
            "experts_touched_per_layer": c.experts_touched_per_layer,
        }


# ---------------------------------------------------------------- schemes and peaks


def scheme_for(spec: ModelSpec, weights_dtype: str = "auto") -> Scheme:
    """The GEMM scheme of a weights format.

    16-bit weights: W16A16 on 16-bit tensor cores.  int8/int4 (AWQ, GPTQ) and MXFP4 are
    weight-only in vLLM's Marlin/Machete kernels: weights dequantized to 16-bit, W8A16/W4A16.
    fp8: W8A8 on fp8 tensor cores (dynamic activation scales), where the GPU has them.
    """
    q, label = memory.quant_for(spec, weights_dtype)
    if q is None:
        if label == "float32":
            return Scheme("W32A32 (TF32)", "float32", "tf32")
        return Scheme("W16A16", label, "fp16" if label == "float16" else "bf16")
    if q.method == "fp8":
        return Scheme("FP8 (W8A8)", weights_dtype if weights_dtype != "auto" else "auto", "fp8")
    if q.method == "int8":
        return Scheme("W8A16", weights_dtype, "bf16")
    if q.method == "mxfp4":
        return Scheme("W4A16 (MXFP4 experts)", weights_dtype, "bf16")
    return Scheme(f"W{q.bits}A16", weights_dtype, "bf16")


def peak_flops(gpu: GPU, dtype: str) -> tuple[float, str]:
    """Dense peak FLOP/s for ``dtype`` and the dtype actually used.

    A GPU without fp8 tensor cores (A100, L4 has them; V100, T4 do not) runs fp8 checkpoints
    weight-only (vLLM's fp8 Marlin path) at its 16-bit peak; one without bf16 uses fp16.
    """
    chain = {"fp8": ("fp8", "bf16", "fp16"), "bf16": ("bf16", "fp16"), "fp16": ("fp16", "bf16"),
             "tf32": ("tf32", "fp32")}
    for d in chain.get(dtype, (dtype,)):
        value = gpu.dense_flops.get(d)
        if value:
            return value, d
    raise CalcError("gpu", f"{gpu.name} has no dense {dtype} (or 16-bit) tensor-core peak in its preset")


def ridge_point(gpu: GPU, dtype: str = "bf16") -> float:
    """FLOPs per byte where compute time equals memory time: dense peak FLOP/s ÷ bandwidth B/s."""
    return peak_flops(gpu, dtype)[0] / gpu.bandwidth_bytes_per_s


# ---------------------------------------------------------------- work of one step


def experts_touched(num_experts: int, top_k: int, tokens: float) -> float:
    """Expected distinct experts a layer reads when ``tokens`` tokens each pick ``top_k`` of ``num_experts``.

    E · (1 − (1 − k/E)^T): each token leaves a given expert out with probability 1 − k/E (top-k
    without replacement), tokens independent and routing uniform.  Real routers are skewed, which
    touches fewer experts; the uniform figure is the largest expectation, so bytes are not
    underestimated at a given batch.
    """
    if tokens <= 0:
        return 0.0
    miss: float = (1.0 - top_k / num_experts) ** tokens
    return num_experts * (1.0 - miss)


def gemm_cost(spec: ModelSpec, tp: int, tokens: float, sequences: float, weights_dtype: str = "auto") -> StepCost:
    """FLOPs and bytes of the weight GEMMs of one step on one GPU.

    For each tensor group of :func:`calculators.params.tensor_groups` (per-GPU shard shapes):
    linear/router: FLOPs 2 · T · rows · cols · count, bytes = shard bytes + 2 · T · (rows + cols) · count;
    routed experts: T · k/E tokens per expert on average (FLOPs 2 · T · k · rows · cols · count/E)
    and shard bytes × touched/E with touched = :func:`experts_touched`; lm_head: only the
    ``sequences`` sampled rows (vLLM computes logits for the last token of each sequence);
    embedding: T rows gathered; norms and biases: read once.
    """
    base, sized = _sized_groups(spec, tp, weights_dtype)
    moe = spec.moe
    touched = experts_touched(moe.num_experts, moe.experts_per_token, tokens) if moe is not None else 0.0
    flops = 0.0
    nbytes = 0.0
    for g, shard in sized:
        if g.kind == "embedding":
            nbytes += min(tokens, g.rows) * g.cols * base
            continue
        if g.kind in ("norm", "bias", "sink"):
            nbytes += shard * (touched / moe.num_experts if g.routed and moe is not None else 1.0)
            continue
        t = sequences if g.kind == "lm_head" else tokens
        if g.routed and moe is not None:
            uses = g.count * moe.experts_per_token / moe.num_experts  # tokens·k spread over E experts
            nbytes += shard * touched / moe.num_experts
        else:
            uses = g.count
            nbytes += shard
        flops += 2.0 * t * g.rows * g.cols * uses
        nbytes += ACT_BYTES * t * (g.rows + g.cols) * uses
    layers = spec.num_layers
    return StepCost(
        tokens=tokens,
        sequences=sequences,
        gemm_flops=flops,
        gemm_bytes=nbytes,
        attention_flops=0.0,
        attention_bytes=0.0,
        allreduces=2 * layers if tp > 1 else 0,
        allreduce_payload_bytes=tokens * spec.hidden_size * ACT_BYTES,
        experts_touched_per_layer=touched,
        moe_layer_runs=sum(moe.moe_layers) if moe is not None and tokens > 0 else 0,
        layer_runs=layers,
    )


_T = TypeVar("_T")


def _per_spec(fn: Callable[..., _T]) -> Callable[..., _T]:
    """Memoise ``fn(spec, *args)`` on the spec object itself (its identity) and the other arguments.

    Not ``lru_cache``: a frozen ModelSpec's generated ``__eq__`` compares every field, and an equal
    spec parsed by an earlier call would keep the entry, so every later hit would pay that comparison
    (a third of a 10,000-request simulation's time).  The entry holds the spec, so its id is not reused
    while cached."""
    cache: dict[tuple[Any, ...], tuple[ModelSpec, _T]] = {}

    @wraps(fn)
    def memo(spec: ModelSpec, *args: Any) -> _T:
        key = (id(spec), *args)
        hit = cache.get(key)
        if hit is not None and hit[0] is spec:
            return hit[1]
        value = fn(spec, *args)
        if len(cache) >= 256:
            cache.clear()
        cache[key] = (spec, value)
        return value

    return memo


@_per_spec
def _groups(spec: ModelSpec, tp: int) -> tuple[params.TensorGroup, ...]:
    return params.tensor_groups(spec, tp=tp, include_mtp=False)


def check_modelled(spec: ModelSpec) -> None:
    """The step model covers full, sliding-window, chunked (Llama 4), MLA and DeepSeek-sparse
    attention and the state-space / linear-attention mixers (Mamba-1, Mamba2, Gated DeltaNet).
    Kept as the one place a future unmodelled layer kind is refused (a reader that accepts a new
    kind must be taught here first)."""
    kinds = _unmodelled_mixers(spec)
    if kinds:
        raise CalcError(
            "model",
            f"{spec.model_type}: the roofline step model does not cover {', '.join(sorted(kinds))} layers yet; memory, "
            "KV cache and vLLM's start-up figures are exact for it (the memory and vllm calculators)",
        )


@_per_spec
def _sized_groups(spec: ModelSpec, tp: int,
                  weights_dtype: str) -> tuple[int, tuple[tuple[params.TensorGroup, int], ...]]:
    """(bytes per unquantized element, each tensor group with its shard bytes on one GPU in the format
    in force): a quantization ignore list is matched module by module, too slow to redo every step."""
    q, label = memory.quant_for(spec, weights_dtype)
    base = int(dtypes.BYTES_PER_ELEMENT[spec.dtype if q is not None else label])
    return base, tuple((g, memory.group_bytes(g, q, base)[0]) for g in _groups(spec, tp))


@_per_spec
def _unmodelled_mixers(spec: ModelSpec) -> frozenset[str]:
    known = {"attention", "parallel", "mamba2", "gdn", "mamba1", "none"}
    return frozenset({spec.mixer(i) for i in range(spec.num_layers)} - known)


@_per_spec
def _attention_kinds(spec: ModelSpec, tp: int,
                     kv_cache_dtype: str) -> tuple[tuple[int | None, int | None, int, int, int], ...]:
    """The attention layers grouped by (window, chunk), in layer order: (window, chunk, layers, KV bytes
    per token per layer on one GPU, head_dim), each read from the group's first layer."""
    kinds: dict[tuple[int | None, int | None], int] = {}  # (window, chunk) -> layers
    first: dict[tuple[int | None, int | None], int] = {}  # a layer of each: its head_dim and KV bytes
    for i in spec.attention_layers:  # state-space layers: ssm_mixer_cost
        key = (spec.layer_windows[i], spec.layer_chunks[i] if spec.layer_chunks else None)
        kinds[key] = kinds.get(key, 0) + 1
        first.setdefault(key, i)
    return tuple((w, chunk, layers, memory.kv_bytes_per_token_per_layer(spec, kv_cache_dtype, tp, first[w, chunk]),
                  spec.head_dim_of(first[w, chunk])) for (w, chunk), layers in kinds.items())


def step_model_caveats(spec: ModelSpec, gpus: tuple[GPU, ...] = ()) -> list[str]:
    """What a reader of a step time should know about this model's layer kinds and these GPUs: the
    state-space and sparse-attention terms are counted from the layers' arithmetic (numpy oracles in
    tests/roofline/test_oracle_layers.py) but have few published runs to check them against, and the
    fixed per-layer costs are CUDA kernels' (published AMD runs are slower: docs/kb/accuracy.md)."""
    out = []
    amd = sorted({g.name for g in gpus if g.vendor.lower() in ROCM_VENDORS})
    if amd:
        out.append(
            f"{', '.join(amd)}: the efficiencies are those measured with CUDA kernels, plus a ROCm cost of "
            f"{DEFAULT_ROCM_LAYER_OVERHEAD_S * 1e6:.0f} µs per decoder layer per step taken from AMD's own vLLM table "
            "for dense models at batch 1 (Llama 3.1 70B/405B, TP 8); published MI300X runs still took longer per "
            "step than this estimate at batch 8 and more (vLLM at batch 128–256: 42–51 % under) and for MoE models "
            "on SGLang at any load (52–68 % under at one client); see the accuracy page: calibrate with your own "
            "benchmark"
        )
    if spec.ssm is not None:
        out.append(
            "state-space / linear-attention layers: timed by their state read and written once per step and their "
            "scan arithmetic, with no fixed per-layer kernel cost; published vLLM runs of a hybrid (Nemotron-3 Nano) "
            "measured a TTFT far above this estimate (see the accuracy page): treat TTFT as optimistic"
        )
    if spec.indexer is not None:
        out.append(
            "DeepSeek sparse attention: timed as MLA over the top-k keys plus the indexer's pass over every key; "
            "no published run on NVIDIA GPUs checks it yet (see the accuracy page)"
        )
    return out


#: scan chunk when the spec names none: Mamba2 configs carry theirs (the reader defaults to 256,
#: Transformers' Mamba2Config default); Gated DeltaNet's chunked prefill runs in chunks of 64 (FLA's
#: ``chunk_gated_delta_rule_fwd_h(..., chunk_size=64)``, vendored in vLLM's model_executor/layers/fla/ops)
SSM_DEFAULT_CHUNK = {"mamba2": 256, "gdn": 64}


def ssm_mixer_cost(spec: ModelSpec, tp: int, sequences: float, new: float) -> tuple[float, float]:
    """(FLOPs, bytes) of the state-space / linear-attention mixers' scans for ``sequences``
    sequences each adding ``new`` tokens, on one GPU (the projections and the depthwise conv are
    weight GEMMs, in :func:`gemm_cost`).

    Per layer and sequence the recurrent state is read once and written once:
    2 × :func:`calculators.memory.ssm_state_bytes_per_layer` bytes (the scan keeps it on chip
    within a step; "SSM decode is memory-bound. Each step loads and stores a (nheads, d, n)
    recurrent state, and that per-step state store dominates HBM traffic": vllm-project/vllm pull
    request 48018, which describes vLLM's Mamba2 decode kernel before its ReplaySSM option).
    FLOPs per token, with H heads of P × N state on this GPU:

    * Mamba-1 (selective scan, Gu & Dao 2023 Alg. 2): decay, input and output terms, 5 · inner · N;
    * Mamba2 (SSD, Dao & Gu 2024 §6): decode 5 · H · P · N; a chunk of Q tokens adds the
      intra-chunk products 2 · Q · (G · N + H · P) and the chunk-state terms 4 · H · P · N per token;
    * Gated DeltaNet (Yang et al. 2024): decode 6 · H · P · N (S·k, the rank-1 update, S·q);
      chunked prefill as Mamba2 with one key head per value-head group.

    These are small next to the projections; the state traffic is what a decode step pays.
    """
    s = spec.ssm
    layers = len(spec.ssm_layers)
    if s is None or layers == 0 or sequences <= 0 or new <= 0:
        return 0.0, 0.0
    state_bytes = 2.0 * memory.ssm_state_bytes_per_layer(spec, tp)
    n = s.state_size
    if s.kind == "mamba1":
        per_token = 5.0 * (s.inner / tp) * n
    else:
        h = max(1.0, s.num_heads / tp)
        p = s.head_dim
        groups = max(1.0, s.n_groups / tp)
        per_token = (6.0 if s.kind == "gdn" else 5.0) * h * p * n
        if new > 1:
            q = min(new, s.chunk_size or SSM_DEFAULT_CHUNK.get(s.kind, 256))
            per_token = 2.0 * q * (groups * n + h * p) + 4.0 * h * p * n
    flops = layers * sequences * new * per_token
    nbytes = layers * sequences * state_bytes
    return flops, nbytes


def causal_pairs(prior: float, new: float, window: int | None = None) -> float:
    """(query, key) pairs when ``new`` tokens follow ``prior`` cached ones under a causal mask.

    Σ_{j = prior+1}^{prior+new} min(j, window): query j sees j keys (itself included), at most
    ``window`` of them on a sliding-window layer.  Full attention: new · prior + new · (new + 1)/2.
    """
    def full(a: float, b: float) -> float:  # Σ_{j=a+1}^{b} j
        return (b * (b + 1) - a * (a + 1)) / 2.0

    lo, hi = prior, prior + new
    if window is None or hi <= window:
        return full(lo, hi)
    if lo >= window:
        return new * window
    return full(lo, window) + (hi - window) * window


def chunked_pairs(prior: float, new: float, chunk: int) -> float:
    """(query, key) pairs of chunked local attention (Llama 4's RoPE layers): query j sees the keys of
    its own chunk up to itself, (j − 1) mod C + 1 of them; summed over j = prior + 1 … prior + new.

    = F(prior + new) − F(prior), F(n) = Σ_{j=1}^{n} ((j − 1) mod C + 1) = q · C(C + 1)/2 + r(r + 1)/2
    with n = q · C + r, 0 ≤ r < C.
    """
    def f(n: float) -> float:
        q = math.floor(n / chunk)
        r = n - q * chunk
        return q * chunk * (chunk + 1) / 2.0 + r * (r + 1) / 2.0

    return f(prior + new) - f(prior)


def attention_cost(spec: ModelSpec, tp: int, sequences: float, prior: float, new: float,
                   kv_cache_dtype: str = "auto") -> StepCost:
    """FLOPs and bytes of attention for ``sequences`` sequences each adding ``new`` tokens after ``prior``.

    Per layer with window W (None = full): pairs = :func:`causal_pairs`.
    GQA/MHA: 4 · (heads/tp) · head_dim · pairs FLOPs (QKᵀ and PV); bytes = KV read of
    min(prior, W) tokens + KV written for ``new`` + q and output (2 · new · heads/tp · head_dim · 2).
    MLA decode (``new == 1``, absorbed, DeepSeek-V2 §2.1.2 / vLLM's MLA backends): scores over the
    cached latent 2 · h · pairs · (kv_lora_rank + rope) + values 2 · h · pairs · kv_lora_rank, one
    latent per token read; its intensity is ≈ h · (4·512 + 2·64) / (576 · bytes) ≈ 2 · h FLOPs/byte
    in 16-bit, high because all heads share the latent. MLA prefill (unabsorbed): K/V of the prior
    tokens up-projected (2 · prior · h · (qk_nope + v) · kv_lora_rank) and plain attention with
    qk = nope + rope and v widths.
    Chunked local attention (Llama 4, chunk C): pairs = :func:`chunked_pairs`, the current chunk's
    keys read.  DeepSeek sparse attention (DeepSeek-V3.2 §2.1, GLM-5): the lightning indexer scores
    all prior keys (2 · index heads · index head_dim FLOPs per pair, its fp8 key + fp32 scale per token
    read), then MLA in MQA mode (absorbed) attends to at most top-k keys per query: pairs =
    causal_pairs(prior, new, top-k), min(prior, top-k) latents read.  State-space and
    linear-attention layers: :func:`ssm_mixer_cost`.
    """
    check_modelled(spec)
    h = spec.num_attention_heads // tp
    flops = 0.0
    nbytes = 0.0
    idx = spec.indexer
    for w, chunk, layers, per_layer, head_dim in _attention_kinds(spec, tp, kv_cache_dtype):
        if chunk is not None:
            pairs = chunked_pairs(prior, new, chunk)
            read = prior - math.floor(prior / chunk) * chunk  # the current chunk's keys
        elif idx is not None:  # DeepSeek sparse attention: each query attends to its top-k keys
            pairs = causal_pairs(prior, new, idx.topk)
            read = min(prior, idx.topk)
        else:
            pairs = causal_pairs(prior, new, w)
            read = prior if w is None else min(prior, w)
        if spec.mla is not None:
            m = spec.mla
            if new == 1 or idx is not None:  # absorbed (MQA mode): decode, and DSA's sparse prefill too
                f = 2.0 * h * pairs * (m.kv_lora_rank + m.qk_rope_head_dim) + 2.0 * h * pairs * m.kv_lora_rank
                qo = 2.0 * new * h * (m.kv_lora_rank + m.qk_rope_head_dim) * ACT_BYTES
            else:
                qk = m.qk_nope_head_dim + m.qk_rope_head_dim
                f = 2.0 * h * pairs * qk + 2.0 * h * pairs * m.v_head_dim
                f += 2.0 * read * h * (m.qk_nope_head_dim + m.v_head_dim) * m.kv_lora_rank
                qo = new * h * (qk + m.v_head_dim) * ACT_BYTES
        else:
            f = 4.0 * h * head_dim * pairs
            qo = 2.0 * new * h * head_dim * ACT_BYTES
        moved = (read + new) * per_layer + qo
        if idx is not None:
            # the indexer (replicated on every rank) scores every prior key: 2 · index heads · head_dim
            # FLOPs per pair, and its fp8 key + fp32 scale read for the keys beyond the top-k too
            f += 2.0 * idx.n_heads * idx.head_dim * causal_pairs(prior, new)
            moved += (prior - read) * (idx.head_dim + 4)
        flops += layers * sequences * f
        nbytes += layers * sequences * moved
    ssm_flops, ssm_bytes = ssm_mixer_cost(spec, tp, sequences, new)
    flops += ssm_flops
    nbytes += ssm_bytes
    return StepCost(
        tokens=0.0, sequences=0.0, gemm_flops=0.0, gemm_bytes=0.0, attention_flops=flops, attention_bytes=nbytes,
        allreduces=0, allreduce_payload_bytes=0.0, experts_touched_per_layer=0.0,
    )


def _with_attention(g: StepCost, a: StepCost) -> StepCost:
    return replace(g, attention_flops=g.attention_flops + a.attention_flops,
                   attention_bytes=g.attention_bytes + a.attention_bytes)


def decode_cost(spec: ModelSpec, tp: int, batch: float, context: float, weights_dtype: str = "auto",
                kv_cache_dtype: str = "auto") -> StepCost:
    """One decode step: ``batch`` sequences each add one token after ``context`` − 1 cached ones."""
    prior = max(0.0, context - 1)
    return _with_attention(gemm_cost(spec, tp, batch, batch, weights_dtype),
                           attention_cost(spec, tp, batch, prior, 1, kv_cache_dtype))


def prefill_chunk_cost(spec: ModelSpec, tp: int, tokens: float, prior: float = 0, sequences: float = 1,
                       weights_dtype: str = "auto", kv_cache_dtype: str = "auto") -> StepCost:
    """One prefill step: ``sequences`` prompts each add ``tokens`` tokens after ``prior`` cached ones."""
    return _with_attention(gemm_cost(spec, tp, tokens * sequences, sequences, weights_dtype),
                           attention_cost(spec, tp, sequences, prior, tokens, kv_cache_dtype))


def mixed_cost(spec: ModelSpec, tp: int, decode_batch: float, context: float, prefill_tokens: float,
               prefill_prompts: float, prompt_tokens: int, weights_dtype: str = "auto",
               kv_cache_dtype: str = "auto") -> StepCost:
    """A continuous-batching step: decodes plus ``prefill_tokens`` prompt tokens (chunked prefill).

    GEMMs run once over decode_batch + prefill_tokens rows (weights read once); attention of the
    decodes at ``context`` plus ``prefill_prompts`` × the causal attention of a whole
    ``prompt_tokens`` prompt (fractional when prompts are amortised over steps).
    """
    g = gemm_cost(spec, tp, decode_batch + prefill_tokens, decode_batch + prefill_prompts, weights_dtype)
    a = attention_cost(spec, tp, decode_batch, max(0.0, context - 1), 1, kv_cache_dtype)
    if prefill_prompts > 0:
        a = a + attention_cost(spec, tp, prefill_prompts, 0, prompt_tokens, kv_cache_dtype)
    return _with_attention(g, a)


# ---------------------------------------------------------------- time


def step_time(cost: StepCost, gpu: GPU, tp: int, scheme: Scheme, eff: Efficiency | None = None) -> StepTime:
    """Lower bound and expected time of one step.

    compute = GEMM FLOPs ÷ peak(scheme dtype) + attention FLOPs ÷ peak(16-bit);
    memory = bytes ÷ bandwidth; all-reduce = calls × 2 · (tp − 1)/tp · payload ÷ link bandwidth.
    lower bound = max(compute, memory) + all-reduce;
    expected = max(compute ÷ MFU, memory ÷ MBU) + all-reduce ÷ link efficiency + fixed, with
    fixed = calls × all-reduce latency + MoE layers run × MoE layer overhead + layers run × (eager
    launch overhead, 0 under CUDA graphs, + the ROCm per-layer cost on AMD GPUs).  Fixed costs never
    enter the lower bound.
    """
    e = eff or Efficiency()
    gemm_peak, _ = peak_flops(gpu, scheme.compute_dtype)
    attn_peak, _ = peak_flops(gpu, "bf16")
    compute = cost.gemm_flops / gemm_peak + cost.attention_flops / attn_peak
    mem = cost.bytes / gpu.bandwidth_bytes_per_s
    ar = 0.0
    if tp > 1 and cost.allreduces:
        if gpu.interconnect_bytes_per_s <= 0:
            raise CalcError("gpu", f"{gpu.name} has no interconnect bandwidth in its preset; use tp 1")
        ar = cost.allreduces * 2.0 * (tp - 1) / tp * cost.allreduce_payload_bytes / gpu.interconnect_bytes_per_s
    lower = max(compute, mem) + ar
    calls = cost.allreduces if tp > 1 else 0
    fixed = (calls * e.allreduce_latency_s + cost.moe_layer_runs * e.moe_layer_overhead_s
             + cost.layer_runs * e.layer_overhead_on(gpu))
    expected = max(compute / e.mfu, mem / e.mbu) + ar / e.link + fixed
    return StepTime(cost=cost, compute_s=compute, memory_s=mem, allreduce_s=ar,
                    bound="compute" if compute > mem else "memory",
                    time_s_lower_bound=lower, time_s_expected=expected, fixed_s=fixed)


def _sum_times(parts: list[tuple[StepTime, float]]) -> StepTime:
    """Σ of weighted step times (cost, components and both times add up)."""
    first = parts[0][0]
    cost = _scale(first.cost, parts[0][1])
    for st, w in parts[1:]:
        cost = cost + _scale(st.cost, w)
    compute = sum(st.compute_s * w for st, w in parts)
    mem = sum(st.memory_s * w for st, w in parts)
    return StepTime(
        cost=cost, compute_s=compute, memory_s=mem, allreduce_s=sum(st.allreduce_s * w for st, w in parts),
        bound="compute" if compute > mem else "memory", fixed_s=sum(st.fixed_s * w for st, w in parts),
        time_s_lower_bound=sum(st.time_s_lower_bound * w for st, w in parts),
        time_s_expected=sum(st.time_s_expected * w for st, w in parts),
        steps=round(sum(st.steps * w for st, w in parts)),
    )


def _scale(c: StepCost, w: float) -> StepCost:
    return StepCost(tokens=c.tokens * w, sequences=c.sequences * w, gemm_flops=c.gemm_flops * w,
                    gemm_bytes=c.gemm_bytes * w, attention_flops=c.attention_flops * w,
                    attention_bytes=c.attention_bytes * w, allreduces=round(c.allreduces * w),
                    allreduce_payload_bytes=c.allreduce_payload_bytes,
                    experts_touched_per_layer=c.experts_touched_per_layer,
                    moe_layer_runs=round(c.moe_layer_runs * w), layer_runs=round(c.layer_runs * w))


def prefill_time(spec: ModelSpec, gpu: GPU, tp: int, prompt_tokens: int, sequences: int = 1,
                 max_num_batched_tokens: int | None = None, weights_dtype: str = "auto",
                 kv_cache_dtype: str = "auto", eff: Efficiency | None = None, running: int = 0,
                 context: float = 0) -> StepTime:
    """Prefill of ``sequences`` prompts of ``prompt_tokens`` tokens under chunked prefill.

    vLLM's scheduler puts at most ``max_num_batched_tokens`` (M) tokens in a step, ``running``
    of them decodes of requests already generating (at ``context``).  A prompt longer than the
    room r = M − running is cut into ⌈P / r⌉ chunks, chunk i attending to the i·r tokens before it;
    shorter prompts are packed ⌊r / P⌋ to a step.  Returns the sum over the steps.
    """
    scheme = scheme_for(spec, weights_dtype)
    m = max_num_batched_tokens or vllm.default_scheduler_limits(gpu)[0]
    room = m - running
    if room < 1:
        raise CalcError("max-num-batched-tokens", f"{m} leaves no room for a prompt beside {running} decodes")
    if prompt_tokens < 1:
        raise CalcError("prompt-tokens", "must be at least 1")
    parts: list[tuple[StepTime, float]] = []

    def with_decodes(c: StepCost) -> StepCost:
        if running <= 0:
            return c
        d = gemm_cost(spec, tp, c.tokens + running, c.sequences + running, weights_dtype)
        a = attention_cost(spec, tp, running, max(0.0, context - 1), 1, kv_cache_dtype)
        return replace(d, attention_flops=c.attention_flops + a.attention_flops,
                       attention_bytes=c.attention_bytes + a.attention_bytes)

    if prompt_tokens >= room:
        full_chunks, rest = divmod(prompt_tokens, room)
        for i in range(full_chunks):
            c = with_decodes(prefill_chunk_cost(spec, tp, room, i * room, 1, weights_dtype, kv_cache_dtype))
            parts.append((step_time(c, gpu, tp, scheme, eff), float(sequences)))
        if rest:
            c = with_decodes(prefill_chunk_cost(spec, tp, rest, full_chunks * room, 1, weights_dtype, kv_cache_dtype))
            parts.append((step_time(c, gpu, tp, scheme, eff), float(sequences)))
    else:
        per_step = min(sequences, room // prompt_tokens)
        full_steps, rest_seqs = divmod(sequences, per_step)
        c = with_decodes(prefill_chunk_cost(spec, tp, prompt_tokens, 0, per_step, weights_dtype, kv_cache_dtype))
        parts.append((step_time(c, gpu, tp, scheme, eff), float(full_steps)))
        if rest_seqs:
            c = with_decodes(prefill_chunk_cost(spec, tp, prompt_tokens, 0, rest_seqs, weights_dtype, kv_cache_dtype))
            parts.append((step_time(c, gpu, tp, scheme, eff), 1.0))
    parts = [(st, w) for st, w in parts if w > 0]
    return _sum_times(parts)


def decode_time(spec: ModelSpec, gpu: GPU, tp: int, batch: float, context: float, weights_dtype: str = "auto",
                kv_cache_dtype: str = "auto", eff: Efficiency | None = None) -> StepTime:
    """One decode step at ``batch`` sequences of ``context`` tokens: :func:`step_time` of :func:`decode_cost`."""
    return step_time(decode_cost(spec, tp, batch, context, weights_dtype, kv_cache_dtype), gpu, tp,
                     scheme_for(spec, weights_dtype), eff)


def serving_step_time(spec: ModelSpec, gpu: GPU, tp: int, batch: float, prompt_tokens: int, output_tokens: int,
                      weights_dtype: str = "auto", kv_cache_dtype: str = "auto",
                      eff: Efficiency | None = None, others_only: bool = True) -> StepTime:
    """Mean step of continuous batching in steady state: the time between two tokens of a user (TPOT).

    ``batch`` requests generate at mean context P + O/2; each finishes after O steps, so n = B/O new
    prompts arrive per step and are prefilled beside the decodes (chunked prefill).  Between two
    tokens of one user only the other users' prompts count (n = (B − 1)/O, the default); n = B/O
    with ``others_only=False`` (the mean step over all work, for throughput).

    The prompts are not spread thinly over every step: a step holds ⌊n⌋ or ⌈n⌉ whole prompts, so
    the mean is (1 − f) · t(⌊n⌋ prompts) + f · t(⌈n⌉ prompts) with f = n − ⌊n⌋ (each t a
    :func:`mixed_cost` step).  Spreading n · P prompt tokens over every step would overstate the
    bytes of a MoE model: the experts a step touches grow concavely with its tokens, so 2,048 prompt
    tokens in one step read far fewer expert bytes than 20 in each of a hundred steps (Jensen).

    The lower bound must hold for any schedule the scheduler picks (prompts split into chunks, or
    bunched into one step), so it is taken apart: mean time ≥ max(mean compute, mean memory) +
    all-reduce.  Compute and all-reduce bytes grow linearly with tokens, so their mean is the
    spread-out figure whatever the schedule; every step reads at least the weights its decodes
    touch, so the memory term is the decode batch's GEMM bytes plus the attention bytes of decodes
    and prompts.  That is never above the mixture's own bound.
    """
    new_prompts = (batch - 1 if others_only else batch) / output_tokens
    whole = math.floor(new_prompts)
    frac = new_prompts - whole
    scheme = scheme_for(spec, weights_dtype)
    context = prompt_tokens + output_tokens / 2

    def with_prompts(k: int) -> StepTime:
        c = mixed_cost(spec, tp, batch, context, k * prompt_tokens, k, prompt_tokens, weights_dtype, kv_cache_dtype)
        return step_time(c, gpu, tp, scheme, eff)

    mean = with_prompts(whole) if frac <= 0 else _sum_times([(with_prompts(whole), 1 - frac),
                                                              (with_prompts(whole + 1), frac)])
    spread = mixed_cost(spec, tp, batch, context, new_prompts * prompt_tokens, new_prompts, prompt_tokens,
                        weights_dtype, kv_cache_dtype)
    floor = replace(spread, gemm_bytes=gemm_cost(spec, tp, batch, batch, weights_dtype).gemm_bytes)
    bound = step_time(floor, gpu, tp, scheme, eff).time_s_lower_bound
    return replace(mean, time_s_lower_bound=min(bound, mean.time_s_lower_bound))


def static_batch_latency(spec: ModelSpec, gpu: GPU, tp: int, batch: int, prompt_tokens: int, output_tokens: int,
                         weights_dtype: str = "auto", kv_cache_dtype: str = "auto", eff: Efficiency | None = None,
                         max_num_batched_tokens: int | None = None) -> tuple[float, float]:
    """(lower bound, expected) seconds for one static batch: prefill all prompts, then O decode steps.

    As vLLM's ``benchmark_latency``: the first token comes from the prefill step, then O − 1 decode
    steps at mean context P + O/2.  Decode time is convex in context, so the midpoint never
    overestimates the lower bound (Jensen).
    """
    pre = prefill_time(spec, gpu, tp, prompt_tokens, batch, max_num_batched_tokens, weights_dtype, kv_cache_dtype, eff)
    steps = max(0, output_tokens - 1)
    dec = decode_time(spec, gpu, tp, batch, prompt_tokens + output_tokens / 2, weights_dtype, kv_cache_dtype, eff)
    return pre.time_s_lower_bound + steps * dec.time_s_lower_bound, pre.time_s_expected + steps * dec.time_s_expected


# ---------------------------------------------------------------- critical batch


def critical_batch_size(spec: ModelSpec, gpu: GPU, tp: int = 1, weights_dtype: str = "auto",
                        scheme: Scheme | None = None) -> int | None:
    """Smallest decode batch at which the weight GEMMs turn compute-bound on this GPU.

    Solves GEMM FLOPs(B) ÷ peak ≥ GEMM bytes(B) ÷ bandwidth (KV traffic left out: it grows with
    batch too, and attention stays memory-bound, so this is where the weights stop being the cost).
    Dense 16-bit weights: B* ≈ ridge × bytes per weight ÷ 2 (≈ 295 on an H100 in bf16); MoE
    layers read more experts as B grows, which pushes B* up.  None if no batch up to 2^24 does: a
    GEMM's intensity can never exceed rows · cols / (rows + cols) FLOPs per activation byte, and thin
    expert shards under a wide TP stay below a high ridge (DeepSeek-V3's 256-row shards at TP8 in fp8).
    """
    s = scheme or scheme_for(spec, weights_dtype)
    peak, _ = peak_flops(gpu, s.compute_dtype)
    bw = gpu.bandwidth_bytes_per_s

    def compute_bound(b: int) -> bool:
        c = gemm_cost(spec, tp, b, b, s.weights_dtype)
        return c.gemm_flops / peak >= c.gemm_bytes / bw

    hi = 1
    while not compute_bound(hi):
        hi *= 2
        if hi > 1 << 24:
            return None
    lo = hi // 2
    while lo + 1 < hi:
        mid = (lo + hi) // 2
        if compute_bound(mid):
            hi = mid
        else:
            lo = mid
    return hi


def critical_batch_sizes(spec: ModelSpec, gpu: GPU, tp: int = 1) -> dict[str, int | None]:
    """:func:`critical_batch_size` for W16A16, W8A16, W4A16 and FP8 (W8A8); None where not applicable."""
    out: dict[str, int | None] = {}
    for name, (wd, cd) in SCHEMES.items():
        try:
            peak_flops(gpu, cd)
            out[name] = critical_batch_size(spec, gpu, tp, scheme=Scheme(name, wd, cd))
        except CalcError:
            out[name] = None
    return out


# ---------------------------------------------------------------- the calculator


@dataclass(frozen=True)
class CurvePoint:
    """One batch size of the latency/throughput curve (expected figures)."""

    batch: int
    ttft_s: float  # as a client sees it: the engine's TTFT + the API server's time (Efficiency.ttft_overhead_s)
    tpot_s: float
    tpot_s_lower_bound: float
    output_tokens_per_s: float  # per replica (tp GPUs); Little's law on the engine's TTFT (no server time)
    output_tokens_per_s_per_gpu: float
    output_tokens_per_s_per_user: float
    bound: str
    fits_kv: bool


@dataclass(frozen=True)
class Roofline:
    """Everything the ``roofline`` calculator reports for one model, GPU, TP and workload."""

    scheme: Scheme
    compute_dtype: str
    ridge_point: float
    critical_batch_size: int | None
    critical_batch_sizes: dict[str, int | None]
    decode: StepTime
    prefill: StepTime
    serving: StepTime
    ttft_s: float
    tpot_s: float
    output_tokens_per_s: float
    output_tokens_per_s_per_gpu: float
    output_tokens_per_s_per_user: float
    kv_max_batch: int
    weights_fit: bool
    curve: tuple[CurvePoint, ...]
    context_tokens: float


def ttft(spec: ModelSpec, gpu: GPU, tp: int, batch: int, prompt_tokens: int, output_tokens: int,
         weights_dtype: str = "auto", kv_cache_dtype: str = "auto", eff: Efficiency | None = None,
         max_num_batched_tokens: int | None = None) -> StepTime:
    """Time to first token of a request joining ``batch`` − 1 running ones: its prompt's chunked prefill,
    each step also carrying the others' decodes (at mean context P + O/2).  The engine's share only:
    callers that report a TTFT add ``eff.ttft_overhead_s`` (the API server's time, which holds no
    batch slot and so stays out of the throughput)."""
    m = max_num_batched_tokens or vllm.default_scheduler_limits(gpu)[0]
    running = min(batch - 1, m - 1)
    return prefill_time(spec, gpu, tp, prompt_tokens, 1, m, weights_dtype, kv_cache_dtype, eff,
                        running=running, context=prompt_tokens + output_tokens / 2)


def kv_max_batch(spec: ModelSpec, gpu: GPU, tp: int, prompt_tokens: int, output_tokens: int,
                 weights_dtype: str = "auto", kv_cache_dtype: str = "auto",
                 gpu_memory_utilization: float = 0.92, enforce_eager: bool = False) -> tuple[int, bool]:
    """(largest batch whose KV cache fits, weights fit) from :func:`calculators.vllm.fit` with
    max_model_len = P + O: ⌊max_concurrency⌋ (vLLM's own figure), capped by max_num_seqs
    (``enforce_eager``: no memory kept for CUDA graphs)."""
    f = vllm.fit(spec, gpu, tp=tp, gpu_memory_utilization=gpu_memory_utilization,
                 max_model_len=prompt_tokens + output_tokens, kv_cache_dtype=kv_cache_dtype,
                 weights_dtype=weights_dtype, enforce_eager=enforce_eager)
    weights_fit = f.weights_bytes_per_gpu < f.requested_bytes
    if f.available_kv_cache_bytes <= 0:
        return 0, weights_fit
    return min(int(f.max_concurrency), f.max_num_seqs), weights_fit


def curve_batches(limit: int, extra: tuple[int, ...] = ()) -> list[int]:
    """Powers of two up to ``limit`` (at least 1, at most 4096) plus ``extra`` sizes."""
    top = max(1, min(limit, 4096))
    out = {1 << i for i in range(13) if 1 << i <= top} | {b for b in extra if 1 <= b <= 4096}
    return sorted(out)


def curve_point(spec: ModelSpec, gpu: GPU, tp: int, batch: int, prompt_tokens: int, output_tokens: int,
                weights_dtype: str, kv_cache_dtype: str, eff: Efficiency | None, kv_limit: int,
                max_num_batched_tokens: int | None = None) -> CurvePoint:
    """Expected TTFT, TPOT and tokens/s at one batch size (continuous batching, steady state)."""
    st = serving_step_time(spec, gpu, tp, batch, prompt_tokens, output_tokens, weights_dtype, kv_cache_dtype, eff)
    first = ttft(spec, gpu, tp, batch, prompt_tokens, output_tokens, weights_dtype, kv_cache_dtype, eff,
                 max_num_batched_tokens)
    tpot = st.time_s_expected
    rate = throughput(batch, output_tokens, first.time_s_expected, tpot)
    extra = (eff or Efficiency()).ttft_overhead_s
    return CurvePoint(batch=batch, ttft_s=first.time_s_expected + extra, tpot_s=tpot,
                      tpot_s_lower_bound=st.time_s_lower_bound,
                      output_tokens_per_s=rate, output_tokens_per_s_per_gpu=rate / tp,
                      output_tokens_per_s_per_user=1.0 / tpot, bound=st.bound, fits_kv=batch <= kv_limit)


def throughput(batch: int, output_tokens: int, ttft_s: float, tpot_s: float) -> float:
    """Output tokens/s of one replica holding ``batch`` requests (Little's law).

    Each request lasts L = TTFT + (O − 1) · TPOT and yields O tokens: B · O ÷ L.
    """
    return batch * output_tokens / (ttft_s + (output_tokens - 1) * tpot_s)


def roofline(spec: ModelSpec, gpu: GPU, tp: int = 1, batch: int = 1, prompt_tokens: int = 1024,
             output_tokens: int = 256, weights_dtype: str = "auto", kv_cache_dtype: str = "auto",
             eff: Efficiency | None = None, max_num_batched_tokens: int | None = None) -> Roofline:
    """The roofline calculator: ridge point, critical batch, decode and prefill on the roofline,
    TTFT/TPOT/throughput at ``batch`` and as a curve over batch, and the KV-memory batch limit."""
    params.check_tp(spec, tp)
    for name, value, top in (("batch", batch, 1 << 20), ("prompt-tokens", prompt_tokens, 1 << 24),
                             ("output-tokens", output_tokens, 1 << 24)):
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= top:
            raise CalcError(name, f"must be a whole number from 1 to {top:,}, got {value!r}")
    e = eff or Efficiency()
    scheme = scheme_for(spec, weights_dtype)
    _, dtype_used = peak_flops(gpu, scheme.compute_dtype)
    context = prompt_tokens + output_tokens / 2
    dec = decode_time(spec, gpu, tp, batch, context, weights_dtype, kv_cache_dtype, eff)
    pre = prefill_time(spec, gpu, tp, prompt_tokens, 1, max_num_batched_tokens, weights_dtype, kv_cache_dtype, eff)
    serving = serving_step_time(spec, gpu, tp, batch, prompt_tokens, output_tokens, weights_dtype, kv_cache_dtype, eff)
    first = ttft(spec, gpu, tp, batch, prompt_tokens, output_tokens, weights_dtype, kv_cache_dtype, eff,
                 max_num_batched_tokens)
    limit, weights_fit = kv_max_batch(spec, gpu, tp, prompt_tokens, output_tokens, weights_dtype, kv_cache_dtype,
                                      enforce_eager=e.enforce_eager)
    batches = curve_batches(max(limit, batch), (batch, limit))
    curve = tuple(curve_point(spec, gpu, tp, b, prompt_tokens, output_tokens, weights_dtype, kv_cache_dtype, eff,
                              limit, max_num_batched_tokens) for b in batches)
    tpot = serving.time_s_expected
    rate = throughput(batch, output_tokens, first.time_s_expected, tpot)
    return Roofline(
        scheme=scheme,
        compute_dtype=dtype_used,
        ridge_point=ridge_point(gpu, dtype_used),
        critical_batch_size=critical_batch_size(spec, gpu, tp, weights_dtype),
        critical_batch_sizes=critical_batch_sizes(spec, gpu, tp),
        decode=dec,
        prefill=pre,
        serving=serving,
        ttft_s=first.time_s_expected + e.ttft_overhead_s,
        tpot_s=tpot,
        output_tokens_per_s=rate,
        output_tokens_per_s_per_gpu=rate / tp,
        output_tokens_per_s_per_user=1.0 / tpot,
        kv_max_batch=limit,
        weights_fit=weights_fit,
        curve=curve,
        context_tokens=context,
    )
