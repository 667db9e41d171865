"""The precompiled, trimmed stdlib (issue 11): every calculator and its error paths run on it alone.

The zip and the wheel are the ones the site build ships (hooks/calculator_pages.shipped_wheel: the
package carries its own ``.pyc`` too); Pyodide boots with ``stdLibURL`` pointing at the zip and
installs that wheel, so an import of a module the trim left out fails here.
"""

from __future__ import annotations

import json
import subprocess
import zipfile
from pathlib import Path
from typing import Any

import pytest

from calculators import display, forms
from hooks import calculator_pages
from tests.pyodide import cases

ROOT = Path(__file__).resolve().parents[2]
NPM_PYODIDE = ROOT / "node_modules" / "pyodide"
SCRIPT = ROOT / "scripts" / "stdlib-pyc.mjs"


def error_cases() -> list[tuple[str, Any]]:
    """Bad values for every input of every calculator, an unknown calculator, and values that are no dict."""
    out: list[tuple[str, Any]] = [("no-such-calculator", {}), ("vllm", ["not", "a", "dict"]), ("vllm", None)]
    for name, calc in forms.CALCULATORS.items():
        for inp in calc.inputs:
            for bad in ("-1", "not a number", "1e999", "", "x" * 300):
                out.append((name, {inp.name: bad}))
        out.append((name, {"config-json": "{not json"}))
        out.append((name, {"config-json": json.dumps({"model_type": "no-such-type"})}))
    return out


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(the lock file, the precompiled stdlib zip) made by the site build's code; the lock lists the
    shipped wheel (with the package's .pyc), which sits beside it."""
    out = tmp_path_factory.mktemp("stdlib-pyc")
    wheel, lock, stdlib = calculator_pages.shipped_wheel(NPM_PYODIDE, out)
    (wheel.parent / "pyodide-lock.json").write_text(json.dumps(lock), encoding="utf-8")
    return wheel.parent / "pyodide-lock.json", stdlib


@pytest.fixture(scope="module")
def in_pyodide(built: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    lock, stdlib = built
    all_cases: list[tuple[str, Any]] = [*cases.cases(), *error_cases()]
    file = tmp_path_factory.mktemp("cases") / "cases.json"
    file.write_text(json.dumps(all_cases), encoding="utf-8")
    done = subprocess.run(
        ["node", str(SCRIPT), "check", "--index", f"{NPM_PYODIDE}/", "--lock", str(lock), "--stdlib", str(stdlib),
         "--cases", str(file)],
        cwd=ROOT, capture_output=True, text=True, check=False, timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    got: dict[str, Any] = json.loads(done.stdout)
    got["cases"] = [(name, {}) for name in forms.CALCULATORS] + all_cases
    return got


def test_zip_holds_only_pyc_with_the_stdlib_layout(built: tuple[Path, Path]) -> None:
    _, stdlib = built
    with zipfile.ZipFile(stdlib) as zf:
        names = zf.namelist()
    assert not [n for n in names if n.endswith(".py")]
    # Files at the zip's root, like python_stdlib.zip: Pyodide mounts it as /lib/python3XY.zip.
    for needed in ("encodings/__init__.pyc", "json/__init__.pyc", "collections/__init__.pyc",
                   "importlib/__init__.pyc", "dataclasses.pyc", "tomllib/__init__.pyc"):
        assert needed in names, needed
    with zipfile.ZipFile(NPM_PYODIDE / "python_stdlib.zip") as full:
        assert len(names) < len(full.namelist())


def test_every_pyc_carries_the_pinned_pyodides_magic(built: tuple[Path, Path], in_pyodide: dict[str, Any]) -> None:
    _, stdlib = built
    magic = bytes.fromhex(in_pyodide["magic"])
    with zipfile.ZipFile(stdlib) as zf:
        bad = [n for n in zf.namelist() if n.endswith(".pyc") and zf.read(n)[:4] != magic]
    assert not bad, bad[:10]


def test_the_wheel_carries_the_package_as_pyc_with_the_pinned_magic(
    built: tuple[Path, Path], in_pyodide: dict[str, Any]
) -> None:
    lock, _ = built
    magic = bytes.fromhex(in_pyodide["magic"])
    tag = in_pyodide["cache_tag"]
    with zipfile.ZipFile(next(lock.parent.glob("*.whl"))) as zf:
        names = zf.namelist()
        pycs = {n: zf.read(n) for n in names if n.endswith(".pyc")}
    sources = [n for n in names if n.startswith("calculators/") and n.endswith(".py")]
    want = {f"{n.rsplit('/', 1)[0]}/__pycache__/{n.rsplit('/', 1)[1][:-3]}.{tag}.pyc" for n in sources}
    assert set(pycs) == want, sorted(set(pycs) ^ want)[:10]
    for name, data in pycs.items():
        assert data[:4] == magic, name
        # flags: hash-based (bit 0), not checked against the source (bit 1 clear): imported as is
        assert int.from_bytes(data[4:8], "little") == 0b01, name
    # Pyodide found them where it looks for the package's bytecode
    assert in_pyodide["package_cached"] and all(in_pyodide["package_cached"].values()), in_pyodide["package_cached"]


def test_pyodide_imported_the_stdlib_from_the_pyc_zip(in_pyodide: dict[str, Any]) -> None:
    for origin in in_pyodide["stdlib"]:
        assert origin.startswith("/lib/python3") and origin.endswith(".pyc"), origin


def assert_same_as_cpython(cases: list[tuple[str, Any]], results: list[Any]) -> None:
    """Each Pyodide result equals CPython's ``page_result`` for its case, and the error paths ran."""
    assert len(results) == len(cases)
    mismatches = []
    errors = 0
    for (name, values), got in zip(cases, results, strict=True):
        raw = values if isinstance(values, dict) else {}
        want = json.loads(json.dumps(display.page_result(str(name), raw), allow_nan=False))
        errors += not want["ok"]
        if got != want:
            mismatches.append((name, values))
    assert not mismatches, mismatches[:5]
    assert errors > len(forms.CALCULATORS), "the error paths were not exercised"


def test_every_calculator_and_error_path_matches_cpython_on_the_trimmed_stdlib(in_pyodide: dict[str, Any]) -> None:
    assert_same_as_cpython(in_pyodide["cases"], in_pyodide["results"])
