"""Diagrams as SVG strings, drawn by the package from its own numbers (no plotting library).

Where a picture teaches faster than a paragraph, a page writes ``<!-- diagram: NAME key=value … -->``
and the build hook (hooks/figures.py) replaces it with :func:`render`'s SVG and caption.  Five
diagrams:

``paged_kv``
    Paged KV blocks and block tables (vLLM's PagedAttention): block size from
    :func:`calculators.vllm.default_block_size`, page size from :func:`calculators.vllm.fit`.
``batching_timeline``
    Continuous batching with chunked prefill, step by step: :func:`schedule_trace`, a toy of
    vLLM V1's scheduling rule (the same rule :mod:`calculators.simulate` runs at scale).
``tp_sharding``
    One transformer layer split across TP GPUs (Megatron-LM's column-then-row split), shapes from
    :func:`calculators.params.tensor_groups`.
``kv_shapes``
    MHA vs GQA vs MLA: KV-cache bytes per token per layer
    (:func:`calculators.memory.kv_bytes_per_token_per_layer`), bars to scale.
``pareto``
    Throughput per GPU against speed per user over batch and TP, with the Pareto front
    (:func:`calculators.roofline.roofline`'s batch sweep).

Every SVG has ``<title>`` and ``<desc>``, text of at least 12 units in a viewBox at most 720 wide,
text in ``currentColor`` (so it follows Material's light and dark schemes) and mid-tone fills that
read on both.  No ``style`` attributes and no scripts (the site's Content-Security-Policy).
Standard library only: this module also runs in Pyodide.
"""

from __future__ import annotations

import math
import shlex
from collections.abc import Callable
from dataclasses import dataclass
from html import escape

from calculators import forms, hardware, memory, models, params, planner, roofline, vllm
from calculators.errors import CalcError
from calculators.models import ModelSpec

WIDTH = 720  # viewBox width: 12-unit text renders at ≥ 11 px in a column ≥ 660 px wide
FONT = 12
FONT_HEAD = 13
# Mid-tone colours that keep contrast on Material's white and slate backgrounds (as charts.py).
PALETTE = ("#3f6ec6", "#e07b39", "#7a9a01", "#b04f9a", "#2a9d8f", "#8d6e63", "#c0392b", "#5d6d7e")


@dataclass(frozen=True)
class Diagram:
    """A rendered diagram: the SVG and the caption the page prints under it (plain text)."""

    name: str
    svg: str
    caption: str


# ---------------------------------------------------------------- SVG helpers


def _svg(width: int, height: int, title: str, desc: str, body: list[str]) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="100%" role="img" '
        f'aria-label="{escape(title)}" class="fn-diagram__svg"><title>{escape(title)}</title>'
        f"<desc>{escape(desc)}</desc>" + "".join(body) + "</svg>"
    )


def _text(x: float, y: float, body: str, size: int = FONT, anchor: str = "start", extra: str = "") -> str:
    return (f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}" fill="currentColor"{extra}>'
            f"{escape(body)}</text>")


def _rect(x: float, y: float, w: float, h: float, fill: str = "none", extra: str = "", tip: str = "") -> str:
    attrs = f'x="{x:.1f}" y="{y:.1f}" width="{w:.1f}" height="{h:.1f}" fill="{fill}"{extra}'
    if tip:
        return f"<rect {attrs}><title>{escape(tip)}</title></rect>"
    return f"<rect {attrs}/>"


def _line(x1: float, y1: float, x2: float, y2: float, extra: str = "") -> str:
    return f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" stroke="currentColor"{extra}/>'


_OUTLINE = ' stroke="currentColor" stroke-opacity="0.55"'


def _bytes(n: float) -> str:
    for unit, size in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= size:
            v = n / size
            return f"{v:,.0f} {unit}" if v == int(v) else f"{v:,.1f} {unit}"
    return f"{n:,.0f} B"


def _short(model_id: str) -> str:
    return model_id.rsplit("/", 1)[-1]


# ---------------------------------------------------------------- 1. paged KV blocks


@dataclass(frozen=True)
class PagedRequest:
    """One request of the picture: its tokens, and the physical block behind each logical block."""

    label: str
    tokens: int
    block_table: tuple[int, ...]

    def filled(self, block_size: int, i: int) -> int:
        """Tokens in logical block ``i``: full except the last one."""
        return min(block_size, self.tokens - i * block_size)


def free_queue(pool: int, stride: int = 5) -> tuple[int, ...]:
    """An illustrative order of the free-block queue after earlier requests came and went: block
    ``i × stride mod pool`` (stride coprime with pool), so consecutive allocations are not adjacent.

    vLLM V1 hands out blocks from the head of a free queue (vllm/v1/core/block_pool.py,
    ``FreeKVCacheBlockQueue``) and returns freed blocks to its tail, so after some traffic the
    blocks a request gets are scattered through the pool.
    """
    if math.gcd(stride, pool) != 1:
        raise CalcError("pool", f"stride {stride} must be coprime with the pool of {pool} blocks")
    return tuple(i * stride % pool for i in range(pool))


