"""GPU presets: dense peak FLOP/s per dtype, memory, bandwidth, interconnect.

Figures live in ``calculators/data/gpus.toml``, each with its datasheet; sparse ("with sparsity")
peaks are never used.  The ridge point of a GPU for a compute dtype is peak FLOP/s ÷ memory
bytes/s: an operation with fewer FLOPs per byte moved than that is memory-bound (Williams,
Waterman and Patterson, "Roofline", CACM 2009).
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from typing import Any

from calculators.errors import CalcError

#: nvidia-smi's total minus what CUDA reports to a process, measured here: 480 MiB on H100 80GB,
#: 616 MiB on H200 (docs/data/measured); used where only the nvidia-smi total is known
DRIVER_RESERVED_BYTES_ESTIMATE = 512 << 20

FLOPS_KEYS = ("fp32", "tf32", "bf16", "fp16", "fp8", "int8", "fp4")


@dataclass(frozen=True)
class GPU:
    """One accelerator.

    ``memory_bytes_reported``: the total the driver reports (nvidia-smi); ``memory_bytes_usable``:
    the total CUDA reports to a process (``torch.cuda.mem_get_info``), which is what vLLM multiplies
    by ``gpu_memory_utilization`` — measured where ``usable_is_measured``, else the reported total
    less :data:`DRIVER_RESERVED_BYTES_ESTIMATE`."""

    id: str
    name: str
    vendor: str
    memory_bytes: int
    memory_bytes_reported: int
    bandwidth_bytes_per_s: float
    dense_flops: dict[str, float | None] = field(hash=False)
    interconnect: str = ""
    interconnect_bytes_per_s: float = 0.0
    memory_bytes_usable: int = 0
    reported_is_measured: bool = True
    usable_is_measured: bool = False
    sources: tuple[str, ...] = ()

    def flops(self, dtype: str) -> float:
        """Dense peak FLOP/s for ``dtype`` (``bf16``, ``fp8`` …); error if the GPU has none."""
        value = self.dense_flops.get(dtype)
        if value is None:
            raise CalcError("gpu", f"{self.name} has no dense {dtype} tensor-core peak; pick another dtype or GPU")
        return value

    def ridge_point(self, dtype: str = "bf16") -> float:
        """FLOPs per byte at which compute time equals memory time: peak FLOP/s ÷ bandwidth."""
        return self.flops(dtype) / self.bandwidth_bytes_per_s

    def as_dict(self) -> dict[str, Any]:
        bf16 = self.dense_flops.get("bf16")
        return {
            "id": self.id,
            "name": self.name,
            "vendor": self.vendor,
            "memory_bytes": self.memory_bytes,
            "memory_bytes_reported": self.memory_bytes_reported,
            "memory_bytes_usable": self.memory_bytes_usable,
            "bandwidth_bytes_per_s": self.bandwidth_bytes_per_s,
            "dense_flops": {k: self.dense_flops.get(k) for k in FLOPS_KEYS},
            "interconnect": self.interconnect,
            "interconnect_bytes_per_s": self.interconnect_bytes_per_s,
            "ridge_point_bf16": None if bf16 is None else bf16 / self.bandwidth_bytes_per_s,
            "sources": list(self.sources),
        }


def _from_record(rec: dict[str, Any]) -> GPU:
    flops = {k: (float(rec["dense_flops"][k]) if k in rec.get("dense_flops", {}) else None) for k in FLOPS_KEYS}
    reported = rec.get("memory_bytes_reported")
    reported_bytes = int(reported if reported is not None else rec["memory_bytes"])
    cuda = rec.get("memory_bytes_cuda")
    return GPU(
        id=rec["id"],
        name=rec["name"],
        vendor=rec.get("vendor", ""),
        memory_bytes=int(rec["memory_bytes"]),
        memory_bytes_reported=reported_bytes,
        memory_bytes_usable=int(cuda) if cuda is not None else reported_bytes - DRIVER_RESERVED_BYTES_ESTIMATE,
        bandwidth_bytes_per_s=float(rec["bandwidth_bytes_per_s"]),
        dense_flops=flops,
        interconnect=rec.get("interconnect", ""),
        interconnect_bytes_per_s=float(rec.get("interconnect_bytes_per_s", 0.0)),
        reported_is_measured=reported is not None,
        usable_is_measured=cuda is not None,
        sources=tuple(rec.get("sources", ())),
    )


@lru_cache(maxsize=1)
def _presets() -> dict[str, GPU]:
    text = (resources.files("calculators") / "data" / "gpus.toml").read_text(encoding="utf-8")
    return {rec["id"]: _from_record(rec) for rec in tomllib.loads(text)["gpu"]}


def gpu_ids() -> list[str]:
    return list(_presets())


def all_gpus() -> list[GPU]:
    return list(_presets().values())


def get_gpu(gpu_id: str) -> GPU:
    """The preset with this id (case-insensitive), or CalcError listing the ids."""
    if not isinstance(gpu_id, str):
        raise CalcError("gpu", f"expected a GPU id, got {type(gpu_id).__name__}")
    key = gpu_id.strip().lower()
    presets = _presets()
    if key not in presets:
        raise CalcError("gpu", f"unknown GPU {gpu_id[:40]!r}; known: {', '.join(presets)}")
    return presets[key]


def custom_gpu(
    memory_gib: float,
    bandwidth_bytes_per_s: float = 0.0,
    bf16_flops: float = 0.0,
    name: str = "custom GPU",
) -> GPU:
    """A user-defined GPU from its numbers (memory in GiB as the driver reports it)."""
    for fname, value, top in (
        ("gpu-memory-gib", memory_gib, 100_000.0),
        ("gpu-bandwidth", bandwidth_bytes_per_s, 1e16),
        ("gpu-bf16-flops", bf16_flops, 1e19),
    ):
        if (
            isinstance(value, bool)
            or not isinstance(value, (int, float))
            or not math.isfinite(value)
            or value < 0
            or value > top
        ):
            raise CalcError(fname, f"must be a finite number from 0 to {top:g}, got {value!r}")
    if memory_gib <= 0:
        raise CalcError("gpu-memory-gib", f"must be positive, got {memory_gib!r}")
    mem = int(memory_gib * (1 << 30))
    return GPU(
        id="custom",
        name=name,
        vendor="",
        memory_bytes=mem,
        memory_bytes_reported=mem,
        memory_bytes_usable=mem,
        usable_is_measured=True,
        bandwidth_bytes_per_s=float(bandwidth_bytes_per_s) or 1.0,
        dense_flops={k: (float(bf16_flops) if k in ("bf16", "fp16") and bf16_flops else None) for k in FLOPS_KEYS},
    )
