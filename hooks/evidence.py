"""MkDocs hook: the accuracy tables of ``docs/kb/accuracy.md``, computed at build time.

A line ``<!-- evidence: NAME -->`` is replaced by what :mod:`tests.roofline.evidence` computes from
the published measurements (``tests/data/measurements.toml``), the same comparisons the test suite
gates on (``tests/roofline/test_evidence.py``), so the page cannot drift from the tests:

* ``summary``: the gated medians and the worst gated step, as a list;
* ``step`` / ``step-other``: every step-time comparison, gated / not gated;
* ``ttft``: the steady-state TTFT formula's comparisons;
* ``serving`` / ``serving-other``: the serving runs replayed in the scheduler simulation.

An unknown name fails the build naming the page.
"""

from __future__ import annotations

import importlib.util
import re
import sys
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

from mkdocs.exceptions import PluginError
from mkdocs.structure.pages import Page

# tests/ is not an installed package: load the one module the tests use, by path
_PATH = Path(__file__).resolve().parents[1] / "tests" / "roofline" / "evidence.py"
_SPEC = importlib.util.spec_from_file_location("fieldnotes_evidence", _PATH)
assert _SPEC is not None and _SPEC.loader is not None
evidence = importlib.util.module_from_spec(_SPEC)
sys.modules[_SPEC.name] = evidence  # dataclasses look their module up while the class is made
_SPEC.loader.exec_module(evidence)

MARKER = re.compile(r"^<!--\s*evidence:\s*(?P<name>[\w-]+)\s*-->[ \t]*$", re.MULTILINE)


@cache
def _step() -> tuple[Any, ...]:
    return tuple(evidence.all_comparisons())


@cache
def _serving() -> tuple[Any, ...]:
    return tuple(evidence.serving_comparisons())


def _steps(gated: bool) -> list[Any]:
    return [c for c in evidence.step_comparisons(list(_step())) if c.gated is gated]


def _ttft() -> list[Any]:
    return [c for c in _step() if c.metric == "ttft_ms"]


def _sim(gated: bool) -> list[Any]:
    return [c for c in _serving() if c.gated is gated]


def _summary() -> str:
    steps, sims, ttft = _steps(True), _sim(True), [c for c in _ttft() if c.gated]
    worst = max(steps, key=lambda c: abs(c.error))
    calibrated_hybrid = [c for c in _steps(False) + _ttft()
                         if evidence.hybrid(evidence.point(c.point_id))
                         and evidence.calibrated_engine(evidence.point(c.point_id))]
    hyb = [c for c in calibrated_hybrid if c.metric != "ttft_ms"]
    hyb_ttft = [c for c in calibrated_hybrid if c.metric == "ttft_ms"]
    lines = [
        f"- **Step times** (a decode step, a static batch, per-request speed): median error "
        f"**{evidence.median_abs_error(steps):.1%}** over {len(steps)} gated comparisons; worst "
        f"{worst.error:+.0%} ({worst.point_id}).",
        f"- **Serving runs replayed in the simulation** (TTFT and TPOT at the stated concurrency): median "
        f"**{evidence.median_abs_error(sims):.1%}** over {len(sims)} gated comparisons.",
        f"- The closed-form steady-state TTFT (no queueing): median {evidence.median_abs_error(ttft):.1%} "
        f"over {len(ttft)} gated comparisons.",
        f"- Not gated (SGLang, AMD MI300X, a custom engine build, hybrid models): step times median "
        f"{evidence.median_abs_error(_steps(False)):.1%} over {len(_steps(False))}; of which hybrid Mamba / "
        f"linear-attention models on NVIDIA GPUs under a released engine, step times median "
        f"{evidence.median_abs_error(hyb):.1%} over {len(hyb)}, TTFT median {evidence.median_abs_error(hyb_ttft):.1%} "
        f"over {len(hyb_ttft)}.",
        f"- The lower bound is below the measurement in all {len(_step())} comparisons.",
    ]
    return "\n".join(lines)


TABLES: dict[str, Callable[[], Any]] = {
    "summary": _summary,
    "step": lambda: evidence.table(_steps(True)),
    "step-other": lambda: evidence.table(_steps(False)),
    "ttft": lambda: evidence.table(_ttft()),
    "serving": lambda: evidence.table(_sim(True)),
    "serving-other": lambda: evidence.table(_sim(False)),
}


def on_page_markdown(markdown: str, page: Page, **_: Any) -> str:
    if "evidence:" not in markdown:
        return markdown

    def render(m: re.Match[str]) -> str:
        name = m.group("name")
        if name not in TABLES:
            raise PluginError(f"{page.file.src_uri}: unknown evidence table {name!r} (one of {', '.join(TABLES)})")
        return str(TABLES[name]())

    return MARKER.sub(render, markdown)
