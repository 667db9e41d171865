"""Command line built from the calculator declarations in :mod:`calculators.forms`.

``python -m calculators <command> [options] [--json]``: one JSON object with ``--json``, else a
readable table.  Bad input: exit status 2 and one line ``error: …`` on stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any, NoReturn

from calculators import forms
from calculators.errors import CalcError

GIB = 1 << 30


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        sys.stderr.write(f"error: {message}\n")
        raise SystemExit(2)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m calculators", description="vLLM Field Notes calculators")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for calc in forms.CALCULATORS.values():
        p = sub.add_parser(calc.name, help=calc.summary.replace("%", "%%"), description=calc.summary)
        for inp in calc.inputs:
            if inp.page_only:
                continue
            opt = "--" + inp.name
            help_text = inp.help + (f" [{inp.unit}]" if inp.unit else "")
            help_text = help_text.replace("%", "%%")  # argparse formats help strings with %
            if inp.kind == "bool":
                p.add_argument(opt, dest=inp.name, action="store_true", help=help_text)
                continue
            if inp.choices is not None and inp.kind == "choice":
                help_text += f" Default {inp.default}."
            elif inp.default is not None:
                help_text += f" Default {inp.default}."
            p.add_argument(opt, dest=inp.name, default=None, metavar=inp.name.upper().replace("-", "_"), help=help_text)
        p.add_argument("--json", action="store_true", help="print one JSON object")
    return parser


def _human(value: Any, fmt: str) -> str:
    if value is None:  # not computed for this input (no price given, nothing recommended): as on the page
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if fmt == "bytes" and isinstance(value, (int, float)):
        return f"{value:,} B ({value / GIB:,.2f} GiB)" if value >= GIB else f"{value:,} B"
    if fmt == "gib" and isinstance(value, (int, float)):
        return f"{value:,.2f} GiB"
    if fmt == "int" and isinstance(value, int):
        return f"{value:,}"
    if fmt == "ratio" and isinstance(value, float):
        return f"{value:,.2f}×"
    if fmt in ("usd_per_hour", "ms") and isinstance(value, (int, float)):
        from calculators.display import human

        return human(value, fmt)
    if isinstance(value, float):
        return f"{value:,.4g}"
    return str(value)


def _table(calc: forms.Calculator, result: dict[str, Any]) -> str:
    if calc.name == "gpus":
        lines = [f"{'id':15s} {'memory':>9s} {'bandwidth':>11s} {'bf16 dense':>12s} {'ridge':>7s}  name"]
        for g in result["gpus"]:
            bf16 = g["dense_flops"]["bf16"]
            lines.append(
                f"{g['id']:15s} {g['memory_bytes'] / 1e9:7.0f}GB {g['bandwidth_bytes_per_s'] / 1e12:8.2f}TB/s "
                f"{(bf16 or 0) / 1e12:8.0f}TFLOP {(g['ridge_point_bf16'] or 0):7.0f}  {g['name']}"
            )
        return "\n".join(lines)
    width = max(len(o.label) for o in calc.outputs) if calc.outputs else 10
    lines = [f"{o.label:{width}s}  {_human(result.get(o.name), o.format)}" for o in calc.outputs if o.name in result]
    for key in ("warnings", "advice", "assumptions"):
        for item in result.get(key) or []:
            lines.append(f"{key[:-1] if key.endswith('s') else key}: {item}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    if not args.command:
        parser.print_help()
        return 2
    calc = forms.CALCULATORS[args.command]
    raw = {
        i.name: getattr(args, i.name)
        for i in calc.inputs
        if not i.page_only and getattr(args, i.name, None) is not None
    }
    for inp in calc.inputs:
        if inp.kind == "bool" and not inp.page_only:
            raw[inp.name] = bool(getattr(args, inp.name))
    if calc.name == "calibrate" and not (raw.get("bench") or "").strip():
        sys.stderr.write("error: --bench: give the JSON file that vllm bench serve --save-result --save-detailed "
                         "wrote\n")
        return 2
    if isinstance(raw.get("config"), str) and not raw["config"].strip():
        sys.stderr.write("error: --config: is empty: give the path of a config.json or of a checkpoint folder\n")
        return 2
    try:
        result = forms.run(calc.name, raw)
    except CalcError as exc:
        sys.stderr.write(f"error: --{exc.field}: {exc.message}\n".replace("\n", " ").rstrip() + "\n")
        return 2
    except (RecursionError, MemoryError, OverflowError, ValueError, TypeError, KeyError) as exc:
        sys.stderr.write(f"error: could not compute this input ({type(exc).__name__})\n")
        return 2
    if args.json:
        result = {k: v for k, v in result.items() if k != "chart_svg"}
        sys.stdout.write(json.dumps(result, indent=2, allow_nan=False) + "\n")
    else:
        sys.stdout.write(_table(calc, result) + "\n")
    return 0
