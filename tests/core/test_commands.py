"""What the page and the CLI print is what was computed: the ``vllm serve`` command carries every
flag the sizing assumed, a choice vLLM cannot make from the checkpoint is a warning with the fix,
and settings vLLM refuses are a refusal verdict, never "fits"."""

from __future__ import annotations

import json
import shlex
from typing import Any

import pytest

from calculators import forms, models, roofline

LLAMA = "meta-llama/Llama-3.1-8B-Instruct"


def _vllm(**raw: Any) -> dict[str, Any]:
    return forms.run("vllm", {"model": LLAMA, "gpu": "h100-sxm", **raw})


def test_fp8_on_a_bf16_checkpoint_quantises_at_load_time() -> None:
    out = _vllm(**{"weights-dtype": "fp8"})
    assert "--quantization fp8" in out["serve_command"] and not out["warnings"]


def test_bitsandbytes_is_a_load_time_flag() -> None:
    out = _vllm(**{"weights-dtype": "bitsandbytes"})
    assert "--quantization bitsandbytes" in out["serve_command"]


def test_int4_on_a_bf16_checkpoint_is_a_warning_with_the_fix() -> None:
    out = _vllm(**{"weights-dtype": "int4"})
    assert "--quantization" not in out["serve_command"]
    assert out["warnings"] and "pre-quantised" in out["warnings"][0] and "bitsandbytes" in out["warnings"][0]


def test_quantised_checkpoint_needs_no_flag() -> None:
    out = forms.run("vllm", {"model": "moonshotai/Kimi-K2-Thinking", "gpu": "h200", "tp": 8})
    assert "--quantization" not in out["serve_command"] and not out["warnings"]
    out = forms.run("vllm", {"model": "moonshotai/Kimi-K2-Thinking", "gpu": "h200", "tp": 8,
                             "weights-dtype": "bfloat16"})
    assert out["warnings"] and "already quantised" in out["warnings"][0]


def test_every_scheduler_flag_is_in_the_command() -> None:
    out = _vllm(**{"tp": 2, "max-model-len": 16384, "kv-cache-dtype": "fp8", "max-num-seqs": 64,
                   "max-num-batched-tokens": 4096, "gpu-memory-utilization": 0.85, "block-size": 32})
    args = shlex.split(out["serve_command"])
    for flag, value in (("--tensor-parallel-size", "2"), ("--max-model-len", "16384"), ("--kv-cache-dtype", "fp8"),
                        ("--max-num-seqs", "64"), ("--max-num-batched-tokens", "4096"),
                        ("--gpu-memory-utilization", "0.85"), ("--block-size", "32")):
        assert args[args.index(flag) + 1] == value, flag


def test_block_size_vllm_refuses() -> None:
    out = _vllm(**{"block-size": 7})
    assert out["fits"] is False and out["verdict"].startswith("vLLM refuses to start: --block-size 7")


def test_does_not_fit_says_by_how_much_and_never_negative() -> None:
    out = forms.run("vllm", {"model": "meta-llama/Llama-3.1-70B", "gpu": "l40s", "max-model-len": 8192})
    assert out["fits"] is False and out["verdict"].startswith("Does not fit: short by")
    assert out["available_kv_cache_gib"] == 0 and out["short_by_gib"] > 0


def test_pasted_config_model_id() -> None:
    """A pasted config names its repository through _name_or_path; otherwise the command holds a
    placeholder to replace, never 'pasted config.json'."""
    config = dict(models.preset_record(LLAMA)["config"])
    config.pop("_name_or_path", None)
    out = forms.run("vllm", {"config-json": json.dumps(config), "gpu": "h100-sxm"})
    assert shlex.split(out["serve_command"])[2] == models.PLACEHOLDER_ID
    config["_name_or_path"] = "my-org/my-llama"
    out = forms.run("vllm", {"config-json": json.dumps(config), "gpu": "h100-sxm"})
    assert shlex.split(out["serve_command"])[2] == "my-org/my-llama"
    config["_name_or_path"] = "/home/me/models/llama"  # a local path is not a repo id
    out = forms.run("vllm", {"config-json": json.dumps(config), "gpu": "h100-sxm"})
    assert shlex.split(out["serve_command"])[2] == models.PLACEHOLDER_ID


def test_enforce_eager_is_in_the_command_and_frees_the_graph_memory() -> None:
    # vLLM keeps no CUDA-graph memory under --enforce-eager (gpu_worker.py profiles none), so the
    # KV cache gets it back; the command must carry the flag the sizing assumed
    graphs = _vllm()
    eager = _vllm(**{"enforce-eager": True})
    assert "--enforce-eager" in shlex.split(eager["serve_command"])
    assert "--enforce-eager" not in shlex.split(graphs["serve_command"])
    assert eager["cuda_graph_gib"] == 0 < graphs["cuda_graph_gib"]
    assert eager["available_kv_cache_gib"] == graphs["available_kv_cache_gib"] + graphs["cuda_graph_gib"]


def test_enforce_eager_slows_every_step_by_the_per_layer_launch_cost() -> None:
    base = forms.run("roofline", {"model": LLAMA, "gpu": "h100-sxm", "batch": 1})
    eager = forms.run("roofline", {"model": LLAMA, "gpu": "h100-sxm", "batch": 1, "enforce-eager": True})
    # Llama-3.1-8B has 32 decoder layers (its config.json: num_hidden_layers 32)
    extra = eager["decode"]["time_s_expected"] - base["decode"]["time_s_expected"]
    assert extra == pytest.approx(32 * roofline.EAGER_LAYER_OVERHEAD_S)
    assert eager["decode"]["time_s_lower_bound"] == base["decode"]["time_s_lower_bound"]
