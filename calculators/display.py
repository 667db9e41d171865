"""What a page shows for a calculator's result: human-readable values and the config fields used.

The build hook (pre-rendered results) and the browser worker (live results) both call
:func:`page_result`, so the static page and the live one format numbers identically.  Values stay
raw in ``values`` (JSON text, for the page's ``data-value``); ``text`` holds what a reader sees.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from calculators import forms, models
from calculators.errors import CalcError

_BINARY = ("B", "KiB", "MiB", "GiB", "TiB", "PiB")
_SI = ("", "k", "M", "G", "T", "P", "E")


def _binary(n: float) -> str:
    value = float(n)
    for unit in _BINARY:
        if abs(value) < 1024 or unit == _BINARY[-1]:
            return f"{int(value):,} B" if unit == "B" else f"{value:,.2f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def _si(n: float, unit: str) -> str:
    value = float(n)
    for prefix in _SI:
        if abs(value) < 1000 or prefix == _SI[-1]:
            return f"{value:,.4g} {prefix}{unit}"
        value /= 1000
    raise AssertionError("unreachable")


def human(value: Any, fmt: str, unit: str = "") -> str:
    """``value`` as a reader sees it: binary sizes for bytes, SI prefixes for FLOP/s and B/s."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (int, float)):
        if fmt == "bytes":
            return _binary(value)
        if fmt == "gib":
            return f"{value:,.2f} GiB"
        if fmt == "flops":
            return _si(value, "FLOP/s")
        if fmt == "bandwidth":
            return _si(value, "B/s")
        if fmt == "ratio":
            return f"{value:,.2f}×"
        if fmt == "usd_per_hour":
            return f"${value:,.0f}/h" if value >= 100 else f"${value:,.2f}/h"
        if fmt == "ms":
            return f"{value:,.1f} ms"
        if fmt == "int" and isinstance(value, int):
            text = f"{value:,}"
        else:
            text = f"{value:,.4g}"
        return f"{text} {unit}" if unit else text
    return str(value)


def config_fields(spec: models.ModelSpec) -> list[tuple[str, str]]:
    """The config.json fields the formulas read, with this model's values."""
    windows = sorted({w for w in spec.layer_windows if w is not None})
    rows = [
        ("num_hidden_layers", str(spec.num_layers)),
        ("hidden_size", str(spec.hidden_size)),
        ("num_attention_heads", str(spec.num_attention_heads)),
        ("num_key_value_heads", str(spec.num_kv_heads)),
        ("head_dim", str(spec.head_dim)),
        ("intermediate_size", str(spec.intermediate_size)),
        ("vocab_size", str(spec.vocab_size)),
        ("max_position_embeddings", str(spec.max_position_embeddings)),
        ("torch_dtype", spec.dtype),
    ]
    if windows:
        count = sum(1 for w in spec.layer_windows if w is not None)
        rows.append(("sliding_window", f"{', '.join(map(str, windows))} ({count} of {spec.num_layers} layers)"))
    if spec.full_head_dim:
        rows.append(("global_head_dim", str(spec.full_head_dim)))
        rows.append(("num_global_key_value_heads", str(spec.full_kv_heads)))
        rows.append(("attention_k_eq_v", "true" if spec.k_eq_v else "false"))
    if spec.mla is not None:
        rows.append(("kv_lora_rank", str(spec.mla.kv_lora_rank)))
        rows.append(("qk_rope_head_dim", str(spec.mla.qk_rope_head_dim)))
    if spec.moe is not None:
        rows.append(("num_experts", str(spec.moe.num_experts)))
        rows.append(("num_experts_per_tok", str(spec.moe.experts_per_token)))
    if spec.quant is not None:
        rows.append(("quantization_config", f"{spec.quant.method}, {spec.quant.bits} bits"))
    return rows


def page_result(name: str, raw: Mapping[str, Any]) -> dict[str, Any]:
    """:func:`forms.run_safely` plus what the page shows: ``text``, ``values`` and ``config_fields``.

    Never raises for bad input: errors come back as ``{"ok": false, "field", "message"}``.
    """
    out = forms.run_safely(name, raw)
    if not out["ok"]:
        return out
    calc = forms.CALCULATORS[name]
    result: dict[str, Any] = out["result"]
    out["text"] = {o.name: human(result.get(o.name), o.format, o.unit) for o in calc.outputs}
    out["values"] = {o.name: json.dumps(result.get(o.name), allow_nan=False) for o in calc.outputs}
    out["config_fields"] = []
    if calc.needs_model:
        try:
            spec = forms.resolve_model(forms.validate(calc, raw))
            out["config_fields"] = config_fields(spec)
        except (CalcError, OSError, ValueError, TypeError, KeyError):
            pass
    return out


def page_result_json(name: str, values_json: str) -> str:
    """:func:`page_result` across the worker boundary: JSON in (values that are no object count as
    none), JSON out.  The page's worker calls this, and so do the build scripts that warm or check
    the Pyodide artefacts (scripts/stdlib-pyc.mjs, scripts/memory-snapshot.mjs)."""
    values = json.loads(values_json)
    if not isinstance(values, dict):
        values = {}
    return json.dumps(page_result(str(name), values), allow_nan=False)
