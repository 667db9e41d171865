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

# Sizes in viewBox units. A chart is drawn at its container's width, so on screen a text is
# font-size × (rendered width ÷ WIDTH) px. The narrowest chart on a desktop page is the results
# column of a calculator, about 377 px (Material's content column at 960-1600 px viewports): with
# WIDTH 400 the smallest text (FONT_SMALL) is 12 × 377 / 400 ≈ 11.3 px there, never below 11.
WIDTH = 400
FONT_SMALL = 12  # ticks, legends, point labels
FONT_LABEL = 12  # axis titles
FONT_TITLE = 14
# Rough advance of one character of the site's sans-serif font, in em: for layout only (wrapping
# titles, keeping labels inside the frame).
CHAR_EM = 0.56


def _fmt_gib(n: float) -> str:
    return f"{n / GIB:,.1f} GiB"


def _text_width(body: str, size: float) -> float:
    return len(body) * size * CHAR_EM


def _wrap(body: str, size: float, room: float) -> list[str]:
    """``body`` broken at spaces into lines about ``room`` units wide (a long word keeps its line)."""
    limit = max(8, int(room / (size * CHAR_EM)))
    lines: list[str] = []
    for word in body.split():
        if lines and len(lines[-1]) + 1 + len(word) <= limit:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return lines or [""]


def _title(body: str, x: float, width: int) -> tuple[list[str], float]:
    """Title lines from y = 18, and the y below them."""
    lines = _wrap(body, FONT_TITLE, width - x - 8)
    out = [_text(x, 18 + 17 * i, line, FONT_TITLE) for i, line in enumerate(lines)]
    return out, 18 + 17 * (len(lines) - 1)


def _beside(x: float, body: str, size: float, lo: float, hi: float, gap: float = 4) -> tuple[float, str]:
    """Where to put a label next to ``x``: to its right if it fits before ``hi``, else to its left."""
    if x + gap + _text_width(body, size) <= hi or x - gap - _text_width(body, size) < lo:
        return x + gap, "start"
    return x - gap, "end"


def stacked_bar(parts: list[tuple[str, int]], title: str, total: int | None = None, width: int = WIDTH,
                total_label: str = "GPU") -> str:
    """A horizontal stacked bar of byte counts with a legend.

    ``total`` (the GPU's memory) is drawn as a vertical line across the bar, labelled
    "``total_label``: N GiB"; when the parts add up to more, the bar runs past the line and the
    footer says by how much it does not fit.
    """
    values = [(label, max(0, int(v))) for label, v in parts]
    used = sum(v for _, v in values)
    scale_to = max(total or 0, used, 1)
    left, bar_w = 10, width - 20
    head, y = _title(title, left, width)
    label_y = y + 20  # the capacity label, above the bar
    bar_y = label_y + 6
    rows = len(values)
    legend_y = bar_y + 44
    height = legend_y + 20 * rows + (20 if total else 0)
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="100%" role="img" '
        f'aria-label="{escape(title)}" class="fn-chart">',
        f"<title>{escape(title)}</title>",
        *head,
        f'<rect x="{left}" y="{bar_y}" width="{bar_w}" height="20" fill="none" stroke="currentColor" '
        'stroke-opacity="0.4"/>',
    ]
    x = float(left)
    for i, (label, v) in enumerate(values):
        w = bar_w * v / scale_to
        colour = PALETTE[i % len(PALETTE)]
        out.append(
            f'<rect x="{x:.2f}" y="{bar_y}" width="{w:.2f}" height="20" fill="{colour}">'
            f"<title>{escape(label)}: {_fmt_gib(v)}</title></rect>"
        )
        x += w
        ly = legend_y + 20 * i
        out.append(f'<rect x="{left}" y="{ly - 11}" width="12" height="12" fill="{colour}"/>')
        out.append(_text(left + 18, ly, f"{label}: {_fmt_gib(v)}", FONT_SMALL))
    if total:
        cap_x = left + bar_w * total / scale_to
        cap = f"{total_label}: {_fmt_gib(total)}"
        out.append(_line(cap_x, label_y - 12, cap_x, bar_y + 28, extra=' stroke-width="2"',
                         cls="fn-chart__capacity", tip=f"{cap} (capacity)"))
        lx, anchor = _beside(cap_x, cap, FONT_SMALL, left, left + bar_w)
        out.append(_text(lx, label_y, cap, FONT_SMALL, anchor, extra=' class="fn-chart__capacity-label"'))
        free = total - used
        if free >= 0:
            foot = f"{_fmt_gib(used)} of {_fmt_gib(total)}: {_fmt_gib(free)} left"
        else:
            foot = f"Does not fit: {_fmt_gib(used)} is {_fmt_gib(-free)} over {_fmt_gib(total)}"
        out.append(_text(left, legend_y + 20 * rows, foot, FONT_SMALL, extra=' font-weight="600"'))
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


