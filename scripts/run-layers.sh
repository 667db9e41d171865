#!/usr/bin/env bash
# Run each test layer (a Makefile target) in order, keep going after a failure, print a summary,
# and exit non-zero if any layer failed. Used by `make test`.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

passed=() failed=()
summary=""
for layer in "$@"; do
    printf '\n==== %s\n' "$layer"
    start=$(date +%s)
    if make --no-print-directory "$layer"; then
        passed+=("$layer"); status=ok
    else
        failed+=("$layer"); status=FAILED
    fi
    summary+=$(printf '%-14s %-7s %4d s' "$layer" "$status" "$(( $(date +%s) - start ))")$'\n'
done

printf '\n==== summary\n%s' "$summary"
if [ ${#failed[@]} -gt 0 ]; then
    printf 'make test: FAILED layers: %s\n' "${failed[*]}"
fi
printf 'layers: %d passed, %d failed\n' "${#passed[@]}" "${#failed[@]}"
[ ${#failed[@]} -eq 0 ]
