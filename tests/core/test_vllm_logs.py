"""vLLM's own start-up logs, reproduced from the memory figure they print.

Each entry of tests/data/vllm_logs.toml is a verbatim excerpt from a public issue or repository
(URL in ``source``).  vLLM prints "Available KV cache memory" rounded to 0.01 GiB, so the exact
figure lies in [X − 0.005, X + 0.005) GiB: the logged block and token counts must lie between what
the package predicts at the two ends of that interval.
"""

from __future__ import annotations

from typing import Any

import pytest

from calculators import hardware, models, vllm
from calculators.models import ModelSpec
from tests.core.conftest import load_toml

LOGS: list[dict[str, Any]] = load_toml("vllm_logs.toml")["log"]
MIN_REPRODUCED = 8


def _spec(entry: dict[str, Any]) -> ModelSpec | None:
    model_id = entry.get("config_model", entry["model"])
    if model_id not in models.preset_ids():
        return None
    return models.load_preset(model_id)


def _version(entry: dict[str, Any]) -> str:
    # Logs without a printed version date from 2026-05 or earlier, before the token report became
    # ⌊max_concurrency × max_model_len⌋ (already so in the v0.24.0 logs): read as the v0.9–v0.23
    # format; v0-engine logs (no "GPU KV cache size" line) as v0.8.
    text = str(entry.get("vllm_version", "unknown"))
    if entry.get("engine") == "v0":
        return "0.8.0"
    if text[:1].isdigit():
        return text
    return "0.23.0"


def _predict(entry: dict[str, Any], spec: ModelSpec, gib: float) -> vllm.VLLMFit:
    return vllm.fit(
        spec,
        hardware.custom_gpu(80.0),
        tp=entry.get("tensor_parallel_size", 1),
        pp=entry.get("pipeline_parallel_size", 1),
        max_model_len=entry.get("max_model_len") or entry.get("max_concurrency_tokens") or spec.max_position_embeddings,
        kv_cache_dtype=entry.get("kv_cache_dtype", "auto"),
        block_size=entry.get("block_size", 16),
        max_num_batched_tokens=entry.get("max_num_batched_tokens"),
        available_kv_cache_gib=gib,
        vllm_version=_version(entry),
        mamba_mode=entry.get("mamba_cache_mode", "auto"),
    )


def _reproducible(entry: dict[str, Any]) -> bool:
    return "available_kv_cache_gib" in entry and ("kv_cache_tokens" in entry or "num_gpu_blocks" in entry)


CASES = [e for e in LOGS if _reproducible(e)]


@pytest.mark.parametrize("entry", CASES, ids=[f"{e['model']}@{e['available_kv_cache_gib']}GiB" for e in CASES])
def test_log_reproduced(entry: dict[str, Any]) -> None:
    spec = _spec(entry)
    if spec is None:
        pytest.skip(f"config for {entry.get('config_model', entry['model'])} not bundled")
    gib = entry["available_kv_cache_gib"]
    low, high = _predict(entry, spec, gib - 0.005), _predict(entry, spec, gib + 0.005)
    # With several GPUs every rank prints its own figure and the engine keeps the smallest block
    # count of all ranks (get_kv_cache_configs), so a logged count may sit below the printing
    # rank's prediction; ranks of one model differ by little, allow 2 %.
    if "derived_block_size" in entry:  # hybrid models: the attention block vLLM aligns to the state page
        assert low.block_size == high.block_size == entry["derived_block_size"]
    ranks = entry.get("tensor_parallel_size", 1) * entry.get("pipeline_parallel_size", 1)
    slack = 0.98 if ranks > 1 else 1.0
    for key in ("num_gpu_blocks", "kv_cache_tokens"):
        if key in entry:
            lo, hi = getattr(low, key), getattr(high, key)
            assert slack * lo <= entry[key] <= hi, (key, lo, hi)
    if "max_concurrency" in entry:
        # printed with two decimals; recomputed from the logged block count (or the predicted one)
        blocks = entry.get("num_gpu_blocks", low.num_gpu_blocks)
        conc = vllm.max_concurrency(
            blocks,
            low.kv_groups,
            low.block_size,
            low.max_model_len,
            low.max_num_batched_tokens,
            vllm.parse_version(_version(entry)),
            low.mamba_cache_mode or "none",
        )
        if "num_gpu_blocks" in entry:
            assert round(conc, 2) == pytest.approx(entry["max_concurrency"], abs=0.0051)
        else:
            high_conc = high.max_concurrency
            assert low.max_concurrency - 0.005 <= entry["max_concurrency"] <= high_conc + 0.005