def _text(x: float, y: float, body: str, size: float = FONT_SMALL, anchor: str = "start",
          fill: str = "currentColor", extra: str = "") -> str:
    return (f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}" fill="{fill}"{extra}>'
            f"{escape(body)}</text>")


def _line(x1: float, y1: float, x2: float, y2: float, stroke: str = "currentColor", extra: str = "",
          cls: str = "", tip: str = "") -> str:
    attrs = f'x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" stroke="{stroke}"{extra}'
    if cls:
        attrs += f' class="{cls}"'
    if tip:
        return f"<line {attrs}><title>{escape(tip)}</title></line>"
    return f"<line {attrs}/>"


def _frame(title: str, width: int, left: float, plot_height: float, right: float,
           below: float) -> tuple[list[str], tuple[float, float, float, float], int]:
    """The opening of a chart with a plot box: its markup (svg, title lines, box), the box (left, top,
    width, height) and the chart's height, with ``below`` units under the box for the x axis."""
    head, y = _title(title, left, width)
    top = y + 14
    pw, ph = width - left - right, plot_height
    height = int(top + ph + below)
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="100%" role="img" '
        f'aria-label="{escape(title)}" class="fn-chart">',
        f"<title>{escape(title)}</title>",
        *head,
        f'<rect x="{left}" y="{top}" width="{pw}" height="{ph}" fill="none" stroke="currentColor" '
        'stroke-opacity="0.4"/>',
    ], (left, top, pw, ph), height


def _path(xs: list[float], ys: list[float]) -> str:
    return " ".join(f"{'M' if i == 0 else 'L'}{x:.1f},{y:.1f}" for i, (x, y) in enumerate(zip(xs, ys, strict=True)))


def _spaced(ticks: list[tuple[float, str]], size: float) -> list[tuple[float, str]]:
    """Ticks ``(x, label)`` in order, less those whose centred label would touch the previous one."""
    kept: list[tuple[float, str]] = []
    for x, label in ticks:
        if kept:
            px, plabel = kept[-1]
            if x - px < (_text_width(plabel, size) + _text_width(label, size)) / 2 + 6:
                continue
        kept.append((x, label))
    return kept


