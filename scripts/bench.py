"""Benchmarks of the site and its in-page calculators (`make bench`): figures printed, nothing asserted.

* site build time: ``mkdocs build --strict`` into build/bench-site/;
* cold and warm time to interactive on the vLLM page: navigation start → the calculator shows
  results computed live by Pyodide (cold: empty HTTP cache; warm: the same browser, files cached);
* recompute latency over 200 input changes: input event → new numbers on the page, less the
  deliberate 150 ms debounce, and the worker's own compute time;
* bytes transferred for a calculator page (until live) and a plain page, as served here
  (uncompressed) and as gzip level 6 would send them (what static hosts such as GitHub Pages do);
* boot variants (issue 11), interleaved in one run and served gzip-compressed like a static host:
  the plain boot, the precompiled stdlib alone, and the shipped path (memory snapshot when cached
  or on a fast link); cold, cold on a 20 Mbit/s + 40 ms link, warm, and browser CPU seconds;
* a 10,000-request serving simulation (issue 12) and a planner search on a sliding-window model
  (SIM_CASES) through the same entry point the page's worker calls (``forms.run_safely``), in
  CPython here and in the page (Pyodide in Chromium), interleaved round by round: the worker's own
  compute time, input → numbers on the page, and the ratio of the two runtimes.

Chromium is Debian's (/usr/bin/chromium or $CHROMIUM); the server is on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import functools
import gzip
import hashlib
import http.server
import io
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from playwright.sync_api import Browser, Page, Request, sync_playwright

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.browser.conftest import Handler, launch, serve, wait_live  # noqa: E402
from tests.chromium import CHROMIUM_ARGS  # noqa: E402

CALC_PAGE = "calculators/vllm/"
#: the simulations timed, in CPython and in the page: (label, page, calculator, its fields).  The
#: 10,000-request simulation (issue 12): Llama-3.1-8B-Instruct on one H100 SXM, prompts
#: normal(1024, 256), 256 output tokens, Poisson arrivals at 5 and 15 requests/s (the fast path); a
#: planner search with the page's defaults on Gemma 4 (sliding windows: the request-by-request path)
SIM_FIELDS = {"model": "meta-llama/Llama-3.1-8B-Instruct", "gpu": "h100-sxm", "tp": "1",
              "prompt-tokens": "normal:1024:256", "output-tokens": "256", "requests": "10000", "seed": "0"}
SIM_CASES = (
    ("10,000-request simulation, rate 5/s", "calculators/simulate/", "simulate", {**SIM_FIELDS, "rate": "5"}),
    ("10,000-request simulation, rate 15/s", "calculators/simulate/", "simulate", {**SIM_FIELDS, "rate": "15"}),
    ("plan-sim, Gemma 4 31B, the page's defaults", "calculators/plan/", "plan-sim",
     {"model": "google/gemma-4-31B-it"}),
)
PLAIN_PAGE = "kb/"
DEBOUNCE_MS = 150

RECOMPUTE_JS = """
async (n) => {
  const form = document.querySelector('form[data-calculator="vllm"]');
  const field = (name) => form.querySelector(`[name="${name}"]`);
  const gpus = [...field("gpu").options].map(o => o.value);
  const models = [...field("model").options].map(o => o.value);
  const times = [];
  for (let i = 0; i < n; i++) {
    const done = new Promise(resolve => {
      const ok = () => { form.removeEventListener("calculator:error", ok); resolve(); };
      form.addEventListener("calculator:result", ok, { once: true });
      form.addEventListener("calculator:error", ok, { once: true });
    });
    let el;
    switch (i % 4) {
      case 0: el = field("max-model-len"); el.value = String(2048 + 256 * i); break;
      case 1: el = field("tp"); el.value = String([1, 2, 4, 8][i % 8 >> 1]); break;
      case 2: el = field("gpu"); el.value = gpus[i % gpus.length]; break;
      default: el = field("model"); el.value = models[i % models.length];
    }
    const t0 = performance.now();
    el.dispatchEvent(new Event("input", { bubbles: true }));
    await done;
    times.push(performance.now() - t0);
  }
  return times;
}
"""


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]


def time_to_live(page: Page, url: str) -> float:
    """Milliseconds from navigation start to live results (the page's own clock)."""
    page.goto(url)
    wait_live(page, "vllm")
    value: float = page.evaluate("() => performance.now()")
    return value


SIM_JS = """
async ([name, fields]) => {
  const form = document.querySelector(`form[data-calculator="${name}"]`);
  const field = (n) => form.querySelector(`[name="${n}"]`);
  const done = new Promise(resolve => {
    const ok = (e) => { form.removeEventListener("calculator:error", ok); resolve(e.type); };
    form.addEventListener("calculator:result", ok, { once: true });
    form.addEventListener("calculator:error", ok, { once: true });
  });
  for (const [n, value] of Object.entries(fields)) field(n).value = value;
  const t0 = performance.now();
  field(Object.keys(fields)[0]).dispatchEvent(new Event("input", { bubbles: true }));
  const kind = await done;
  const ms = window.fnCalculators.computeMs;
  return [kind, performance.now() - t0, ms[ms.length - 1]];
}
"""


def sim_timing(browser: Browser, base: str, rounds: int) -> list[tuple[str, str]]:
    """Each of SIM_CASES in CPython and in the page, interleaved round by round; medians."""
    from calculators import forms

    context = browser.new_context()
    pages: dict[str, Page] = {}
    for _, path, name, _ in SIM_CASES:
        if path not in pages:
            pages[path] = context.new_page()
            pages[path].goto(base + path)
        wait_live(pages[path], name)
    cpython: dict[str, list[float]] = {c[0]: [] for c in SIM_CASES}
    worker: dict[str, list[float]] = {c[0]: [] for c in SIM_CASES}
    to_page: dict[str, list[float]] = {c[0]: [] for c in SIM_CASES}
    size: dict[str, str] = {}
    for _ in range(rounds):
        for label, path, name, fields in SIM_CASES:
            start = time.perf_counter()
            reply = forms.run_safely(name, fields)
            cpython[label].append((time.perf_counter() - start) * 1000)
            if not reply["ok"]:
                raise SystemExit(f"bench: {label}: the calculator refused its input: {reply}")
            result = reply["result"]
            size[label] = (f"{result['steps']:,} steps" if "steps" in result
                           else f"{result.get('simulations', '?')} simulations")
            kind, e2e, ms = pages[path].evaluate(SIM_JS, [name, fields])
            if kind != "calculator:result":
                raise SystemExit(f"bench: {label}: the page answered {kind}")
            worker[label].append(ms)
            to_page[label].append(max(0.0, e2e - DEBOUNCE_MS))
    context.close()
    figures: list[tuple[str, str]] = []
    for label, *_ in SIM_CASES:
        c, w, p = (statistics.median(x[label]) for x in (cpython, worker, to_page))
        figures.append((f"{label} ({size[label]}), {rounds} rounds",
                        f"CPython {c / 1000:.2f} s, page worker {w / 1000:.2f} s (input → page {p / 1000:.2f} s); "
                        f"page ÷ CPython {w / c:.2f}"))
    return figures


def transferred(browser: Browser, url: str, site: Path, until_live: bool) -> tuple[int, int, int]:
    """(requests, bytes as served, bytes if gzip-6 compressed) for one cold load of ``url``.

    Counted from Playwright's context-wide request log, which includes the worker's fetches.
    """
    context = browser.new_context()
    page = context.new_page()
    finished: list[Request] = []
    def on_finished(request: Request) -> None:
        finished.append(request)

    context.on("requestfinished", on_finished)
    page.goto(url)
    if until_live:
        wait_live(page, "vllm")
    page.wait_for_load_state("networkidle")
    time.sleep(0.5)
    raw = gz = 0
    for request in finished:
        sizes = request.sizes()
        body = sizes["responseBodySize"]
        raw += body + sizes["responseHeadersSize"]
        path = urlsplit(request.url).path.lstrip("/")
        file = site / path
        if path == "" or path.endswith("/"):
            file = file / "index.html"
        gz += len(gzip.compress(file.read_bytes(), compresslevel=6)) if file.is_file() else body
        gz += sizes["responseHeadersSize"]
    context.close()
    return len(finished), raw, gz


# ---------------------------------------------------------------- boot variants (issue 11)

_STDLIB_KEYS = re.compile(r',\s*"stdlib":\s*"[^"]*",\s*"stdlibSha256":\s*"[0-9a-f]*"')
_SNAPSHOT_KEYS = re.compile(r',\s*"snapshot":\s*"[^"]*",\s*"snapshotSha256":\s*"[0-9a-f]*"')
_EARLY_KEY = re.compile(r',\s*"early":\s*true')
#: the boot variants (issue 11): name -> (label, settings removed from the calculator page).  The plain
#: boot is the page before issue 11: no precompiled stdlib, no snapshot, the worker started by
#: calculators.js (no early start from <head>), the wheel without the package's .pyc.
VARIANTS: dict[str, tuple[str, tuple[re.Pattern[str], ...]]] = {
    "plain": ("plain boot", (_STDLIB_KEYS, _SNAPSHOT_KEYS, _EARLY_KEY)),
    "stdlib-only": ("precompiled stdlib", (_SNAPSHOT_KEYS,)),
    "late": ("shipped, no early start", (_EARLY_KEY,)),
    "shipped": ("shipped (snapshot)", ()),
}
DEFAULT_VARIANTS = "plain,stdlib-only,shipped"
KINDS = ("cold", "throttled", "warm")
#: a slow link for the throttled cold load: 20 Mbit/s down, 5 up, 40 ms round trip
THROTTLE = {"offline": False, "latency": 40, "downloadThroughput": 20e6 / 8, "uploadThroughput": 5e6 / 8}


#: what a static host compresses on the fly (text, scripts, JSON, SVG and wasm); zips, wheels and
#: the already gzipped snapshot are sent as they are
GZIP_TYPES = (".html", ".css", ".js", ".mjs", ".json", ".svg", ".wasm", ".txt", ".xml", ".map")


class GzipHandler(Handler):
    """The test server's handler, sending gzip (level 6) for :data:`GZIP_TYPES` when asked."""

    _cache: dict[str, bytes] = {}

    def send_head(self) -> Any:
        path = self.translate_path(self.path)
        if os.path.isdir(path):
            path = os.path.join(path, "index.html")
        if not (path.endswith(GZIP_TYPES) and os.path.isfile(path)
                and "gzip" in self.headers.get("Accept-Encoding", "")):
            return super().send_head()
        body = self._cache.get(path)
        if body is None:
            with open(path, "rb") as f:
                body = self._cache[path] = gzip.compress(f.read(), compresslevel=6)
        self.send_response(200)
        self.send_header("Content-Type", self.guess_type(path))
        self.send_header("Content-Encoding", "gzip")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        return io.BytesIO(body)


def serve_gzip(directory: Path, cache_seconds: int) -> tuple[Any, str]:
    """Like tests.browser.conftest.serve, compressing as a static host does."""
    handler_cls = type("GzipSiteHandler", (GzipHandler,), {"cache_seconds": cache_seconds})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(handler_cls, directory=str(directory)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/"


def wheel_without_pyc(site: Path) -> None:
    """In ``site`` (a copy), the calculators wheel without its ``__pycache__/*.pyc`` (the wheel as it
    was before issue 11), and the lock's sha256 to match: for the plain boot."""
    for lock_path in site.glob("assets/calculators/py/*/pyodide-lock.json"):
        lock = json.loads(lock_path.read_text(encoding="utf-8"))
        entry = lock["packages"]["calculators"]
        wheel = lock_path.parent / entry["file_name"]
        out = io.BytesIO()
        with zipfile.ZipFile(wheel) as zin, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
            for info in zin.infolist():
                if info.filename.endswith(".pyc"):
                    continue
                data = zin.read(info)
                if info.filename.endswith(".dist-info/RECORD"):
                    data = b"".join(line for line in data.splitlines(keepends=True) if b".pyc," not in line)
                zout.writestr(info, data)
        wheel.write_bytes(out.getvalue())
        entry["sha256"] = hashlib.sha256(out.getvalue()).hexdigest()
        lock_path.write_text(json.dumps(lock, indent=1), encoding="utf-8")


def variant_copy(site: Path, name: str, drop: tuple[re.Pattern[str], ...], work: Path) -> Path:
    """A copy of ``site`` (in ``work``) whose calculator page lacks the settings ``drop`` matches (each once);
    the plain variant also gets the wheel without .pyc (:func:`wheel_without_pyc`)."""
    out = work / f"bench-site-{name}"
    shutil.rmtree(out, ignore_errors=True)
    shutil.copytree(site, out)
    if name == "plain":
        wheel_without_pyc(out)
    page = out / CALC_PAGE / "index.html"
    text = page.read_text(encoding="utf-8")
    for pattern in drop:
        text, n = pattern.subn("", text)
        if n != 1:
            raise SystemExit(f"bench: setting {pattern.pattern!r} not found once in {page}")
    page.write_text(text, encoding="utf-8")
    return out


def chromium_cpu() -> dict[int, float]:
    """pid → CPU seconds (user + system) of every Chromium process on this machine (/proc)."""
    tick = os.sysconf("SC_CLK_TCK")
    out: dict[int, float] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        name = text[text.index("(") + 1: text.rindex(")")]
        if "chrom" in name.lower():
            fields = text[text.rindex(")") + 2:].split()
            out[int(stat.parent.name)] = (int(fields[11]) + int(fields[12])) / tick
    return out


def new_chromium_cpu_s(before: dict[int, float]) -> float:
    """CPU seconds of the Chromium processes started since ``before`` was taken (those still
    running: a renderer that exited before this is not counted, so this is a lower bound)."""
    return sum(cpu for pid, cpu in chromium_cpu().items() if pid not in before)


def boot_comparison(playwright: Any, bases: dict[str, str], rounds: int,
                    kinds_run: tuple[str, ...] = KINDS) -> list[tuple[str, str]]:
    """Cold, throttled cold and warm time to live, variants interleaved, each in a persistent profile.

    Cold: a fresh profile. Throttled: a fresh profile behind :data:`THROTTLE` (CDP network
    emulation). Warm: the cold profile after one warm-up reload (HTTP cache and V8's code cache
    filled), the median of two more loads.  Browser CPU seconds: the Chromium processes launched
    for the cold load, from launch until live.  Ratios are against the first variant, in the same run.
    """
    path = os.environ.get("CHROMIUM", "/usr/bin/chromium")
    kinds = tuple(k for k, key in (("cold", "cold"), ("cold, 20 Mbit/s + 40 ms", "throttled"), ("warm", "warm"),
                                   ("browser CPU s, cold", "cold")) if key in kinds_run)
    times: dict[tuple[str, str], list[float]] = {(v, k): [] for v in bases for k in kinds}
    loads = [os.getloadavg()[0]]
    names = list(bases)
    stages: dict[str, str] = {}  # the last throttled load's worker stages, per variant
    for r in range(rounds):
        order = names[r % len(names):] + names[:r % len(names)]  # rotate the order each round
        for variant in order:
            url = bases[variant] + CALC_PAGE
            if "cold" in kinds_run:
                with tempfile.TemporaryDirectory(prefix="bench-profile-") as profile:
                    before = chromium_cpu()
                    context = playwright.chromium.launch_persistent_context(
                        profile, executable_path=path, args=CHROMIUM_ARGS, headless=True)
                    page = context.pages[0] if context.pages else context.new_page()
                    times[variant, "cold"].append(time_to_live(page, url))
                    times[variant, "browser CPU s, cold"].append(new_chromium_cpu_s(before))
                    if "warm" in kinds_run:
                        warm = []
                        for i in range(3):
                            page.goto(bases[variant] + PLAIN_PAGE)
                            t = time_to_live(page, url)
                            if i:
                                warm.append(t)
                        times[variant, "warm"].append(statistics.median(warm))
                    context.close()
            if "throttled" in kinds_run:
                with tempfile.TemporaryDirectory(prefix="bench-profile-") as profile:
                    context = playwright.chromium.launch_persistent_context(
                        profile, executable_path=path, args=CHROMIUM_ARGS, headless=True)
                    page = context.pages[0] if context.pages else context.new_page()
                    cdp = context.new_cdp_session(page)
                    cdp.send("Network.enable")
                    cdp.send("Network.emulateNetworkConditions", THROTTLE)
                    times[variant, "cold, 20 Mbit/s + 40 ms"].append(time_to_live(page, url))
                    stages[variant] = str(page.evaluate("() => JSON.stringify(window.fnCalculators.stages)"))
                    context.close()
        loads.append(os.getloadavg()[0])
    out: list[tuple[str, str]] = []
    base = names[0]
    for kind in kinds:
        seconds = kind.startswith("browser CPU")
        for v in names:
            runs = times[v, kind]
            scale = 1.0 if seconds else 1000.0
            listed = ", ".join(f"{t / scale:.2f}" for t in runs)
            out.append((f"{kind}, {v} (median of {len(runs)})",
                        f"{statistics.median(runs) / scale:.2f} s  (runs: {listed})"))
        for v in names[1:]:
            ratio = statistics.median(times[v, kind]) / statistics.median(times[base, kind])
            out.append((f"{kind}, ratio {v} / {base}", f"{ratio:.2f}"))
    for v, text in stages.items():
        out.append((f"worker stages, last throttled load, {v}", text))
    out.append(("load average (1 min) before, after each round", ", ".join(f"{x:.2f}" for x in loads)))
    return out


# ---------------------------------------------------------------- end of the issue 11 section


class _Done(Exception):
    """--boot-only: the boot comparison is all."""


def mib(n: int) -> str:
    return f"{n / 2**20:.2f} MiB" if n >= 2**20 else f"{n / 1024:.1f} KiB"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--changes", type=int, default=200, help="input changes for the recompute latency")
    parser.add_argument("--runs", type=int, default=3, help="cold and warm loads to take the median of")
    parser.add_argument("--site", type=Path, help="use this built site instead of building one")
    parser.add_argument("--boot-rounds", type=int, default=4,
                        help="interleaved rounds of the boot-variant comparison (0: skip)")
    parser.add_argument("--variants", default=DEFAULT_VARIANTS,
                        help=f"boot variants to compare, the first is the base of the ratios; of {', '.join(VARIANTS)} "
                        f"(default {DEFAULT_VARIANTS})")
    parser.add_argument("--kinds", default=",".join(KINDS),
                        help=f"loads of the boot comparison, of {', '.join(KINDS)} (warm needs cold)")
    parser.add_argument("--work", type=Path, default=ROOT / "build",
                        help="where the variant copies of the site go (default build/)")
    parser.add_argument("--extra-site", action="append", default=[], metavar="LABEL=DIR",
                        help="one more boot variant: another built site, as it is (e.g. an experiment)")
    parser.add_argument("--sim-rounds", type=int, default=3,
                        help="interleaved rounds of the simulation timings, SIM_CASES (0: skip)")
    parser.add_argument("--boot-only", action="store_true",
                        help="only the boot comparison (no build time, recompute latency or bytes)")
    args = parser.parse_args()
    variants = [v.strip() for v in args.variants.split(",") if v.strip()]
    kinds_run = tuple(k.strip() for k in args.kinds.split(",") if k.strip())
    if not variants or any(v not in VARIANTS for v in variants) or any(k not in KINDS for k in kinds_run):
        parser.error(f"--variants: of {', '.join(VARIANTS)}; --kinds: of {', '.join(KINDS)}")
    if "warm" in kinds_run and "cold" not in kinds_run:
        parser.error("--kinds: warm needs cold")

    figures: list[tuple[str, str]] = []
    if args.site is None:
        site = ROOT / "build" / "bench-site"
        start = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "mkdocs", "build", "--strict", "--quiet", "-d", str(site)],
            cwd=ROOT, check=True, env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        )
        figures.append(("site build (mkdocs build --strict)", f"{time.perf_counter() - start:.1f} s"))
    else:
        site = args.site
    server, base = serve(site, cache_seconds=3600)
    # the boot comparison is served compressed, as a static host serves it (GZIP_TYPES)
    servers = [server]
    bases: dict[str, str] = {}
    for name in variants:
        label, drop = VARIANTS[name]
        srv, bases[label] = serve_gzip(variant_copy(site, name, drop, args.work) if drop else site, 3600)
        servers.append(srv)
    for spec in args.extra_site:
        label, _, directory = spec.partition("=")
        srv, bases[label] = serve_gzip(Path(directory), 3600)
        servers.append(srv)
    try:
        with sync_playwright() as playwright:
            if args.boot_rounds:
                figures.extend(boot_comparison(playwright, bases, args.boot_rounds, kinds_run))
            if args.boot_only:
                raise _Done
            browser = launch(playwright)
            if args.sim_rounds:
                figures.extend(sim_timing(browser, base, args.sim_rounds))
            cold: list[float] = []
            warm: list[float] = []
            stages: list[str] = []
            for _ in range(args.runs):
                context = browser.new_context()
                page = context.new_page()
                cold.append(time_to_live(page, base + CALC_PAGE))
                stages.append(str(page.evaluate("() => JSON.stringify(window.fnCalculators.stages)")))
                page.goto(base + PLAIN_PAGE)  # leave, then come back with a warm HTTP cache
                warm.append(time_to_live(page, base + CALC_PAGE))
                context.close()
            figures.append(("cold time to interactive (median)", f"{statistics.median(cold) / 1000:.2f} s  "
                            f"(runs: {', '.join(f'{t / 1000:.2f}' for t in cold)})"))
            figures.append(("  worker stages, cold (ms since the worker started)", stages[len(stages) // 2]))
            figures.append(("warm time to interactive (median)", f"{statistics.median(warm) / 1000:.2f} s  "
                            f"(runs: {', '.join(f'{t / 1000:.2f}' for t in warm)})"))

            context = browser.new_context()
            page = context.new_page()
            page.goto(base + CALC_PAGE)
            wait_live(page, "vllm")
            before = len(page.evaluate("() => window.fnCalculators.computeMs"))
            e2e: list[float] = page.evaluate(RECOMPUTE_JS, args.changes)
            worker: list[float] = page.evaluate("() => window.fnCalculators.computeMs")[before:]
            context.close()
            latency = [max(0.0, t - DEBOUNCE_MS) for t in e2e]
            figures.append((f"recompute latency, {len(e2e)} changes (input → page, less debounce)",
                            f"p50 {pct(latency, 50):.1f} ms, p95 {pct(latency, 95):.1f} ms"))
            figures.append(("  of which Python in the worker",
                            f"p50 {pct(worker, 50):.1f} ms, p95 {pct(worker, 95):.1f} ms"))

            for label, path, live in (("calculator page", CALC_PAGE, True), ("plain page", PLAIN_PAGE, False)):
                count, raw, gz = transferred(browser, base + path, site, live)
                figures.append((f"bytes, {label} ({path}), cold",
                                f"{mib(raw)} as served here, {mib(gz)} gzipped; {count} requests"))
            browser.close()
    except _Done:
        pass
    finally:
        for srv in servers:
            srv.shutdown()
            srv.server_close()

    cpu = os.cpu_count()
    print(f"\nbench: {cpu} CPUs, Chromium {os.environ.get('CHROMIUM', '/usr/bin/chromium')}, site {site}")
    width = max(len(k) for k, _ in figures)
    for key, value in figures:
        print(f"  {key:{width}s}  {value}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
