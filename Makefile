# Two commands do everything on a fresh machine:
#   make demo   create .venv, install, run the multi-agent workflow on the embedded default (./.maas)
#   make test   install what the tests need and run the whole suite (lint, types, pytest)
#   make demo-serve   the demo, then the web console at http://127.0.0.1:8765/console (prints a key)
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
PY     := $(BIN)/python
PIP    := $(PY) -m pip

.PHONY: demo demo-serve test install install-test lint typecheck pytest bench clean browser

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip

# torch first, pinned: the local CPU wheel. Unpinned, sentence-transformers would pull the newest
# torch with several GB of CUDA packages.
TORCH ?= torch==2.13.0

$(VENV)/.installed: $(PY) pyproject.toml
	$(PIP) install -q $(TORCH)
	$(PIP) install -q -e ".[local-embeddings]"
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed
	$(PIP) install -q -e ".[test,local-embeddings]"
	touch $@

install: $(VENV)/.installed

install-test: $(VENV)/.installed-test

demo: install
	$(PY) -m maas_langchain.demo

# The demo, then `maas serve --http` on it with the web console: prints the URL and a HUMAN key.
DEMO_PORT ?= 8765

$(VENV)/.installed-serve: $(VENV)/.installed
	$(PIP) install -q -e ".[mcp,local-embeddings]"
	touch $@

demo-serve: $(VENV)/.installed-serve
	$(PY) -m maas_langchain.adapters.cli demo --serve --port $(DEMO_PORT)

lint: install-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check maas_langchain

typecheck: install-test
	$(BIN)/mypy

# The TypeScript client's dependencies (tests/test_rest_typescript.py runs its suite), when npm exists;
# without npm those tests skip (and fail under CI=true).
NPM := $(shell command -v npm 2>/dev/null)
NODE_DEPS := $(if $(NPM),clients/typescript/node_modules/.installed)

clients/typescript/node_modules/.installed: clients/typescript/package.json clients/typescript/package-lock.json
	cd clients/typescript && npm ci --no-audit --no-fund && touch node_modules/.installed

# Debian's Chromium for the console's browser tests (tests/test_console_browser.py drives it with
# Playwright, from the test extra; `playwright install` is never run: it downloads a browser).
# Installed when missing by `make browser`, and before pytest under CI=true, as root with apt-get;
# elsewhere those tests skip with a message (and fail under CI=true).
CHROMIUM := /usr/bin/chromium
BROWSER_DEPS := $(if $(filter true TRUE True,$(CI)),browser)

browser:
	@if [ -x $(CHROMIUM) ]; then \
		echo "chromium: $(CHROMIUM)"; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium; \
	else \
		echo "make browser: $(CHROMIUM) is missing; install Debian's chromium package as root (apt-get install chromium)" >&2; \
		exit 1; \
	fi

pytest: install-test $(NODE_DEPS) $(BROWSER_DEPS)
	$(PY) -m pytest $(PYTEST_ARGS)

test: lint typecheck pytest

bench: install-test
	$(PIP) install -q -e ".[bench]"
	$(PY) -m benchmarks.core_bench $(BENCH_ARGS)
	$(PY) -m benchmarks.memory_bench $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .maas .pytest_cache .mypy_cache .ruff_cache build dist
