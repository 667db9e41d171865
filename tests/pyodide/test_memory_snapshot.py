"""The memory snapshot (issue 11): booted from it as the page's worker does, every calculator and its
error paths give exactly what CPython gives.

The snapshot is the one the site build ships (hooks/calculator_pages.memory_snapshot), made by
scripts/memory-snapshot.mjs with Pyodide's own ``makeMemorySnapshot`` under Node; the check boots
with ``_loadSnapshot`` and the same precompiled stdlib, unpacks the wheel (the file system is not in
a snapshot) and runs the cases.
"""

from __future__ import annotations

import gzip
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from calculators import forms
from hooks import calculator_pages
from tests.pyodide import cases
from tests.pyodide.test_stdlib_pyc import assert_same_as_cpython, error_cases

ROOT = Path(__file__).resolve().parents[2]
NPM_PYODIDE = ROOT / "node_modules" / "pyodide"
SCRIPT = ROOT / "scripts" / "memory-snapshot.mjs"


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """(wheel, precompiled stdlib, gzipped snapshot) made by the site build's code."""
    out = tmp_path_factory.mktemp("snapshot")
    wheel, _, stdlib = calculator_pages.shipped_wheel(NPM_PYODIDE, out)
    return wheel, stdlib, calculator_pages.memory_snapshot(NPM_PYODIDE, wheel, stdlib)


def test_snapshot_is_gzipped_wasm_memory(built: tuple[Path, Path, Path]) -> None:
    _, _, snapshot = built
    raw = gzip.decompress(snapshot.read_bytes())
    # the interpreter's whole wasm memory (tens of MiB, mostly zero pages) plus Pyodide's header
    assert 16 << 20 < len(raw) < 256 << 20
    assert snapshot.stat().st_size < len(raw) / 3


def test_every_calculator_and_error_path_matches_cpython_from_the_snapshot(
    built: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    wheel, stdlib, snapshot = built
    all_cases: list[tuple[str, Any]] = [*cases.cases(), *error_cases()]
    file = tmp_path / "cases.json"
    file.write_text(json.dumps(all_cases), encoding="utf-8")
    done = subprocess.run(
        ["node", str(SCRIPT), "check", "--index", f"{NPM_PYODIDE}/", "--wheel", str(wheel), "--stdlib", str(stdlib),
         "--snapshot", str(snapshot), "--cases", str(file)],
        cwd=ROOT, capture_output=True, text=True, check=False, timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    results = json.loads(done.stdout)["results"]
    assert_same_as_cpython([(name, {}) for name in forms.CALCULATORS] + all_cases, results)
