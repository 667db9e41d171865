"""Small accessibility fixes to the HTML that Material and mkdocs-jupyter write.

Each fix is an exact string replacement. A fix that must apply to every page raises when its
string is missing, so a theme upgrade that changes the markup is noticed instead of silently
undoing the fix. CSS fixes live in docs/assets/stylesheets/extra.css.
"""

from __future__ import annotations

import html
import re

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.exceptions import PluginError
from mkdocs.structure.pages import Page

# Material's search overlay has role="dialog" but no accessible name (axe: aria-dialog-name).
SEARCH_DIALOG = '<div class="md-search" data-md-component="search" role="dialog">'
SEARCH_DIALOG_NAMED = '<div class="md-search" data-md-component="search" role="dialog" aria-label="Search">'

# Notebook code cells scroll sideways but cannot be focused with the keyboard
# (axe: scrollable-region-focusable).
NOTEBOOK_CODE = '<div class="highlight-ipynb'
NOTEBOOK_CODE_FOCUSABLE = '<div tabindex="0" class="highlight-ipynb'

# Display math wider than the page scrolls sideways too (same axe rule): make it focusable and
# give the region a name.
DISPLAY_MATH = '<div class="arithmatex">'
DISPLAY_MATH_FOCUSABLE = '<div class="arithmatex" tabindex="0" role="group" aria-label="Formula">'

# Wide tables scroll sideways (in Material's wrapper, added by its JavaScript) but cannot be
# focused, so keyboard users cannot scroll them (axe: scrollable-region-focusable). Each plain
# <table> is wrapped here in a focusable region named after its header cells; extra.css makes this
# wrapper the one that scrolls.
TABLE = re.compile(r"<table>(.*?)</table>", re.DOTALL)
TABLE_WRAP = '<div class="fn-table-scroll" tabindex="0" role="region" aria-label="{label}">{table}</div>'


def _table_label(table_html: str) -> str:
    head = re.search(r"<thead>(.*?)</thead>", table_html, re.DOTALL)
    cells = re.findall(r"<th\b[^>]*>(.*?)</th>", head.group(1) if head else "", re.DOTALL)
    words = [" ".join(html.unescape(re.sub(r"<[^>]+>", "", c)).split()) for c in cells]
    label = ", ".join(w for w in words if w)
    if len(label) > 100:
        label = label[:99].rstrip(", ") + "…"
    return "Table: " + label if label else "Table"


def wrap_tables(output: str) -> str:
    def wrap(match: re.Match[str]) -> str:
        label = html.escape(_table_label(match.group(1)), quote=True)
        return TABLE_WRAP.format(label=label, table=match.group(0))

    return TABLE.sub(wrap, output)


# Definition-list terms (the glossary) get an id, so other pages and readers can link to one term
# (glossary.md#ttft): the text before any parenthesis, lower case, non-alphanumerics as hyphens.
TERM = re.compile(r"<dt>(.*?)</dt>", re.DOTALL)


def anchor_terms(output: str) -> str:
    seen: set[str] = set()

    def anchor(match: re.Match[str]) -> str:
        text = html.unescape(re.sub(r"<[^>]+>", "", match.group(1)))
        slug = re.sub(r"[^a-z0-9]+", "-", text.split(" (")[0].lower()).strip("-") or "term"
        base, n = slug, 2
        while slug in seen:
            slug, n = f"{base}-{n}", n + 1
        seen.add(slug)
        return f'<dt id="{slug}">{match.group(1)}</dt>'

    return TERM.sub(anchor, output)


def on_post_page(output: str, page: Page, config: MkDocsConfig) -> str:
    search_on = any(name in config.plugins for name in ("material/search", "search"))
    if search_on and SEARCH_DIALOG not in output:
        raise PluginError(f"hooks/a11y.py: Material's search dialog markup changed ({page.file.src_uri})")
    output = output.replace(SEARCH_DIALOG, SEARCH_DIALOG_NAMED)
    output = output.replace(DISPLAY_MATH, DISPLAY_MATH_FOCUSABLE)
    output = wrap_tables(output)
    output = anchor_terms(output)
    return output.replace(NOTEBOOK_CODE, NOTEBOOK_CODE_FOCUSABLE)
