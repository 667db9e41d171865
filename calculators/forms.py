"""Calculator declarations: one per calculator, rendered as CLI commands, HTML forms and worker calls.

A :class:`Calculator` lists its inputs (``name`` = the CLI option name and the form field name),
its outputs (``name`` = the JSON field the CLI prints and the ``data-output`` of the page) and the
function that computes them from validated values.  :func:`run` is the single entry point the CLI,
the build hook and the browser worker call: it coerces raw values (strings from a form or argv,
or Python values), validates them against the declaration and returns a JSON-ready dict, or raises
:class:`~calculators.errors.CalcError` naming the field.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from calculators import charts, dtypes, hardware, memory, models, params, vllm
from calculators.errors import CalcError

GIB = 1 << 30
MAX_CONFIG_CHARS = 2_000_000


@dataclass(frozen=True)
class Input:
    """One input: ``kind`` is ``int``, ``float``, ``choice``, ``text``, ``bool`` or ``model``."""

    name: str
    label: str
    kind: str
    default: Any = None
    unit: str = ""
    minimum: float | None = None
    maximum: float | None = None
    step: float | None = None
    choices: Callable[[], list[tuple[str, str]]] | None = None  # (value, label) pairs
    help: str = ""
    optional: bool = False  # None (empty field) is allowed and means "vLLM's default"
    cli_only: bool = False  # not rendered in the page (e.g. --config FILE)
    page_only: bool = False  # not a CLI option (e.g. a pasted config.json)


@dataclass(frozen=True)
class Output:
    """One output: ``format`` is ``int``, ``bytes``, ``gib``, ``float``, ``ratio``, ``bool``, ``text``, ``code``."""

    name: str
    label: str
    format: str
    unit: str = ""
    explain: str = ""  # how it was computed: formula and config fields used


@dataclass(frozen=True)
class Calculator:
    name: str
    title: str
    summary: str
    inputs: tuple[Input, ...]
    outputs: tuple[Output, ...]
    compute: Callable[[dict[str, Any]], dict[str, Any]] = field(repr=False)
    needs_model: bool = True

    def input(self, name: str) -> Input:
        for i in self.inputs:
            if i.name == name:
                return i
        raise KeyError(name)


# ---------------------------------------------------------------- shared inputs


def _model_choices() -> list[tuple[str, str]]:
    return [(m, m) for m in models.preset_ids()]


def _gpu_choices() -> list[tuple[str, str]]:
    return [(g.id, g.name) for g in hardware.all_gpus()]


def _kv_choices() -> list[tuple[str, str]]:
    return [(d, d) for d in dtypes.KV_CACHE_DTYPES]


def _weights_choices() -> list[tuple[str, str]]:
    return [(k, f"{k}: {v}") for k, v in memory.WEIGHT_FORMATS.items()]


MODEL = Input("model", "Model", "model", "meta-llama/Llama-3.1-8B-Instruct", choices=_model_choices,
              help="A bundled config.json (Hugging Face repo id).")
CONFIG = Input("config", "config.json file", "text", None, optional=True, cli_only=True,
               help="Path to a Hugging Face config.json; overrides --model.")
CONFIG_TEXT = Input("config-json", "Paste a config.json", "text", None, optional=True, page_only=True,
                    help="Paste or drop a model's config.json; used instead of the preset when filled.")
TP = Input("tp", "Tensor-parallel GPUs", "int", 1, minimum=1, maximum=1024, step=1,
           help="GPUs one model replica is split across (vLLM --tensor-parallel-size).")
KV_DTYPE = Input("kv-cache-dtype", "KV cache dtype", "choice", "auto", choices=_kv_choices,
                 help="auto = the model's dtype; fp8 stores one byte per element.")
WEIGHTS_DTYPE = Input("weights-dtype", "Weights format", "choice", "auto", choices=_weights_choices,
                      help="auto = as the checkpoint ships (quantization_config), else its torch_dtype.")
GPU = Input("gpu", "GPU", "choice", "h100-sxm", choices=_gpu_choices, help="Datasheet figures, dense peaks.")


# ---------------------------------------------------------------- coercion


def _coerce(inp: Input, raw: Any) -> Any:
    if raw is None or (isinstance(raw, str) and raw.strip() == ""):
        if inp.optional:
            return None
        if inp.default is None:
            raise CalcError(inp.name, "is required")
        return inp.default
    if inp.kind in ("int", "float"):
        if isinstance(raw, bool):
            raise CalcError(inp.name, "must be a number")
        if isinstance(raw, str):
            text = raw.strip().replace("_", "").replace(",", "")
            if len(text) > 40:
                raise CalcError(inp.name, "is not a number")
            try:
                value: float = float(text)
            except ValueError:
                raise CalcError(inp.name, f"{raw[:40]!r} is not a number") from None
        elif isinstance(raw, (int, float)):
            value = raw
        else:
            raise CalcError(inp.name, f"must be a number, got {type(raw).__name__}")
        if not math.isfinite(value):
            raise CalcError(inp.name, "must be a finite number")
        if inp.minimum is not None and value < inp.minimum:
            raise CalcError(inp.name, f"must be at least {inp.minimum:g}, got {value:g}")
        if inp.maximum is not None and value > inp.maximum:
            raise CalcError(inp.name, f"must be at most {inp.maximum:g}, got {value:g}")
        if inp.kind == "int":
            if value != int(value):
                raise CalcError(inp.name, f"must be a whole number, got {value:g}")
            return int(value)
        return float(value)
    if inp.kind == "bool":
        if isinstance(raw, bool):
            return raw
        text = str(raw).strip().lower()
        if text in ("1", "true", "yes", "on"):
            return True
        if text in ("0", "false", "no", "off"):
            return False
        raise CalcError(inp.name, "must be true or false")
    if not isinstance(raw, str):
        raise CalcError(inp.name, f"must be text, got {type(raw).__name__}")
    if inp.kind in ("choice", "model"):
        text = raw.strip()
        allowed = [v for v, _ in inp.choices()] if inp.choices else []
        if inp.kind == "choice" and text.lower() not in [a.lower() for a in allowed]:
            raise CalcError(inp.name, f"unknown value {text[:40]!r}; choose one of {', '.join(allowed)}")
        if inp.kind == "model" and len(text) > 200:
            raise CalcError(inp.name, "is too long for a model id")
        return text.lower() if inp.kind == "choice" and inp.name != "model" else text
    if len(raw) > MAX_CONFIG_CHARS:
        raise CalcError(inp.name, f"is {len(raw):,} characters; the limit is {MAX_CONFIG_CHARS:,}")
    return raw


def validate(calc: Calculator, raw: Mapping[str, Any]) -> dict[str, Any]:
    """Coerce and check every declared input; unknown keys are an error."""
    if not isinstance(raw, Mapping):
        raise CalcError("input", "expected a mapping of input names to values")
    known = {i.name for i in calc.inputs}
    for key in raw:
        if key not in known:
            raise CalcError(str(key)[:40], f"is not an input of the {calc.name} calculator")
    return {i.name: _coerce(i, raw.get(i.name)) for i in calc.inputs}


def resolve_model(values: Mapping[str, Any]) -> models.ModelSpec:
    """The model from ``config-json`` text, a ``config`` file path (CLI only) or the ``model`` preset."""
    text = values.get("config-json")
    if text:
        return models.load_config_text(text)
    path = values.get("config")
    if path:
        try:
            with open(path, encoding="utf-8") as fh:
                content = fh.read(MAX_CONFIG_CHARS + 1)
        except OSError as exc:
            raise CalcError("config", f"cannot read {str(path)[:80]}: {exc.strerror or exc}") from None
        except UnicodeDecodeError:
            raise CalcError("config", f"{str(path)[:80]} is not UTF-8 text") from None
        return models.load_config_text(content, model_id=_id_from_path(str(path)))
    return models.load_preset(values["model"])


def _id_from_path(path: str) -> str:
    return path.replace("\\", "/").rsplit("/", 2)[-2] if "/" in path else "local-model"


def resolve_gpu(values: Mapping[str, Any]) -> hardware.GPU:
    if values.get("gpu-memory-gib") is not None:
        return hardware.custom_gpu(values["gpu-memory-gib"])
    return hardware.get_gpu(values["gpu"])


def run(name: str, raw: Mapping[str, Any]) -> dict[str, Any]:
    """Validate ``raw`` for calculator ``name`` and compute its outputs (a JSON-ready dict)."""
    calc = CALCULATORS.get(name)
    if calc is None:
        raise CalcError("calculator", f"unknown calculator {str(name)[:40]!r}; known: {', '.join(CALCULATORS)}")
    values = validate(calc, raw)
    return calc.compute(values)


def run_safely(name: str, raw: Mapping[str, Any]) -> dict[str, Any]:
    """:func:`run` for the browser: ``{"ok": true, "result": …}`` or ``{"ok": false, "field", "message"}``.

    Any unexpected exception becomes a message too: the page never shows a traceback.
    """
    try:
        return {"ok": True, "result": run(name, raw)}
    except CalcError as exc:
        return {"ok": False, "field": exc.field, "message": exc.message}
    except (RecursionError, MemoryError, OverflowError, ValueError, TypeError, KeyError) as exc:
        return {"ok": False, "field": "input", "message": f"could not compute this input ({type(exc).__name__})"}


# ---------------------------------------------------------------- computations


def _assumptions(spec: models.ModelSpec) -> list[str]:
    return list(spec.assumptions)


def _params(v: dict[str, Any]) -> dict[str, Any]:
    spec = resolve_model(v)
    p = params.count_params(spec)
    return {
        "model": spec.model_id,
        "model_type": spec.model_type,
        "params_total": p.total,
        "params_active": p.active,
        "params_embedding": p.embedding,
        "params_mtp": p.mtp,
        "assumptions": _assumptions(spec),
    }


def _kv(v: dict[str, Any]) -> dict[str, Any]:
    spec = resolve_model(v)
    tokens = v["tokens"]
    per_layer = memory.kv_bytes_per_token_per_layer(spec, v["kv-cache-dtype"], v["tp"])
    return {
        "model": spec.model_id,
        "attention": "MLA" if spec.mla else ("MHA" if spec.num_kv_heads == spec.num_attention_heads else
                                             "MQA" if spec.num_kv_heads == 1 else "GQA"),
        "kv_cache_dtype": v["kv-cache-dtype"],
        "tp": v["tp"],
        "tokens": tokens,
        "layers": spec.num_layers,
        "sliding_window_layers": sum(1 for w in spec.layer_windows if w is not None),
        "bytes_per_token_per_layer": per_layer,
        "bytes_per_token": memory.kv_bytes_per_token(spec, v["kv-cache-dtype"], v["tp"]),
        "bytes_per_sequence": memory.kv_bytes_per_sequence(spec, tokens, v["kv-cache-dtype"], v["tp"]),
        "assumptions": _assumptions(spec),
    }


def _memory(v: dict[str, Any]) -> dict[str, Any]:
    spec = resolve_model(v)
    p = params.count_params(spec)
    w = memory.weights_memory(spec, v["weights-dtype"], tp=v["tp"])
    kv_tok = memory.kv_bytes_per_token(spec, v["kv-cache-dtype"], v["tp"])
    kv_seq = memory.kv_bytes_per_sequence(spec, v["tokens"], v["kv-cache-dtype"], v["tp"])
    batch = v["batch"]
    result = {
        "model": spec.model_id,
        "params_total": p.total,
        "params_active": p.active,
        "weights_format": w.format,
        "weights_bytes_total": w.bytes_total,
        "weights_bytes_per_gpu": w.bytes_per_gpu,
        "bytes_per_token": kv_tok,
        "bytes_per_sequence": kv_seq,
        "kv_bytes_batch": kv_seq * batch,
        "total_bytes_per_gpu": w.bytes_per_gpu + kv_seq * batch,
        "assumptions": _assumptions(spec),
    }
    result["chart_svg"] = charts.stacked_bar(
        [("Weights", w.bytes_per_gpu), (f"KV cache ({batch} × {v['tokens']:,} tokens)", kv_seq * batch)],
        title="Memory per GPU",
    )
    return result


def _vllm(v: dict[str, Any]) -> dict[str, Any]:
    spec = resolve_model(v)
    gpu = resolve_gpu(v)
    f = vllm.fit(
        spec, gpu, tp=v["tp"], pp=v["pp"], gpu_memory_utilization=v["gpu-memory-utilization"],
        max_model_len=v["max-model-len"], kv_cache_dtype=v["kv-cache-dtype"], block_size=v["block-size"],
        max_num_batched_tokens=v["max-num-batched-tokens"], available_kv_cache_gib=v["available-kv-cache-gib"],
        weights_dtype=v["weights-dtype"],
    )
    parts = [
        ("Weights", f.weights_bytes_per_gpu),
        ("Activation peak", f.activation_peak_bytes),
        ("Non-torch", f.non_torch_bytes),
        ("CUDA graphs", f.cuda_graph_bytes),
        ("KV cache", max(f.available_kv_cache_bytes, 0)),
    ]
    if f.available_measured:
        parts = [("Weights", f.weights_bytes_per_gpu), ("KV cache (measured)", max(f.available_kv_cache_bytes, 0))]
    return {
        "model": spec.model_id,
        "gpu": gpu.id,
        "gpu_memory_gib": f.gpu_memory_bytes / GIB,
        "requested_gib": f.requested_bytes / GIB,
        "weights_gib_per_gpu": f.weights_bytes_per_gpu / GIB,
        "activation_peak_gib": f.activation_peak_bytes / GIB,
        "non_torch_gib": f.non_torch_bytes / GIB,
        "cuda_graph_gib": f.cuda_graph_bytes / GIB,
        "available_kv_cache_gib": f.available_kv_cache_bytes / GIB,
        "available_kv_cache_measured": f.available_measured,
        "bytes_per_token_per_gpu": f.bytes_per_token_per_gpu,
        "block_size": f.block_size,
        "kv_cache_groups": len(f.kv_groups),
        "num_gpu_blocks": f.num_gpu_blocks,
        "kv_cache_tokens": f.kv_cache_tokens,
        "max_model_len": f.max_model_len,
        "max_concurrency": f.max_concurrency,
        "kv_cache_needed_gib": f.kv_cache_needed_bytes / GIB,
        "estimated_max_model_len": f.estimated_max_model_len,
        "fits": f.fits,
        "advice": list(f.advice),
        "max_num_batched_tokens": f.max_num_batched_tokens,
        "serve_command": f.serve_command,
        "vllm_version": "0.29.0",
        "assumptions": _assumptions(spec),
        "chart_svg": charts.stacked_bar(parts, title="One GPU's memory as vLLM splits it", total=f.gpu_memory_bytes),
    }


def _gpus(v: dict[str, Any]) -> dict[str, Any]:
    return {"gpus": [g.as_dict() for g in hardware.all_gpus()]}


def _ridge(v: dict[str, Any]) -> dict[str, Any]:
    gpu = hardware.get_gpu(v["gpu"])
    dtype = v["compute-dtype"]
    flops = gpu.flops(dtype)
    return {
        "gpu": gpu.id,
        "name": gpu.name,
        "compute_dtype": dtype,
        "dense_flops": flops,
        "bandwidth_bytes_per_s": gpu.bandwidth_bytes_per_s,
        "ridge_point": gpu.ridge_point(dtype),
    }


_TOKENS = Input("tokens", "Tokens per sequence", "int", 8192, unit="tokens", minimum=0, maximum=1 << 30, step=1,
                help="Prompt plus generated tokens held in the cache for one sequence.")
_VLLM_INPUTS = (
    MODEL, CONFIG, CONFIG_TEXT, GPU,
    Input("gpu-memory-gib", "Custom GPU memory", "float", None, unit="GiB", minimum=0.001, maximum=100_000,
          optional=True, help="Total memory of a GPU not in the list, as CUDA reports it; overrides the GPU."),
    TP,
    Input("pp", "Pipeline-parallel stages", "int", 1, minimum=1, maximum=1024, step=1,
          help="vLLM --pipeline-parallel-size."),
    Input("gpu-memory-utilization", "GPU memory utilization", "float", 0.9, minimum=0.01, maximum=1.0, step=0.01,
          help="Fraction of each GPU's memory vLLM may use (--gpu-memory-utilization)."),
    Input("max-model-len", "Max model length", "int", None, unit="tokens", minimum=1, maximum=1 << 31, step=1,
          optional=True, help="Longest request (prompt + output); empty = the model's max_position_embeddings."),
    KV_DTYPE,
    Input("block-size", "Block size", "int", None, unit="tokens", minimum=1, maximum=1 << 16, step=1, optional=True,
          help="Tokens per KV block; empty = vLLM's default (16; 64 or 128 for MLA backends)."),
    Input("max-num-batched-tokens", "Max batched tokens", "int", None, unit="tokens", minimum=1, maximum=1 << 24,
          step=1, optional=True, help="Tokens per scheduler step; empty = vllm serve's default for this GPU."),
    Input("available-kv-cache-gib", "Measured available KV memory", "float", None, unit="GiB", minimum=0,
          maximum=100_000, optional=True,
          help="The 'Available KV cache memory' vLLM logged; when given, replaces the estimate."),
    WEIGHTS_DTYPE,
)

CALCULATORS: dict[str, Calculator] = {
    c.name: c
    for c in (
        Calculator(
            "params", "Parameter count", "Total and active parameters from config.json.",
            (MODEL, CONFIG, CONFIG_TEXT),
            (
                Output("params_total", "Total parameters", "int", "params",
                       "Σ rows × cols of every weight tensor (embeddings, attention, MLP/experts, norms, head; "
                       "tied embeddings once)"),
                Output("params_active", "Active parameters per token", "int", "params",
                       "total − routed experts × (1 − experts_per_token / num_experts)"),
            ),
            _params,
        ),
        Calculator(
            "kv", "KV cache size", "Bytes of KV cache per token and per sequence.",
            (MODEL, CONFIG, CONFIG_TEXT, KV_DTYPE, TP, _TOKENS),
            (
                Output("bytes_per_token", "KV cache per token", "bytes", "B",
                       "layers × 2 × max(1, num_key_value_heads ÷ tp) × head_dim × dtype bytes; "
                       "MLA: layers × (kv_lora_rank + qk_rope_head_dim) × dtype bytes"),
                Output("bytes_per_sequence", "KV cache per sequence", "bytes", "B",
                       "Σ over layers of min(tokens, sliding_window) × bytes per token per layer"),
            ),
            _kv,
        ),
        Calculator(
            "memory", "Model memory and KV cache", "Weights and KV cache per GPU for a model, precision and batch.",
            (MODEL, CONFIG, CONFIG_TEXT, WEIGHTS_DTYPE, KV_DTYPE, TP, _TOKENS,
             Input("batch", "Concurrent sequences", "int", 1, minimum=1, maximum=1 << 20, step=1,
                   help="Sequences whose KV cache is held at once.")),
            (
                Output("params_total", "Total parameters", "int", "params",
                       "Σ rows × cols of every weight tensor (tied embeddings once)"),
                Output("weights_bytes_per_gpu", "Weights per GPU", "bytes", "B",
                       "Σ tensor shards per GPU × bytes per element, plus quantization scales and zero points"),
                Output("bytes_per_token", "KV cache per token", "bytes", "B",
                       "layers × 2 × max(1, num_key_value_heads ÷ tp) × head_dim × dtype bytes (MLA: one latent)"),
                Output("kv_bytes_batch", "KV cache for the batch", "bytes", "B",
                       "batch × Σ over layers of min(tokens, window) × bytes per token per layer"),
                Output("total_bytes_per_gpu", "Weights + KV per GPU", "bytes", "B",
                       "weights per GPU + KV cache for the batch (activations and runtime overheads not included)"),
            ),
            _memory,
        ),
        Calculator(
            "vllm", "Will it fit on vLLM?",
            "vLLM's start-up memory report: KV blocks, tokens, concurrency, serve command.",
            _VLLM_INPUTS,
            (
                Output("weights_gib_per_gpu", "Weights per GPU", "gib", "GiB",
                       "tensor-parallel shards of every weight on the busiest GPU, quantization scales included"),
                Output("available_kv_cache_gib", "Available KV cache memory", "gib", "GiB",
                       "GPU memory × utilization − weights − activation peak − non-torch − CUDA graphs "
                       "(or the measured value)"),
                Output("bytes_per_token_per_gpu", "KV cache per token per GPU", "bytes", "B",
                       "2 × kv heads per GPU × head_dim × dtype bytes × layers (MLA: latent, not split by TP)"),
                Output("num_gpu_blocks", "KV cache blocks", "int", "blocks",
                       "⌊available ÷ (block_size × bytes per token per layer × layers per group)⌋"),
                Output("kv_cache_tokens", "GPU KV cache size", "int", "tokens",
                       "vLLM 0.29: ⌊max concurrency × max_model_len⌋"),
                Output("max_concurrency", "Maximum concurrency", "ratio", "×",
                       "blocks ÷ blocks one max_model_len request needs"),
                Output("kv_cache_needed_gib", "KV cache one full-length request needs", "gib", "GiB",
                       "⌈max_model_len ÷ block_size⌉ blocks × block bytes (sliding layers: their window)"),
                Output("estimated_max_model_len", "Longest max-model-len that fits", "int", "tokens",
                       "binary search for the longest request whose KV cache fits, as vLLM does"),
                Output("fits", "Fits", "bool", "", "available KV memory ≥ what one max_model_len request needs"),
                Output("serve_command", "Command", "code", "", "vllm serve with the non-default flags above"),
            ),
            _vllm,
        ),
        Calculator(
            "ridge", "GPU ops:byte (ridge point)",
            "Peak FLOP/s ÷ memory bandwidth: the arithmetic intensity where a GPU turns compute-bound.",
            (GPU, Input("compute-dtype", "Compute dtype", "choice", "bf16",
                        choices=lambda: [(k, k) for k in hardware.FLOPS_KEYS],
                        help="Tensor-core dtype of the matrix products (dense peak).")),
            (
                Output("dense_flops", "Dense peak", "flops", "FLOP/s", "datasheet dense (not sparse) peak"),
                Output("bandwidth_bytes_per_s", "Memory bandwidth", "bandwidth", "B/s", "datasheet peak bandwidth"),
                Output("ridge_point", "Ridge point", "float", "FLOP/byte", "dense peak FLOP/s ÷ bandwidth B/s"),
            ),
            _ridge,
            needs_model=False,
        ),
        Calculator(
            "gpus", "GPU presets", "Every GPU preset with its datasheet figures.", (), (), _gpus, needs_model=False,
        ),
    )
}
