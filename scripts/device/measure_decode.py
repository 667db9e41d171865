"""Time whole decode steps of a Llama-3.1-8B-shaped model on a GPU (random bf16 weights).

Each step: per layer RMSNorm, fused QKV projection, attention of one new token over a KV cache of
``context`` tokens (grouped-query, PyTorch SDPA), output projection, gated MLP; then the LM head.
Steps are captured in a CUDA graph (as vLLM does for decode) and replayed.  The shapes come from
the bundled config through ``calculators.models``; the script prints and writes JSON with the
measured step time per batch size, for the docs and for the roofline evidence.

Usage (on a GPU machine): ``python3 scripts/device/measure_decode.py OUT.json [cuda|cpu]``.
Not part of the test suite: no test may need a GPU.
"""

from __future__ import annotations

import json
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, ".")
from calculators import models  # noqa: E402

MODEL = "meta-llama/Llama-3.1-8B-Instruct"


def main(out_path: str, device: str = "cuda") -> None:
    spec = models.load_preset(MODEL)
    h, nh, nkv, hd, inter, layers, vocab = (
        spec.hidden_size, spec.num_attention_heads, spec.num_kv_heads, spec.head_dim,
        spec.intermediate_size, spec.num_layers, spec.vocab_size,
    )
    if device == "cpu":  # a dry run of the code path with a tiny model
        h, nh, nkv, hd, inter, layers, vocab = 64, 4, 2, 16, 128, 2, 256
    dt = torch.bfloat16
    gen = torch.Generator(device=device).manual_seed(0)

    def w(*shape: int) -> torch.Tensor:
        return (torch.randn(*shape, generator=gen, device=device, dtype=torch.float32) * 0.02).to(dt)

    weights = [
        {"norm1": torch.ones(h, device=device, dtype=dt), "wqkv": w(h, (nh + 2 * nkv) * hd), "wo": w(nh * hd, h),
         "norm2": torch.ones(h, device=device, dtype=dt), "wgu": w(h, 2 * inter), "wd": w(inter, h)}
        for _ in range(layers)
    ]
    lm_head = w(h, vocab)
    weight_bytes = sum(t.numel() * t.element_size() for lw in weights for t in lw.values()) + lm_head.numel() * 2

    def rms(x: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
        return x * torch.rsqrt(x.float().pow(2).mean(-1, keepdim=True) + 1e-5).to(x.dtype) * g

    def step(x: torch.Tensor, kv: list[tuple[torch.Tensor, torch.Tensor]]) -> torch.Tensor:
        b = x.shape[0]
        for lw, (kc, vc) in zip(weights, kv, strict=True):
            y = rms(x, lw["norm1"]) @ lw["wqkv"]
            q = y[:, : nh * hd].view(b, nh, 1, hd)
            a = F.scaled_dot_product_attention(q, kc, vc, enable_gqa=True)
            x = x + a.reshape(b, nh * hd) @ lw["wo"]
            gu = rms(x, lw["norm2"]) @ lw["wgu"]
            x = x + (F.silu(gu[:, :inter]) * gu[:, inter:]) @ lw["wd"]
        return x @ lm_head

    results = []
    plan = [(1, 1024), (8, 1024), (32, 1024), (64, 1024), (128, 1024), (256, 1024), (1, 8192), (16, 8192), (64, 4096)]
    if device == "cpu":
        plan = [(1, 16), (4, 32)]
    for batch, context in plan:
        kv = [(w(batch, nkv, context, hd), w(batch, nkv, context, hd)) for _ in range(layers)]
        x = w(batch, h)
        if device == "cuda":
            s = torch.cuda.Stream()
            s.wait_stream(torch.cuda.current_stream())
            with torch.cuda.stream(s):
                for _ in range(3):
                    step(x, kv)
            torch.cuda.current_stream().wait_stream(s)
            graph = torch.cuda.CUDAGraph()
            with torch.cuda.graph(graph):
                step(x, kv)
            for _ in range(3):
                graph.replay()
            torch.cuda.synchronize()
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            reps = 20
            start.record()
            for _ in range(reps):
                graph.replay()
            end.record()
            torch.cuda.synchronize()
            seconds = start.elapsed_time(end) / 1000 / reps
            del graph
        else:
            t0 = time.perf_counter()
            step(x, kv)
            seconds = time.perf_counter() - t0
        kv_bytes = sum(k.numel() * k.element_size() * 2 for k, _ in kv)
        row = {"batch": batch, "context": context, "seconds": seconds, "weight_bytes": weight_bytes,
               "kv_bytes": kv_bytes, "bytes_per_s": (weight_bytes + kv_bytes) / seconds}
        results.append(row)
        print(f"batch {batch:4d} context {context:5d}: {seconds * 1e3:8.3f} ms/step  "
              f"{(weight_bytes + kv_bytes) / seconds / 1e12:6.2f} TB/s (weights {weight_bytes / 2**30:.1f} GiB"
              f" + KV {kv_bytes / 2**30:.1f} GiB)", flush=True)
        del kv, x
        if device == "cuda":
            torch.cuda.empty_cache()
    out = {"date": time.strftime("%Y-%m-%d"), "model_shapes": MODEL, "torch": torch.__version__,
           "device_name": torch.cuda.get_device_name(0) if device == "cuda" else "cpu",
           "method": "random bf16 weights, one CUDA graph per (batch, context), mean of 20 replays",
           "steps": results}
    with open(out_path, "w", encoding="utf-8") as fh:
        json.dump(out, fh, indent=1)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else "cuda")