def page_blocks(tokens: tuple[int, ...], block_size: int, pool: int) -> tuple[PagedRequest, ...]:
    """Each request gets ⌈tokens / block_size⌉ blocks, taken in turn from :func:`free_queue`
    (vLLM ``KVCacheManager.allocate_slots``: ``cdiv(num_tokens, block_size)`` blocks per request)."""
    queue = list(free_queue(pool))
    out = []
    for i, n in enumerate(tokens):
        if n < 1:
            raise CalcError("tokens", f"each request needs at least one token, got {n}")
        need = -(-n // block_size)
        if need > len(queue):
            raise CalcError("tokens", f"{sum(tokens):,} tokens need more than the {pool} blocks drawn")
        out.append(PagedRequest(chr(ord("A") + i), n, tuple(queue[:need])))
        del queue[:need]
    return tuple(out)


@dataclass(frozen=True)
class PagedNumbers:
    """The caption's numbers, from the package."""

    model: str
    gpu: str
    block_size: int
    page_size_bytes: int  # one block of one layer (vllm.fit)
    attention_layers: int
    bytes_per_block: int  # all layers
    bytes_per_token_per_layer: int


def paged_numbers(spec: ModelSpec, gpu: hardware.GPU) -> PagedNumbers:
    """Block size (:func:`calculators.vllm.default_block_size`), page size of one layer
    (:func:`calculators.vllm.fit`'s ``page_size_bytes`` = bytes per token per layer × block size,
    vLLM ``AttentionSpec.page_size_bytes``) and a block across all attention layers."""
    block = vllm.default_block_size(spec, gpu)
    per_layer = memory.kv_bytes_per_token_per_layer(spec)
    f = vllm.fit(spec, gpu, max_model_len=min(spec.max_position_embeddings, 8192))
    layers = len(spec.attention_layers)
    return PagedNumbers(spec.model_id, gpu.name, block, f.page_size_bytes, layers, per_layer * block * layers,
                        per_layer)


def paged_kv(spec: ModelSpec, gpu: hardware.GPU, tokens: tuple[int, ...] | None = None, pool: int = 16) -> Diagram:
    """Three requests of different lengths, their logical blocks, block tables, and the physical
    blocks they point to in a pool of ``pool`` blocks (PagedAttention, Kwon et al. 2023, §4.1)."""
    nums = paged_numbers(spec, gpu)
    b = nums.block_size
    if tokens is None:
        tokens = (2 * b + b // 2, b + b // 4 + 1, 3 * b + b // 8 + 1)
    reqs = page_blocks(tokens, b, pool)
    owner: dict[int, tuple[PagedRequest, int]] = {}
    for r in reqs:
        for i, phys in enumerate(r.block_table):
            owner[phys] = (r, i)
    cols = 8
    rows = -(-pool // cols)
    row_h = 62
    top = 44
    height = max(top + row_h * len(reqs), top + 20 + rows * 70) + 40
    out = [
        _text(10, 20, "Logical blocks of each request", FONT_HEAD, extra=' font-weight="600"'),
        _text(228, 20, "Block table", FONT_HEAD, extra=' font-weight="600"'),
        _text(350, 20, "Physical KV blocks in GPU memory", FONT_HEAD, extra=' font-weight="600"'),
    ]
    bw, bh = 36, 26
    for k, r in enumerate(reqs):
        colour = PALETTE[k % len(PALETTE)]
        y = top + row_h * k
        out.append(_text(10, y + 4, f"Request {r.label}: {r.tokens:,} tokens", FONT))
        for i in range(len(r.block_table)):
            x = 10 + i * (bw + 4)
            n = r.filled(b, i)
            out.append(_rect(x, y + 12, bw * n / b, bh, colour, ' fill-opacity="0.85"',
                             tip=f"{r.label} logical block {i}: {n}/{b} tokens"))
            out.append(_rect(x, y + 12, bw, bh, extra=_OUTLINE))
            if n < b:
                out.append(_text(x + bw + 3, y + 30, f"{n}/{b}", FONT))
        table = ", ".join(str(p) for p in r.block_table)
        out.append(_text(228, y + 30, f"[{table}]", FONT, extra=' font-family="monospace"'))
    gx, gy, pw, ph = 350, top + 8, 44, 48
    for phys in range(pool):
        x = gx + (phys % cols) * pw
        y = gy + (phys // cols) * (ph + 22)
        out.append(_text(x + (pw - 4) / 2, y + ph + 15, f"#{phys}", FONT, "middle"))
        if phys in owner:
            r, i = owner[phys]
            colour = PALETTE[reqs.index(r) % len(PALETTE)]
            n = r.filled(b, i)
            fill_h = (ph - 4) * n / b
            out.append(_rect(x, y + (ph - 4) - fill_h, pw - 4, fill_h, colour, ' fill-opacity="0.85"',
                             tip=f"physical block {phys}: request {r.label}, logical block {i}, {n}/{b} tokens"))
            out.append(_rect(x, y, pw - 4, ph - 4, extra=_OUTLINE))
            out.append(_text(x + (pw - 4) / 2, y + 18, f"{r.label}{i}", FONT, "middle", ' font-weight="600"'))
        else:
            out.append(_rect(x, y, pw - 4, ph - 4, extra=' stroke="currentColor" stroke-opacity="0.3" '
                                                         'stroke-dasharray="3 2"', tip=f"physical block {phys}: free"))
            out.append(_text(x + (pw - 4) / 2, y + 26, "free", FONT, "middle", ' fill-opacity="0.6"'))
    foot = (f"1 block = {b} tokens; {_bytes(nums.page_size_bytes)} per layer, "
            f"{_bytes(nums.bytes_per_block)} across {nums.attention_layers} layers")
    out.append(_text(10, height - 12, foot, FONT))
    last = reqs[-1]
    last_fill = last.filled(b, len(last.block_table) - 1)
    caption = (
        f"{_short(nums.model)} on {nums.gpu}: vLLM's block holds {b} tokens. One block of one layer is "
        f"{nums.page_size_bytes:,} bytes ({nums.bytes_per_token_per_layer:,} bytes per token per layer × {b}), "
        f"{nums.bytes_per_block:,} bytes ({_bytes(nums.bytes_per_block)}) across the {nums.attention_layers} "
        f"attention layers. Each request's block table lists physical blocks scattered through the pool; "
        f"only its last block is partly filled (request {last.label}: {last_fill} of {b} tokens), so a request "
        f"wastes less than one block."
    )
    title = f"Paged KV cache: three requests' block tables ({_short(nums.model)}, {b}-token blocks)"
    desc = " ".join(
        f"Request {r.label} has {r.tokens} tokens in {len(r.block_table)} blocks, "
        f"block table [{', '.join(map(str, r.block_table))}]." for r in reqs
    ) + f" The other {pool - sum(len(r.block_table) for r in reqs)} of {pool} blocks are free."
    return Diagram("paged_kv", _svg(WIDTH, height, title, desc, out), caption)


# ---------------------------------------------------------------- 2. continuous batching timeline


@dataclass(frozen=True)
class ToyRequest:
    """A request of the toy schedule: arrives before step ``arrival``, ``prompt`` tokens in, ``output`` out."""

    label: str
    arrival: int
    prompt: int
    output: int


@dataclass(frozen=True)
class Cell:
    """What one request did in one step: ``prefill`` (``tokens`` of its prompt), ``decode`` (one
    token), ``waiting`` (arrived, not scheduled) or ``idle`` (not arrived yet, or finished)."""

    kind: str
    tokens: int = 0


@dataclass(frozen=True)
class Trace:
    requests: tuple[ToyRequest, ...]
    budget: int
    cells: tuple[tuple[Cell, ...], ...]  # cells[request][step]

    @property
    def steps(self) -> int:
        return len(self.cells[0]) if self.cells else 0

    def tokens_in_step(self, step: int) -> int:
        return sum(row[step].tokens for row in self.cells)


TOY_REQUESTS = (
    ToyRequest("A", 0, 5, 6),
    ToyRequest("B", 0, 9, 4),
    ToyRequest("C", 1, 14, 4),
    ToyRequest("D", 3, 4, 5),
    ToyRequest("E", 4, 6, 3),
)
TOY_BUDGET = 8


def schedule_trace(requests: tuple[ToyRequest, ...] = TOY_REQUESTS, budget: int = TOY_BUDGET,
                   max_num_seqs: int = 1 << 10, max_steps: int = 64) -> Trace:
    """Step-by-step schedule of vLLM V1's scheduler with an unlimited KV cache.

    vllm/v1/core/sched/scheduler.py ``Scheduler.schedule``: a token budget of
    ``max_num_batched_tokens`` per step; the *running* requests first, in the order they were
    admitted (a decoding request takes one token, a request still in its prompt the rest of the
    prompt up to the remaining budget), then *waiting* requests first come first served while
    budget remains and fewer than ``max_num_seqs`` run.  The step that completes a prompt also
    samples the first output token.  (:mod:`calculators.simulate` runs the same rule, with KV
    blocks and preemption, at scale.)
    """
    if budget < 1:
        raise CalcError("budget", f"must be at least 1 token, got {budget}")
    done_prompt = {r.label: 0 for r in requests}
    generated = {r.label: 0 for r in requests}
    running: list[ToyRequest] = []
    waiting: list[ToyRequest] = []
    finished: set[str] = set()
    rows: dict[str, list[Cell]] = {r.label: [] for r in requests}
    for step in range(max_steps):
        if len(finished) == len(requests):
            break
        waiting += [r for r in requests if r.arrival == step]
        left = budget
        now: dict[str, Cell] = {}
        for r in list(running):
            if left == 0:
                break
            if done_prompt[r.label] < r.prompt:
                n = min(r.prompt - done_prompt[r.label], left)
                now[r.label] = Cell("prefill", n)
            else:
                n = 1
                now[r.label] = Cell("decode", 1)
            left -= n
        while waiting and left > 0 and len(running) < max_num_seqs:
            r = waiting.pop(0)
            n = min(r.prompt, left)
            now[r.label] = Cell("prefill", n)
            left -= n
            running.append(r)
        for r in requests:
            cell = now.get(r.label)
            if cell is None:
                cell = Cell("waiting") if (r in waiting or r in running) else Cell("idle")
            rows[r.label].append(cell)
            if cell.kind == "prefill":
                done_prompt[r.label] += cell.tokens
            if cell.kind == "decode" or (cell.kind == "prefill" and done_prompt[r.label] == r.prompt):
                generated[r.label] += 1
                if generated[r.label] >= r.output:
                    running.remove(r)
                    finished.add(r.label)
    return Trace(requests, budget, tuple(tuple(rows[r.label]) for r in requests))


def batching_timeline(gpu: hardware.GPU, trace: Trace | None = None) -> Diagram:
    """The toy :func:`schedule_trace` as a grid: steps across, requests down."""
    t = trace or schedule_trace()
    real_budget, real_seqs = vllm.default_scheduler_limits(gpu)
    label_w, cell_w, cell_h, top = 150, max(24, min(60, (WIDTH - 160) // max(1, t.steps))), 30, 40
    steps = t.steps
    height = top + cell_h * (len(t.requests) + 1) + 70
    colours = {"prefill": PALETTE[0], "decode": PALETTE[1]}
    out = [_text(10, 20, "step", FONT_HEAD, extra=' font-weight="600"')]
    for s in range(steps):
        out.append(_text(label_w + s * cell_w + cell_w / 2, 20, str(s + 1), FONT, "middle"))
    for k, r in enumerate(t.requests):
        y = top + k * cell_h
        out.append(_text(10, y + 19, f"{r.label}: {r.prompt} in, {r.output} out", FONT))
        for s, cell in enumerate(t.cells[k]):
            x = label_w + s * cell_w
            if cell.kind in colours:
                out.append(_rect(x + 1, y + 2, cell_w - 2, cell_h - 4, colours[cell.kind], ' fill-opacity="0.85"',
                                 tip=f"step {s + 1}, {r.label}: {cell.kind} {cell.tokens} token(s)"))
                label = f"P{cell.tokens}" if cell.kind == "prefill" else "D"
                out.append(_text(x + cell_w / 2, y + 20, label, FONT, "middle", ' font-weight="600"'))
            elif cell.kind == "waiting":
                out.append(_rect(x + 1, y + 2, cell_w - 2, cell_h - 4, "currentColor", ' fill-opacity="0.12"',
                                 tip=f"step {s + 1}, {r.label}: waiting"))
                out.append(_text(x + cell_w / 2, y + 20, "w", FONT, "middle", ' fill-opacity="0.7"'))
    y = top + len(t.requests) * cell_h
    out.append(_line(label_w, y + 2, label_w + steps * cell_w, y + 2, ' stroke-opacity="0.4"'))
    out.append(_text(10, y + 21, f"tokens / {t.budget}", FONT))
    for s in range(steps):
        out.append(_text(label_w + s * cell_w + cell_w / 2, y + 21, str(t.tokens_in_step(s)), FONT, "middle"))
    ly = y + 48
    for i, (kind, label) in enumerate((("prefill", "P n: prompt chunk of n tokens"), ("decode", "D: one decode token"),
                                       ("waiting", "w: waiting (no budget)"))):
        x = 10 + i * 200
        fill = colours.get(kind, "currentColor")
        opacity = "0.85" if kind in colours else "0.12"
        out.append(_rect(x, ly - 11, 14, 14, fill, f' fill-opacity="{opacity}"'))
        out.append(_text(x + 20, ly, label, FONT))
    width = WIDTH
    caption = (
        f"A toy budget of {t.budget} tokens per step (vllm serve's default --max-num-batched-tokens on "
        f"{gpu.name} is {real_budget:,}, with up to {real_seqs:,} sequences). Each step, running requests go "
        f"first: a decoding one takes one token, one still in its prompt takes the next chunk; then waiting "
        f"requests join while budget is left. The step that finishes a prompt also yields its first token. "
        f"Long prompt C is spread over several steps while the others keep decoding."
    )
    desc = " ".join(
        f"Request {r.label}: " + ", ".join(
            f"step {s + 1} {c.kind}{' ' + str(c.tokens) if c.kind == 'prefill' else ''}"
            for s, c in enumerate(t.cells[k]) if c.kind != "idle") + "."
        for k, r in enumerate(t.requests)
    )
    title = f"Continuous batching with chunked prefill: {len(t.requests)} requests over {steps} steps"
    return Diagram("batching_timeline", _svg(width, height, title, desc, out), caption)


# ---------------------------------------------------------------- 3. tensor-parallel sharding


@dataclass(frozen=True)
class Shard:
    """One weight matrix of a decoder layer in Megatron orientation (Y = X · A, A is in × out) and
    one GPU's part of it.  ``split``: ``column`` (output features split), ``row`` (input features
    split) or ``replicated`` (KV heads copied when tp > KV heads)."""

    name: str
    full_in: int
    full_out: int
    gpu_in: int
    gpu_out: int
    split: str


_ATTN_IN = (("q", ("q_proj",)), ("k, v", ("k_proj+v_proj",)))
_ATTN_OUT = ("o", ("o_proj", "dense"))
_MLP_IN = ("gate, up", ("gate_proj+up_proj", "fc1", "up_proj"))
_MLP_OUT = ("down", ("down_proj", "fc2"))


def tp_shards(spec: ModelSpec, tp: int) -> tuple[Shard, ...]:
    """The matrices of one dense decoder layer, whole and per GPU, from
    :func:`calculators.params.tensor_groups` with ``tp=None`` and ``tp=tp``.

    Megatron-LM (Shoeybi et al. 2019, §3): the first matrix of each block is split by columns
    (output features: q/k/v, gate/up), the second by rows (input features: o, down), so each GPU
    runs its heads / its slice of the MLP with no communication and one all-reduce sums the
    partial outputs after each block.  vLLM's ``ColumnParallelLinear`` / ``RowParallelLinear``
    (vllm/model_executor/layers/linear.py); PyTorch stores the weight as out × in.
    """
    if spec.moe is not None and any(spec.moe.moe_layers) or spec.mla is not None:
        raise CalcError("model", f"{spec.model_id}: tp_sharding draws dense MHA/GQA layers, not MoE or MLA")
    whole = {g.name: g for g in params.tensor_groups(spec) if not g.expert}
    split = {g.name: g for g in params.tensor_groups(spec, tp=tp) if not g.expert}

    def find(label: str, names: tuple[str, ...], kind: str) -> Shard:
        for key in whole:
            if any(key == n or key.endswith("." + n) for n in names):
                w, s = whole[key], split[key]
                how = kind
                if kind == "column" and s.rows * tp != w.rows:
                    how = "replicated"
                return Shard(label, w.cols, w.rows, s.cols, s.rows, how)
        raise CalcError("model", f"{spec.model_id}: no {'/'.join(names)} tensor to draw")

    return (*(find(lbl, names, "column") for lbl, names in _ATTN_IN), find(*_ATTN_OUT, "row"),
            find(*_MLP_IN, "column"), find(*_MLP_OUT, "row"))


def tp_sharding(spec: ModelSpec, tp: int) -> Diagram:
    """One layer's matrices as boxes striped by GPU, the all-reduce after attention and MLP."""
    if tp < 2 or tp > 8:
        raise CalcError("tp", f"draw 2 to 8 GPUs, got {tp}")
    shards = tp_shards(spec, tp)
    box_w, box_h = 112, 74
    out: list[str] = []

    def matrix(x: float, y: float, s: Shard) -> None:
        for g in range(tp):
            colour = PALETTE[g % len(PALETTE)]
            if s.split == "row":
                sy = y + box_h * g / tp
                out.append(_rect(x, sy, box_w, box_h / tp, colour, ' fill-opacity="0.8"',
                                 tip=f"GPU {g}: {s.gpu_in:,} × {s.gpu_out:,}"))
            elif s.split == "column":
                sx = x + box_w * g / tp
                out.append(_rect(sx, y, box_w / tp, box_h, colour, ' fill-opacity="0.8"',
                                 tip=f"GPU {g}: {s.gpu_in:,} × {s.gpu_out:,}"))
        if s.split == "replicated":
            out.append(_rect(x, y, box_w, box_h, "currentColor", ' fill-opacity="0.15"',
                             tip=f"every GPU: {s.gpu_in:,} × {s.gpu_out:,} (replicated KV heads)"))
        out.append(_rect(x, y, box_w, box_h, extra=_OUTLINE))
        out.append(_text(x + box_w / 2, y + box_h / 2 + 5, s.name, FONT_HEAD, "middle", ' font-weight="600"'))
        how = {"column": "split by columns", "row": "split by rows", "replicated": "replicated"}[s.split]
        each = " each" if "," in s.name else ""
        out.append(_text(x + box_w / 2, y + box_h + 16, f"{s.full_in:,} × {s.full_out:,}{each}", FONT, "middle"))
        out.append(_text(x + box_w / 2, y + box_h + 31, f"GPU: {s.gpu_in:,} × {s.gpu_out:,}", FONT, "middle"))
        out.append(_text(x + box_w / 2, y - 6, how, FONT, "middle", ' fill-opacity="0.8"'))

    def allreduce(x: float, y: float) -> None:
        out.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="17" fill="none" stroke="currentColor" stroke-width="2">'
                   f"<title>all-reduce across {tp} GPUs</title></circle>")
        out.append(_text(x, y + 6, "Σ", 16, "middle"))
        out.append(_text(x, y + 36, "all-reduce", FONT, "middle"))

    def arrow(x1: float, x2: float, y: float) -> None:
        out.append(_line(x1, y, x2 - 5, y, ' stroke-opacity="0.6"'))
        out.append(f'<path d="M{x2:.1f},{y:.1f} l-7,-4 l0,8 z" fill="currentColor" fill-opacity="0.6"/>')

    rows_y = (50, 214)
    mid = [y + box_h / 2 for y in rows_y]
    out.append(_text(10, rows_y[0] - 24, "Attention", FONT_HEAD, extra=' font-weight="600"'))
    out.append(_text(10, mid[0] + 5, "x", FONT_HEAD))
    arrow(24, 44, mid[0])
    matrix(46, rows_y[0], shards[0])
    matrix(46 + box_w + 10, rows_y[0], shards[1])
    arrow(46 + 2 * box_w + 12, 312, mid[0])
    out.append(_text(360, mid[0] - 4, "attention,", FONT, "middle"))
    out.append(_text(360, mid[0] + 12, "own heads", FONT, "middle"))
    arrow(404, 424, mid[0])
    matrix(426, rows_y[0], shards[2])
    arrow(426 + box_w + 2, 580, mid[0])
    allreduce(600, mid[0])
    out.append(_text(10, rows_y[1] - 24, "MLP", FONT_HEAD, extra=' font-weight="600"'))
    out.append(_text(10, mid[1] + 5, "x", FONT_HEAD))
    arrow(24, 44, mid[1])
    matrix(46, rows_y[1], shards[3])
    arrow(46 + box_w + 2, 214, mid[1])
    out.append(_text(258, mid[1] - 4, "activation,", FONT, "middle"))
    out.append(_text(258, mid[1] + 12, "own slice", FONT, "middle"))
    arrow(304, 324, mid[1])
    matrix(326, rows_y[1], shards[4])
    arrow(326 + box_w + 2, 580, mid[1])
    allreduce(600, mid[1])
    ly = rows_y[1] + box_h + 62
    for g in range(tp):
        x = 10 + g * 88
        out.append(_rect(x, ly - 11, 14, 14, PALETTE[g % len(PALETTE)], ' fill-opacity="0.8"'))
        out.append(_text(x + 20, ly, f"GPU {g}", FONT))
    out.append(_text(10, ly + 24, "shapes: input features × output features (Y = X·A)", FONT,
                     extra=' fill-opacity="0.8"'))
    height = ly + 36
    q, kv, o, up, down = shards
    kv_note = (f"k and v are replicated: {spec.num_kv_heads} KV heads cannot be split {tp} ways"
               if kv.split == "replicated" else f"k and v split their {spec.num_kv_heads} KV heads")
    caption = (
        f"{_short(spec.model_id)} at TP {tp}. Column-parallel q, k, v and gate/up split their output features, "
        f"so each GPU computes {spec.num_attention_heads // tp} of the {spec.num_attention_heads} query heads and "
        f"1/{tp} of the MLP without talking to the others ({kv_note}). Row-parallel o and down split their input "
        f"features; each GPU's partial sum is added by an all-reduce of {spec.hidden_size:,} values per token: "
        f"two per layer, {2 * spec.num_layers} per step over {spec.num_layers} layers."
    )
    desc = " ".join(f"{s.name}: {s.full_in} by {s.full_out}, {s.split}, {s.gpu_in} by {s.gpu_out} per GPU."
                    for s in shards) + " An all-reduce follows o and down."
    title = f"Tensor parallelism: one decoder layer of {_short(spec.model_id)} over {tp} GPUs"
    return Diagram("tp_sharding", _svg(WIDTH, height, title, desc, out), caption)


# ---------------------------------------------------------------- 4. MHA vs GQA vs MLA


@dataclass(frozen=True)
class KVShape:
    """What one token leaves in one layer's cache, and its size."""

    model: str
    kind: str  # MHA, GQA, MQA or MLA
    bytes_per_token_per_layer: int
    parts: tuple[tuple[str, int], ...]  # (label, bytes) segments that add up to the total
    note: str


def kv_shape(spec: ModelSpec) -> KVShape:
    """:func:`calculators.memory.kv_bytes_per_token_per_layer` and its parts: a K and a V vector per
    KV head (MHA: as many KV heads as query heads, Vaswani et al. 2017; GQA: fewer, Ainslie et al.
    2023; MQA: one, Shazeer 2019), or MLA's latent plus decoupled RoPE key (DeepSeek-V2, §2.1)."""
    total = memory.kv_bytes_per_token_per_layer(spec)
    if spec.mla is not None:
        elem = total // (spec.mla.kv_lora_rank + spec.mla.qk_rope_head_dim) if spec.indexer is None else 0
        if spec.indexer is not None or elem * (spec.mla.kv_lora_rank + spec.mla.qk_rope_head_dim) != total:
            return KVShape(spec.model_id, "MLA", total, (("latent", total),), "compressed latent")
        parts: tuple[tuple[str, int], ...] = (("latent", spec.mla.kv_lora_rank * elem),
                                              ("RoPE key", spec.mla.qk_rope_head_dim * elem))
        note = (f"one latent of {spec.mla.kv_lora_rank} + RoPE key of {spec.mla.qk_rope_head_dim}, "
                f"shared by all {spec.num_attention_heads} heads")
        return KVShape(spec.model_id, "MLA", total, parts, note)
    kv = spec.num_kv_heads
    kind = "MHA" if kv == spec.num_attention_heads else ("MQA" if kv == 1 else "GQA")
    head = total // (2 * kv)
    parts = tuple((f"{'K' if i < kv else 'V'} head {i % kv}", head) for i in range(2 * kv))
    note = f"K and V for {kv} KV heads of {spec.head_dim} ({spec.num_attention_heads} query heads)"
    return KVShape(spec.model_id, kind, total, parts, note)


KV_SHAPES_DEFAULT = ("microsoft/phi-2", "meta-llama/Llama-3.1-8B-Instruct", "deepseek-ai/DeepSeek-V3")


def kv_shapes(specs: tuple[ModelSpec, ...]) -> Diagram:
    """One bar per model, its length proportional to the bytes per token per layer, divided into
    the vectors it is made of."""
    shapes = [kv_shape(s) for s in specs]
    if not shapes:
        raise CalcError("models", "give at least one model")
    biggest = max(s.bytes_per_token_per_layer for s in shapes)
    left, bar_max, row_h, top = 10, WIDTH - 20 - 110, 74, 16
    out = []
    for k, s in enumerate(shapes):
        y = top + k * row_h
        colour = PALETTE[k % len(PALETTE)]
        out.append(_text(left, y + 14, f"{s.kind} · {_short(s.model)}", FONT_HEAD, extra=' font-weight="600"'))
        length = bar_max * s.bytes_per_token_per_layer / biggest
        out.append(_rect(left, y + 22, length, 24, colour, f' fill-opacity="0.85" class="fn-diagram__bar" '
                         f'data-bytes="{s.bytes_per_token_per_layer}"',
                         tip=f"{s.model}: {s.bytes_per_token_per_layer:,} bytes per token per layer"))
        x = float(left)
        for _label, n in s.parts[:-1]:
            x += length * n / s.bytes_per_token_per_layer
            out.append(_line(x, y + 22, x, y + 46, ' stroke-opacity="0.5"'))
        out.append(_text(left + length + 6, y + 39, f"{s.bytes_per_token_per_layer:,} B", FONT_HEAD))
        out.append(_text(left, y + 62, s.note, FONT, extra=' fill-opacity="0.85"'))
    height = top + row_h * len(shapes) + 6
    caption = "KV cache per token per layer, bars to scale: " + "; ".join(
        f"{_short(s.model)} ({s.kind}) {s.bytes_per_token_per_layer:,} bytes" for s in shapes
    ) + ". The thin lines mark one K or V vector per KV head; MLA stores one latent for all heads."
    desc = " ".join(f"{s.model}, {s.kind}: {s.bytes_per_token_per_layer} bytes per token per layer, {s.note}."
                    for s in shapes)
    title = "KV-cache bytes per token per layer: " + ", ".join(s.kind for s in shapes)
    return Diagram("kv_shapes", _svg(WIDTH, height, title, desc, out), caption)


# ---------------------------------------------------------------- 5. latency-throughput Pareto


@dataclass(frozen=True)
class ParetoPoint:
    tp: int
    batch: int
    tokens_per_s_per_user: float  # 1 / TPOT
    tokens_per_s_per_gpu: float


def pareto_front(points: list[ParetoPoint]) -> list[ParetoPoint]:
    """The points no other point beats on both axes (faster per user *and* more per GPU), sorted by
    speed per user: the configurations worth choosing."""
    front = [p for p in points
             if not any(q.tokens_per_s_per_user >= p.tokens_per_s_per_user
                        and q.tokens_per_s_per_gpu >= p.tokens_per_s_per_gpu
                        and (q.tokens_per_s_per_user, q.tokens_per_s_per_gpu)
                        != (p.tokens_per_s_per_user, p.tokens_per_s_per_gpu) for q in points)]
    return sorted(front, key=lambda p: p.tokens_per_s_per_user)


def pareto_points(spec: ModelSpec, gpu: hardware.GPU, tps: tuple[int, ...], prompt_tokens: int,
                  output_tokens: int) -> list[ParetoPoint]:
    """The batch sweep of :func:`calculators.roofline.roofline` (the same curve as the roofline
    calculator's batch chart) for each TP, keeping batches whose KV cache fits."""
    pts = []
    for tp in tps:
        r = roofline.roofline(spec, gpu, tp=tp, prompt_tokens=prompt_tokens, output_tokens=output_tokens)
        if not r.weights_fit:
            continue
        pts += [ParetoPoint(tp, c.batch, c.output_tokens_per_s_per_user, c.output_tokens_per_s_per_gpu)
                for c in r.curve if c.fits_kv]
    if not pts:
        raise CalcError("tp", f"{spec.model_id} does not fit on {gpu.name} at TP {tps}")
    return pts


def pareto(spec: ModelSpec, gpu: hardware.GPU, tps: tuple[int, ...], prompt_tokens: int, output_tokens: int,
           tpot_target_s: float | None = None) -> Diagram:
    """Log-log: tokens/s per GPU (cost) against tokens/s per user (latency), one line per TP, each
    point a batch size, the Pareto front bold."""
    pts = pareto_points(spec, gpu, tps, prompt_tokens, output_tokens)
    front = pareto_front(pts)
    xs = [p.tokens_per_s_per_user for p in pts]
    ys = [p.tokens_per_s_per_gpu for p in pts]
    x_lo, x_hi = min(xs) / 1.3, max(xs) * 1.3
    y_lo, y_hi = min(ys) / 1.5, max(ys) * 2
    if tpot_target_s:
        x_lo, x_hi = min(x_lo, 0.8 / tpot_target_s), max(x_hi, 1.25 / tpot_target_s)
    left, top, pw, ph = 70, 14, WIDTH - 90, 300

    def sx(v: float) -> float:
        return left + pw * (math.log10(v) - math.log10(x_lo)) / (math.log10(x_hi) - math.log10(x_lo))

    def sy(v: float) -> float:
        return top + ph * (1 - (math.log10(v) - math.log10(y_lo)) / (math.log10(y_hi) - math.log10(y_lo)))

    out = [_rect(left, top, pw, ph, extra=' stroke="currentColor" stroke-opacity="0.4"')]
    for lo, hi, scale, horizontal in ((x_lo, x_hi, sx, False), (y_lo, y_hi, sy, True)):
        for e in range(math.floor(math.log10(lo)), math.ceil(math.log10(hi)) + 1):
            for m in (1, 2, 5):
                v = m * 10.0 ** e
                if not lo <= v <= hi:
                    continue
                at = scale(v)
                label = f"{v:,.0f}" if v >= 1 else f"{v:g}"
                if horizontal:
                    out.append(_line(left, at, left + pw, at, ' stroke-opacity="0.12"'))
                    out.append(_text(left - 5, at + 4, label, FONT, "end"))
                else:
                    out.append(_line(at, top, at, top + ph, ' stroke-opacity="0.12"'))
                    out.append(_text(at, top + ph + 16, label, FONT, "middle"))
    out.append(_text(left + pw / 2, top + ph + 36, "output tokens/s per user (1 / TPOT) →", FONT, "middle"))
    out.append(_text(16, top + ph / 2, "output tokens/s per GPU →", FONT, "middle",
                     f' transform="rotate(-90 16 {top + ph / 2:.1f})"'))
    if tpot_target_s:
        tx = sx(1 / tpot_target_s)
        out.append(_line(tx, top, tx, top + ph, ' stroke-dasharray="5 4" stroke-opacity="0.7"'))
        out.append(_text(tx + 4, top + ph - 8, f"TPOT {tpot_target_s * 1000:g} ms", FONT))
    for i, tp in enumerate(sorted({p.tp for p in pts})):
        colour = PALETTE[i % len(PALETTE)]
        line = sorted((p for p in pts if p.tp == tp), key=lambda p: p.batch)
        d = " ".join(f"{'M' if j == 0 else 'L'}{sx(p.tokens_per_s_per_user):.1f},{sy(p.tokens_per_s_per_gpu):.1f}"
                     for j, p in enumerate(line))
        out.append(f'<path d="{d}" fill="none" stroke="{colour}" stroke-width="2"><title>TP {tp}</title></path>')
        for p in line:
            out.append(f'<circle cx="{sx(p.tokens_per_s_per_user):.1f}" cy="{sy(p.tokens_per_s_per_gpu):.1f}" r="3.5" '
                       f'fill="{colour}"><title>TP {tp}, batch {p.batch}: {p.tokens_per_s_per_user:,.1f} tokens/s '
                       f"per user, {p.tokens_per_s_per_gpu:,.0f} tokens/s per GPU</title></circle>")
        first = line[0]
        out.append(_text(sx(first.tokens_per_s_per_user) - 6, sy(first.tokens_per_s_per_gpu) + 4,
                         f"TP {tp} · batch {first.batch}", FONT, "end", ' font-weight="600"'))
    d = " ".join(f"{'M' if j == 0 else 'L'}{sx(p.tokens_per_s_per_user):.1f},{sy(p.tokens_per_s_per_gpu):.1f}"
                 for j, p in enumerate(front))
    out.append(f'<path d="{d}" fill="none" stroke="currentColor" stroke-width="4" stroke-opacity="0.35" '
               f'stroke-linecap="round" stroke-linejoin="round"><title>Pareto front</title></path>')
    height = top + ph + 50
    best = max(pts, key=lambda p: p.tokens_per_s_per_gpu)
    target_note = ""
    if tpot_target_s:
        ok = [p for p in pts if p.tokens_per_s_per_user >= 1 / tpot_target_s]
        if ok:
            b = max(ok, key=lambda p: p.tokens_per_s_per_gpu)
            target_note = (f" Under a {tpot_target_s * 1000:g} ms TPOT target the best is TP {b.tp} at batch "
                           f"{b.batch}: {b.tokens_per_s_per_gpu:,.0f} tokens/s per GPU.")
    caption = (
        f"{_short(spec.model_id)} on {gpu.name}, {prompt_tokens:,}-token prompts and {output_tokens:,}-token answers "
        f"(expected figures from the roofline model). Each line is one TP size, each point a batch size from 1 up to "
        f"what the KV cache holds; the grey band is the Pareto front, where no other choice is both faster per user "
        f"and cheaper per token. The most tokens per GPU, {best.tokens_per_s_per_gpu:,.0f}/s, come from TP {best.tp} "
        f"at batch {best.batch}.{target_note}"
    )
    desc = "Pareto front, from fastest per GPU to fastest per user: " + "; ".join(
        f"TP {p.tp} batch {p.batch}: {p.tokens_per_s_per_user:,.1f} tokens/s per user, "
        f"{p.tokens_per_s_per_gpu:,.0f} per GPU" for p in reversed(front)) + "."
    title = f"Latency-throughput trade-off of {_short(spec.model_id)} on {gpu.name}: TP {', '.join(map(str, tps))}"
    return Diagram("pareto", _svg(WIDTH, height, title, desc, out), caption)


# ---------------------------------------------------------------- the marker's face


def _int(options: dict[str, str], key: str, default: int) -> int:
    raw = options.pop(key, None)
    if raw is None:
        return default
    try:
        return int(raw)
    except ValueError:
        raise CalcError(key, f"must be a whole number, got {raw!r}") from None


def _ints(options: dict[str, str], key: str, default: tuple[int, ...] | None) -> tuple[int, ...] | None:
    raw = options.pop(key, None)
    if raw is None:
        return default
    try:
        return tuple(int(v) for v in raw.split(","))
    except ValueError:
        raise CalcError(key, f"must be whole numbers separated by commas, got {raw!r}") from None


def _model(options: dict[str, str], default: str) -> ModelSpec:
    return models.load_preset(options.pop("model", default))


def _gpu(options: dict[str, str]) -> hardware.GPU:
    return hardware.get_gpu(options.pop("gpu", "h100-sxm"))


def _render_paged(o: dict[str, str]) -> Diagram:
    spec, gpu = _model(o, "meta-llama/Llama-3.1-8B-Instruct"), _gpu(o)
    return paged_kv(spec, gpu, _ints(o, "tokens", None), _int(o, "pool", 16))


def _render_timeline(o: dict[str, str]) -> Diagram:
    gpu = _gpu(o)
    return batching_timeline(gpu, schedule_trace(budget=_int(o, "budget", TOY_BUDGET)))


def _render_tp(o: dict[str, str]) -> Diagram:
    return tp_sharding(_model(o, "meta-llama/Llama-3.1-8B-Instruct"), _int(o, "tp", 4))


def _render_kv(o: dict[str, str]) -> Diagram:
    ids = o.pop("models", ",".join(KV_SHAPES_DEFAULT)).split(",")
    return kv_shapes(tuple(models.load_preset(i) for i in ids))


def _render_pareto(o: dict[str, str]) -> Diagram:
    spec, gpu = _model(o, "meta-llama/Llama-3.1-70B-Instruct"), _gpu(o)
    tps = _ints(o, "tp", (2, 4, 8)) or (2, 4, 8)
    chat = planner.PRESETS["chat"]
    raw = o.pop("tpot-target-ms", None)
    target = chat.tpot_target_s if raw is None else (float(raw) / 1000 if float(raw) > 0 else None)
    return pareto(spec, gpu, tps, _int(o, "prompt-tokens", chat.prompt_tokens),
                  _int(o, "output-tokens", chat.output_tokens), target)


DIAGRAMS: dict[str, Callable[[dict[str, str]], Diagram]] = {
    "paged_kv": _render_paged,
    "batching_timeline": _render_timeline,
    "tp_sharding": _render_tp,
    "kv_shapes": _render_kv,
    "pareto": _render_pareto,
}


def render(body: str) -> Diagram:
    """The diagram a marker body ``NAME key=value …`` asks for (raises CalcError or ValueError
    naming what is wrong: an unknown diagram, option or value)."""
    try:
        words = shlex.split(body)
    except ValueError as exc:
        raise ValueError(f"cannot parse: {exc}") from None
    if not words:
        raise ValueError(f"empty diagram marker; known: {', '.join(DIAGRAMS)}")
    name, *pairs = words
    if name not in DIAGRAMS:
        raise ValueError(f"unknown diagram {name!r}; known: {', '.join(DIAGRAMS)}")
    options = forms.key_values(pairs)
    diagram = DIAGRAMS[name](options)
    if options:
        raise ValueError(f"diagram {name} has no option {', '.join(sorted(options))}")
    return diagram
