"""The calculators in real Pyodide under Node: the core test suite, and CPython's results, case by case.

Needs `npm ci` (node_modules/pyodide) and, once, PyPI for the pure wheels of pytest and its
dependencies (``pip download``, cached in build/pyodide-wheels/).  The wheel and the lock file are
made here by the same code the site build uses (hooks/calculator_pages.py).
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from importlib import metadata
from pathlib import Path

import pytest

from hooks import calculator_pages
from tests.pyodide import cases

# Test files that cannot run in Pyodide: numpy (oracle tests; Pyodide's numpy is not in the npm
# package), hypothesis (its wheels carry native code) and subprocess (CLI tests; no processes in
# emscripten).
NOT_IN_PYODIDE = re.compile(r"^\s*(import|from)\s+(numpy|hypothesis|subprocess)\b", re.MULTILINE)
ROOT = Path(__file__).resolve().parents[2]
NPM_PYODIDE = ROOT / "node_modules" / "pyodide"
WHEEL_CACHE = ROOT / "build" / "pyodide-wheels"
# Pure wheels pytest needs, at the versions installed in this venv (pinned in requirements.txt).
PYTEST_WHEELS = ("pytest", "iniconfig", "pluggy", "packaging", "pygments")


@pytest.fixture(scope="module")
def lock_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("pyodide-lock")
    wheel = calculator_pages.build_wheel(out)
    lock = calculator_pages.lock_for(wheel, NPM_PYODIDE / "pyodide-lock.json")
    (out / "pyodide-lock.json").write_text(json.dumps(lock), encoding="utf-8")
    return out


@pytest.fixture(scope="module")
def pytest_wheels() -> Path:
    pins = [f"{name}=={metadata.version(name)}" for name in PYTEST_WHEELS]
    stamp = WHEEL_CACHE / "pins.txt"
    if not (stamp.exists() and stamp.read_text(encoding="utf-8") == "\n".join(pins)):
        shutil.rmtree(WHEEL_CACHE, ignore_errors=True)
        WHEEL_CACHE.mkdir(parents=True)
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check", "--no-deps",
             "--only-binary=:all:", "--dest", str(WHEEL_CACHE), *pins],
            check=True,
        )
        stamp.write_text("\n".join(pins), encoding="utf-8")
    return WHEEL_CACHE


def test_wheel_is_a_valid_pure_wheel(lock_dir: Path) -> None:
    wheel = next(lock_dir.glob("*.whl"))
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
        record = zf.read("calculators-0.1.0.dist-info/RECORD").decode()
        for name, digest, size in csv.reader(io.StringIO(record)):
            if name.endswith("RECORD"):
                continue
            data = zf.read(name)
            expected = "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
            assert (digest, int(size)) == (expected, len(data)), name
    assert "calculators/forms.py" in names and "calculators/data/gpus.toml" in names
    assert any(n.startswith("calculators/data/models/") and n.endswith(".json") for n in names)
    # Same sources, same bytes: the digest in the lock only changes when the package does.
    again = calculator_pages.build_wheel(lock_dir / "again")
    assert again.read_bytes() == wheel.read_bytes()


def test_lock_lists_the_wheel_with_its_sha256(lock_dir: Path) -> None:
    lock = json.loads((lock_dir / "pyodide-lock.json").read_text(encoding="utf-8"))
    entry = lock["packages"]["calculators"]
    wheel = lock_dir / entry["file_name"]
    assert entry["sha256"] == hashlib.sha256(wheel.read_bytes()).hexdigest()
    npm_info = json.loads((NPM_PYODIDE / "pyodide-lock.json").read_text(encoding="utf-8"))["info"]
    assert lock["info"] == npm_info
    assert list(lock["packages"]) == ["calculators"]


def test_core_suite_and_cpython_results_in_pyodide(lock_dir: Path, pytest_wheels: Path, tmp_path: Path) -> None:
    if shutil.which("node") is None:
        pytest.fail("node is not installed: the Pyodide layer needs Node.js 20 or newer")
    expected = tmp_path / "expected.json"
    expected.write_text(json.dumps(cases.expected()), encoding="utf-8")
    all_core = sorted((ROOT / "tests" / "core").glob("test_*.py"))
    core = [p for p in all_core if not NOT_IN_PYODIDE.search(p.read_text(encoding="utf-8"))]
    skipped = [p.name for p in all_core if p not in core]
    targets = [str(p.relative_to(ROOT)) for p in core] + ["tests/pyodide/inside"]
    cmd = [
        "node", "tests/pyodide/run.mjs", "--index", str(NPM_PYODIDE), "--lock", str(lock_dir / "pyodide-lock.json"),
        "--wheels", str(pytest_wheels), "--copy", "pyproject.toml", "--copy", "tests/core", "--copy", "tests/data",
        "--copy", "tests/pyodide/inside", "--copy", f"{expected}=tests/pyodide/inside/expected.json",
        "--", "-q", "-p", "no:randomly", *targets,
    ]
    env = {**os.environ, "NODE_OPTIONS": ""}
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600, env=env)
    tail = (proc.stdout + proc.stderr)[-6000:]
    print(tail)
    print(f"not run in Pyodide (numpy, hypothesis, subprocess): {', '.join(skipped) or 'none'}")
    assert core, "no tests/core file can run in Pyodide"
    assert proc.returncode == 0, tail
    assert " passed" in proc.stdout and " failed" not in proc.stdout, tail
