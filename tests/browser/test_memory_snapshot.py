"""The memory snapshot (issue 11) in the browser: the shipped path boots from it (no wheel install,
no import), and a snapshot that fails its sha256, or one whose bytes are not a snapshot of this
build, falls back to a normal boot, saying so in the console."""

from __future__ import annotations

import gzip
import hashlib
import json
import time

from playwright.sync_api import BrowserContext, ConsoleMessage, Page, Route

from tests.browser.conftest import OpenPage, page_settings, wait_live_all

PAGE = "calculators/vllm/"


def _settings(context: BrowserContext, **changes: object) -> None:
    """Serve PAGE with its JSON settings changed (a route: the HTTP cache is off meanwhile)."""
    page_settings(context, PAGE, **changes)


#: a first visit takes the snapshot whatever rate the loopback server reached (under load it can
#: serve the stdlib below the 3 MB/s of worker.js's FAST_LINK_BYTES_PER_S)
FAST = {"fastLinkBytesPerS": 0}


def test_calculator_goes_live_from_the_memory_snapshot(open_page: OpenPage) -> None:
    visit = open_page(PAGE, wait_live=True, setup=lambda context: _settings(context, **FAST))
    stages = visit.page.evaluate("() => window.fnCalculators.stages")
    assert stages["snapshot"] is True and stages["precompiled"] is True, stages
    assert "wheel" not in stages, stages  # no loadPackage: the package came back with the snapshot
    assert any("/snapshot-" in u and u.split("?")[0].endswith(".bin.gz") for u in visit.requests), visit.requests
    assert not visit.console_errors, visit.console_errors


def _warnings(context: BrowserContext, into: list[str]) -> None:
    def on_console(message: ConsoleMessage) -> None:
        if message.type == "warning":
            into.append(message.text)

    context.on("console", on_console)


def _assert_fell_back(page: Page, warnings: list[str]) -> None:
    """Live after a normal boot (the wheel loaded), with the worker's warning in the console."""
    wait_live_all(page)
    stages = page.evaluate("() => window.fnCalculators.stages")
    assert stages["snapshot"] is False and "wheel" in stages, stages
    assert any("memory snapshot not used" in w for w in warnings), warnings


def test_a_snapshot_that_fails_its_sha256_falls_back_to_a_normal_boot(open_page: OpenPage) -> None:
    warnings: list[str] = []

    def setup(context: BrowserContext) -> None:
        def tamper(route: Route) -> None:
            response = route.fetch()
            route.fulfill(response=response, body=response.body() + b"\0")

        context.route("**/snapshot-*.bin.gz", tamper)
        _settings(context, **FAST)
        _warnings(context, warnings)

    visit = open_page(PAGE, setup=setup)
    _assert_fell_back(visit.page, warnings)
    assert not visit.console_errors, visit.console_errors


def test_bytes_that_are_no_snapshot_of_this_build_fall_back(open_page: OpenPage) -> None:
    """A file that passes the sha256 check (the page is rewritten to expect it) but is not this
    build's snapshot: a gzip of other bytes.  Restoring it fails; the worker boots normally."""
    warnings: list[str] = []
    other = gzip.compress(b"not a pyodide memory snapshot" * 1000)
    other_sha = hashlib.sha256(other).hexdigest()

    def setup(context: BrowserContext) -> None:
        context.route("**/snapshot-*.bin.gz", lambda route: route.fulfill(body=other))
        _settings(context, snapshotSha256=other_sha, **FAST)
        _warnings(context, warnings)

    visit = open_page(PAGE, setup=setup)
    _assert_fell_back(visit.page, warnings)


def test_on_a_slow_link_the_page_boots_normally_and_prefetches_the_snapshot(open_page: OpenPage) -> None:
    """The stdlib download is slowed to under the worker's fast-link threshold (3 MB/s of the stdlib): the page
    boots without the snapshot, then fetches the snapshot at low priority once live, for the next
    visit.  (Playwright turns the HTTP cache off while a route is set, so the reuse is checked in
    the next test.)"""

    def setup(context: BrowserContext) -> None:
        def slow(route: Route) -> None:
            response = route.fetch()
            time.sleep(1.5)  # ~2 MB in more than 1.5 s: under 1.4 MB/s
            route.fulfill(response=response)

        context.route("**/stdlib-*.zip", slow)

    visit = open_page(PAGE, setup=setup)
    wait_live_all(visit.page)
    stages = visit.page.evaluate("() => window.fnCalculators.stages")
    assert stages["snapshot"] is False and stages["snapshotSource"] == "network", stages
    assert "slow link" in stages["snapshotSkipped"] and "wheel" in stages, stages
    deadline = time.monotonic() + 30
    while not any("/snapshot-" in u for u in visit.requests) and time.monotonic() < deadline:
        visit.page.wait_for_timeout(200)
    assert any("/snapshot-" in u for u in visit.requests), "the snapshot was not prefetched for the next visit"