def roofline_chart(
    peak_flops: float,
    bandwidth_bytes_per_s: float,
    points: list[tuple[str, float, float]],
    title: str,
    width: int = WIDTH,
    plot_height: int = 230,
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
    out, (left, top, pw, ph), height = _frame(title, width, 56, plot_height, 10, 42)
    sx = _log_scale(x_lo, x_hi, left, pw)
    sy = _log_scale(y_lo, y_hi, top, ph, flip=True)
    faint = ' stroke-opacity="0.12"'
    x_ticks = [t for t in _log_ticks(x_lo, x_hi) if x_lo <= t <= x_hi]
    for t in x_ticks:
        out.append(_line(sx(t), top, sx(t), top + ph, extra=faint))
    for x, label in _spaced([(sx(t), _tick_label(t)) for t in x_ticks], FONT_SMALL):
        out.append(_text(x, top + ph + 15, label, anchor="middle"))
    y_ticks = [t for t in _log_ticks(y_lo, y_hi) if y_lo <= t <= y_hi]
    step = max(1, -(-len(y_ticks) * 18 // int(ph)))  # a label every `step` decades, 18 units apart at least
    for i, t in enumerate(y_ticks):
        out.append(_line(left, sy(t), left + pw, sy(t), extra=faint))
        if i % step == 0:
            out.append(_text(left - 4, sy(t) + 4, _tick_label(t), anchor="end"))
    out.append(_text(left + pw / 2, height - 6, "arithmetic intensity (FLOP/byte)", FONT_LABEL, "middle"))
    out.append(_text(14, top + ph / 2, "FLOP/s", FONT_LABEL, "middle",
                     extra=f' transform="rotate(-90 14 {top + ph / 2:.1f})"'))
    roof = _path([sx(x_lo), sx(ridge), sx(x_hi)], [sy(x_lo * bandwidth_bytes_per_s), sy(peak_flops), sy(peak_flops)])
    out.append(f'<path d="{roof}" fill="none" stroke="{PALETTE[0]}" stroke-width="2"><title>roofline</title></path>')
    out.append(_line(sx(ridge), sy(peak_flops), sx(ridge), top + ph, PALETTE[0], ' stroke-dasharray="4 3"'))
    ridge_label = f"ridge {ridge:,.0f} FLOP/byte"
    rx, anchor = _beside(sx(ridge), ridge_label, FONT_SMALL, left, left + pw)
    out.append(_text(rx, top + ph - 6, ridge_label, FONT_SMALL, anchor))
    for i, (label, x, y) in enumerate(points):
        if x <= 0 or y <= 0:
            continue
        colour = PALETTE[(i + 1) % len(PALETTE)]
        out.append(f'<circle cx="{sx(x):.1f}" cy="{sy(y):.1f}" r="5" fill="{colour}"><title>{escape(label)}: '
                   f"{x:,.1f} FLOP/byte, {_tick_label(y)}FLOP/s</title></circle>")
        px, anchor = _beside(sx(x), label, FONT_SMALL, left, left + pw, gap=8)
        out.append(_text(px, sy(y) + 4, label, FONT_SMALL, anchor))
    out.append("</svg>")
    return "".join(out)


def batch_curve_chart(
    batches: list[int],
    tokens_per_s: list[float],
    latency_s: list[float],
    title: str,
    kv_limit: int | None = None,
    width: int = WIDTH,
    plot_height: int = 210,
) -> str:
    """Throughput (tokens/s, left axis) and time per output token (ms, right axis) against batch,
    all three logarithmic; a dashed line where the KV cache runs out."""
    if not batches or len(batches) != len(tokens_per_s) or len(batches) != len(latency_s):
        raise ValueError("batches, tokens_per_s and latency_s must have the same non-zero length")
    t_lo, t_hi = min(tokens_per_s) / 2, max(tokens_per_s) * 2
    ms = [v * 1000 for v in latency_s]
    l_lo, l_hi = min(ms) / 2, max(ms) * 2
    r_labels = [f"{_tick_label(t)} ms" for t in _log_ticks(l_lo, l_hi) if l_lo <= t <= l_hi]
    right = 8 + max((_text_width(s, FONT_SMALL) for s in r_labels), default=0)
    out, (left, top, pw, ph), height = _frame(title, width, 48, plot_height, right, 42)
    sx = _log_scale(min(batches) / 1.3, max(batches + [kv_limit or 1]) * 1.3, left, pw)
    st = _log_scale(t_lo, t_hi, top, ph, flip=True)
    sl = _log_scale(l_lo, l_hi, top, ph, flip=True)
    for x, label in _spaced([(sx(b), str(b)) for b in batches], FONT_SMALL):
        out.append(_text(x, top + ph + 15, label, anchor="middle"))
    for t in _log_ticks(t_lo, t_hi):
        if t_lo <= t <= t_hi:
            out.append(_text(left - 4, st(t) + 4, _tick_label(t), anchor="end", fill=PALETTE[0]))
    for t in _log_ticks(l_lo, l_hi):
        if l_lo <= t <= l_hi:
            out.append(_text(left + pw + 4, sl(t) + 4, f"{_tick_label(t)} ms", fill=PALETTE[1]))
    out.append(_text(left + pw / 2, height - 6, "batch (concurrent sequences)", FONT_LABEL, "middle"))
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
    out.append(_text(left + 4, top + 14, "tokens/s (solid)", FONT_SMALL, fill=PALETTE[0]))
    out.append(_text(left + 4, top + 30, "ms per token (dashed)", FONT_SMALL, fill=PALETTE[1]))
    if kv_limit:
        kx = sx(kv_limit)
        out.append(_line(kx, top, kx, top + ph, PALETTE[6], ' stroke-dasharray="4 3"'))
        label = f"KV cache full at {kv_limit}"
        lx, anchor = _beside(kx, label, FONT_SMALL, left, left + pw)
        out.append(_text(lx, top + 46, label, FONT_SMALL, anchor))
    out.append("</svg>")
    return "".join(out)


# ---------------------------------------------------------------- KV cache against context length


def _fmt_bytes(n: float) -> str:
    for scale, unit in ((1 << 40, "TiB"), (GIB, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB")):
        if n >= scale:
            return f"{n / scale:g} {unit}"
    return f"{n:g} B"


def _fmt_tokens(n: float) -> str:
    for scale, suffix in ((1 << 20, "M"), (1 << 10, "k")):
        if n >= scale and n % scale == 0:
            return f"{n // scale:g}{suffix}"
    return f"{n:,.0f}"


def context_chart(
    lengths: list[int],
    kv_bytes: list[int],
    title: str,
    concurrency: list[float] | None = None,
    marker: int | None = None,
    marker_label: str = "",
    width: int = WIDTH,
    plot_height: int = 210,
) -> str:
    """KV cache one request holds (solid, left axis) and, when given, the maximum concurrency vLLM
    reports (dashed, right axis) against context length; both axes logarithmic. ``marker`` draws a
    dotted vertical line at the current length, labelled ``marker_label``."""
    if not lengths or len(lengths) != len(kv_bytes) or (concurrency is not None and len(concurrency) != len(lengths)):
        raise ValueError("lengths, kv_bytes (and concurrency) must have the same non-zero length")
    kv = [max(float(b), 1.0) for b in kv_bytes]
    k_lo, k_hi = min(kv) / 1.5, max(kv) * 1.5
    # left ticks: powers of 4 bytes (1 MiB, 4 MiB, …) inside the range
    k_ticks = [4.0**e for e in range(int(math.floor(math.log(k_lo, 4))), int(math.ceil(math.log(k_hi, 4))) + 1)]
    k_ticks = [t for t in k_ticks if k_lo <= t <= k_hi]
    left = 8 + max((_text_width(_fmt_bytes(t), FONT_SMALL) for t in k_ticks), default=24)
    conc = [max(c, 0.01) for c in concurrency] if concurrency is not None else []
    c_lo, c_hi = (min(conc + [1.0]) / 2, max(conc + [1.0]) * 2) if conc else (1.0, 10.0)
    c_ticks = [t for t in _log_ticks(c_lo, c_hi) if c_lo <= t <= c_hi] if conc else []
    right = 10 + max((_text_width(f"{t:g}×", FONT_SMALL) for t in c_ticks), default=0)
    out, (left, top, pw, ph), height = _frame(title, width, int(left), plot_height, int(right), 42)
    x_lo, x_hi = min(lengths + [marker or lengths[0]]) / 1.2, max(lengths + [marker or lengths[0]]) * 1.2
    sx = _log_scale(x_lo, x_hi, left, pw)
    sk = _log_scale(k_lo, k_hi, top, ph, flip=True)
    sc = _log_scale(c_lo, c_hi, top, ph, flip=True)
    faint = ' stroke-opacity="0.12"'
    x_ticks = [2.0**e for e in range(int(math.floor(math.log2(x_lo))), int(math.ceil(math.log2(x_hi))) + 1)]
    x_ticks = [t for t in x_ticks if x_lo <= t <= x_hi and t >= 1024]
    for x, label in _spaced([(sx(t), _fmt_tokens(t)) for t in x_ticks], FONT_SMALL):
        out.append(_line(x, top, x, top + ph, extra=faint))
        out.append(_text(x, top + ph + 15, label, anchor="middle"))
    step = max(1, -(-len(k_ticks) * 18 // int(ph)))
    for i, t in enumerate(k_ticks):
        if i % step == 0:
            out.append(_line(left, sk(t), left + pw, sk(t), extra=faint))
            out.append(_text(left - 4, sk(t) + 4, _fmt_bytes(t), anchor="end", fill=PALETTE[0]))
    for t in c_ticks:
        out.append(_text(left + pw + 4, sc(t) + 4, f"{t:g}×", fill=PALETTE[1]))
    out.append(_text(left + pw / 2, height - 6, "context length (tokens per request)", FONT_LABEL, "middle"))
    xs = [sx(n) for n in lengths]
    out.append(f'<path d="{_path(xs, [sk(v) for v in kv])}" fill="none" stroke="{PALETTE[0]}" '
               'stroke-width="2"><title>KV cache per request</title></path>')
    for n, x, v in zip(lengths, xs, kv, strict=True):
        out.append(f'<circle cx="{x:.1f}" cy="{sk(v):.1f}" r="3" fill="{PALETTE[0]}">'
                   f"<title>{n:,} tokens: {_fmt_gib(v)} of KV cache</title></circle>")
    out.append(_text(left + 4, top + 14, "KV cache per request (solid)", FONT_SMALL, fill=PALETTE[0]))
    if conc:
        out.append(_line(left, sc(1.0), left + pw, sc(1.0), PALETTE[1], ' stroke-opacity="0.5"'))
        out.append(f'<path d="{_path(xs, [sc(c) for c in conc])}" fill="none" stroke="{PALETTE[1]}" '
                   'stroke-width="2" stroke-dasharray="6 3"><title>maximum concurrency</title></path>')
        for n, x, c in zip(lengths, xs, conc, strict=True):
            out.append(f'<circle cx="{x:.1f}" cy="{sc(c):.1f}" r="3" fill="{PALETTE[1]}">'
                       f"<title>{n:,} tokens: {c:,.2f} requests at once</title></circle>")
        out.append(_text(left + 4, top + 30, "max concurrency (dashed)", FONT_SMALL, fill=PALETTE[1]))
    if marker:
        mx = sx(marker)
        label = marker_label or f"{marker:,} tokens"
        out.append(_line(mx, top, mx, top + ph, extra=' stroke-dasharray="2 3"', cls="fn-chart__marker"))
        lx, anchor = _beside(mx, label, FONT_SMALL, left, left + pw)
        out.append(_text(lx, top + ph - 8, label, FONT_SMALL, anchor))
    out.append("</svg>")
    return "".join(out)


def context_lengths(limit: int, *extra: int, start: int = 1024) -> list[int]:
    """Powers of two from ``start`` up to ``limit`` (a model's longest context), ``limit`` itself
    and the ``extra`` lengths: the x values of :func:`context_chart`, sorted, no repeats."""
    out = {n for n in extra if n > 0}
    n = start
    while n < limit:
        out.add(n)
        n *= 2
    out.add(max(limit, 1))
    return sorted(out)


# ---------------------------------------------------------------- planner: throughput per GPU against tail latency


def pareto_chart(
    series: list[tuple[str, list[tuple[float, float]]]],
    front: list[tuple[float, float]],
    title: str,
    latency_label: str,
    slo_limit_s: float | None = None,
    width: int = WIDTH,
    plot_height: int = 220,
) -> str:
    """Output tokens/s per GPU (y, log) against a tail latency (x, log ms): one line per configuration
    ``(label, [(latency_s, tokens_per_s_per_gpu), …])``, the Pareto front ringed, the SLO's limit as
    a dashed vertical line."""
    pts = [p for _, s in series for p in s if p[0] > 0 and p[1] > 0] + [p for p in front if p[0] > 0 and p[1] > 0]
    if not pts:
        raise ValueError("no point with a positive latency and throughput")
    xs = [p[0] * 1000 for p in pts] + ([slo_limit_s * 1000] if slo_limit_s else [])
    ys = [p[1] for p in pts]
    x_lo, x_hi = min(xs) / 1.5, max(xs) * 1.5
    y_lo, y_hi = min(ys) / 1.5, max(ys) * 1.5
    out, (left, top, pw, ph), height = _frame(title, width, 52, plot_height, 12, 42 + 16 * len(series))
    sx = _log_scale(x_lo, x_hi, left, pw)
    sy = _log_scale(y_lo, y_hi, top, ph, flip=True)
    faint = ' stroke-opacity="0.12"'
    ticks = [t * m for t in _log_ticks(x_lo, x_hi) for m in (1, 2, 5) if x_lo <= t * m <= x_hi]
    for t in ticks:
        out.append(_line(sx(t), top, sx(t), top + ph, extra=faint))
    for x, label in _spaced([(sx(t), f"{_tick_label(t)}") for t in ticks], FONT_SMALL):
        out.append(_text(x, top + ph + 15, label, anchor="middle"))
    y_ticks = [t * m for t in _log_ticks(y_lo, y_hi) for m in (1, 2, 5) if y_lo <= t * m <= y_hi]
    last = math.inf
    for t in y_ticks:
        out.append(_line(left, sy(t), left + pw, sy(t), extra=faint))
        if last - sy(t) >= 16:
            out.append(_text(left - 4, sy(t) + 4, _tick_label(t), anchor="end"))
            last = sy(t)
    out.append(_text(left + pw / 2, top + ph + 32, f"{latency_label} (ms)", FONT_LABEL, "middle"))
    out.append(_text(14, top + ph / 2, "output tokens/s per GPU", FONT_LABEL, "middle",
                     extra=f' transform="rotate(-90 14 {top + ph / 2:.1f})"'))
    if slo_limit_s:
        lx = sx(slo_limit_s * 1000)
        out.append(_line(lx, top, lx, top + ph, PALETTE[6], ' stroke-dasharray="4 3"'))
        label = f"SLO {slo_limit_s * 1000:,.4g} ms"
        tx, anchor = _beside(lx, label, FONT_SMALL, left, left + pw)
        out.append(_text(tx, top + 14, label, FONT_SMALL, anchor, fill=PALETTE[6]))
    for i, (label, s) in enumerate(series):
        colour = PALETTE[i % 6]
        good = sorted((p for p in s if p[0] > 0 and p[1] > 0), key=lambda p: p[1])
        if len(good) > 1:
            d = _path([sx(p[0] * 1000) for p in good], [sy(p[1]) for p in good])
            out.append(f'<path d="{d}" fill="none" stroke="{colour}" stroke-width="2">'
                       f"<title>{escape(label)}</title></path>")
        for lat, tps in good:
            out.append(f'<circle cx="{sx(lat * 1000):.1f}" cy="{sy(tps):.1f}" r="3" fill="{colour}">'
                       f"<title>{escape(label)}: {lat * 1000:,.1f} ms, {tps:,.0f} tokens/s per GPU</title></circle>")
        ly = height - 4 - 16 * (len(series) - 1 - i)
        out.append(_line(left, ly - 4, left + 16, ly - 4, colour, ' stroke-width="2"'))
        out.append(_text(left + 22, ly, label, FONT_SMALL))
    for lat, tps in front:
        if lat > 0 and tps > 0:
            out.append(f'<circle cx="{sx(lat * 1000):.1f}" cy="{sy(tps):.1f}" r="6" fill="none" '
                       f'stroke="currentColor" stroke-width="1.5"><title>Pareto front: {lat * 1000:,.1f} ms, '
                       f"{tps:,.0f} tokens/s per GPU</title></circle>")
    out.append(_text(left + pw - 4, top + ph - 6, "ringed: Pareto front", FONT_SMALL, "end"))
    out.append("</svg>")
    return "".join(out)
