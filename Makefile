# Quick start:  make demo   (local demo)   ·   make test   (full test suite)
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

AXE    := tools/axe/node_modules/axe-core/axe.min.js
# apt-get needs root; outside CI (which runs as root) sudo is used when present.
SUDO   := $(shell [ "$$(id -u)" = 0 ] || command -v sudo)

.PHONY: demo test bench lint clean browser-deps

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/impulsbot demo

# The dashboard's browser tests: Debian's Chromium (never a downloaded browser) and axe-core.
browser-deps: $(AXE)
	@command -v chromium >/dev/null 2>&1 || { \
		$(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq chromium; }

$(AXE): tools/axe/package.json
	@command -v npm >/dev/null 2>&1 || { \
		$(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq npm; }
	npm install --prefix tools/axe --no-audit --no-fund --no-package-lock --loglevel=error
	touch $(AXE)

# Tests wait on the homeservers more than on the CPU: three workers on two cores, each with its
# own Synapse; the federation pair and the browser each stay on one worker (tests/conftest.py).
WORKERS ?= 3

test: $(STAMP) browser-deps
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -n $(WORKERS) --dist loadgroup

bench: $(STAMP)
	$(BIN)/python -m bench.run_all

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis tools/axe/node_modules test-artifacts
