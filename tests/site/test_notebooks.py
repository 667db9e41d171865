"""Notebook pages keep their promises (docs/notebooks/index.md): each can be downloaded from its
page, and its plots read on the light and the dark (slate) scheme.

mkdocs-jupyter's ``include_source`` copies each notebook next to its page; overrides/partials/
actions.html draws the download button that links to it.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.site.conftest import REPO

NOTEBOOKS = sorted((REPO / "docs" / "notebooks").glob("*.ipynb"))


def test_there_are_notebooks() -> None:
    assert NOTEBOOKS, "no notebook in docs/notebooks"


@pytest.mark.parametrize("source", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_page_links_to_its_download(site_dir: Path, source: Path) -> None:
    page = site_dir / "notebooks" / source.stem / "index.html"
    html = page.read_text(encoding="utf-8")
    link = re.search(rf'<a href="{re.escape(source.name)}"[^>]*\bdownload\b[^>]*>', html)
    assert link, f"{page.relative_to(site_dir)}: no download link to {source.name}"
    assert "aria-label=" in link.group(0), "the icon-only link needs an accessible name"
    copy = page.parent / source.name
    assert copy.is_file(), f"{copy.relative_to(site_dir)} is not in the site (include_source)"
    assert copy.read_bytes() == source.read_bytes()


@pytest.mark.parametrize("source", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_plots_are_transparent_with_grey_text(source: Path) -> None:
    """A plot drawn in black on white is unreadable on the slate scheme (issue 14)."""
    code = "\n".join("".join(c["source"]) for c in json.loads(source.read_text(encoding="utf-8"))["cells"]
                     if c["cell_type"] == "code")
    if "matplotlib" not in code:
        pytest.skip("no plots")
    for setting in ('"figure.facecolor": "none"', '"savefig.transparent": True', '"text.color": GREY'):
        assert setting in code, f"{source.name}: rcParams lack {setting}"
    assert not re.search(r"""colou?r\s*=\s*["'](?:black|white|k|w)["']""", code), (
        f"{source.name}: black or white drawn explicitly; use GREY")
