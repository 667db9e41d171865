"""Runs inside Pyodide (tests/pyodide/run.mjs): the page results equal CPython's, case by case."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

from calculators import display

EXPECTED = Path(__file__).resolve().parent / "expected.json"


def _load() -> list[dict[str, Any]]:
    data: list[dict[str, Any]] = json.loads(EXPECTED.read_text(encoding="utf-8"))
    return data


def test_runs_in_pyodide() -> None:
    assert sys.platform == "emscripten", "this file is meant to run inside Pyodide"


@pytest.mark.parametrize("index", range(len(_load())) if EXPECTED.exists() else [])
def test_same_result_as_cpython(index: int) -> None:
    case = _load()[index]
    got = json.loads(json.dumps(display.page_result(case["name"], case["raw"])))
    assert got == case["out"], (case["name"], case["raw"])
