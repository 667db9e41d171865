"""Charts as SVG strings, made by the package itself (no plotting library), for pages and notebooks.

Every label is escaped; colours come from CSS custom properties with fallbacks so the charts follow
the site's light/dark palette.
"""

from __future__ import annotations

import math
from collections.abc import Callable
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


# ---------------------------------------------------------------- log-log and line charts


def _log_ticks(lo: float, hi: float) -> list[float]:
    """Powers of ten covering [lo, hi]."""
    a, b = math.floor(math.log10(lo)), math.ceil(math.log10(hi))
    return [10.0**e for e in range(a, b + 1)]


def _tick_label(v: float) -> str:
    for scale, suffix in ((1e15, "P"), (1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
        if v >= scale:
            return f"{v / scale:g}{suffix}"
    return f"{v:g}"


def _log_scale(lo: float, hi: float, start: float, length: float, flip: bool = False) -> Callable[[float], float]:
    span = math.log10(hi) - math.log10(lo)

    def f(v: float) -> float:
        frac = (math.log10(min(max(v, lo), hi)) - math.log10(lo)) / span
        return start + length * ((1 - frac) if flip else frac)

    return f


def _text(x: float, y: float, body: str, size: int = 10, anchor: str = "start", fill: str = "currentColor",
          extra: str = "") -> str:
    return (f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}" fill="{fill}"{extra}>'
            f"{escape(body)}</text>")


def _line(x1: float, y1: float, x2: float, y2: float, stroke: str = "currentColor", extra: str = "") -> str:
    return f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" stroke="{stroke}"{extra}/>'


def _frame(title: str, width: int, height: int, box: tuple[float, float, float, float]) -> list[str]:
    left, top, pw, ph = box
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="100%" role="img" '
        f'aria-label="{escape(title)}" class="fn-chart">',
        f"<title>{escape(title)}</title>",
        _text(left, 18, title, 13),
        f'<rect x="{left}" y="{top}" width="{pw}" height="{ph}" fill="none" stroke="currentColor" '
        'stroke-opacity="0.4"/>',
    ]


def _path(xs: list[float], ys: list[float]) -> str:
    return " ".join(f"{'M' if i == 0 else 'L'}{x:.1f},{y:.1f}" for i, (x, y) in enumerate(zip(xs, ys, strict=True)))


def roofline_chart(
    peak_flops: float,
    bandwidth_bytes_per_s: float,
    points: list[tuple[str, float, float]],
    title: str,
    width: int = 640,
    height: int = 360,
) -> str:
    """Log-log roofline: attainable FLOP/s = min(peak, intensity × bandwidth), the ridge marked, and
    operating points ``(label, arithmetic intensity FLOP/byte, achieved FLOP/s)``."""
    if peak_flops <= 0 or bandwidth_bytes_per_s <= 0:
        raise ValueError("peak and bandwidth must be positive")
    ridge = peak_flops / bandwidth_bytes_per_s
    xs = [p[1] for p in points if p[1] > 0] + [ridge]
    x_lo, x_hi = min(min(xs) / 4, 1.0), max(max(xs) * 4, ridge * 8)
    y_lo = min([p[2] for p in points if p[2] > 0] + [x_lo * bandwidth_bytes_per_s]) / 2
    y_hi = peak_flops * 2
    left, top, pw, ph = 64, 30, width - 80, height - 74
    sx = _log_scale(x_lo, x_hi, left, pw)
    sy = _log_scale(y_lo, y_hi, top, ph, flip=True)
    faint = ' stroke-opacity="0.12"'
    out = _frame(title, width, height, (left, top, pw, ph))
    for t in _log_ticks(x_lo, x_hi):
        if x_lo <= t <= x_hi:
            out.append(_line(sx(t), top, sx(t), top + ph, extra=faint))
            out.append(_text(sx(t), top + ph + 14, _tick_label(t), anchor="middle"))
    for t in _log_ticks(y_lo, y_hi):
        if y_lo <= t <= y_hi:
            out.append(_line(left, sy(t), left + pw, sy(t), extra=faint))
            out.append(_text(left - 4, sy(t) + 3, _tick_label(t), anchor="end"))
    out.append(_text(left + pw / 2, height - 8, "arithmetic intensity (FLOP/byte)", 11, "middle"))
    out.append(_text(12, top + ph / 2, "FLOP/s", 11, "middle", extra=f' transform="rotate(-90 12 {top + ph / 2:.1f})"'))
    roof = _path([sx(x_lo), sx(ridge), sx(x_hi)], [sy(x_lo * bandwidth_bytes_per_s), sy(peak_flops), sy(peak_flops)])
    out.append(f'<path d="{roof}" fill="none" stroke="{PALETTE[0]}" stroke-width="2"><title>roofline</title></path>')
    out.append(_line(sx(ridge), sy(peak_flops), sx(ridge), top + ph, PALETTE[0], ' stroke-dasharray="4 3"'))
    out.append(_text(sx(ridge) + 4, top + ph - 6, f"ridge {ridge:,.0f} FLOP/byte", 11))
    for i, (label, x, y) in enumerate(points):
        if x <= 0 or y <= 0:
            continue
        colour = PALETTE[(i + 1) % len(PALETTE)]
        out.append(f'<circle cx="{sx(x):.1f}" cy="{sy(y):.1f}" r="5" fill="{colour}"><title>{escape(label)}: '
                   f"{x:,.1f} FLOP/byte, {_tick_label(y)}FLOP/s</title></circle>")
        out.append(_text(sx(x) + 8, sy(y) + 4, label, 11))
    out.append("</svg>")
    return "".join(out)


