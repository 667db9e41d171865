"""The command-line contract (issue 2): ``python -m calculators <command> … [--json]``.

Run as a user would, in a subprocess from the repository root: one JSON object with ``--json``,
a readable table without it; bad input exits with status 2, prints nothing on stdout and exactly
one ``error: …`` line on stderr, never a traceback.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from tests.core.conftest import load_toml

ROOT = Path(__file__).resolve().parents[2]

GPU_IDS = ("a100-40gb-sxm a100-80gb-sxm a100-80gb-pcie h100-sxm h100-pcie h100-nvl h200 b200 gb200 l40s l4 a10g a10 "
           "t4 v100-32gb rtx-4090 rtx-6000-ada mi300x mi325x").split()
FLOPS_KEYS = {"fp32", "tf32", "bf16", "fp16", "fp8", "int8", "fp4"}
VLLM_KEYS = {"weights_gib_per_gpu", "available_kv_cache_gib", "bytes_per_token_per_gpu", "num_gpu_blocks",
             "kv_cache_tokens", "max_concurrency", "kv_cache_needed_gib", "estimated_max_model_len", "fits",
             "serve_command"}


def calc(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "calculators", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=60, check=False)


def calc_json(*args: str) -> dict[str, Any]:
    proc = calc(*args, "--json")
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    data = json.loads(proc.stdout)
    assert isinstance(data, dict)
    return data


def published_total(model_id: str) -> int:
    for entry in load_toml("models.toml")["model"]:
        if entry["id"] == model_id:
            return int(entry["params_total_exact"])
    raise AssertionError(f"{model_id} not in tests/data/models.toml")


def bundled_config(model_id: str) -> dict[str, Any]:
    path = resources.files("calculators").joinpath("data", "models", model_id.replace("/", "--") + ".json")
    record: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return dict(record["config"])


# ---------------------------------------------------------------- success paths


def test_params_llama_3_1_8b() -> None:
    data = calc_json("params", "--model", "meta-llama/Llama-3.1-8B")
    assert data["params_total"] == published_total("meta-llama/Llama-3.1-8B") == 8_030_261_248
    assert data["params_active"] == data["params_total"]  # dense
    assert isinstance(data["params_total"], int) and isinstance(data["params_active"], int)


def test_params_moe_active_below_total() -> None:
    data = calc_json("params", "--model", "mistralai/Mixtral-8x7B-Instruct-v0.1")
    assert 0 < data["params_active"] < data["params_total"]


def test_kv_llama_3_1_8b() -> None:
    data = calc_json("kv", "--model", "meta-llama/Llama-3.1-8B")
    per_token = 32 * 2 * 8 * 128 * 2  # layers × (K, V) × KV heads × head_dim × bf16
    assert data["bytes_per_token"] == per_token
    assert data["bytes_per_sequence"] == per_token * data["tokens"]
    data = calc_json("kv", "--model", "meta-llama/Llama-3.1-8B", "--kv-cache-dtype", "fp8", "--tp", "2",
                     "--tokens", "1000")
    assert data["bytes_per_token"] == 32 * 2 * 4 * 128
    assert data["bytes_per_sequence"] == 32 * 2 * 4 * 128 * 1000


def test_vllm_contract_keys() -> None:
    args = ("vllm", "--model", "meta-llama/Llama-3.1-70B-Instruct", "--gpu", "h100-sxm", "--tp", "2",
            "--max-model-len", "32768")
    start = time.perf_counter()
    data = calc_json(*args)
    elapsed = time.perf_counter() - start
    assert VLLM_KEYS <= set(data)
    for key in ("weights_gib_per_gpu", "available_kv_cache_gib", "max_concurrency", "kv_cache_needed_gib"):
        assert isinstance(data[key], (int, float)) and not isinstance(data[key], bool) and math.isfinite(data[key])
    for key in ("bytes_per_token_per_gpu", "num_gpu_blocks", "kv_cache_tokens", "estimated_max_model_len"):
        assert isinstance(data[key], int) and not isinstance(data[key], bool) and data[key] >= 0
    assert isinstance(data["fits"], bool)
    assert data["bytes_per_token_per_gpu"] == 80 * 2 * (8 // 2) * 128 * 2
    assert data["kv_cache_needed_gib"] == pytest.approx(32768 * 80 * 2 * 4 * 128 * 2 / 2**30)
    assert 0 <= data["estimated_max_model_len"] <= 32768
    assert data["fits"] == (data["estimated_max_model_len"] == 32768)
    cmd = data["serve_command"]
    assert cmd.startswith("vllm serve meta-llama/Llama-3.1-70B-Instruct")
    assert "--tensor-parallel-size 2" in cmd and "--max-model-len 32768" in cmd
    assert elapsed < 5, f"took {elapsed:.2f} s (process start included)"


def test_vllm_measured_memory_and_custom_gpu() -> None:
    data = calc_json("vllm", "--model", "meta-llama/Llama-3.1-8B-Instruct", "--gpu-memory-gib", "80",
                     "--max-model-len", "8192", "--available-kv-cache-gib", "10")
    per_token = 32 * 2 * 8 * 128 * 2
    assert data["num_gpu_blocks"] == 10 * 2**30 // (16 * per_token)
    assert data["fits"] is True
    assert data["estimated_max_model_len"] == 8192


def test_config_file(tmp_path: Path) -> None:
    path = tmp_path / "Llama-3.1-8B" / "config.json"
    path.parent.mkdir()
    path.write_text(json.dumps(bundled_config("meta-llama/Llama-3.1-8B")), encoding="utf-8")
    from_file = calc_json("params", "--config", str(path))
    assert from_file["params_total"] == 8_030_261_248
    kv = calc_json("kv", "--config", str(path), "--tokens", "10")
    assert kv["bytes_per_sequence"] == 10 * 131_072


def test_gpus() -> None:
    data = calc_json("gpus")
    assert set(data) == {"gpus"} and isinstance(data["gpus"], list)
    by_id = {g["id"]: g for g in data["gpus"]}
    assert len(by_id) == len(data["gpus"]), "duplicate GPU ids"
    missing = set(GPU_IDS) - set(by_id)
    assert not missing, missing
    for g in data["gpus"]:
        for key in ("id", "name", "memory_bytes", "memory_bytes_reported", "bandwidth_bytes_per_s", "dense_flops",
                    "ridge_point_bf16"):
            assert key in g, (g["id"], key)
        assert isinstance(g["name"], str) and g["name"]
        assert isinstance(g["memory_bytes"], int) and g["memory_bytes"] > 2**30
        assert isinstance(g["memory_bytes_reported"], int) and 0 < g["memory_bytes_reported"]
        assert g["bandwidth_bytes_per_s"] > 1e11
        assert set(g["dense_flops"]) == FLOPS_KEYS, g["id"]
        for value in g["dense_flops"].values():
            assert value is None or (isinstance(value, (int, float)) and value > 0)
        bf16 = g["dense_flops"]["bf16"]
        if bf16 is None:
            assert g["ridge_point_bf16"] is None
        else:
            assert g["ridge_point_bf16"] == pytest.approx(bf16 / g["bandwidth_bytes_per_s"])
    assert by_id["h100-sxm"]["dense_flops"]["bf16"] == pytest.approx(989.4e12, rel=0.01)  # dense, not 1979 sparse


@pytest.mark.parametrize("args", [
    ("params", "--model", "meta-llama/Llama-3.1-8B"),
    ("kv", "--model", "meta-llama/Llama-3.1-8B"),
    ("vllm", "--model", "meta-llama/Llama-3.1-8B-Instruct", "--gpu", "h100-sxm"),
    ("gpus",),
])
def test_readable_table(args: tuple[str, ...]) -> None:
    proc = calc(*args)
    assert proc.returncode == 0, proc.stderr
    text = proc.stdout.strip()
    assert text and len(text.splitlines()) >= 2
    assert not text.startswith(("{", "["))
    with pytest.raises(json.JSONDecodeError):
        json.loads(text)


# ---------------------------------------------------------------- bad input


def _bad_cases(tmp: Path) -> dict[str, tuple[str, ...]]:
    malformed = tmp / "malformed.json"
    malformed.write_text('{"hidden_size": 4096,', encoding="utf-8")
    negative = tmp / "negative.json"
    negative.write_text(json.dumps({**bundled_config("meta-llama/Llama-3.1-8B"), "hidden_size": -1}), encoding="utf-8")
    not_object = tmp / "list.json"
    not_object.write_text("[1, 2, 3]", encoding="utf-8")
    binary = tmp / "binary.json"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    return {
        "unknown model": ("params", "--model", "nobody/no-such-model", "--json"),
        "model without org": ("params", "--model", "llama", "--json"),
        "tp 0": ("kv", "--model", "meta-llama/Llama-3.1-8B", "--tp", "0", "--json"),
        "tp nan": ("kv", "--model", "meta-llama/Llama-3.1-8B", "--tp", "nan", "--json"),
        "tp not dividing heads": ("kv", "--model", "meta-llama/Llama-3.1-8B", "--tp", "3", "--json"),
        "tp 1.5": ("vllm", "--model", "meta-llama/Llama-3.1-8B", "--gpu", "h100-sxm", "--tp", "1.5", "--json"),
        "unknown kv dtype": ("kv", "--model", "meta-llama/Llama-3.1-8B", "--kv-cache-dtype", "fp4", "--json"),
        "unknown weights dtype": ("memory", "--model", "meta-llama/Llama-3.1-8B", "--weights-dtype", "int3"),
        "unknown gpu": ("vllm", "--model", "meta-llama/Llama-3.1-8B", "--gpu", "h900", "--json"),
        "utilization above 1": ("vllm", "--model", "meta-llama/Llama-3.1-8B", "--gpu", "h100-sxm",
                                "--gpu-memory-utilization", "1.5"),
        "max-model-len 1e400": ("vllm", "--model", "meta-llama/Llama-3.1-8B", "--gpu", "h100-sxm",
                                "--max-model-len", "1e400"),
        "negative tokens": ("kv", "--model", "meta-llama/Llama-3.1-8B", "--tokens", "-5"),
        "missing file": ("params", "--config", str(tmp / "does-not-exist.json"), "--json"),
        "directory as file": ("params", "--config", str(tmp), "--json"),
        "malformed JSON file": ("params", "--config", str(malformed), "--json"),
        "negative field in file": ("params", "--config", str(negative), "--json"),
        "JSON list file": ("kv", "--config", str(not_object)),
        "binary file": ("params", "--config", str(binary)),
        "unknown option": ("params", "--model", "meta-llama/Llama-3.1-8B", "--bogus", "--json"),
        "unknown command": ("frobnicate", "--json"),
        "option without value": ("kv", "--model"),
    }


@pytest.fixture(scope="module")
def bad_results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, subprocess.CompletedProcess[str]]:
    """Every bad-input case run once, in parallel."""
    cases = _bad_cases(tmp_path_factory.mktemp("bad"))
    with ThreadPoolExecutor(max_workers=8) as pool:
        futures = {label: pool.submit(calc, *args) for label, args in cases.items()}
        return {label: f.result() for label, f in futures.items()}


def test_bad_input_exit_2_one_error_line(bad_results: dict[str, subprocess.CompletedProcess[str]]) -> None:
    assert len(bad_results) >= 20
    for label, proc in bad_results.items():
        assert proc.returncode == 2, (label, proc.returncode, proc.stdout[:200], proc.stderr[:200])
        assert proc.stdout == "", (label, proc.stdout[:200])
        assert "Traceback" not in proc.stderr, label
        lines = proc.stderr.splitlines()
        assert len(lines) == 1 and proc.stderr.endswith("\n"), (label, proc.stderr[:400])
        assert lines[0].startswith("error: ") and len(lines[0]) > len("error: "), (label, lines[0])


def test_error_names_the_field(bad_results: dict[str, subprocess.CompletedProcess[str]]) -> None:
    expect = {"tp 0": "tp", "tp nan": "tp", "unknown kv dtype": "kv-cache-dtype", "unknown gpu": "gpu",
              "negative field in file": "hidden_size", "unknown model": "model", "malformed JSON file": "config",
              "missing file": "config"}
    for label, field in expect.items():
        assert field in bad_results[label].stderr, (label, bad_results[label].stderr)


def test_runs_from_a_copy_outside_the_repository(tmp_path: Path) -> None:
    """The package carries its own data: it works from any working directory."""
    shutil.copytree(ROOT / "calculators", tmp_path / "calculators")
    proc = subprocess.run([sys.executable, "-m", "calculators", "params", "--model", "meta-llama/Llama-3.1-8B",
                           "--json"], cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["params_total"] == 8_030_261_248


def test_hostile_paths_and_values(tmp_path: Path) -> None:
    """Bounded inputs: an empty --config, a FIFO (would block a read forever), a config nested
    3,000 levels deep, and Unicode digits are each one clear error line, exit 2, quickly."""
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 3000 + "]" * 3000, encoding="utf-8")
    cases = {
        ("params", "--config", ""): "--config: is empty",
        ("params", "--config", str(fifo)): "is not a regular file",
        ("params", "--config", str(deep)): "nested more than",
        ("vllm", "--tp", "\U0001d7d0"): "--tp:",  # MATHEMATICAL BOLD DIGIT TWO
        ("deploy", "--tp", "1", "--replicas", "1", "--namespace", "Kube_System"): "--namespace:",
    }
    for args, expected in cases.items():
        proc = subprocess.run([sys.executable, "-m", "calculators", *args], cwd=ROOT, capture_output=True,
                              text=True, timeout=60)
        lines = proc.stderr.strip().splitlines()
        assert proc.returncode == 2 and len(lines) == 1 and expected in lines[0], (args, proc.stderr)


def test_checkpoint_folder_is_served_by_its_path(tmp_path: Path) -> None:
    record = json.loads((ROOT / "calculators/data/models/meta-llama--Llama-3.2-1B-Instruct.json").read_text())
    config = dict(record["config"])
    config.pop("_name_or_path", None)
    folder = tmp_path / "my-checkpoint"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps(config), encoding="utf-8")
    proc = calc("vllm", "--config", str(folder), "--gpu", "h100-sxm", "--json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["serve_command"].split()[2] == str(folder)


def test_simulate_contract_and_seed(tmp_path: Path) -> None:
    lengths = tmp_path / "prompts.txt"
    lengths.write_text("512\n1024\n2048\n", encoding="utf-8")
    args = [sys.executable, "-m", "calculators", "simulate", "--model", "meta-llama/Llama-3.1-8B-Instruct",
            "--gpu", "h100-sxm", "--tp", "1", "--rate", "5", "--prompt-tokens", f"file:{lengths}",
            "--output-tokens", "normal:256:64", "--requests", "300", "--seed", "4", "--json"]
    outs = [subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=120) for _ in range(2)]
    assert outs[0].returncode == 0, outs[0].stderr
    a, b = (json.loads(o.stdout) for o in outs)
    assert a == b  # the same seed gives the same answer
    for key in ("request_throughput_per_s", "output_tokens_per_s", "preemptions"):
        assert key in a
    for key in ("ttft_s", "tpot_s"):
        assert set(a[key]) == {"p50", "p90", "p99"} and a[key]["p50"] <= a[key]["p90"] <= a[key]["p99"]


def test_calibrate_contract(tmp_path: Path) -> None:
    bench = {"request_rate": 2.0, "max_concurrency": None, "input_lens": [800, 1200, 400] * 20,
             "output_lens": [100, 200, 50] * 20, "median_ttft_ms": 60.0, "median_tpot_ms": 12.0,
             "output_throughput": 250.0, "model_id": "meta-llama/Llama-3.1-8B-Instruct"}
    path = tmp_path / "bench.json"
    path.write_text(json.dumps(bench), encoding="utf-8")
    proc = calc("calibrate", "--model", "meta-llama/Llama-3.1-8B-Instruct", "--gpu", "h100-sxm", "--bench", str(path),
                "--json")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert 0 < out["mbu"] <= 1 and 0 < out["mfu"] <= 1
    for key in ("measured", "before", "after"):
        assert set(out[key]) == {"median_ttft_s", "median_tpot_s", "output_tokens_per_s"}
    assert out["measured"]["median_tpot_s"] == pytest.approx(0.012)


def test_calibrate_says_what_it_did_not_fit(tmp_path: Path) -> None:
    """The published summary of GPUStack's Qwen3-8B run on one H100 (vLLM 0.11.0, 1 client, ShareGPT
    prompts of 232.6 tokens on average: median TTFT 60.38 ms, TPOT 7.22 ms; tests/data/measurements.toml)
    at the mean lengths: the TTFT is mostly the API server, so MFU is not fitted and both outputs say so."""
    bench = {"request_rate": "inf", "max_concurrency": 1, "input_lens": [233] * 20, "output_lens": [221] * 20,
             "median_ttft_ms": 60.38, "median_tpot_ms": 7.22, "output_throughput": 132.86, "model_id": "Qwen/Qwen3-8B"}
    path = tmp_path / "bench.json"
    path.write_text(json.dumps(bench), encoding="utf-8")
    args = ("calibrate", "--model", "Qwen/Qwen3-8B", "--gpu", "h100-sxm", "--bench", str(path))
    out = json.loads(calc(*args, "--json").stdout)
    assert out["mbu_fitted"] is True and out["mfu_fitted"] is False
    assert out["status"].endswith("(1 client): MBU and API server time fitted, MFU at the default (see the warnings)")
    assert len(out["warnings"]) == 1 and out["warnings"][0].startswith("MFU not fitted")
    # the published median TTFT is replayed: the server time makes up the difference
    assert out["ttft_after_ms"] == pytest.approx(60.38, rel=0.02) and out["ttft_overhead_ms"] > 30
    line = f"pass --mbu {out['mbu']:.3g} --ttft-overhead-ms {out['ttft_overhead_ms']:.1f} to"
    assert any(line in a for a in out["assumptions"]), out["assumptions"]
    text = calc(*args).stdout
    assert "warning: MFU not fitted" in text
    # what calibrate says to pass is accepted, and moves the roofline's TTFT by exactly that much
    base = ("roofline", "--model", "Qwen/Qwen3-8B", "--gpu", "h100-sxm", "--prompt-tokens", "233", "--json")
    plain = json.loads(calc(*base).stdout)
    shifted = json.loads(calc(*base, "--ttft-overhead-ms", f"{out['ttft_overhead_ms']:.1f}").stdout)
    assert shifted["ttft_s"] - plain["ttft_s"] == pytest.approx(float(f"{out['ttft_overhead_ms']:.1f}") / 1000)
    assert shifted["tpot_s"] == plain["tpot_s"]
    # the server time holds no batch slot: the engine's tokens/s do not change
    assert shifted["output_tokens_per_s"] == plain["output_tokens_per_s"]
    # and each says what its TTFT holds
    assert any(a.startswith("TTFT is the GPU's share") for a in plain["assumptions"])
    passed_ms = float(f"{out['ttft_overhead_ms']:.1f}")
    assert any(f"include {passed_ms:g} ms of API server time" in a for a in shifted["assumptions"])


def test_plan_adds_the_server_time_to_ttft_only() -> None:
    """The closed-form planner with --ttft-overhead-ms: the same replicas and batch (the server time
    holds no batch slot), every option's TTFT that much longer, and a TTFT target it then misses is
    missed: a server time just over the chat preset's own TTFT target leaves no option feasible."""
    base = ("plan", "--model", "meta-llama/Llama-3.1-8B-Instruct", "--gpu", "h100-sxm", "--preset", "chat",
            "--json")
    plain = json.loads(calc(*base).stdout)
    target_ms = 1000 * plain["workload"]["ttft_target_s"]
    shifted = json.loads(calc(*base, "--ttft-overhead-ms", "300").stdout)
    a = [o for o in plain["options"] if o["feasible"]]
    b = [o for o in shifted["options"] if o["feasible"]]
    assert [(o["tp"], o["replicas"], o["batch_per_replica"]) for o in a] == \
        [(o["tp"], o["replicas"], o["batch_per_replica"]) for o in b]
    for x, y in zip(a, b, strict=True):
        assert y["ttft_s"] == pytest.approx(x["ttft_s"] + 0.3)
    over = json.loads(calc(*base, "--ttft-overhead-ms", f"{target_ms + 1:g}").stdout)
    assert a and not any(o["feasible"] for o in over["options"])
