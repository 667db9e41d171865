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
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from calculators import (
    calibrate,
    charts,
    deploy,
    dtypes,
    hardware,
    memory,
    models,
    params,
    planner,
    roofline,
    simulate,
    vllm,
)
from calculators.errors import CalcError

GIB = 1 << 30
MAX_CONFIG_CHARS = 2_000_000


@dataclass(frozen=True)
class FileDrop:
    """A text input the page also fills from a chosen or dropped file (read in the browser, never uploaded).

    ``what`` names the file in the placeholder and messages, ``label`` is the file picker's label,
    ``max_chars`` the most characters the page reads, ``too_big`` what it says after the file's name when
    a file is larger. ``in_link``: a short enough text may go in the page's link (else it never does, nor
    is it taken from one).
    """

    what: str
    label: str
    max_chars: int
    too_big: str
    accept: str = ".json,application/json"
    in_link: bool = False


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
    advanced: bool = False  # the page folds it under "More options" (the CLI is unchanged)
    file: FileDrop | None = None  # the page adds a file picker and a drop zone (a text input)


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


#: the page's model picker groups presets by family: language-model ``model_type`` → label
#: (types not listed, or a record that cannot be read, go to "Other"; the CLI takes any id)
MODEL_FAMILIES: dict[str, str] = {
    **dict.fromkeys(("llama", "llama4", "llama4_text"), "Llama"),
    **dict.fromkeys(("qwen2", "qwen3", "qwen2_moe", "qwen3_moe", "qwen2_5_vl", "qwen2_5_vl_text", "qwen3_vl_text"),
                    "Qwen"),
    **dict.fromkeys(("deepseek_v2", "deepseek_v3", "deepseek_v32", "kimi_k2"), "DeepSeek / Kimi (MLA)"),
    **dict.fromkeys(("glm4_moe_lite", "glm_moe_dsa"), "GLM"),
    "ministral3": "Mistral",
    **dict.fromkeys(("qwen3_5_text", "qwen3_5_moe_text"), "Hybrid (Mamba / linear attention)"),
    **dict.fromkeys(("gemma", "gemma2", "gemma3", "gemma3_text", "gemma4", "gemma4_text"), "Gemma"),
    **dict.fromkeys(("mistral", "mixtral"), "Mistral"),
    "gpt_oss": "gpt-oss",
    **dict.fromkeys(("glm", "glm4", "glm4_moe"), "GLM"),
    "minimax_m2": "MiniMax",
    **dict.fromkeys(("ernie4_5", "ernie4_5_moe"), "ERNIE"),
    **dict.fromkeys(("phi", "phi3", "phimoe"), "Phi"),
    "smollm3": "SmolLM",
    "mimo": "MiMo",
    **dict.fromkeys(("jamba", "bamba", "zamba2", "mamba", "mamba2", "falcon_h1", "nemotron_h", "granitemoehybrid",
                     "qwen3_next", "kimi_linear", "minimax", "lfm2"), "Hybrid (Mamba / linear attention)"),
    **dict.fromkeys(("gpt_neox", "opt", "starcoder2", "olmo", "olmo2"), "Classic (GPT-NeoX, OPT, StarCoder2, OLMo)"),
}


def model_groups(choices: list[tuple[str, str]] | None = None) -> list[tuple[str, list[tuple[str, str]]]]:
    """``choices`` (default: every preset) as ``(family, [(value, label), …])``, families A–Z, "Other" last."""
    groups: dict[str, list[tuple[str, str]]] = {}
    for value, label in _model_choices() if choices is None else choices:
        try:
            config = models.preset_record(value)["config"]
            inner = config.get("text_config")
            model_type = config.get("model_type")
            if isinstance(inner, dict) and "num_hidden_layers" not in config:
                model_type = inner.get("model_type") or models.WRAPPERS.get(str(model_type), "")
            family = MODEL_FAMILIES.get(str(model_type), "Other")
        except (CalcError, OSError, ValueError, KeyError, TypeError, AttributeError):
            family = "Other"
        groups.setdefault(family, []).append((value, label))
    return sorted(groups.items(), key=lambda g: (g[0] == "Other", g[0].casefold()))


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
                    help="Paste or drop a model's config.json; used instead of the preset when filled.",
                    file=FileDrop("config.json", "Or choose a config.json file", MAX_CONFIG_CHARS,
                                  "is larger than 2 MB; a config.json is a few KB.", in_link=True))
ASSUME_LLAMA = Input("assume-llama-like", "Assume Llama-like", "bool", False,
                     help="Read a model_type we do not model as a Llama-like decoder; "
                     "every figure is then an estimate.")
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
            if len(text) > 40 or not text.isascii():
                # Python's float() reads any Unicode digit ("𝟐", "٣"); the page reads ASCII only
                raise CalcError(inp.name, f"{raw[:40]!r} is not a number (write it with the digits 0-9)")
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
    limit = inp.file.max_chars if inp.file is not None else MAX_CONFIG_CHARS
    if len(raw) > limit:
        raise CalcError(inp.name, f"is {len(raw):,} characters; the limit is {limit:,}")
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
        return models.load_config_text(text, assume_llama_like=bool(values.get("assume-llama-like")))
    path = values.get("config")
    if path is not None and not str(path).strip():
        raise CalcError("config", "is empty: give the path of a config.json or of a checkpoint folder")
    if path:
        # a checkpoint folder or its config.json; a ModelOpt hf_quant_config.json beside it is read too
        # (vLLM get_config: "ModelOpt 0.29.0 and before saves the quantization config in a separate
        # hf_quant_config.json")
        path = str(path)
        try:
            if os.path.isdir(path):
                path = os.path.join(path, "config.json")
            sibling = os.path.join(os.path.dirname(path), "hf_quant_config.json")
            quant = _read_text(sibling) if os.path.isfile(sibling) else None
        except ValueError:  # e.g. a NUL byte in the path
            raise CalcError("config", f"{path[:80]!r} is not a usable file path") from None
        return models.load_config_text(
            _read_text(path), assume_llama_like=bool(values.get("assume-llama-like")), hf_quant_config=quant,
            fallback_id=os.path.abspath(os.path.dirname(path) or "."),
        )
    return models.load_preset(values["model"])


def _read_text(path: str, limit: int = MAX_CONFIG_CHARS) -> str:
    """A regular UTF-8 file of at most ``limit`` characters (never a FIFO or a device)."""
    try:
        regular = os.path.isfile(path)
    except ValueError:  # e.g. a NUL byte in the path
        raise CalcError("config", f"{path[:80]!r} is not a usable file path") from None
    if not regular:
        raise CalcError("config", f"{path[:80]} is not a regular file (or does not exist)")
    try:
        with open(path, encoding="utf-8") as fh:
            text = fh.read(limit + 1)
    except OSError as exc:
        raise CalcError("config", f"cannot read {path[:80]}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise CalcError("config", f"{path[:80]} is not UTF-8 text") from None
    except ValueError:  # e.g. a NUL byte in the path
        raise CalcError("config", f"{path[:80]!r} is not a usable file path") from None
    if limit != MAX_CONFIG_CHARS and len(text) > limit:
        raise CalcError("config", f"{path[:80]} is longer than {limit:,} characters")
    return text


def resolve_gpu(values: Mapping[str, Any]) -> hardware.GPU:
    if values.get("gpu-memory-gib") is not None:
        return hardware.custom_gpu(values["gpu-memory-gib"])
    return hardware.get_gpu(values["gpu"])


def key_values(pairs: list[str], what: str = "key") -> dict[str, str]:
    """``["a=1", "b=x"]`` → ``{"a": "1", "b": "x"}``: the options of a page marker or a figure.
    ValueError ("expected {what}=value, got …") for a word without ``=``."""
    out: dict[str, str] = {}
    for pair in pairs:
        key, eq, value = pair.partition("=")
        if not eq:
            raise ValueError(f"expected {what}=value, got {pair!r}")
        out[key] = value
    return out


def run(name: str, raw: Mapping[str, Any]) -> dict[str, Any]:
    """Validate ``raw`` for calculator ``name`` and compute its outputs (a JSON-ready dict)."""
    calc = CALCULATORS.get(name)
    if calc is None:
        raise CalcError("calculator", f"unknown calculator {str(name)[:40]!r}; known: {', '.join(CALCULATORS)}")
    values = validate(calc, raw)
    out = calc.compute(values)
    if calc.needs_model:
        # a model read as Llama-like on request: every figure is an estimate, and says so
        out["estimate"] = any(str(a).startswith("ESTIMATE") for a in out.get("assumptions", []))
    return out


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


def _timing_assumptions(spec: models.ModelSpec, *gpus: hardware.GPU) -> list[str]:
    """The model's assumptions and what the step model says of its layer kinds and of the GPUs
    (latency calculators)."""
    return _assumptions(spec) + roofline.step_model_caveats(spec, gpus)


def _gpus_shown(gpus: list[hardware.GPU] | None, recommended: str | None) -> list[hardware.GPU]:
    """The GPU a planner was asked for, or with --gpu all the recommended one (none if nothing is)."""
    return gpus or ([hardware.get_gpu(recommended)] if recommended else [])


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
        "attention_layers": len(spec.attention_layers),
        "state_layers": len(spec.ssm_layers),
        "state_bytes_per_sequence": memory.ssm_state_bytes_per_sequence(spec, v["tp"]),
        "indexer_bytes_per_token_per_layer": (spec.indexer.head_dim + 4) if spec.indexer else 0,
        "sliding_window_layers": sum(1 for w in spec.attention_windows if w is not None),
        "sliding_window": max((w for w in spec.attention_windows if w is not None), default=None),
        "num_attention_heads": spec.num_attention_heads,
        "num_kv_heads": spec.num_kv_heads,
        "head_dim": spec.head_dim,
        # Gemma 4: the full-attention layers' own shapes (None when they match the others)
        "full_attention_num_kv_heads": spec.full_kv_heads or None,
        "full_attention_head_dim": spec.full_head_dim or None,
        "full_attention_bytes_per_token_per_layer": (
            memory.kv_bytes_per_token_per_layer(spec, v["kv-cache-dtype"], v["tp"], spec.layer_windows.index(None))
            if spec.full_head_dim and None in spec.layer_windows else None
        ),
        "kv_lora_rank": spec.mla.kv_lora_rank if spec.mla else None,
        "qk_rope_head_dim": spec.mla.qk_rope_head_dim if spec.mla else None,
        "bytes_per_sequence_full_attention": memory.kv_bytes_per_token(spec, v["kv-cache-dtype"], v["tp"]) * tokens,
        "bytes_per_token_per_layer": per_layer,
        "bytes_per_token": memory.kv_bytes_per_token(spec, v["kv-cache-dtype"], v["tp"]),
        "bytes_per_sequence": memory.kv_bytes_per_sequence(spec, tokens, v["kv-cache-dtype"], v["tp"]),
        "assumptions": _assumptions(spec),
        "chart_svg": _kv_context_chart(spec, v, tokens),
    }


