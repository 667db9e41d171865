#!/usr/bin/env bash
# `make bench`: site build time, calculator time to interactive, recompute latency, bytes per page.
# Prints figures; asserts nothing. Options are passed to scripts/bench.py (--help).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
exec python scripts/bench.py "$@"
