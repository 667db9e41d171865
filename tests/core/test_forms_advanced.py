"""Issue 14: inputs marked ``advanced`` (folded under "More options" on the page) and the planner's
table of every option.  The fold is page-only: the CLI builds the same options whatever ``advanced``
says.  The page markup is checked in tests/site/test_calculator_markup.py (the hooks need MkDocs).
"""

from __future__ import annotations

import pytest

from calculators import cli, forms, hardware

# Inputs that must stay in sight (the issue: model, GPU, TP, context, batch, dtypes).
ALWAYS_SHOWN = {"model", "config-json", "gpu", "tp", "max-model-len", "batch", "tokens", "kv-cache-dtype",
                "weights-dtype", "prompt-tokens", "output-tokens", "preset"}


def test_advanced_marks() -> None:
    vllm = {i.name for i in forms.CALCULATORS["vllm"].inputs if i.advanced}
    assert {"block-size", "max-num-batched-tokens", "max-num-seqs", "vllm-version", "mamba-cache-mode"} <= vllm
    assert {i.name for i in forms.CALCULATORS["roofline"].inputs if i.advanced} >= {"mbu", "mfu"}
    for calc in forms.CALCULATORS.values():
        shown = {i.name for i in calc.inputs if i.advanced} & ALWAYS_SHOWN
        assert not shown, (calc.name, shown)


def test_cli_unchanged_by_the_fold(capsys: pytest.CaptureFixture[str]) -> None:
    """Every advanced input is still a CLI option, and takes its value there."""
    for calc in forms.CALCULATORS.values():
        advanced = [i for i in calc.inputs if i.advanced and not i.page_only]
        if not advanced:
            continue
        with pytest.raises(SystemExit):
            cli.build_parser().parse_args([calc.name, "--help"])
        help_text = capsys.readouterr().out
        for inp in advanced:
            assert f"--{inp.name}" in help_text, (calc.name, inp.name)
    assert cli.main(["vllm", "--block-size", "32", "--json"]) == 0
    assert '"block_size": 32' in capsys.readouterr().out


def test_plan_table_has_every_option_recommendation_first() -> None:
    out = forms.run("plan", {"preset": "chat", "gpu": "all", "gpu-hour-price": "2"})
    table = out["options_table"]
    assert len(table["rows"]) == len(out["options"])
    assert table["rows"][0]["index"] == out["recommended"] and table["rows"][0]["recommended"]
    assert sorted(r["index"] for r in table["rows"]) == list(range(len(out["options"])))
    first = table["rows"][0]["cells"]
    rec = out["options"][out["recommended"]]
    assert first[0] == hardware.get_gpu(rec["gpu"]).name
    assert first[table["columns"].index("TPOT")] == f"{1000 * rec['tpot_s']:,.1f} ms"
    assert first[table["columns"].index("Cost per hour")].startswith("$") and first[9].endswith("/h")
    infeasible = [r for r in table["rows"] if not r["feasible"]]
    assert all(r["cells"][table["columns"].index("TTFT")] == "—" for r in infeasible)
    # feasible before infeasible
    flags = [r["feasible"] for r in table["rows"]]
    assert flags == sorted(flags, reverse=True)