def _kv_context_chart(spec: models.ModelSpec, v: dict[str, Any], tokens: int) -> str:
    """KV cache per sequence from 1k tokens up to the model's longest context (chart_svg of kv)."""
    lengths = charts.context_lengths(spec.max_len, tokens)
    kv = [memory.kv_bytes_per_sequence(spec, n, v["kv-cache-dtype"], v["tp"]) for n in lengths]
    return charts.context_chart(lengths, kv, f"KV cache per sequence against context length, {spec.model_id}",
                                marker=tokens, marker_label=f"{tokens:,} tokens")


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
        "weights_bits_per_param": 8 * w.bytes_total / p.total,
        "bytes_per_token": kv_tok,
        "bytes_per_sequence": kv_seq,
        "kv_bytes_batch": kv_seq * batch,
        "total_bytes_per_gpu": w.bytes_per_gpu + kv_seq * batch,
        "assumptions": _assumptions(spec),
    }
    gpu = resolve_gpu(v) if v.get("gpu") or v.get("gpu-memory-gib") else None  # capacity line, if given a GPU
    result["chart_svg"] = charts.stacked_bar(
        [("Weights", w.bytes_per_gpu), (f"KV cache ({batch} × {v['tokens']:,} tokens)", kv_seq * batch)],
        title="Memory per GPU", total=gpu.memory_bytes if gpu else None,
    )
    return result


def _vllm(v: dict[str, Any]) -> dict[str, Any]:
    spec = resolve_model(v)
    gpu = resolve_gpu(v)
    f = vllm.fit(
        spec, gpu, tp=v["tp"], pp=v["pp"], gpu_memory_utilization=v["gpu-memory-utilization"],
        max_model_len=v["max-model-len"], kv_cache_dtype=v["kv-cache-dtype"], block_size=v["block-size"],
        max_num_batched_tokens=v["max-num-batched-tokens"], available_kv_cache_gib=v["available-kv-cache-gib"],
        weights_dtype=v["weights-dtype"], vllm_version=v["vllm-version"], mamba_mode=v["mamba-cache-mode"],
        max_num_seqs=v["max-num-seqs"], enforce_eager=bool(v["enforce-eager"]),
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
        "verdict": f.verdict,
        "available_kv_cache_gib": max(f.available_kv_cache_bytes, 0) / GIB,
        "short_by_gib": max(f.kv_cache_needed_bytes - max(f.available_kv_cache_bytes, 0), 0) / GIB,
        "available_kv_cache_measured": f.available_measured,
        "bytes_per_token_per_gpu": f.bytes_per_token_per_gpu,
        "block_size": f.block_size,
        "page_size_bytes": f.page_size_bytes,
        "kv_cache_groups": len(f.kv_groups),
        "num_gpu_blocks": f.num_gpu_blocks,
        "kv_cache_tokens": f.kv_cache_tokens,
        "max_model_len": f.max_model_len,
        "max_concurrency": f.max_concurrency,
        "kv_cache_needed_gib": f.kv_cache_needed_bytes / GIB,
        "estimated_max_model_len": f.estimated_max_model_len,
        "fits": f.fits,
        "advice": list(f.refusals) + list(f.advice),
        "warnings": list(f.warnings),
        "max_num_batched_tokens": f.max_num_batched_tokens,
        "serve_command": f.serve_command,
        "vllm_version": f.vllm_version,
        "gpu_memory_utilization": f.gpu_memory_utilization,
        "mamba_cache_mode": f.mamba_cache_mode,
        "ssm_state_bytes_per_sequence": memory.ssm_state_bytes_per_sequence(spec, v["tp"]),
        "assumptions": _assumptions(spec),
        "chart_svg": charts.stacked_bar(parts, title="One GPU's memory as vLLM splits it", total=f.gpu_memory_bytes)
        + _vllm_context_chart(spec, f),
    }


def _vllm_context_chart(spec: models.ModelSpec, f: vllm.VLLMFit) -> str:
    """KV cache one request needs and vLLM's maximum concurrency against max_model_len, for the
    blocks this configuration has (chart_svg of vllm, after the memory bar)."""
    lengths = charts.context_lengths(spec.max_len, f.max_model_len)
    version = vllm.parse_version(f.vllm_version)
    mode = f.mamba_cache_mode or "none"
    mnbt = f.max_num_batched_tokens
    kv = [f.group_size * f.page_size_bytes * vllm.blocks_per_request(f.kv_groups, n, f.block_size, mnbt, mode)
          for n in lengths]
    conc = [vllm.max_concurrency(f.num_gpu_blocks, f.kv_groups, f.block_size, n, mnbt, version, mode)
            for n in lengths]
    return charts.context_chart(lengths, kv, "KV cache per request and maximum concurrency against max-model-len",
                                concurrency=conc, marker=f.max_model_len,
                                marker_label=f"{f.max_concurrency:,.2f}× at {f.max_model_len:,}")


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
    MODEL, CONFIG, CONFIG_TEXT, ASSUME_LLAMA, GPU,
    Input("gpu-memory-gib", "Custom GPU memory", "float", None, unit="GiB", minimum=0.001, maximum=100_000,
          optional=True, advanced=True,
          help="Total memory of a GPU not in the list, as CUDA reports it; overrides the GPU."),
    TP,
    Input("pp", "Pipeline-parallel stages", "int", 1, minimum=1, maximum=1024, step=1, advanced=True,
          help="vLLM --pipeline-parallel-size."),
    Input("gpu-memory-utilization", "GPU memory utilization", "float", None, minimum=0.01, maximum=1.0, step=0.01,
          optional=True, help="Fraction of each GPU's memory vLLM may use (--gpu-memory-utilization); empty = "
          "the version's default (0.92 since v0.25, 0.9 before)."),
    Input("max-model-len", "Max model length", "int", None, unit="tokens", minimum=1, maximum=1 << 31, step=1,
          optional=True, help="Longest request (prompt + output); empty = what vLLM derives from config.json "
          "(max_position_embeddings × RoPE scaling)."),
    KV_DTYPE,
    Input("block-size", "Block size", "int", None, unit="tokens", minimum=1, maximum=1 << 16, step=1, optional=True,
          advanced=True, help="Tokens per KV block; empty = vLLM's default (16; 64 or 128 for MLA backends)."),
    Input("max-num-batched-tokens", "Max batched tokens", "int", None, unit="tokens", minimum=1, maximum=1 << 24,
          step=1, optional=True, advanced=True,
          help="Tokens per scheduler step; empty = vllm serve's default for this GPU."),
    Input("max-num-seqs", "Max sequences", "int", None, unit="sequences", minimum=1, maximum=1 << 20, step=1,
          optional=True, advanced=True,
          help="Requests in one scheduler step (--max-num-seqs); empty = vllm serve's default."),
    Input("available-kv-cache-gib", "Measured available KV memory", "float", None, unit="GiB", minimum=0,
          maximum=100_000, optional=True, advanced=True,
          help="The 'Available KV cache memory' vLLM logged; when given, replaces the estimate."),
    WEIGHTS_DTYPE,
    Input("enforce-eager", "No CUDA graphs (--enforce-eager)", "bool", False, advanced=True,
          help="vLLM --enforce-eager: no memory kept for CUDA graphs, and the command carries the flag."),
    Input("vllm-version", "vLLM version", "choice", vllm.DEFAULT_VLLM_VERSION, choices=lambda: [
        (v, v) for v in vllm.SUPPORTED_VERSIONS], advanced=True, help="Release whose defaults and formulas to follow."),
    Input("mamba-cache-mode", "Mamba cache mode", "choice", "auto",
          choices=lambda: [(m, m) for m in ("auto", "none", "align", "all")], advanced=True,
          help="Hybrid Mamba / linear-attention models: vLLM's --mamba-cache-mode; auto = the version's default "
          "(prefix caching on since v0.28: all for Mamba2, align for Gated DeltaNet)."),
)

