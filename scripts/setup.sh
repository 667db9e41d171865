#!/usr/bin/env bash
# Install everything `make serve`, `make build` and `make test` need. Idempotent: each part keeps a
# stamp (a hash of its inputs) and is skipped while its inputs are unchanged, so reruns take ~1 s.
#
#   .venv/          Python >= 3.12 venv: requirements.txt (hash-checked; includes shellcheck for
#                   actionlint) + the calculators package (editable)
#   node_modules/   `npm ci` from package-lock.json (KaTeX, Mermaid, axe-core, Pyodide)
#   chromium        for the browser tests: $CHROMIUM, else /usr/bin/chromium (apt-get if root)
#
# Python is taken from $PYTHON if set, else python3.12 / python3.13 on PATH, else pyenv's
# versions/3.12* or 3.13* (3.12 first: requirements.txt is resolved for it).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

VENV=.venv
say() { printf 'setup: %s\n' "$*"; }
die() { printf 'setup: error: %s\n' "$*" >&2; exit 1; }
hash_of() { cat "$@" | sha256sum | cut -d' ' -f1; }

is_py312() { "$1" -c 'import sys; sys.exit(sys.version_info < (3, 12))' >/dev/null 2>&1; }

find_python() {
    if [ -n "${PYTHON:-}" ]; then
        is_py312 "$PYTHON" || die "PYTHON=$PYTHON is not a working Python >= 3.12"
        command -v "$PYTHON"
        return
    fi
    local candidate root
    for candidate in python3.12 python3.13; do
        # pyenv shims exist for every installed version but fail unless selected: run it to be sure.
        if command -v "$candidate" >/dev/null 2>&1 && is_py312 "$candidate"; then
            "$candidate" -c 'import sys; print(sys.executable)'
            return
        fi
    done
    root=$(pyenv root 2>/dev/null || echo "${PYENV_ROOT:-$HOME/.pyenv}")
    for candidate in "$root"/versions/3.12*/bin/python "$root"/versions/3.13*/bin/python; do
        if [ -x "$candidate" ] && is_py312 "$candidate"; then
            echo "$candidate"
            return
        fi
    done
    die "no Python >= 3.12 found. Install one (python.org, pyenv, or your package manager: \
python3.12), or point PYTHON at it: PYTHON=/path/to/python3.12 make test"
}

setup_python() {
    local stamp="$VENV/.setup-stamp" want
    want=$(hash_of requirements.txt pyproject.toml)
    if [ -x "$VENV/bin/python" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
        return
    fi
    local python
    python=$(find_python)
    if [ ! -x "$VENV/bin/python" ] || ! is_py312 "$VENV/bin/python"; then
        say "creating $VENV with $python ($("$python" --version 2>&1))"
        rm -rf "$VENV"
        "$python" -m venv "$VENV"
    fi
    say "installing requirements.txt into $VENV (every file checked against its sha256)"
    # --require-hashes: each download must match a hash in requirements.txt (pip-compile
    # --generate-hashes, from requirements.in), and nothing unpinned gets in.
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --require-hashes \
        -r requirements.txt
    # The calculators package, editable, so notebooks and hooks import the working tree's code.
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps \
        --no-build-isolation -e .
    echo "$want" >"$stamp"
}

setup_node() {
    local stamp="node_modules/.setup-stamp" want
    command -v npm >/dev/null 2>&1 || die "npm not found: install Node.js 20 or newer (nodejs.org, or apt-get install nodejs npm)"
    want=$(hash_of package.json package-lock.json)
    if [ -d node_modules ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
        return
    fi
    say "installing node_modules with npm ci"
    npm ci --no-audit --no-fund --loglevel=error
    echo "$want" >"$stamp"
}

setup_chromium() {
    local chromium="${CHROMIUM:-/usr/bin/chromium}"
    if [ -x "$chromium" ]; then
        return
    fi
    if [ -n "${CHROMIUM:-}" ]; then
        die "CHROMIUM=$CHROMIUM is not an executable file"
    fi
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        say "installing chromium with apt-get (for the browser tests)"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
        return
    fi
    say "warning: no Chromium at $chromium. The browser tests of \`make test\` need one:"
    say "  Debian/Ubuntu: sudo apt-get install chromium   or set CHROMIUM=/path/to/chrome"
}

setup_python
setup_node
setup_chromium
