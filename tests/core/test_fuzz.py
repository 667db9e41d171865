"""Bad input fuzz: malformed configs and argument sets raise only CalcError, naming the field.

Cases are generated deterministically (``random.Random(0)``) by mutating the bundled configs
(calculators/data/models): dropped fields, wrong types, negatives, zero, NaN/Infinity, huge numbers,
strings, nested garbage, bools for integers, bad ``layer_types``, bad ``quantization_config``,
hostile strings, non-object JSON; malformed JSON text for ``models.load_config_text``; bad values
for every input of every calculator through ``forms.run``; and bad command lines through
``cli.main`` in-process.  Any exception other than :class:`CalcError` is a failure; every CalcError
must carry a non-empty ``field`` that its text names.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import io
import json
import math
import random
from collections.abc import Callable, Iterator
from importlib import resources
from typing import Any

import pytest

from calculators import cli, forms, hardware, memory, models, params, vllm
from calculators.errors import CalcError

Config = dict[str, Any]
MIN_CASES = 1000


def bundled_configs() -> list[tuple[str, Config]]:
    out = []
    for entry in sorted(resources.files("calculators").joinpath("data", "models").iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".json"):
            record = json.loads(entry.read_text(encoding="utf-8"))
            if "config" in record:  # derived records hold overrides of a sibling's config, not a config
                out.append((entry.name, record["config"]))
    return out


BASES = bundled_configs()

HOSTILE_STRINGS = [
    "", " ", "abc", "-1", "nan", "NaN", "Infinity", "1e400", "0x10", "1_000", "🙂", "🙂" * 500, "A" * 100_000,
    "\x00", "\n\nerror: fake\n", "'; DROP TABLE models; --", "<script>alert(1)</script>", "../../etc/passwd",
    "{{ 7*7 }}", "%s%s%s%n", "\u202e\u0000\ufeff", "null", "true",
]
WRONG_VALUES: list[Any] = [
    None, True, False, 0, -1, -(10**6), 1.5, -0.0, 0.5, float("nan"), float("inf"), float("-inf"), 10**30,
    10**400, 1e308, 2**63, [], [1, 2], {}, {"a": [{"b": None}]}, [[[[[]]]]], "12", "bfloat16", *HOSTILE_STRINGS[:12],
]


def _paths(cfg: Config, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    out: list[tuple[str, ...]] = []
    for key, value in cfg.items():
        out.append((*prefix, key))
        if isinstance(value, dict) and len(prefix) < 2:
            out += _paths(value, (*prefix, key))
    return out


def _set(cfg: Config, path: tuple[str, ...], value: Any, drop: bool = False) -> None:
    node: Any = cfg
    for key in path[:-1]:
        node = node[key]
    if drop:
        node.pop(path[-1], None)
    else:
        node[path[-1]] = value


def _mutate(rng: random.Random, cfg: Config) -> tuple[Any, str]:
    """One to three random mutations of ``cfg`` (a deep copy); returns it and a description."""
    cfg = copy.deepcopy(cfg)
    notes = []
    for _ in range(rng.choice([1, 1, 2, 3])):
        paths = _paths(cfg)
        op = rng.choice(["drop", "value", "value", "value", "layer_types", "quant", "numeric", "key_garbage"])
        if not paths:
            break
        path = rng.choice(paths)
        if op == "drop":
            _set(cfg, path, None, drop=True)
            notes.append(f"drop {'.'.join(path)}")
        elif op == "value":
            value = rng.choice(WRONG_VALUES)
            _set(cfg, path, copy.deepcopy(value))
            notes.append(f"{'.'.join(path)}={str(value)[:20]!r}")
        elif op == "numeric":
            key = rng.choice(["hidden_size", "num_hidden_layers", "num_attention_heads", "num_key_value_heads",
                              "head_dim", "vocab_size", "intermediate_size", "sliding_window", "num_experts",
                              "num_local_experts", "n_routed_experts", "num_experts_per_tok", "kv_lora_rank",
                              "max_position_embeddings", "moe_intermediate_size", "first_k_dense_replace"])
            value = rng.choice([0, -1, 3, 7, 10**7, 10**12, 2**40, 1.0, 2.5, True, "64"])
            cfg[key] = value
            notes.append(f"{key}={value!r}")
        elif op == "layer_types":
            n = cfg.get("num_hidden_layers", 4)
            n = n if isinstance(n, int) and 0 <= n < 1000 else 4
            value = rng.choice([
                ["sliding_attention"] * (n + 1), ["full_attention"] * max(0, n - 1), ["bogus"] * n, [None] * n,
                "full_attention", {}, [1] * n, [["full_attention"]] * n,
            ])
            cfg["layer_types"] = value
            if rng.random() < 0.3:
                cfg.pop("sliding_window", None)
            notes.append(f"layer_types={str(value)[:30]}")
        elif op == "quant":
            value = rng.choice([
                "fp8", [], {}, {"quant_method": None}, {"quant_method": 7}, {"quant_method": "nf3"},
                {"quant_method": "awq", "bits": 3}, {"quant_method": "awq", "bits": "4"},
                {"quant_method": "gptq", "group_size": 0}, {"quant_method": "gptq", "group_size": True},
                {"quant_method": "gptq", "group_size": 1.5}, {"quant_method": "fp8", "weight_block_size": [128]},
                {"quant_method": "fp8", "weight_block_size": [128, 64]},
                {"quant_method": "fp8", "weight_block_size": "x"},
                {"quant_method": "fp8", "weight_block_size": [0, 0]}, {"quant_method": "bitsandbytes"},
                {"quant_method": "compressed-tensors"}, {"quant_method": "mxfp4", "modules_to_not_convert": 5},
                {"quant_method": "awq", "bits": float("nan")},
            ])
            cfg["quantization_config"] = copy.deepcopy(value)
            notes.append(f"quantization_config={str(value)[:40]}")
        else:
            key = rng.choice(HOSTILE_STRINGS[:20])
            cfg[key] = rng.choice(WRONG_VALUES)
            notes.append("garbage key")
    return cfg, "; ".join(notes)


def config_cases() -> Iterator[tuple[str, Any]]:
    rng = random.Random(0)
    for name, base in BASES:
        for i in range(60):
            mutated, note = _mutate(rng, base)
            yield f"{name}#{i}: {note}", mutated
        if "text_config" in base:  # nested garbage in the wrapper and in the text config
            for value in WRONG_VALUES:
                yield f"{name}: text_config={str(value)[:20]}", {**copy.deepcopy(base), "text_config": value}
    for value in WRONG_VALUES + [[{"hidden_size": 1}], "config", 42]:
        yield f"non-object {str(value)[:20]!r}", value
    for key in ("hidden_size", "num_hidden_layers", "num_attention_heads", "vocab_size", "intermediate_size"):
        for value in WRONG_VALUES:
            base = copy.deepcopy(BASES[0][1])
            base[key] = copy.deepcopy(value)
            yield f"{key}={str(value)[:20]!r}", base


def json_text_cases() -> Iterator[tuple[str, Any]]:
    rng = random.Random(1)
    for name, base in BASES:
        text = json.dumps(base)
        yield f"{name} truncated", text[: rng.randrange(1, len(text))]
        yield f"{name} BOM", "\ufeff" + text
        chars = list(text)
        for _ in range(5):
            chars[rng.randrange(len(chars))] = rng.choice('{}[]",:0x\\')
        yield f"{name} flipped", "".join(chars)
        mutated, note = _mutate(rng, base)
        with contextlib.suppress(ValueError, RecursionError):
            yield f"{name} text: {note}", json.dumps(mutated, allow_nan=True)
    for text in ["", "{", "}", "nul", "[1, 2]", '"config"', "42", "NaN", "Infinity", "-Infinity", "null", "true",
                 "{" * 100_000, "[" * 5000 + "]" * 5000, "1" * 5000, '{"hidden_size": ' + "9" * 5000 + "}",
                 '{"hidden_size": 1e400}', '{"a": 1, "a": 2}', "{'hidden_size': 4096}", "\x00", "🙂",
                 " " * (2_000_001), '{"model_type": "llama"}' + " " * 2_000_000,
                 '{"hidden_size": ' + "[" * 900 + "]" * 900 + "}"]:
        yield f"text {text[:20]!r}", text
    yield "bytes", b"{}"
    yield "None", None


def _input_values(inp: forms.Input) -> list[Any]:
    common: list[Any] = ["", None, "🙂", "A" * 10_000, "-1", "nan", "1e400", True, [], {}, 3.5, "0", "inf", -5]
    if inp.kind in ("int", "float"):
        return common + ["1_000", "1,000", " 7 ", "0x10", "1e3", "-0", str(10**50), 10**50, float("nan"), "2.5",
                         "99999999999999999999999999999999999999999999"]
    if inp.kind == "choice":
        return common + ["FP8", " auto ", "fp4", "bf16", "int3", "h100", "H100-SXM "]
    if inp.kind == "model":
        return common + ["meta-llama/Llama-3.1-8B", "../../etc/passwd", "a/b/c", "/", "x" * 201, "meta-llama/",
                         "/Llama-3.1-8B", "meta-llama\\..\\x", "META-LLAMA/LLAMA-3.1-8B", ".hidden/x", "a/\x00"]
    if inp.kind == "bool":
        return common + ["yes", "maybe"]
    if inp.name == "config":
        # (a path with a NUL byte is tested apart: test_config_path_with_nul_byte)
        return common + ["/nonexistent/config.json", "/", "/tmp", __file__, "/etc/hostname", "no\nsuch\nfile"]
    return common + ["{", "[]", '{"hidden_size": -1}', json.dumps(BASES[0][1]), "{" * 5000]


def form_cases() -> Iterator[tuple[str, str, dict[str, Any]]]:
    rng = random.Random(2)
    for calc in forms.CALCULATORS.values():
        for inp in calc.inputs:
            for value in _input_values(inp):
                yield calc.name, f"{inp.name}={str(value)[:20]!r}", {inp.name: value}
        for _ in range(40):  # several bad values at once
            raw: dict[str, Any] = {}
            for inp in rng.sample(list(calc.inputs), k=min(len(calc.inputs), rng.randint(1, 4))):
                raw[inp.name] = rng.choice(_input_values(inp))
            yield calc.name, f"combo {sorted(raw)}", raw
        yield calc.name, "unknown key", {"no-such-input": 1}
        yield calc.name, "hostile key", {"🙂" * 100: 1}
    yield "nope", "unknown calculator", {}
    yield "", "empty calculator", {}


def compute_all(spec: models.ModelSpec) -> None:
    """Everything downstream of a spec that parsed."""
    params.count_params(spec)
    memory.weights_memory(spec, "auto")
    memory.kv_bytes_per_sequence(spec, 4096)
    memory.kv_bytes_per_token(spec, "fp8")
    tp = 2 if spec.num_attention_heads % 2 == 0 else 1
    vllm.fit(spec, hardware.custom_gpu(80.0), tp=1, max_model_len=min(spec.max_position_embeddings, 1 << 20))
    with contextlib.suppress(CalcError):
        memory.weights_memory(spec, "int4", tp=tp)


class Tally:
    def __init__(self) -> None:
        self.cases = 0
        self.errors = 0
        self.failures: list[str] = []

    def run(self, label: str, fn: Callable[[], object], allowed_fields: set[str] | None = None) -> None:
        self.cases += 1
        try:
            fn()
        except CalcError as exc:
            self.errors += 1
            problem = _bad_error(exc, allowed_fields)
            if problem:
                self.failures.append(f"{label}: {problem}: {str(exc)[:200]!r}")
        except BaseException as exc:  # any other exception is what this test looks for
            if isinstance(exc, KeyboardInterrupt):
                raise
            self.failures.append(f"{label}: {type(exc).__name__}: {str(exc)[:200]}")

    def check(self, minimum: int) -> None:
        assert not self.failures, f"{len(self.failures)} bad outcomes, first: " + "\n".join(self.failures[:15])
        assert self.cases >= minimum, self.cases


def _bad_error(exc: CalcError, allowed: set[str] | None) -> str:
    if not isinstance(exc.field, str) or not exc.field.strip():
        return "empty field"
    if exc.field not in str(exc):
        return "field not named in the message"
    if not isinstance(exc.message, str) or not exc.message.strip():
        return "empty message"
    if allowed is not None and exc.field not in allowed:
        return f"field {exc.field!r} is not one of the inputs"
    return ""


def _keys(value: Any, prefix: str = "", depth: int = 0) -> set[str]:
    out: set[str] = set()
    if isinstance(value, dict) and depth < 4:
        for k, v in value.items():
            out |= {str(k), f"{prefix}{k}"}
            out |= _keys(v, f"{prefix}{k}.", depth + 1)
    return out


#: fields a config error may name besides the config's own keys (derived or defaulted fields)
CONFIG_FIELDS = {"config", "model_type", "head_dim", "sliding_window", "layer_types", "num_key_value_heads",
                 "v_head_dim", "kv_lora_rank", "qk_rope_head_dim", "qk_nope_head_dim", "moe_intermediate_size",
                 "num_experts_per_tok", "num_local_experts", "num_experts", "n_routed_experts", "intermediate_size",
                 "hidden_size", "num_hidden_layers", "num_attention_heads", "vocab_size", "torch_dtype",
                 "mlp_only_layers", "quantization_config", "quantization_config.quant_method",
                 "quantization_config.bits", "quantization_config.group_size",
                 "quantization_config.weight_block_size", "tp", "pp", "tokens", "weights-dtype", "kv-cache-dtype",
                 "quantization_config.config_groups", "quantization_config.quant_algo", "quantization_config.ignore",
                 "quantization_config.exclude_modules", "quantization_config.llm_int8_skip_modules",
                 "text_config.model_type", "no_rope_layers", "attn_type_list", "qk_norm_type",
                 "quantization_config.format"}


def _spec_then_compute(cfg: Any) -> None:
    compute_all(models.spec_from_config(cfg))


def _text_then_compute(text: Any) -> None:
    compute_all(models.load_config_text(text))


def test_malformed_configs_raise_only_calc_error() -> None:
    tally = Tally()
    for label, cfg in config_cases():
        allowed = CONFIG_FIELDS | _keys(cfg) | {k for _, base in BASES for k in _keys(base)}
        tally.run(label, functools.partial(_spec_then_compute, cfg), allowed)
    assert tally.errors > tally.cases // 2  # most mutations are caught as bad input
    tally.check(MIN_CASES)


def test_malformed_json_text_raises_only_calc_error() -> None:
    tally = Tally()
    for label, text in json_text_cases():
        tally.run(label, functools.partial(_text_then_compute, text))
    tally.check(60)


def test_bad_form_values_raise_only_calc_error() -> None:
    tally = Tally()
    for name, label, raw in form_cases():
        calc = forms.CALCULATORS.get(name)
        allowed = None
        if calc is not None and "config-json" not in raw and "config" not in raw:
            allowed = {i.name for i in calc.inputs} | {str(k)[:40] for k in raw} | {"gpu"}
        tally.run(f"{name} {label}", functools.partial(forms.run, name, raw), allowed)
    tally.check(MIN_CASES)


def test_case_count() -> None:
    total = (sum(1 for _ in config_cases()) + sum(1 for _ in json_text_cases()) + sum(1 for _ in form_cases())
             + len(CLI_CASES))
    assert total >= 3 * MIN_CASES


# ---------------------------------------------------------------- the command line, in-process


def _cli_cases() -> list[list[str]]:
    rng = random.Random(3)
    bad_values = ["-1", "0", "nan", "1e400", "", "🙂", "x" * 5000, "inf", "1.5", "--json", "0x10", "-0", "1e3"]
    options = {
        "params": ["--model", "--config"],
        "kv": ["--model", "--tp", "--tokens", "--kv-cache-dtype", "--config"],
        "memory": ["--model", "--tp", "--tokens", "--kv-cache-dtype", "--weights-dtype", "--batch"],
        "vllm": ["--model", "--gpu", "--tp", "--pp", "--gpu-memory-utilization", "--max-model-len",
                 "--kv-cache-dtype", "--block-size", "--max-num-batched-tokens", "--available-kv-cache-gib",
                 "--gpu-memory-gib", "--weights-dtype"],
        "ridge": ["--gpu", "--compute-dtype"],
    }
    cases: list[list[str]] = [[], ["nope"], ["params", "--bogus"], ["vllm", "--tp"], ["gpus", "extra"]]
    for command, opts in options.items():
        for opt in opts:
            for value in bad_values:
                cases.append([command, opt, value, "--json"])
        for _ in range(20):
            argv = [command]
            for opt in rng.sample(opts, k=min(len(opts), rng.randint(1, 3))):
                argv += [opt, rng.choice(bad_values)]
            cases.append(argv)
    return cases


CLI_CASES = _cli_cases()


@pytest.mark.parametrize("chunk", range(4))
def test_cli_bad_arguments(chunk: int) -> None:
    for argv in CLI_CASES[chunk::4]:
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                rc = cli.main(argv)
            except SystemExit as exc:  # argparse may exit directly
                rc = int(exc.code or 0)
        stderr = err.getvalue()
        assert "Traceback" not in stderr, argv
        if rc == 0:
            assert out.getvalue().strip(), argv
            continue
        assert rc == 2, (argv, rc, stderr)
        if argv:  # a bare invocation prints the help
            assert out.getvalue() == "", argv
            lines = stderr.splitlines()
            assert len(lines) == 1 and lines[0].startswith("error: "), (argv, stderr[:300])


# ---------------------------------------------------------------- values only the Python API can produce


def test_huge_integer_field_raises_calc_error() -> None:
    cfg = copy.deepcopy(BASES[0][1])
    cfg["hidden_size"] = 10**5000
    with pytest.raises(CalcError):
        models.spec_from_config(cfg)


def _deep(depth: int) -> list[Any]:
    root: list[Any] = []
    node = root
    for _ in range(depth):
        child: list[Any] = []
        node.append(child)
        node = child
    return root


def test_deeply_nested_field_raises_calc_error() -> None:
    cfg = copy.deepcopy(BASES[0][1])
    cfg["hidden_size"] = _deep(5000)
    with pytest.raises(CalcError):
        models.spec_from_config(cfg)


def test_config_path_with_nul_byte() -> None:
    with pytest.raises(CalcError) as info:
        forms.run("params", {"config": "config\x00.json"})
    assert info.value.field == "config"


def test_nan_and_infinity_from_json_text() -> None:
    for literal in ("NaN", "Infinity", "-Infinity", "1e400"):
        cfg = dict(BASES[0][1])
        text = json.dumps(cfg)[:-1] + f', "hidden_size": {literal}}}'
        assert math.isnan(json.loads(text)["hidden_size"]) or math.isinf(json.loads(text)["hidden_size"])
        with pytest.raises(CalcError) as info:
            models.load_config_text(text)
        assert info.value.field == "hidden_size"
