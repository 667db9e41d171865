"""Fixtures for the tests of the built site (the `test-site` and `test-axe` layers of `make test`).

These tests read ``site/``, which the `build` layer (``mkdocs build --strict``) writes just
before them; run ``make build`` first when running them alone.
"""

from __future__ import annotations

import functools
import http.server
import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
# $FIELDNOTES_SITE: a site built elsewhere (as for tests/browser), else the build layer's site/.
SITE = Path(os.environ.get("FIELDNOTES_SITE", REPO / "site"))


@pytest.fixture(scope="session")
def site_dir() -> Path:
    if not (SITE / "index.html").is_file():
        pytest.fail("site/ is not built: run `make build` (the build layer of `make test`) first")
    return SITE


@pytest.fixture(scope="session")
def site_url(site_dir: Path) -> Iterator[str]:
    """The built site served over HTTP on the loopback interface, on a free port."""
    handler = functools.partial(_QuietHandler, directory=str(site_dir))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="session")
def chromium_path() -> str:
    """Chromium or Chrome to drive with Playwright: $CHROMIUM, else /usr/bin/chromium."""
    path = os.environ.get("CHROMIUM", "/usr/bin/chromium")
    if not os.access(path, os.X_OK):
        pytest.fail(
            f"no Chromium at {path}: install it (Debian: apt-get install chromium) or set CHROMIUM=/path/to/chrome"
        )
    return path
