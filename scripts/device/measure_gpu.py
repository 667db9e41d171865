"""Measure a GPU's real ceilings for the docs: memory as the driver reports it, copy bandwidth,
and bf16/fp8 matrix-product throughput across batch sizes (a measured roofline).

Run on a machine with an NVIDIA GPU and PyTorch: ``python3 scripts/device/measure_gpu.py OUT.json``.
Not part of the test suite (no test may need a GPU); its output is quoted in docs/ with the date.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time

import torch


def timed(fn, reps: int = 20) -> float:
    for _ in range(3):
        fn()
    torch.cuda.synchronize()
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    start.record()
    for _ in range(reps):
        fn()
    end.record()
    torch.cuda.synchronize()
    return start.elapsed_time(end) / 1000 / reps


def main(out_path: str) -> None:
    dev = torch.cuda.get_device_properties(0)
    free, total = torch.cuda.mem_get_info()
    smi = subprocess.run(
        ["nvidia-smi", "--query-gpu=name,memory.total,driver_version,clocks.max.sm", "--format=csv,noheader"],
        capture_output=True, text=True, check=False,
    ).stdout.strip()
    result: dict = {
        "date": time.strftime("%Y-%m-%d"),
        "torch": torch.__version__,
        "device_name": dev.name,
        "multiprocessors": dev.multi_processor_count,
        "mem_get_info_total_bytes": total,
        "mem_get_info_free_bytes": free,
        "nvidia_smi": smi,
    }
    n = 1 << 30  # 1 GiB of bf16 elements = 2 GiB buffer
    a = torch.empty(n, dtype=torch.bfloat16, device="cuda")
    b = torch.empty_like(a)
    t = timed(lambda src=a, dst=b: dst.copy_(src))
    result["copy_bytes_read_plus_written_per_s"] = 2 * a.numel() * 2 / t
    a = b = None
    k = nn = 8192
    rows = []
    w = torch.randn(k, nn, dtype=torch.bfloat16, device="cuda")
    for m in (1, 8, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384):
        x = torch.randn(m, k, dtype=torch.bfloat16, device="cuda")
        t = timed(lambda x=x: x @ w)
        flops = 2 * m * k * nn
        moved = 2 * (m * k + k * nn + m * nn)
        rows.append({"dtype": "bf16", "m": m, "k": k, "n": nn, "seconds": t, "flops_per_s": flops / t,
                     "bytes_per_s": moved / t, "arithmetic_intensity": flops / moved})
    try:
        w8 = w.to(torch.float8_e4m3fn).t().contiguous().t()
        one = torch.ones((), device="cuda")
        for m in (1, 8, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384):
            x8 = torch.randn(m, k, device="cuda").to(torch.float8_e4m3fn)
            t = timed(lambda x8=x8: torch._scaled_mm(x8, w8, scale_a=one, scale_b=one, out_dtype=torch.bfloat16))
            flops = 2 * m * k * nn
            moved = m * k + k * nn + 2 * m * nn
            rows.append({"dtype": "fp8", "m": m, "k": k, "n": nn, "seconds": t, "flops_per_s": flops / t,
                         "bytes_per_s": moved / t, "arithmetic_intensity": flops / moved})
    except Exception as exc:  # noqa: BLE001 - a measurement script reports what failed
        result["fp8_error"] = repr(exc)[:300]
    result["gemm"] = rows
    with open(out_path, "w", encoding="utf-8") as fh:
        json.dump(result, fh, indent=1)
    print(json.dumps({k: v for k, v in result.items() if k != "gemm"}, indent=1))
    for r in rows:
        print(f"{r['dtype']:5s} m={r['m']:6d} {r['seconds'] * 1e6:9.1f} us {r['flops_per_s'] / 1e12:7.1f} TFLOP/s "
              f"{r['bytes_per_s'] / 1e12:6.2f} TB/s AI={r['arithmetic_intensity']:.1f}")


if __name__ == "__main__":
    main(sys.argv[1])
