"""Every section heading written in a page is a heading in the built page.

A hook that substitutes a marker (``<!-- evidence: … -->``, ``<!-- calc: … -->``, ``{{ fig … }}``)
and eats the blank line after it can glue the next ``## Heading`` to a Markdown table, which then
renders as a table row: the section vanishes from the page and its table of contents, and the
build stays green.  (It happened: docs/kb/accuracy.md lost two sections to the evidence tables.)
"""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DOCS = REPO / "docs"
FENCE = re.compile(r"^(```|~~~)")
H2_SOURCE = re.compile(r"^## (?P<text>.+?)\s*$")
H2_HTML = re.compile(r"<h2[^>]*>(?P<inner>.*?)</h2>", re.DOTALL)
TAG = re.compile(r"<[^>]+>")


def _plain(text: str) -> str:
    """Heading text without Markdown/HTML markup, links or the permalink sign, whitespace folded."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)  # [text](url) -> text
    text = re.sub(r"[`*_]", "", html.unescape(TAG.sub("", text)))
    return " ".join(text.replace("¶", "").split())


def _source_headings(md: Path) -> list[str]:
    out, fenced = [], False
    for line in md.read_text(encoding="utf-8").splitlines():
        if FENCE.match(line.lstrip()):
            fenced = not fenced
            continue
        m = H2_SOURCE.match(line)
        if m and not fenced:
            out.append(_plain(m.group("text")))
    return out


PAGES = sorted(p for p in DOCS.rglob("*.md") if _source_headings(p))
POSTS = sorted(p for p in (REPO / "blog" / "posts").glob("*.md") if not p.name.startswith("_") and _source_headings(p))
H1_SOURCE = re.compile(r"^# (?P<text>.+?)\s*$", re.MULTILINE)
H1_HTML = re.compile(r"<h1[^>]*>(?P<inner>.*?)</h1>", re.DOTALL)


def _rendered_h2(page: Path) -> set[str]:
    return {_plain(m.group("inner")) for m in H2_HTML.finditer(page.read_text(encoding="utf-8"))}


@pytest.mark.parametrize("md", PAGES, ids=[str(p.relative_to(DOCS)) for p in PAGES])
def test_every_section_heading_is_rendered(md: Path, site_dir: Path) -> None:
    rel = md.relative_to(DOCS)
    built = site_dir / (rel.parent if rel.stem == "index" else rel.with_suffix("")) / "index.html"
    assert built.is_file(), f"{rel} is not published as {built.relative_to(site_dir)}: rebuild the site"
    missing = [h for h in _source_headings(md) if h not in _rendered_h2(built)]
    assert not missing, f"{rel}: sections not rendered as <h2>: {missing}"


@pytest.mark.parametrize("post", POSTS, ids=[p.name for p in POSTS])
def test_every_section_heading_of_a_post_is_rendered(post: Path, site_dir: Path) -> None:
    """Blog posts (blog/posts/, published under blog/YYYY/MM/DD/slug/): found by their title."""
    m = H1_SOURCE.search(post.read_text(encoding="utf-8"))
    assert m, f"{post.name} has no '# Title' line"
    title = _plain(m.group("text"))
    built = [p for p in sorted((site_dir / "blog").glob("2*/**/index.html"))
             if any(_plain(h.group("inner")) == title for h in H1_HTML.finditer(p.read_text(encoding="utf-8")))]
    assert len(built) == 1, f"{post.name}: {len(built)} built pages titled {title!r}"
    missing = [h for h in _source_headings(post) if h not in _rendered_h2(built[0])]
    assert not missing, f"{post.name}: sections not rendered as <h2>: {missing}"
