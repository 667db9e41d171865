"""Launch flags for Debian's headless Chromium in the site and browser tests.

--no-sandbox because the tests run as root; the background-networking, component-update and sync
switches keep Chromium from calling home (this machine has no network but the loopback).
"""

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