def batch_curve_chart(
    batches: list[int],
    tokens_per_s: list[float],
    latency_s: list[float],
    title: str,
    kv_limit: int | None = None,
    width: int = 640,
    height: int = 320,
) -> str:
    """Throughput (tokens/s, left axis) and time per output token (ms, right axis) against batch,
    all three logarithmic; a dashed line where the KV cache runs out."""
    if not batches or len(batches) != len(tokens_per_s) or len(batches) != len(latency_s):
        raise ValueError("batches, tokens_per_s and latency_s must have the same non-zero length")
    left, top, pw, ph = 64, 30, width - 128, height - 74
    sx = _log_scale(min(batches) / 1.3, max(batches + [kv_limit or 1]) * 1.3, left, pw)
    t_lo, t_hi = min(tokens_per_s) / 2, max(tokens_per_s) * 2
    ms = [v * 1000 for v in latency_s]
    l_lo, l_hi = min(ms) / 2, max(ms) * 2
    st = _log_scale(t_lo, t_hi, top, ph, flip=True)
    sl = _log_scale(l_lo, l_hi, top, ph, flip=True)
    out = _frame(title, width, height, (left, top, pw, ph))
    for b in batches:
        out.append(_text(sx(b), top + ph + 14, str(b), anchor="middle"))
    for t in _log_ticks(t_lo, t_hi):
        if t_lo <= t <= t_hi:
            out.append(_text(left - 4, st(t) + 3, _tick_label(t), anchor="end", fill=PALETTE[0]))
    for t in _log_ticks(l_lo, l_hi):
        if l_lo <= t <= l_hi:
            out.append(_text(left + pw + 4, sl(t) + 3, f"{_tick_label(t)} ms", fill=PALETTE[1]))
    out.append(_text(left + pw / 2, height - 8, "batch (concurrent sequences)", 11, "middle"))
    bx = [sx(b) for b in batches]
    out.append(f'<path d="{_path(bx, [st(v) for v in tokens_per_s])}" fill="none" stroke="{PALETTE[0]}" '
               'stroke-width="2"><title>output tokens/s</title></path>')
    out.append(f'<path d="{_path(bx, [sl(v) for v in ms])}" fill="none" stroke="{PALETTE[1]}" stroke-width="2" '
               'stroke-dasharray="6 3"><title>time per output token (ms)</title></path>')
    for b, x, v, lat in zip(batches, bx, tokens_per_s, ms, strict=True):
        out.append(f'<circle cx="{x:.1f}" cy="{st(v):.1f}" r="3" fill="{PALETTE[0]}">'
                   f"<title>batch {b}: {v:,.0f} tokens/s</title></circle>")
        out.append(f'<circle cx="{x:.1f}" cy="{sl(lat):.1f}" r="3" fill="{PALETTE[1]}">'
                   f"<title>batch {b}: {lat:,.1f} ms per token</title></circle>")
    if kv_limit:
        out.append(_line(sx(kv_limit), top, sx(kv_limit), top + ph, PALETTE[6], ' stroke-dasharray="4 3"'))
        out.append(_text(sx(kv_limit) - 4, top + 12, f"KV cache full at {kv_limit}", 11, "end"))
    out.append(_text(left + 4, top + 12, "tokens/s (solid)", 11, fill=PALETTE[0]))
    out.append(_text(left + 4, top + 26, "ms per token (dashed)", 11, fill=PALETTE[1]))
    out.append("</svg>")
    return "".join(out)