def test_a_repeat_visit_restores_the_snapshot_from_the_http_cache(open_page: OpenPage) -> None:
    """No route here (a route turns the HTTP cache off): the first visit takes the snapshot from the
    network, or, if the loopback server was slow, prefetches it once live; either way the reload
    restores it from the cache."""
    finished: list[str] = []
    visit = open_page(PAGE, wait_live=True,
                      setup=lambda context: context.on("requestfinished", lambda r: finished.append(r.url)))
    first = visit.page.evaluate("() => window.fnCalculators.stages")
    assert first["snapshotSource"] == "network", first
    assert first["snapshot"] is True or "slow link" in first.get("snapshotSkipped", ""), first
    deadline = time.monotonic() + 60
    while not any("/snapshot-" in u for u in finished) and time.monotonic() < deadline:
        visit.page.wait_for_timeout(200)
    assert any("/snapshot-" in u for u in finished), "the snapshot was never downloaded"
    visit.page.reload()
    wait_live_all(visit.page)
    again = visit.page.evaluate("() => window.fnCalculators.stages")
    # "cache storage" when the first visit booted from the snapshot and kept its inflated copy
    assert again["snapshot"] is True and again["snapshotSource"] in ("cache", "cache storage"), again


RAW_CACHE = "fieldnotes-calculators-snapshot"  # worker.js RAW_CACHE

_KEPT = f"""async () => {{
  const cache = await caches.open("{RAW_CACHE}");
  return (await cache.keys()).map((r) => r.url);
}}"""


def _wait_kept(page: Page) -> list[str]:
    """The URLs in the worker's Cache API store once it has written the inflated snapshot."""
    deadline = time.monotonic() + 30
    kept: list[str] = page.evaluate(_KEPT)
    while not kept and time.monotonic() < deadline:
        page.wait_for_timeout(200)
        kept = page.evaluate(_KEPT)
    return kept


def test_the_inflated_snapshot_is_kept_for_the_next_visit(open_page: OpenPage) -> None:
    """After a boot from the gzipped snapshot the worker keeps the inflated bytes in the Cache API (one
    entry, this build's); the next visit restores from them, without inflating (no snapshotInflated
    stage), and answers as before."""
    visit = open_page(PAGE, wait_live=True, setup=lambda context: _settings(context, **FAST))
    first = visit.page.evaluate("() => window.fnCalculators.stages")
    assert first["snapshot"] is True and first["snapshotSource"] == "network", first
    kept = _wait_kept(visit.page)
    assert len(kept) == 1 and "/snapshot-" in kept[0] and kept[0].endswith("?inflated"), kept
    visit.page.reload()
    wait_live_all(visit.page)
    again = visit.page.evaluate("() => window.fnCalculators.stages")
    assert again["snapshot"] is True and again["snapshotSource"] == "cache storage", again
    assert "snapshotInflated" not in again and "wheel" not in again, again
    assert not visit.console_errors, visit.console_errors


def test_a_kept_snapshot_that_fails_its_sha256_is_dropped(open_page: OpenPage) -> None:
    """Bytes in the Cache API that do not match the build's sha256 of the inflated snapshot are
    deleted, with a console warning, and the gzipped snapshot is used instead."""
    warnings: list[str] = []

    def setup(context: BrowserContext) -> None:
        _settings(context, **FAST)
        _warnings(context, warnings)

    visit = open_page(PAGE, wait_live=True, setup=setup)
    (key,) = _wait_kept(visit.page)
    visit.page.evaluate(f"""async () => {{
      const cache = await caches.open("{RAW_CACHE}");
      await cache.put({json.dumps(key)}, new Response(new Uint8Array(1000)));
    }}""")
    visit.page.reload()
    wait_live_all(visit.page)
    again = visit.page.evaluate("() => window.fnCalculators.stages")
    assert again["snapshot"] is True and again["snapshotSource"] == "network", again
    assert any("stored snapshot not used" in w for w in warnings), warnings