def test_enough_logs_reproduced() -> None:
    reproduced = [e for e in CASES if _spec(e) is not None]
    assert len(reproduced) >= MIN_REPRODUCED, [e["model"] for e in reproduced]


@pytest.mark.parametrize("entry", [e for e in LOGS if e.get("needed_kv_cache_gib")], ids=lambda e: e["model"])
def test_needed_memory_error(entry: dict[str, Any]) -> None:
    """vLLM's 'To serve at least one request … X GiB KV cache is needed' check."""
    spec = _spec(entry)
    if spec is None:
        pytest.skip(f"config for {entry['model']} not bundled")
    fit = _predict(entry, spec, entry["available_kv_cache_gib"])
    assert round(fit.kv_cache_needed_bytes / vllm.GIB, 2) == entry["needed_kv_cache_gib"]
    assert not fit.fits


@pytest.mark.parametrize(
    "entry", [e for e in LOGS if e.get("weights_gib") and e.get("config_model") is None], ids=lambda e: e["model"]
)
def test_weights_match_model_loading_line(entry: dict[str, Any]) -> None:
    """'Model loading took X GiB' (torch-allocated bytes of the loaded weights) within 1.5 %."""
    spec = _spec(entry)
    if spec is None:
        pytest.skip(f"config for {entry['model']} not bundled")
    dtype = entry.get("dtype", "auto")
    fit = vllm.fit(
        spec,
        hardware.custom_gpu(80.0),
        tp=entry.get("tensor_parallel_size", 1),
        weights_dtype=dtype if dtype in ("float16", "bfloat16") else "auto",
        available_kv_cache_gib=1.0,
    )
    assert fit.weights_bytes_per_gpu / vllm.GIB == pytest.approx(entry["weights_gib"], rel=0.015)


#: logs whose GPU is named, mapped to our preset; the AWQ checkpoint is sized as int4 AWQ weights
KNOWN_GPU = {
    "NVIDIA A100-SXM4-40GB": ("a100-40gb-sxm", "auto"),
    "NVIDIA L40S (2x)": ("l40s", "int4"),
}


@pytest.mark.parametrize("entry", [e for e in LOGS if e.get("gpu") in KNOWN_GPU], ids=lambda e: e["model"])
def test_available_memory_estimate(entry: dict[str, Any]) -> None:
    """Without the measured figure, the budget model (total × utilization − weights − activation
    peak − non-torch − CUDA graphs) lands within 5 % of the "Available KV cache memory" logged."""
    spec = _spec(entry)
    assert spec is not None
    gpu_id, weights_dtype = KNOWN_GPU[entry["gpu"]]
    fit = vllm.fit(
        spec,
        hardware.get_gpu(gpu_id),
        tp=entry["tensor_parallel_size"],
        gpu_memory_utilization=entry.get("gpu_memory_utilization", 0.9),
        max_model_len=entry["max_model_len"],
        max_num_batched_tokens=entry.get("max_num_batched_tokens"),
        weights_dtype=weights_dtype,
        vllm_version=_version(entry),
    )
    assert fit.available_kv_cache_bytes / vllm.GIB == pytest.approx(entry["available_kv_cache_gib"], rel=0.05)


def test_activation_peak_against_profile_breakdown() -> None:
    """The one log that prints vLLM's profile breakdown (phi-4, v0 engine: 2048 batched tokens,
    256 sequences): "PyTorch activation peak memory takes 0.94GiB".  Our estimate within 15 %."""
    (entry,) = [e for e in LOGS if "activation_peak_gib" in e]
    spec = _spec(entry)
    assert spec is not None
    peak = vllm.activation_peak_bytes(spec, 1, 2048, 256) / vllm.GIB
    assert peak == pytest.approx(entry["activation_peak_gib"], rel=0.15)
    assert vllm.NON_TORCH_BYTES / vllm.GIB == pytest.approx(entry["non_torch_gib"], abs=0.02)
