"""Diagrams in the built pages: each ``<!-- diagram: … -->`` marker became an inline SVG figure
(hooks/figures.py, calculators/diagrams.py); and the hook fails on a bad marker, naming the page."""

from __future__ import annotations

import importlib.util
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any, cast

import pytest
from mkdocs.exceptions import PluginError

REPO = Path(__file__).resolve().parents[2]

# page (as built) → the diagrams the issue puts in it
EXPECTED = {
    "kb/inside-vllm/index.html": {"paged_kv", "batching_timeline"},
    "kb/kv-cache/index.html": {"kv_shapes"},
    "kb/capacity-planning/index.html": {"tp_sharding", "pareto"},
}
FIGURE = re.compile(r'<figure class="fn-diagram" data-diagram="(?P<name>[a-z_]+)">(?P<svg><svg .*?</svg>)'
                    r"<figcaption>(?P<caption>[^<]+)</figcaption></figure>", re.DOTALL)


def load_figures() -> ModuleType:
    spec = importlib.util.spec_from_file_location("site_hook_figures", REPO / "hooks" / "figures.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(("page", "names"), sorted(EXPECTED.items()))
def test_built_page_has_its_diagrams(site_dir: Path, page: str, names: set[str]) -> None:
    html = (site_dir / page).read_text(encoding="utf-8")
    found = {m.group("name"): m for m in FIGURE.finditer(html)}
    assert set(found) >= names, f"{page}: diagrams {sorted(found)}, expected {sorted(names)}"
    for name in names:
        m = found[name]
        root = ET.fromstring(m.group("svg"))  # the SVG is intact XML after Markdown
        assert root.find("{http://www.w3.org/2000/svg}title") is not None
        assert m.group("caption").strip()
    assert "<!-- diagram:" not in html  # every marker was replaced
    assert "<p><figure" not in html  # a raw block, not wrapped in a paragraph


def test_hook_fails_on_a_bad_marker_naming_the_page() -> None:
    figures = load_figures()
    page = cast(Any, SimpleNamespace(file=SimpleNamespace(src_uri="kb/example.md")))
    with pytest.raises(PluginError, match=r"kb/example\.md: <!-- diagram: nope -->: unknown diagram"):
        figures.on_page_markdown("text\n\n<!-- diagram: nope -->\n", page, None, None)
    out = figures.on_page_markdown("text\n\n<!-- diagram: kv_shapes -->\n\nmore", page, None, None)
    assert '<figure class="fn-diagram" data-diagram="kv_shapes"><svg ' in out
