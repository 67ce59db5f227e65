# Two commands do everything on a fresh machine:
#   make demo   create .venv, install, run the multi-agent workflow on the embedded default (./.maas)
#   make test   install what the tests need and run the whole suite (lint, types, pytest)
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
PY     := $(BIN)/python
PIP    := $(PY) -m pip

.PHONY: demo test install install-test lint typecheck pytest bench clean

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

pytest: install-test $(NODE_DEPS)
	$(PY) -m pytest $(PYTEST_ARGS)

test: lint typecheck pytest

bench: install-test
	$(PIP) install -q -e ".[bench]"
	$(PY) -m benchmarks.core_bench $(BENCH_ARGS)
	$(PY) -m benchmarks.memory_bench $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .maas .pytest_cache .mypy_cache .ruff_cache build dist
