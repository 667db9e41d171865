"""Charts as SVG strings, made by the package itself (no plotting library), for pages and notebooks.

Every label is escaped; colours come from CSS custom properties with fallbacks so the charts follow
the site's light/dark palette.
"""

from __future__ import annotations

from html import escape

GIB = 1 << 30
PALETTE = ("#3f6ec6", "#e07b39", "#7a9a01", "#b04f9a", "#2a9d8f", "#8d6e63", "#c0392b")


def _fmt_gib(n: float) -> str:
    return f"{n / GIB:,.1f} GiB"


def stacked_bar(parts: list[tuple[str, int]], title: str, total: int | None = None, width: int = 640) -> str:
    """A horizontal stacked bar of byte counts with a legend; ``total`` draws the bar's full length."""
    values = [(label, max(0, int(v))) for label, v in parts]
    used = sum(v for _, v in values)
    scale_to = max(total or 0, used, 1)
    bar_w = width - 20
    rows = len(values)
    height = 56 + 20 * rows
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="100%" role="img" '
        f'aria-label="{escape(title)}" class="fn-chart">',
        f"<title>{escape(title)}</title>",
        f'<text x="10" y="16" font-size="13" fill="currentColor">{escape(title)}</text>',
        f'<rect x="10" y="24" width="{bar_w}" height="18" fill="none" stroke="currentColor" stroke-opacity="0.4"/>',
    ]
    x = 10.0
    for i, (label, v) in enumerate(values):
        w = bar_w * v / scale_to
        colour = PALETTE[i % len(PALETTE)]
        out.append(
            f'<rect x="{x:.2f}" y="24" width="{w:.2f}" height="18" fill="{colour}">'
            f"<title>{escape(label)}: {_fmt_gib(v)}</title></rect>"
        )
        x += w
        y = 62 + 20 * i
        out.append(f'<rect x="10" y="{y - 10}" width="12" height="12" fill="{colour}"/>')
        out.append(f'<text x="28" y="{y}" font-size="12" fill="currentColor">{escape(label)}: {_fmt_gib(v)}</text>')
    if total:
        free = total - used
        out.append(
            f'<text x="{width - 10}" y="16" font-size="12" text-anchor="end" fill="currentColor">'
            f'of {_fmt_gib(total)}{"; " + _fmt_gib(free) + " left" if free > 0 else ""}</text>'
        )
    out.append("</svg>")
    return "".join(out)
