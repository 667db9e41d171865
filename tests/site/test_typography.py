"""Typography of the built pages: no math left as raw TeX delimiters.

A display formula that Arithmatex did not pick up (e.g. ``$$`` inside a list item without blank
lines around it) reaches the reader as literal ``$$ … $$``; KaTeX only renders what Arithmatex
wrapped in ``<div class="arithmatex">`` / ``<span class="arithmatex">``.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path


class _Text(HTMLParser):
    """Visible text outside code, pre, script, style and Arithmatex's own math wrappers."""

    SKIP = {"code", "pre", "script", "style", "kbd", "samp"}

    def __init__(self) -> None:
        super().__init__()
        self.depth = 0
        self.stack: list[bool] = []
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("br", "img", "input", "meta", "link", "hr", "wbr", "source"):
            return
        classes = (dict(attrs).get("class") or "").split()
        skip = tag in self.SKIP or "arithmatex" in classes
        self.stack.append(skip)
        self.depth += skip

    def handle_endtag(self, tag: str) -> None:
        if self.stack:
            self.depth -= self.stack.pop()

    def handle_data(self, data: str) -> None:
        if not self.depth:
            self.parts.append(data)


def _visible_text(path: Path) -> str:
    parser = _Text()
    parser.feed(path.read_text(encoding="utf-8"))
    return "".join(parser.parts)


def test_no_page_shows_raw_display_math(site_dir: Path) -> None:
    bad = []
    for page in sorted(site_dir.rglob("*.html")):
        text = _visible_text(page)
        if "$$" in text or re.search(r"\\\[|\\\]", text):
            bad.append(str(page.relative_to(site_dir)))
    assert not bad, f"raw $$ or \\[ \\] in the rendered text of: {bad}"
