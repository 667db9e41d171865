"""Element sizes of the number formats the calculators know.

Bytes per element are the storage sizes of the formats (IEEE 754 for fp32/fp16, bfloat16's
8-bit exponent + 7-bit mantissa, OCP FP8 E4M3/E5M2, OCP MX FP4 E2M1 with one E8M0 scale per
32 elements).  Block and group scales of quantized formats are counted in ``calculators.memory``.
"""

from __future__ import annotations

from calculators.errors import CalcError

#: bytes per element of unquantized storage formats
BYTES_PER_ELEMENT: dict[str, float] = {
    "float32": 4,
    "float16": 2,
    "bfloat16": 2,
    "fp8": 1,
    "fp8_e4m3": 1,
    "fp8_e5m2": 1,
    "int8": 1,
    "int4": 0.5,
    "mxfp4": 0.5,
}

_ALIASES = {
    "fp32": "float32",
    "float": "float32",
    "fp16": "float16",
    "half": "float16",
    "bf16": "bfloat16",
    "float8_e4m3fn": "fp8_e4m3",
    "float8_e5m2": "fp8_e5m2",
}

#: what ``--kv-cache-dtype`` accepts (vLLM's CacheDType values we model)
KV_CACHE_DTYPES = ("auto", "bfloat16", "float16", "fp8", "fp8_e4m3", "fp8_e5m2")

#: what ``--weights-dtype`` accepts
WEIGHTS_DTYPES = ("auto", "float32", "bfloat16", "float16", "fp8", "int8", "int4", "mxfp4")


def normalize(name: object, field: str) -> str:
    """Return the canonical dtype name for ``name`` or raise CalcError naming ``field``."""
    if not isinstance(name, str):
        raise CalcError(field, f"expected a dtype name, got {type(name).__name__}")
    key = name.strip().lower().removeprefix("torch.")
    key = _ALIASES.get(key, key)
    if key not in BYTES_PER_ELEMENT:
        known = ", ".join(sorted(BYTES_PER_ELEMENT))
        raise CalcError(field, f"unknown dtype {name[:40]!r}; known: {known}")
    return key


def kv_bytes_per_element(kv_cache_dtype: str, model_dtype: str) -> int:
    """Bytes of one cached K or V element.

    vLLM's ``--kv-cache-dtype auto`` stores the cache in the model's activation dtype;
    ``fp8`` (= ``fp8_e4m3``) and ``fp8_e5m2`` store one byte per element.
    """
    if kv_cache_dtype not in KV_CACHE_DTYPES:
        raise CalcError(
            "kv-cache-dtype",
            f"unknown KV cache dtype {str(kv_cache_dtype)[:40]!r}; use one of {', '.join(KV_CACHE_DTYPES)}",
        )
    name = model_dtype if kv_cache_dtype == "auto" else kv_cache_dtype
    if name not in ("float32", "float16", "bfloat16"):
        # quantized checkpoints compute in 16-bit: the cache follows the activation dtype
        name = "bfloat16" if kv_cache_dtype == "auto" else name
    return int(BYTES_PER_ELEMENT[name])
