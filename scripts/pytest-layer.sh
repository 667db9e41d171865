#!/usr/bin/env bash
# Usage: scripts/pytest-layer.sh LAYER [pytest args...]
# Runs pytest for one layer of `make test`. pytest exits 5 when it collects no tests: for a layer
# that must have tests that is a failure, reported as such instead of passing silently.
set -uo pipefail
layer=$1
shift
python -m pytest "$@"
rc=$?
if [ "$rc" -eq 5 ]; then
    echo "$layer: pytest collected no tests (exit 5); this layer must have tests, so it fails." >&2
    exit 1
fi
exit "$rc"
