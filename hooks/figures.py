"""MkDocs hook: figures in prose computed by the calculators package at build time.

An author writes, anywhere in a Markdown page::

    {{ fig vllm.kv_cache_tokens model=meta-llama/Llama-3.1-70B-Instruct gpu=h100-sxm tp=2 | int }}

``vllm`` is a calculator of :mod:`calculators.forms` (the CLI command of the same name), the dotted
path after it picks a field of its JSON result (``roofline.decode.bound``), ``key=value`` pairs are
its inputs by their CLI option names, and the optional ``| format`` picks how the value is written
(:data:`FORMATS`).  The same call as ``python -m calculators vllm --model … --json`` gives the same
number.  Anything wrong — unknown calculator, field or format, an input the calculator rejects —
fails the build with the page and the expression, so no page ships a stale or hand-typed figure.

Diagrams: a line ``<!-- diagram: NAME key=value … -->`` (an HTML comment, invisible on GitHub) is
replaced by the SVG that :func:`calculators.diagrams.render` draws, inside
``<figure class="fn-diagram">…<figcaption>…</figcaption></figure>``; an unknown diagram or option,
or a value the package rejects, fails the build naming the page and the marker.
"""

from __future__ import annotations

import html
import logging
import re
import shlex
from collections.abc import Callable
from typing import Any

from mkdocs.exceptions import PluginError
from mkdocs.structure.files import Files
from mkdocs.structure.pages import Page

from calculators import diagrams, forms
from calculators.errors import CalcError

log = logging.getLogger("mkdocs.hooks.figures")

FIG = re.compile(r"\{\{\s*fig\s+(?P<body>[^{}]*?)\s*\}\}")
DIAGRAM = re.compile(r"<!--\s*diagram:\s*(?P<body>[^>]*?)\s*-->")
GIB = 1 << 30


def _bytes(v: float) -> str:
    for unit, size in (("TiB", 1 << 40), ("GiB", GIB), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if abs(v) >= size:
            return f"{v / size:,.1f} {unit}"
    return f"{v:,.0f} B"


FORMATS: dict[str, Callable[[Any], str]] = {
    "int": lambda v: f"{round(v):,}",
    "float0": lambda v: f"{v:,.0f}",
    "float1": lambda v: f"{v:,.1f}",
    "float2": lambda v: f"{v:,.2f}",
    "float3": lambda v: f"{v:,.3f}",
    "gib": lambda v: f"{v:,.2f} GiB",
    "gib1": lambda v: f"{v:,.1f} GiB",
    "bytes": _bytes,
    "kib": lambda v: f"{v / 1024:,.0f} KiB",
    "x": lambda v: f"{v:,.2f}×",
    "pct": lambda v: f"{100 * v:.0f} %",
    "ms": lambda v: f"{1000 * v:,.1f} ms",
    "us": lambda v: f"{1e6 * v:,.0f} µs",
    "s": lambda v: f"{v:,.2f} s",
    "tflops": lambda v: f"{v / 1e12:,.0f} TFLOP/s",
    "tbps": lambda v: f"{v / 1e12:,.2f} TB/s",
    "gbps": lambda v: f"{v / 1e9:,.0f} GB/s",
    "billions": lambda v: f"{v / 1e9:,.2f} B",
    "text": str,
    "yesno": lambda v: "yes" if v else "no",
}

_cache: dict[tuple[str, tuple[tuple[str, str], ...]], dict[str, Any]] = {}


def evaluate(body: str) -> str:
    """The formatted value of one ``fig`` expression (raises ValueError with the reason)."""
    expr, _, fmt = body.partition("|")
    fmt = fmt.strip() or "text"
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; known: {', '.join(FORMATS)}")
    try:
        words = shlex.split(expr)
    except ValueError as exc:
        raise ValueError(f"cannot parse: {exc}") from None
    if not words:
        raise ValueError("empty expression")
    target, *pairs = words
    name, _, path = target.partition(".")
    if not path:
        raise ValueError("write CALCULATOR.FIELD, e.g. vllm.kv_cache_tokens")
    values = forms.key_values(pairs)
    cache_key = (name, tuple(sorted(values.items())))
    if cache_key not in _cache:
        try:
            _cache[cache_key] = forms.run(name, values)
        except CalcError as exc:
            raise ValueError(f"the {name} calculator rejected the input: {exc}") from None
    result: Any = _cache[cache_key]
    for part in path.split("."):
        if isinstance(result, dict) and part in result:
            result = result[part]
        elif isinstance(result, list) and part.isdigit() and int(part) < len(result):
            result = result[int(part)]
        else:
            raise ValueError(f"the {name} result has no field {path!r}")
    if isinstance(result, (dict, list)):
        raise ValueError(f"{path!r} is not a single value")
    return FORMATS[fmt](result)


def on_page_markdown(markdown: str, page: Page, config: Any, files: Files) -> str:
    def replace(match: re.Match[str]) -> str:
        try:
            return evaluate(match.group("body"))
        except (ValueError, TypeError) as exc:
            raise PluginError(f"{page.file.src_uri}: {{{{ fig {match.group('body')} }}}}: {exc}") from None

    def draw(match: re.Match[str]) -> str:
        try:
            d = diagrams.render(match.group("body"))
        except (ValueError, TypeError) as exc:
            raise PluginError(f"{page.file.src_uri}: <!-- diagram: {match.group('body')} -->: {exc}") from None
        return figure_html(d)

    return DIAGRAM.sub(draw, FIG.sub(replace, markdown))


def figure_html(d: diagrams.Diagram) -> str:
    """One raw-HTML block (blank lines around it, none inside) that Markdown passes through as is."""
    caption = html.escape(d.caption, quote=False)
    return (f'\n\n<figure class="fn-diagram" data-diagram="{d.name}">{d.svg}'
            f"<figcaption>{caption}</figcaption></figure>\n\n")