CALCULATORS: dict[str, Calculator] = {
    c.name: c
    for c in (
        Calculator(
            "params", "Parameter count", "Total and active parameters from config.json.",
            (MODEL, CONFIG, CONFIG_TEXT, ASSUME_LLAMA),
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
            (MODEL, CONFIG, CONFIG_TEXT, ASSUME_LLAMA, KV_DTYPE, TP, _TOKENS),
            (
                Output("bytes_per_token", "KV cache per token", "bytes", "B",
                       "attention layers × 2 × max(1, num_key_value_heads ÷ tp) × head_dim × dtype bytes; "
                       "MLA: layers × (kv_lora_rank + qk_rope_head_dim) × dtype bytes (+ 132 B of "
                       "DeepSeek sparse attention's indexer key)"),
                Output("bytes_per_sequence", "KV cache per sequence", "bytes", "B",
                       "Σ over attention layers of min(tokens, sliding_window) × bytes per token per layer, "
                       "+ the fixed state of Mamba / linear-attention layers"),
                Output("state_bytes_per_sequence", "Fixed state per sequence", "bytes", "B",
                       "Mamba / Gated DeltaNet layers × (conv state (kernel − 1) × conv_dim + recurrent "
                       "state heads × head_dim × state_size), per GPU; 0 for transformers"),
            ),
            _kv,
        ),
        Calculator(
            "memory", "Model memory and KV cache", "Weights and KV cache per GPU for a model, precision and batch.",
            (MODEL, CONFIG, CONFIG_TEXT, ASSUME_LLAMA, WEIGHTS_DTYPE, KV_DTYPE, TP, _TOKENS,
             Input("batch", "Concurrent sequences", "int", 1, minimum=1, maximum=1 << 20, step=1,
                   help="Sequences whose KV cache is held at once."),
             GPU),
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
                Output("verdict", "Verdict", "text", "",
                       "fits when one max_model_len request's KV cache fits in the available memory and vLLM "
                       "accepts the settings; else what is short, or why vLLM refuses"),
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
                       "vLLM ≥ 0.24: ⌊max concurrency × max_model_len⌋"),
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


# ---------------------------------------------------------------- roofline, capacity plan, deployment


def _roofline_weights_choices() -> list[tuple[str, str]]:
    return [(k, f"{k}: {memory.WEIGHT_FORMATS[k]}")
            for k in ("auto", "bfloat16", "float16", "fp8", "int8", "int4", "mxfp4")]


def _plan_gpu_choices() -> list[tuple[str, str]]:
    return [("all", "every GPU preset")] + _gpu_choices()


def _preset_choices() -> list[tuple[str, str]]:
    return [(k, k) for k in planner.PRESETS]


_R_WEIGHTS = Input("weights-dtype", "Weights format", "choice", "auto", choices=_roofline_weights_choices,
                   help="auto = as the checkpoint ships. bfloat16/float16: W16A16; int8, int4 (AWQ), mxfp4: "
                        "weight-only W8A16/W4A16; fp8: W8A8 on fp8 tensor cores.")
_BATCH = Input("batch", "Batch (concurrent sequences)", "int", 1, minimum=1, maximum=1 << 20, step=1,
               help="Sequences decoded together in one step.")
_PROMPT = Input("prompt-tokens", "Prompt tokens", "int", 1024, unit="tokens", minimum=1, maximum=1 << 24, step=1,
                help="Input tokens per request.")
_OUTPUT = Input("output-tokens", "Output tokens", "int", 256, unit="tokens", minimum=1, maximum=1 << 24, step=1,
                help="Generated tokens per request.")
_MBU = Input("mbu", "Memory bandwidth utilization", "float", roofline.DEFAULT_MBU, minimum=0.01, maximum=1.0, step=0.01,
             advanced=True,
             help="Fraction of datasheet bandwidth a step reaches (expected figure). Default 0.6: about 3/4 of the "
                  "82 % an 8192² GEMM reached on our H100/H200 (docs/data/measured); notes/roofline.md.")
_MFU = Input("mfu", "FLOPs utilization", "float", roofline.DEFAULT_MFU, minimum=0.01, maximum=1.0, step=0.01,
             advanced=True,
             help="Fraction of the dense peak a step reaches (expected figure). Default 0.5: about 0.7 × the 74-83 % "
                  "our measured GEMMs reached (fp8/bf16).")
_EAGER_STEP = Input("enforce-eager", "No CUDA graphs (--enforce-eager)", "bool", False, advanced=True,
                   help="The server runs with vLLM --enforce-eager: every layer launches its kernels from Python, "
                        "about 0.34 ms per layer per step (vllm-omni#7960; host-dependent).")
_TTFT_OVERHEAD = Input(
    "ttft-overhead-ms", "API server time per request", "float", 0.0, unit="ms", minimum=0.0, maximum=60_000.0,
    step=1.0, advanced=True,
    help="Time each request spends outside the GPU before its first token (vLLM's OpenAI server: request handling, "
         "tokenisation, streaming), added to TTFT and end-to-end latency. Default 0; published runs show a few to a "
         "few hundred ms (the accuracy page); calibrate measures it from your own run.")
_MNBT = Input("max-num-batched-tokens", "Max batched tokens", "int", None, unit="tokens", minimum=1, maximum=1 << 24,
              step=1, optional=True, advanced=True,
              help="Chunked-prefill budget per step; empty = vllm serve's default for this GPU.")


def _eff(v: dict[str, Any]) -> roofline.Efficiency:
    return roofline.Efficiency(mbu=v["mbu"], mfu=v["mfu"], enforce_eager=bool(v.get("enforce-eager", False)),
                               ttft_overhead_s=(v.get("ttft-overhead-ms") or 0.0) / 1000)


def _ttft_assumption(v: dict[str, Any]) -> str:
    """What a TTFT printed by a latency calculator holds besides the GPU's steps."""
    ms = v.get("ttft-overhead-ms") or 0.0
    if ms:
        return f"TTFT and end-to-end latency include {ms:g} ms of API server time per request (--ttft-overhead-ms)"
    return ("TTFT is the GPU's share: vLLM's API server adds request handling, tokenisation and streaming (a few to a "
            "few hundred ms in published runs); measure it with calibrate and pass --ttft-overhead-ms")


def _step(st: roofline.StepTime) -> dict[str, Any]:
    return dict(st.as_dict())


def _roofline(v: dict[str, Any]) -> dict[str, Any]:
    spec = resolve_model(v)
    gpu = hardware.get_gpu(v["gpu"])
    eff = _eff(v)
    r = roofline.roofline(spec, gpu, tp=v["tp"], batch=v["batch"], prompt_tokens=v["prompt-tokens"],
                          output_tokens=v["output-tokens"], weights_dtype=v["weights-dtype"],
                          kv_cache_dtype=v["kv-cache-dtype"], eff=eff,
                          max_num_batched_tokens=v["max-num-batched-tokens"])
    peak, _ = roofline.peak_flops(gpu, r.compute_dtype)
    ops = [(f"decode B={v['batch']}", r.decode.arithmetic_intensity, r.decode.cost.flops / r.decode.time_s_lower_bound),
           (f"prefill P={v['prompt-tokens']}", r.prefill.arithmetic_intensity,
            r.prefill.cost.flops / r.prefill.time_s_lower_bound)]
    fitting = [p for p in r.curve if p.fits_kv] or list(r.curve)
    chart = charts.roofline_chart(peak, gpu.bandwidth_bytes_per_s, ops,
                                  f"{spec.model_id} on {gpu.name}, {r.scheme.name}, TP{v['tp']} (per GPU)")
    chart += charts.batch_curve_chart([p.batch for p in fitting], [p.output_tokens_per_s for p in fitting],
                                      [p.tpot_s for p in fitting], "Throughput and time per token vs batch (expected)",
                                      kv_limit=r.kv_max_batch or None)
    return {
        "model": spec.model_id,
        "gpu": gpu.id,
        "tp": v["tp"],
        "batch": v["batch"],
        "prompt_tokens": v["prompt-tokens"],
        "output_tokens": v["output-tokens"],
        "weights_scheme": r.scheme.name,
        "compute_dtype": r.compute_dtype,
        "ridge_point": r.ridge_point,
        "critical_batch_size": r.critical_batch_size,
        "critical_batch_sizes": r.critical_batch_sizes,
        "decode": _step(r.decode),
        "prefill": _step(r.prefill),
        "ttft_s": r.ttft_s,
        "tpot_s": r.tpot_s,
        "tpot_s_lower_bound": r.serving.time_s_lower_bound,
        "output_tokens_per_s": r.output_tokens_per_s,
        "output_tokens_per_s_per_gpu": r.output_tokens_per_s_per_gpu,
        "output_tokens_per_s_per_user": r.output_tokens_per_s_per_user,
        "kv_max_batch": r.kv_max_batch,
        "weights_fit": r.weights_fit,
        "efficiency": {"mbu": eff.mbu, "mfu": eff.mfu, "link": eff.link,
                       "allreduce_latency_s": eff.allreduce_latency_s,
                       "moe_layer_overhead_s": eff.moe_layer_overhead_s, "enforce_eager": eff.enforce_eager,
                       "eager_layer_overhead_s": roofline.EAGER_LAYER_OVERHEAD_S,
                       "rocm_layer_overhead_s": eff.rocm_overhead_on(gpu),
                       "ttft_overhead_s": eff.ttft_overhead_s},
        "curve": [p.__dict__ for p in r.curve],
        "assumptions": _timing_assumptions(spec, gpu) + [
            f"decode at mean context prompt + output/2 = {r.context_tokens:g} tokens", _ttft_assumption(v),
            "tpot_s: continuous batching, each step also prefills the other users' new prompts",
        ],
        "chart_svg": chart,
    }


def _workload(v: dict[str, Any]) -> planner.Workload:
    preset = planner.PRESETS.get(v["preset"]) if v["preset"] else None
    users, rate, per_day = v["concurrent-users"], v["request-rate"], v["tokens-per-day"]
    if per_day is not None and (users is not None or rate is not None):
        raise CalcError("tokens-per-day",
                        "give either a batch job (--tokens-per-day) or users/--request-rate, not both")
    if users is not None and rate is not None:
        raise CalcError("request-rate", "give either --concurrent-users or --request-rate, not both")
    if preset is None and users is None and rate is None and per_day is None:
        raise CalcError("preset",
                        "give --preset chat|documents, --concurrent-users, --request-rate or --tokens-per-day")
    base = preset or planner.Workload("interactive", 1024, 256)
    kind = "batch" if per_day is not None else ("interactive" if users is not None or rate is not None else base.kind)
    return planner.Workload(
        kind=kind,
        prompt_tokens=v["prompt-tokens"] or base.prompt_tokens,
        output_tokens=v["output-tokens"] or base.output_tokens,
        concurrent_users=users if users is not None else (None if rate is not None else base.concurrent_users),
        request_rate_per_s=rate if rate is not None else (None if users is not None else base.request_rate_per_s),
        ttft_target_s=v["ttft-target-ms"] / 1000 if v["ttft-target-ms"] is not None else base.ttft_target_s,
        tpot_target_s=v["tpot-target-ms"] / 1000 if v["tpot-target-ms"] is not None else base.tpot_target_s,
        tokens_per_day=per_day if per_day is not None else (None if kind == "interactive" else base.tokens_per_day),
        deadline_hours=v["deadline-hours"] if v["deadline-hours"] is not None else base.deadline_hours,
    )


def _plan(v: dict[str, Any]) -> dict[str, Any]:
    spec = resolve_model(v)
    w = _workload(v)
    gpus = None if v["gpu"] == "all" else [hardware.get_gpu(v["gpu"])]
    p = planner.plan(spec, gpus, w, weights_dtype=v["weights-dtype"], kv_cache_dtype=v["kv-cache-dtype"],
                     eff=_eff(v), gpu_hour_price=v["gpu-hour-price"], max_tp=v["max-tp"])
    rec = p.options[p.recommended] if p.recommended is not None else None
    if rec is None:
        limits = sorted({o.binding_constraint for o in p.options})
        summary = ("no GPU × TP option meets the workload (limited by: " + ", ".join(limits) + "); try a larger "
                   "--max-tp, fp8 weights or KV cache, a looser TTFT/TPOT target, or another GPU")
    else:
        from calculators.display import human  # display imports this module

        name = hardware.get_gpu(rec.gpu).name
        cost = f", {human(rec.cost_per_hour, 'usd_per_hour')}" if rec.cost_per_hour is not None else ""
        summary = (f"{rec.replicas:,} × TP{rec.tp} {name} = {rec.gpus:,} GPUs; batch {rec.batch_per_replica or 0:,} "
                   f"per replica; TTFT {1000 * (rec.ttft_s or 0):,.0f} ms, TPOT {1000 * (rec.tpot_s or 0):,.1f} ms "
                   f"(limited by {rec.binding_constraint}){cost}")
    return {
        "model": spec.model_id,
        "workload": dict(w.__dict__),
        "options": [o.as_dict() for o in p.options],
        "recommended": p.recommended,
        "summary": summary,
        "recommended_option": rec.as_dict() if rec else None,
        "recommended_gpus": rec.gpus if rec else None,
        "recommended_cost_per_hour": rec.cost_per_hour if rec else None,
        "skipped": list(p.skipped),
        "options_table": options_table(p),
        "assumptions": _timing_assumptions(spec, *_gpus_shown(gpus, rec.gpu if rec else None)) + [_ttft_assumption(v)],
    }


#: columns of the page's table of plan options (``options_table``)
PLAN_COLUMNS = ("GPU", "TP", "Feasible", "Replicas", "GPUs", "Batch per replica", "TTFT", "TPOT", "Limited by",
                "Cost per hour", "Output tokens/s")


def options_table(p: planner.Plan) -> dict[str, Any]:
    """Every plan option as the page's table shows it: human units, the recommendation first, then the
    other feasible options by the same ranking (cost, else GPUs), then the infeasible ones.

    ``rows`` holds ``{"index": i in options, "recommended", "feasible", "cells": [text, …]}``.
    """
    from calculators.display import human  # display imports this module

    def rank(i: int) -> tuple[int, float, float, int]:
        o = p.options[i]
        main = o.cost_per_hour if o.cost_per_hour is not None else float(o.gpus or 0)
        return (0 if i == p.recommended else 1 if o.feasible else 2, main if o.feasible else 0.0,
                o.tpot_s or 0.0 if o.feasible else 0.0, i)

    def num(value: float | None) -> str:
        return "—" if value is None else f"{value:,.0f}"

    def ms(value: float | None) -> str:
        return "—" if value is None else f"{1000 * value:,.1f} ms"

    rows = []
    for i in sorted(range(len(p.options)), key=rank):
        o = p.options[i]
        try:
            gpu_name = hardware.get_gpu(o.gpu).name
        except CalcError:
            gpu_name = o.gpu
        per_s = (o.output_tokens_per_s_per_replica * o.replicas
                 if o.output_tokens_per_s_per_replica is not None and o.replicas is not None else None)
        cells = [gpu_name, str(o.tp), "yes" if o.feasible else "no", num(o.replicas), num(o.gpus),
                 num(o.batch_per_replica), ms(o.ttft_s), ms(o.tpot_s), o.binding_constraint or "—",
                 "—" if o.cost_per_hour is None else human(o.cost_per_hour, "usd_per_hour"), num(per_s)]
        rows.append({"index": i, "recommended": i == p.recommended, "feasible": o.feasible, "cells": cells})
    return {"columns": list(PLAN_COLUMNS), "rows": rows}


def _lengths(text: str, name: str) -> simulate.Lengths:
    """A distribution, or ``file:PATH`` (one length per line; a regular file, CLI only)."""
    if text.strip().lower().startswith("file:"):
        content = _read_text(text.strip()[5:])
        values = [x.strip() for x in content.replace(",", "\n").splitlines() if x.strip()]
        if not values:
            raise CalcError(name, "the file holds no lengths")
        return simulate.parse_lengths(",".join(values), name)
    return simulate.parse_lengths(text, name)


def _simulate(v: dict[str, Any]) -> dict[str, Any]:
    spec = resolve_model(v)
    gpu = resolve_gpu(v)
    if v["think-time-s"] and v["sessions"] is None:
        raise CalcError("think-time-s", "a think time needs --sessions (a closed loop)")
    r = simulate.simulate(
        spec, gpu, tp=v["tp"], pp=v["pp"], rate=None if v["sessions"] else v["rate"],
        concurrency=v["sessions"], think_s=v["think-time-s"], prompt=_lengths(v["prompt-tokens"], "prompt-tokens"),
        output=_lengths(v["output-tokens"], "output-tokens"), requests=v["requests"], max_num_seqs=v["max-num-seqs"],
        max_model_len=v["max-model-len"], max_num_batched_tokens=v["max-num-batched-tokens"], seed=v["seed"],
        weights_dtype=v["weights-dtype"], kv_cache_dtype=v["kv-cache-dtype"], prefix_hit=v["prefix-hit"],
        slo=simulate.parse_slo(v["slo"]) if v["slo"] else None, eff=_eff(v),
    )
    return {
        "model": spec.model_id,
        "gpu": gpu.id,
        "tp": v["tp"],
        "pp": v["pp"],
        "requests": r.requests,
        "duration_s": r.duration_s,
        "request_throughput_per_s": r.request_throughput_per_s,
        "output_tokens_per_s": r.output_tokens_per_s,
        "ttft_s": r.ttft_s.as_dict(),
        "tpot_s": r.tpot_s.as_dict(),
        "e2e_s": r.e2e_s.as_dict(),
        "ttft_p50_ms": 1000 * r.ttft_s.p50,
        "ttft_p99_ms": 1000 * r.ttft_s.p99,
        "tpot_p50_ms": 1000 * r.tpot_s.p50,
        "tpot_p99_ms": 1000 * r.tpot_s.p99,
        "preemptions": r.preemptions,
        "steps": r.steps,
        "kv_utilisation_mean": r.kv_utilisation_mean,
        "kv_utilisation_max": r.kv_utilisation_max,
        "num_gpu_blocks": r.num_gpu_blocks,
        "block_size": r.block_size,
        "max_num_seqs": r.max_num_seqs,
        "max_num_batched_tokens": r.max_num_batched_tokens,
        "slo_met": r.slo_met,
        "goodput_requests_per_s": r.goodput_requests_per_s,
        "kv_timeline": [list(p) for p in r.kv_timeline],
        "assumptions": _timing_assumptions(spec, gpu) + [
            f"step times from the roofline model of a mixed step (expected; MBU {v['mbu']:g}, MFU {v['mfu']:g})",
            _ttft_assumption(v),
            "one replica; " + ("closed loop of sessions with exponential think times" if v["sessions"]
                               else "Poisson arrivals") + "; recompute preemption from the tail of the running queue",
        ] + ([f"pipeline: {v['pp']} stages of ⌈layers ÷ {v['pp']}⌉ layers, up to {v['pp']} batches in flight, "
              "activations sent between stages"] if v["pp"] > 1 else []),
    }


#: columns of the page's table of simulated plans (``options_table`` of plan-sim)
PLAN_SIM_COLUMNS = ("GPU", "TP", "PP", "Weights", "Meets SLO", "Replicas", "GPUs", "Tail latency", "TTFT p99",
                    "TPOT p99", "Tokens/s per GPU", "Cost per hour", "Cost per 1M tokens", "Status")


def _dtypes_list(text: str) -> tuple[str, ...]:
    names = [t.strip().lower() for t in text.replace(";", ",").split(",") if t.strip()]
    allowed = [k for k, _ in _roofline_weights_choices()]
    if not names:
        raise CalcError("weights-dtypes", f"name one or more of {', '.join(allowed)}")
    for n in names:
        if n not in allowed:
            raise CalcError("weights-dtypes", f"unknown weights format {n[:20]!r}; choose from {', '.join(allowed)}")
    return tuple(dict.fromkeys(names))


def _plan_sim(v: dict[str, Any]) -> dict[str, Any]:  # noqa: PLR0915
    from calculators.display import human  # display imports this module

    spec = resolve_model(v)
    if v["sessions"] is not None:
        v = {**v, "rate": None}  # sessions replace the rate
    if v["think-time-s"] and v["sessions"] is None:
        raise CalcError("think-time-s", "a think time needs --sessions (a closed loop)")
    w = planner.ServingWorkload(
        prompt=_lengths(v["prompt-tokens"], "prompt-tokens"), output=_lengths(v["output-tokens"], "output-tokens"),
        rate_per_s=v["rate"], sessions=v["sessions"], think_s=v["think-time-s"], prefix_hit=v["prefix-hit"])
    slo = simulate.parse_slo(v["slo"])
    gpus = None if v["gpu"] == "all" else [hardware.get_gpu(v["gpu"])]
    prices = planner.parse_prices(v["gpu-prices"])
    r = planner.search(spec, gpus, w, slo, weights_dtypes=_dtypes_list(v["weights-dtypes"]),
                       kv_cache_dtype=v["kv-cache-dtype"], eff=_eff(v), prices=prices,
                       gpu_hour_price=v["gpu-hour-price"], max_tp=v["max-tp"], max_pp=v["max-pp"],
                       requests=v["requests"], seed=v["seed"])
    rec = r.candidates[r.recommended] if r.recommended is not None else None
    metric, pct, limit = slo.terms[0]
    term = f"{metric.upper()} p{pct:g}"
    load = (f"{v['rate']:g} requests/s" if v["rate"] is not None
            else f"{v['sessions']:,} sessions thinking {v['think-time-s']:g} s")
    if rec is None or rec.best is None:
        limits = sorted({c.status for c in r.candidates})
        summary = (f"no plan meets {v['slo']} at {load} (limited by: {', '.join(limits)}); try more GPUs per replica "
                   "(--max-tp, --max-pp), fp8 weights, a looser SLO or another GPU")
    else:
        b = rec.best
        name = hardware.get_gpu(rec.gpu).name
        cost = (f", {human(b.cost_per_hour, 'usd_per_hour')} (${b.cost_per_million_output_tokens:,.3f} per million "
                "output tokens)" if b.cost_per_hour is not None and b.cost_per_million_output_tokens is not None
                else "")
        pp_text = f" × PP{rec.pp}" if rec.pp > 1 else ""
        summary = (f"{b.replicas:,} × TP{rec.tp}{pp_text} {name} ({rec.weights_dtype} weights) = {b.gpus:,} "
                   f"GPU{'s' if b.gpus > 1 else ''}; "
                   f"{term} {1000 * b.tail_latency_s:,.0f} ms, TPOT p99 {1000 * b.tpot_s.p99:,.1f} ms "
                   f"at {load}{cost}")

    def ms(x: float | None) -> str:
        return "—" if x is None else f"{1000 * x:,.1f} ms"

    def rank(i: int) -> tuple[int, float, float, int]:
        c = r.candidates[i]
        if c.best is None:
            return (2, 0.0, 0.0, i)
        main = c.best.cost_per_hour if c.best.cost_per_hour is not None else float(c.best.gpus)
        return (0 if i == r.recommended else 1, main, c.best.tail_latency_s, i)

    rows = []
    for i in sorted(range(len(r.candidates)), key=rank):
        c = r.candidates[i]
        best = c.best
        try:
            gpu_name = hardware.get_gpu(c.gpu).name
        except CalcError:
            gpu_name = c.gpu
        per_m = best.cost_per_million_output_tokens if best else None
        cells = [gpu_name, str(c.tp), str(c.pp), c.weights_dtype, "yes" if best else "no",
                 f"{best.replicas:,}" if best else "—", f"{best.gpus:,}" if best else "—",
                 ms(best.tail_latency_s if best else None),
                 ms(best.ttft_s.p99 if best else None), ms(best.tpot_s.p99 if best else None),
                 f"{best.output_tokens_per_s_per_gpu:,.0f}" if best else "—",
                 human(best.cost_per_hour, "usd_per_hour") if best and best.cost_per_hour is not None else "—",
                 f"${per_m:,.3f}" if per_m is not None else "—", c.status if not c.note else f"{c.status}: {c.note}"]
        rows.append({"index": i, "recommended": i == r.recommended, "feasible": best is not None, "cells": cells})

    series: dict[str, list[tuple[float, float]]] = {}
    for p in r.points:
        if p.curve:
            label = f"{p.gpu} TP{p.tp}" + (f" PP{p.pp}" if p.pp > 1 else "") + f" {p.weights_dtype}"
            series.setdefault(label, []).append((p.tail_latency_s, p.output_tokens_per_s_per_gpu))
    front = [(r.points[i].tail_latency_s, r.points[i].output_tokens_per_s_per_gpu) for i in r.pareto]
    chart = ""
    if series or front:
        chart = charts.pareto_chart(list(series.items()), front,
                                    f"{spec.model_id}: output tokens/s per GPU against {term} (one replica "
                                    "at 25-100 % of its saturated rate)", term, limit)
    return {
        "model": spec.model_id,
        "workload": {"rate_per_s": w.rate_per_s, "sessions": w.sessions, "think_time_s": w.think_s,
                     "prompt_tokens": v["prompt-tokens"], "output_tokens": v["output-tokens"],
                     "mean_prompt_tokens": w.prompt.mean, "mean_output_tokens": w.output.mean,
                     "prefix_hit": w.prefix_hit},
        "slo": v["slo"],
        "summary": summary,
        "recommended": r.recommended,
        "recommended_option": rec.as_dict() if rec else None,
        "recommended_gpus": rec.best.gpus if rec and rec.best else None,
        "recommended_replicas": rec.best.replicas if rec and rec.best else None,
        "recommended_tail_latency_ms": 1000 * rec.best.tail_latency_s if rec and rec.best else None,
        "recommended_cost_per_hour": rec.best.cost_per_hour if rec and rec.best else None,
        "recommended_cost_per_million_output_tokens":
            rec.best.cost_per_million_output_tokens if rec and rec.best else None,
        "options": [c.as_dict() for c in r.candidates],
        "points": [p.as_dict() for p in r.points],
        "pareto": list(r.pareto),
        "simulations": r.simulations,
        "truncated": r.truncated,
        "max_model_len": r.max_model_len,
        "serve_command": r.serve_command(spec, v["kv-cache-dtype"]),
        "options_table": {"columns": list(PLAN_SIM_COLUMNS), "rows": rows},
        "assumptions": _timing_assumptions(spec, *_gpus_shown(gpus, rec.gpu if rec else None)) + [
            f"each candidate replica count simulated with {v['requests']:,} requests (seed {v['seed']}), the same "
            "requests at every count; a short run under-states a slowly growing queue",
            "replicas split the load evenly: rate ÷ replicas each, or sessions ÷ replicas (rounded up)",
            "closed loop: each session sends, waits for the last token, thinks an exponential time of the given "
            "mean, then sends again",
            "more replicas are assumed never to worsen the tail (replicas doubled, then bisected)",
            "step times from the roofline model (expected); pass calibrated --mbu/--mfu to correct them",
            _ttft_assumption(v),
        ] + (["the search stopped at its simulation budget; some configurations were not tried"]
             if r.truncated else []),
        "chart_svg": chart,
    }


#: what the calibrate page says before a benchmark file is given (the command line requires --bench)
CALIBRATE_WAITING = ("no benchmark yet: paste the JSON that vllm bench serve --save-result --save-detailed wrote "
                     "into Benchmark result")


def _calibrate(v: dict[str, Any]) -> dict[str, Any]:
    text = v["bench-json"]
    field = "bench-json"
    if text is not None and not text.strip():
        text = None
    if not text:
        field = "bench"
        if not v["bench"]:
            spec = resolve_model(v)  # a bad model is still reported
            empty = {o: None for o in ("mbu", "mfu", "mbu_fitted", "mfu_fitted", "ttft_overhead_ms",
                                       "ttft_measured_ms", "ttft_before_ms", "ttft_after_ms",
                                       "tpot_measured_ms", "tpot_before_ms", "tpot_after_ms", "throughput_measured",
                                       "throughput_before", "throughput_after", "requests")}
            return {"model": spec.model_id, "status": CALIBRATE_WAITING, **empty,
                    "min_fitted_efficiency": calibrate.MIN_FITTED_EFFICIENCY, "assumptions": _assumptions(spec)}
        try:
            text = _read_text(v["bench"], calibrate.MAX_BENCH_CHARS)
        except CalcError as exc:
            raise CalcError("bench", exc.message) from None
    try:
        bench = calibrate.parse_bench(text, v["benchmark"])
    except CalcError as exc:  # name the input; the message names the key of the file
        if exc.field == "benchmark":
            raise
        key = exc.field.removeprefix("bench").lstrip(".")
        raise CalcError(field, f"{key + ': ' if key else ''}{exc.message}") from None
    spec = resolve_model(v)
    gpu = resolve_gpu(v)
    if bench.model_id and bench.model_id.lower().rstrip("/").split("/")[-1] != spec.model_id.lower().split("/")[-1]:
        note = [f"the file says model_id {bench.model_id[:80]!r}; the fit is for {spec.model_id}"]
    else:
        note = []
    c = calibrate.calibrate(spec, gpu, v["tp"], bench, v["kv-cache-dtype"], v["weights-dtype"], v["max-num-seqs"],
                            max_model_len=v["max-model-len"], enforce_eager=bool(v.get("enforce-eager", False)))
    load = (f"{bench.max_concurrency} client{'s' if bench.max_concurrency != 1 else ''}"
            if bench.max_concurrency is not None
            else f"{bench.request_rate:g} requests/s" if bench.request_rate is not None else "all at once")
    floor = f"{calibrate.MIN_FITTED_EFFICIENCY:g}"
    warnings = []
    if not c.mfu_fitted:
        if c.mfu_skipped == "insensitive":
            why = (f"MFU governs only {100 * max(0.0, c.mfu_share):.0f} % of the measured median TTFT in the replay "
                   f"(at least {100 * calibrate.MIN_MFU_SHARE:.0f} % needed): the rest is time MFU does not set "
                   "(memory-bound prefills of short prompts, or waiting: a server, a queue)")
        else:
            why = (f"the measured median TTFT ({1000 * c.measured.ttft_s:.1f} ms) would need an MFU under {floor}, "
                   "so most of it is time outside the GPU's prefill")
        warnings.append(
            f"MFU not fitted: {why}; MFU stays at the default {c.mfu:g}, and an API server time per request (request "
            f"handling, tokenisation, streaming) of {1000 * c.ttft_overhead_s:.1f} ms makes the replayed median TTFT "
            "match instead; calibrate MFU from a run with prompts of a few thousand tokens")
        if c.ttft_overhead_s > 1.0:
            warnings.append(
                f"a server time of {c.ttft_overhead_s:,.1f} s per request is more than an API server takes: the run "
                "probably queued (past the knee, or a client that could not keep up); calibrate from a run below "
                "saturation")
    if not c.mbu_fitted:
        eager = "" if v.get("enforce-eager") else " (if the server ran with --enforce-eager, tick that option)"
        warnings.append(
            f"MBU not fitted: the measured median TPOT ({1000 * c.measured.tpot_s:.2f} ms) would need an MBU under "
            f"{floor}, so most of each step is spent outside the GPU work the step model counts (a server without "
            f"CUDA graphs, or a CPU-bound host){eager}; MBU stays at the default {c.mbu:g}")
    for name, top, what in (("MBU", c.mbu_at_top, "TPOT"), ("MFU", c.mfu_at_top, "TTFT")):
        if top:
            warnings.append(
                f"{name} stopped at 1: even at the full datasheet figure the model predicts a slower median {what} "
                "than measured; check that the tensor parallelism, weights and KV-cache dtypes match the server, "
                "and whether it ran speculative decoding or reused prefixes")
    passed = [f"--mbu {c.mbu:.3g}"] if c.mbu_fitted else []
    passed += [f"--mfu {c.mfu:.3g}"] if c.mfu_fitted else [f"--ttft-overhead-ms {1000 * c.ttft_overhead_s:.1f}"]
    passed += ["--enforce-eager"] if v.get("enforce-eager") else []
    status = f"fitted to {len(bench.lengths):,} requests ({load})"
    if not (c.mbu_fitted and c.mfu_fitted):
        fitted = ["MBU"] if c.mbu_fitted else []
        fitted += ["MFU"] if c.mfu_fitted else ["API server time"]
        kept = " and ".join(n for n, ok in (("MBU", c.mbu_fitted), ("MFU", c.mfu_fitted)) if not ok)
        status += f": {' and '.join(fitted)} fitted, {kept} at the default (see the warnings)"
    return {
        "status": status,
        "warnings": warnings,
        "mbu_fitted": c.mbu_fitted, "mfu_fitted": c.mfu_fitted, "ttft_overhead_ms": 1000 * c.ttft_overhead_s,
        "min_fitted_efficiency": calibrate.MIN_FITTED_EFFICIENCY,
        "requests": len(bench.lengths),
        "throughput_measured": c.measured.output_tokens_per_s, "throughput_before": c.before.output_tokens_per_s,
        "throughput_after": c.after.output_tokens_per_s,
        "model": spec.model_id, "gpu": gpu.id, "tp": v["tp"], "mbu": c.mbu, "mfu": c.mfu,
        "measured": c.measured.as_dict(), "before": c.before.as_dict(), "after": c.after.as_dict(),
        "ttft_measured_ms": 1000 * c.measured.ttft_s, "ttft_before_ms": 1000 * c.before.ttft_s,
        "ttft_after_ms": 1000 * c.after.ttft_s, "tpot_measured_ms": 1000 * c.measured.tpot_s,
        "tpot_before_ms": 1000 * c.before.tpot_s, "tpot_after_ms": 1000 * c.after.tpot_s,
        "assumptions": _timing_assumptions(spec, gpu) + note + [
            "the file's requests replayed through the scheduler simulation; "
            + f"pass {' '.join(passed)} to the roofline, simulate, plan and plan-sim calculators"],
    }


def _deploy(v: dict[str, Any]) -> dict[str, Any]:
    spec = resolve_model(v)
    gpu = hardware.get_gpu(v["gpu"])
    tp, replicas = v["tp"], v["replicas"]
    eager = bool(v.get("enforce-eager", False))
    note = ""
    if tp is None or replicas is None:
        w = planner.PRESETS[v["preset"] or "chat"]
        p = planner.plan(spec, [gpu], w, weights_dtype=v["weights-dtype"], kv_cache_dtype=v["kv-cache-dtype"],
                         eff=roofline.Efficiency(enforce_eager=eager))
        feasible = [o for o in p.options if o.feasible and (tp is None or o.tp == tp)]
        if not feasible:
            raise CalcError("tp", f"no feasible {v['preset'] or 'chat'} plan on {gpu.id}; give --tp and --replicas")
        best = feasible[0] if tp is not None else p.options[p.recommended or 0]
        tp = best.tp if tp is None else tp
        replicas = best.replicas if replicas is None else replicas
        note = f"tp and replicas from the {v['preset'] or 'chat'} plan"
    assert tp is not None and replicas is not None
    d = deploy.deployment(spec, tp, replicas, name=v["name"], namespace=v["namespace"], image=v["image"],
                          max_model_len=v["max-model-len"], gpu_memory_utilization=v["gpu-memory-utilization"],
                          kv_cache_dtype=v["kv-cache-dtype"], weights_dtype=v["weights-dtype"], enforce_eager=eager)
    return {"model": spec.model_id, "gpu": gpu.id, "tp": tp, "replicas": replicas, "name": d.name,
            "serve_command": d.serve_command, "manifest": d.manifest, "note": note,
            "assumptions": _assumptions(spec)}


_SECONDS = "s"
CALCULATORS.update({
    c.name: c
    for c in (
        Calculator(
            "roofline", "Roofline, latency and throughput",
            "Where decode and prefill sit on the GPU's roofline; TTFT, TPOT and tokens/s over batch.",
            (MODEL, CONFIG, CONFIG_TEXT, ASSUME_LLAMA, GPU, TP, _BATCH, _PROMPT, _OUTPUT, _R_WEIGHTS, KV_DTYPE, _MNBT,
             _MBU, _MFU, _EAGER_STEP, _TTFT_OVERHEAD),
            (
                Output("ridge_point", "Ridge point", "float", "FLOP/byte",
                       "dense peak FLOP/s of the GEMM dtype ÷ memory bandwidth"),
                Output("critical_batch_size", "Critical batch size", "int", "sequences",
                       "smallest decode batch whose weight GEMMs are compute-bound (KV traffic excluded)"),
                Output("ttft_s", "Time to first token (expected)", "float", _SECONDS,
                       "chunked prefill of the prompt, each step also carrying batch − 1 decodes; ÷ MFU/MBU; "
                       "+ the API server time per request (--ttft-overhead-ms)"),
                Output("tpot_s", "Time per output token (expected)", "float", _SECONDS,
                       "max(FLOPs ÷ (peak × MFU), bytes ÷ (bandwidth × MBU)) + all-reduces, per step of batch "
                       "decodes plus the other users' new prompts"),
                Output("output_tokens_per_s", "Output tokens/s per replica", "float", "tokens/s",
                       "batch × output ÷ (engine TTFT + (output − 1) × TPOT): the API server time holds no batch "
                       "slot"),
                Output("output_tokens_per_s_per_gpu", "Output tokens/s per GPU", "float", "tokens/s",
                       "tokens/s per replica ÷ tp"),
                Output("output_tokens_per_s_per_user", "Output tokens/s per user", "float", "tokens/s", "1 ÷ TPOT"),
                Output("kv_max_batch", "Batch where KV memory runs out", "int", "sequences",
                       "vLLM's max concurrency at max_model_len = prompt + output"),
            ),
            _roofline,
        ),
        Calculator(
            "plan", "Capacity planner",
            "GPUs, TP degree and replicas for a workload and its TTFT/TPOT targets.",
            (MODEL, CONFIG, CONFIG_TEXT, ASSUME_LLAMA,
             Input("gpu", "GPU", "choice", "h100-sxm", choices=_plan_gpu_choices,
                   help="A GPU preset, or all to compare every preset."),
             Input("preset", "Workload preset", "choice", None, choices=_preset_choices, optional=True,
                   help="chat: 2,000 concurrent users, 1,024 prompt / 256 output tokens, TTFT ≤ 1 s, TPOT ≤ 50 ms. "
                        "documents: 500 million tokens a day (8,192 in / 512 out per document) within 24 h, "
                        "no latency target. Options below override the preset's numbers."),
             Input("concurrent-users", "Concurrent users", "int", None, minimum=1, maximum=1e9, step=1, optional=True,
                   help="Requests in flight at once (interactive)."),
             Input("request-rate", "Request rate", "float", None, unit="requests/s", minimum=1e-6, maximum=1e9,
                   optional=True, help="Arrivals per second (interactive), instead of concurrent users."),
             Input("prompt-tokens", "Prompt tokens", "int", None, unit="tokens", minimum=1, maximum=1 << 24, step=1,
                   optional=True, help="Input tokens per request; empty = the preset's (else 1024)."),
             Input("output-tokens", "Output tokens", "int", None, unit="tokens", minimum=1, maximum=1 << 24, step=1,
                   optional=True, help="Generated tokens per request; empty = the preset's (else 256)."),
             Input("ttft-target-ms", "TTFT target", "float", None, unit="ms", minimum=0.1, maximum=1e8,
                   optional=True, help="Largest acceptable time to first token; empty = the preset's."),
             Input("tpot-target-ms", "TPOT target", "float", None, unit="ms", minimum=0.01, maximum=1e6,
                   optional=True, help="Largest acceptable time per output token; empty = the preset's."),
             Input("tokens-per-day", "Batch job: tokens per day", "float", None, unit="tokens", minimum=1,
                   maximum=1e16, optional=True, help="Input + output tokens to process each day (offline job)."),
             Input("deadline-hours", "Batch job: deadline", "float", None, unit="h", minimum=0.01, maximum=24,
                   optional=True, help="Hours of each day the job may take (default 24)."),
             Input("gpu-hour-price", "Price per GPU-hour", "float", None, unit="$", minimum=0, maximum=1e6,
                   optional=True, help="Optional: ranks options by cost per hour."),
             _R_WEIGHTS, KV_DTYPE,
             Input("max-tp", "Largest TP degree", "int", 8, minimum=1, maximum=64, step=1, advanced=True,
                   help="TP degrees tried: those vLLM accepts up to this (8 = one NVLink node)."),
             _MBU, _MFU, _EAGER_STEP, _TTFT_OVERHEAD),
            (
                Output("summary", "Recommended", "text", "", "cheapest feasible option (cost, else GPU count)"),
                Output("recommended_gpus", "GPUs", "int", "GPUs", "replicas × tp"),
                Output("recommended_cost_per_hour", "Cost per hour", "usd_per_hour", "",
                       "GPUs × price per GPU-hour"),
            ),
            _plan,
        ),
        Calculator(
            "deploy", "Deployment",
            "vllm serve command and Kubernetes Deployment + Service for a plan.",
            (MODEL, CONFIG, CONFIG_TEXT, ASSUME_LLAMA, GPU,
             Input("tp", "Tensor-parallel GPUs", "int", None, minimum=1, maximum=1024, step=1, optional=True,
                   help="Empty = the recommended plan's TP for --preset."),
             Input("replicas", "Replicas", "int", None, minimum=1, maximum=10_000, step=1, optional=True,
                   help="Empty = the plan's replica count."),
             Input("preset", "Workload preset", "choice", None, choices=_preset_choices, optional=True,
                   help="Plan used when --tp or --replicas is empty (default chat)."),
             Input("max-model-len", "Max model length", "int", None, unit="tokens", minimum=1, maximum=1 << 31,
                   step=1, optional=True, help="vLLM --max-model-len; empty = the model's."),
             Input("gpu-memory-utilization", "GPU memory utilization", "float", 0.92, minimum=0.01, maximum=1.0,
                   step=0.01, advanced=True, help="vLLM --gpu-memory-utilization (vLLM 0.33's default: 0.92)."),
             KV_DTYPE, _R_WEIGHTS, _EAGER_STEP,
             Input("name", "Name", "text", None, optional=True, advanced=True,
                   help="Kubernetes name (DNS-1123); empty = from the model id."),
             Input("namespace", "Namespace", "text", "default", help="Kubernetes namespace."),
             Input("image", "Image", "text", deploy.DEFAULT_IMAGE, help="vLLM OpenAI-compatible server image.")),
            (
                Output("serve_command", "Command", "code", "", "vllm serve with the plan's flags"),
                Output("manifest", "Kubernetes manifest", "code", "",
                       "PVC (model cache) + Deployment (GPU limits, /dev/shm, /health probes, HF_TOKEN secret) "
                       "+ Service"),
            ),
            _deploy,
        ),
        Calculator(
            "calibrate", "Calibrate from your benchmark",
            "Fit the step model's bandwidth and FLOPs utilisation to a vllm bench serve run "
            "(--save-result --save-detailed) or a GuideLLM report.",
            (MODEL, CONFIG, CONFIG_TEXT, ASSUME_LLAMA, GPU, TP,
             Input("bench", "Benchmark file", "text", None, optional=True, cli_only=True,
                   help="Path of the JSON that vllm bench serve --save-result --save-detailed wrote, or of a "
                        "GuideLLM report (JSON)."),
             Input("bench-json", "Benchmark result", "text", None, optional=True, page_only=True,
                   help="Paste or drop the JSON that vllm bench serve --save-result --save-detailed wrote, or a "
                        "GuideLLM report (JSON); its text stays in your browser.",
                   file=FileDrop("benchmark result", "Choose a benchmark result (.json)", calibrate.MAX_BENCH_CHARS,
                                 f"is larger than {calibrate.MAX_BENCH_CHARS:,} characters, the most the calculator "
                                 "reads (the command line too).")),
             Input("max-num-seqs", "Max sequences", "int", None, minimum=1, maximum=1 << 20, step=1, optional=True,
                   advanced=True, help="The --max-num-seqs the server ran with; empty = vllm serve's default."),
             Input("max-model-len", "Max model length", "int", None, unit="tokens", minimum=1, maximum=1 << 31,
                   step=1, optional=True, help="The --max-model-len the server ran with; empty = the model's."),
             Input("benchmark", "GuideLLM run", "int", 1, minimum=1, maximum=10_000, step=1, advanced=True,
                   help="A GuideLLM report holds one run per rate or concurrency: which one to fit (1 = the first)."),
             KV_DTYPE, _R_WEIGHTS, _EAGER_STEP),
            (
                Output("status", "Status", "text", "", "what was fitted: requests and load of the file"),
                Output("mbu", "Fitted bandwidth utilisation (MBU)", "float", "", "bisection on the median TPOT"),
                Output("mfu", "Fitted FLOPs utilisation (MFU)", "float", "", "bisection on the median TTFT"),
                Output("ttft_overhead_ms", "Fitted API server time per request", "ms", "",
                       "when MFU is not fitted: the server time that makes the replayed median TTFT match (else 0)"),
                Output("ttft_measured_ms", "Median TTFT measured", "ms", "", "median_ttft_ms of the file"),
                Output("ttft_before_ms", "Median TTFT predicted before", "ms", "", "default efficiencies"),
                Output("ttft_after_ms", "Median TTFT predicted after", "ms", "", "fitted efficiencies"),
                Output("tpot_measured_ms", "Median TPOT measured", "ms", "", "median_tpot_ms of the file"),
                Output("tpot_before_ms", "Median TPOT predicted before", "ms", "", "default efficiencies"),
                Output("tpot_after_ms", "Median TPOT predicted after", "ms", "", "fitted efficiencies"),
                Output("throughput_measured", "Output tokens/s measured", "float", "tokens/s",
                       "output_throughput of the file"),
                Output("throughput_before", "Output tokens/s predicted before", "float", "tokens/s",
                       "default efficiencies"),
                Output("throughput_after", "Output tokens/s predicted after", "float", "tokens/s",
                       "fitted efficiencies"),
            ),
            _calibrate,
        ),
        Calculator(
            "plan-sim", "Capacity plan from the serving simulation",
            "The cheapest GPU × TP × PP × weights × replicas plan whose simulated tail latency meets an SLO, at "
            "a request rate or for sessions with a think time; cost per hour and per million tokens.",
            (MODEL, CONFIG, CONFIG_TEXT, ASSUME_LLAMA,
             Input("gpu", "GPU", "choice", "h100-sxm", choices=_plan_gpu_choices,
                   help="A GPU preset, or all to compare every preset (a few seconds in the page)."),
             Input("rate", "Request rate", "float", 10.0, unit="requests/s", minimum=1e-6, maximum=1e7,
                   help="Poisson arrivals per second, split evenly across replicas."),
             Input("sessions", "Sessions (closed loop)", "int", None, minimum=1, maximum=10_000_000, step=1,
                   optional=True,
                   help="Replaces the rate when given: users who each send a request, wait for the answer, think, "
                        "then send the next; split evenly across replicas."),
             Input("think-time-s", "Think time", "float", 0.0, unit="s", minimum=0, maximum=1e6,
                   help="Sessions: mean pause (exponential) between an answer and the next request."),
             Input("prompt-tokens", "Prompt tokens", "text", "normal:1024:256",
                   help="A length (1024) or a distribution: normal:1024:256, uniform:128:4096, a comma list, "
                        "or file:PATH (CLI: one length per line)."),
             Input("output-tokens", "Output tokens", "text", "normal:256:64", help="As prompt tokens."),
             Input("prefix-hit", "Prefix reuse", "float", 0.0, minimum=0, maximum=0.99, step=0.01,
                   help="Fraction of each prompt found in the prefix cache (shared system prompt, history)."),
             Input("slo", "SLO", "text", "ttft:p95<500ms;tpot:p99<50ms",
                   help="Tail-latency targets every plan must meet; the first term is the chart's latency."),
             Input("weights-dtypes", "Weights formats", "text", "auto",
                   help="Comma list searched, e.g. auto,fp8 (auto = as the checkpoint ships)."),
             KV_DTYPE,
             Input("gpu-hour-price", "Price per GPU-hour", "float", None, unit="$", minimum=0, maximum=1e6,
                   optional=True, help="For every GPU without its own price below; empty = rank by GPU count."),
             Input("gpu-prices", "Prices per GPU type", "text", None, optional=True,
                   help="GPU=PRICE pairs per GPU-hour, e.g. h100-sxm=2.99,h200=3.50 (your cloud's or your "
                        "amortised cost)."),
             Input("max-tp", "Largest TP degree", "int", 8, minimum=1, maximum=64, step=1, advanced=True,
                   help="TP degrees tried: those vLLM accepts up to this."),
             Input("max-pp", "Largest PP degree", "int", 1, minimum=1, maximum=simulate.MAX_PP, step=1,
                   advanced=True, help="Pipeline stages tried: 1, 2, 4, 8 up to this (slower to simulate)."),
             Input("requests", "Requests per simulation", "int", planner.DEFAULT_SIM_REQUESTS, minimum=10,
                   maximum=planner.MAX_SIM_REQUESTS, step=1, advanced=True,
                   help="Requests simulated for each candidate replica count: more is steadier and slower."),
             Input("seed", "Seed", "int", 0, minimum=0, maximum=2**31 - 1, step=1, advanced=True,
                   help="Random seed: the same seed gives the same plan."),
             _MBU, _MFU, _EAGER_STEP, _TTFT_OVERHEAD),
            (
                Output("summary", "Recommended", "text", "", "cheapest plan whose simulation meets every SLO term"),
                Output("recommended_gpus", "GPUs", "int", "GPUs", "replicas × tp × pp"),
                Output("recommended_tail_latency_ms", "Tail latency (the SLO's first term)", "ms", "",
                       "simulated percentile of the SLO's first metric"),
                Output("recommended_cost_per_hour", "Cost per hour", "usd_per_hour", "", "GPUs × price per GPU-hour"),
                Output("recommended_cost_per_million_output_tokens", "Cost per million output tokens", "float", "$",
                       "cost per hour ÷ (output tokens per hour ÷ 10⁶)"),
                Output("simulations", "Simulations run", "int", "", "replica counts, lone requests, saturation "
                       "runs and load curves simulated"),
                Output("serve_command", "Command (each replica)", "code", "",
                       "vllm serve with every flag the plan was sized and simulated with"),
            ),
            _plan_sim,
        ),
        Calculator(
            "simulate", "Serving simulation",
            "vLLM's V1 scheduler step by step: throughput, TTFT and TPOT percentiles, preemptions, goodput.",
            (MODEL, CONFIG, CONFIG_TEXT, ASSUME_LLAMA, GPU, TP,
             Input("pp", "Pipeline-parallel stages", "int", 1, minimum=1, maximum=simulate.MAX_PP, step=1,
                   advanced=True,
                   help="vLLM --pipeline-parallel-size: each stage runs its share of the layers, up to this many "
                        "batches in flight."),
             Input("rate", "Request rate", "float", 1.0, unit="requests/s", minimum=1e-6, maximum=1e6,
                   help="Poisson arrivals per second."),
             Input("sessions", "Sessions (closed loop)", "int", None, minimum=1, maximum=simulate.MAX_REQUESTS,
                   step=1, optional=True, advanced=True,
                   help="Instead of the rate: users who each send a request, wait for the answer, think, then "
                        "send the next."),
             Input("think-time-s", "Think time", "float", 0.0, unit="s", minimum=0, maximum=1e6, advanced=True,
                   help="Mean pause (exponential) between a session's answer and its next request."),
             Input("prompt-tokens", "Prompt tokens", "text", "1024",
                   help="A length (1024) or a distribution: normal:1024:256, uniform:128:4096, a comma list, "
                        "or file:PATH (CLI: one length per line)."),
             Input("output-tokens", "Output tokens", "text", "256", help="As prompt tokens."),
             Input("requests", "Requests", "int", 200, minimum=1, maximum=simulate.MAX_REQUESTS, step=1,
                   help="Requests simulated."),
             Input("max-num-seqs", "Max sequences", "int", None, minimum=1, maximum=1 << 20, step=1, optional=True,
                   advanced=True, help="vLLM --max-num-seqs; empty = vllm serve's default for the GPU."),
             Input("max-num-batched-tokens", "Max batched tokens", "int", None, minimum=1, maximum=1 << 24, step=1,
                   optional=True, advanced=True, help="Token budget per step; empty = vllm serve's default."),
             Input("max-model-len", "Max model length", "int", None, unit="tokens", minimum=1, maximum=1 << 31,
                   step=1, optional=True, help="vLLM --max-model-len; empty = the model's."),
             KV_DTYPE, _R_WEIGHTS,
             Input("prefix-hit", "Prefix-cache hit", "float", 0.0, minimum=0, maximum=0.99, step=0.01, advanced=True,
                   help="Fraction of each prompt found in the prefix cache (whole blocks)."),
             Input("slo", "SLO", "text", "ttft:p95<500ms;tpot:p99<50ms",
                   help="Targets for goodput, e.g. ttft:p95<500ms;tpot:p99<50ms."),
             Input("seed", "Seed", "int", 0, minimum=0, maximum=2**31 - 1, step=1, advanced=True,
                   help="Random seed: the same seed gives the same answer."),
             _MBU, _MFU, _EAGER_STEP, _TTFT_OVERHEAD),
            (
                Output("request_throughput_per_s", "Request throughput", "float", "requests/s",
                       "requests ÷ (last finish − first arrival)"),
                Output("output_tokens_per_s", "Output tokens per second", "float", "tokens/s",
                       "output tokens ÷ the same span"),
                Output("ttft_p50_ms", "TTFT p50", "ms", "", "first token − arrival, median over requests"),
                Output("ttft_p99_ms", "TTFT p99", "ms", "", "99th percentile"),
                Output("tpot_p50_ms", "TPOT p50", "ms", "", "(finish − first token) ÷ (output tokens − 1), median"),
                Output("tpot_p99_ms", "TPOT p99", "ms", "", "99th percentile"),
                Output("preemptions", "Preemptions", "int", "", "requests evicted when the KV cache was full"),
                Output("kv_utilisation_max", "Peak KV cache use", "float", "", "fraction of blocks in use"),
                Output("slo_met", "SLO met", "bool", "", "every percentile target of the SLO"),
                Output("goodput_requests_per_s", "Goodput", "float", "requests/s",
                       "requests meeting every SLO threshold ÷ the span"),
            ),
            _simulate,
        ),
    )
})
