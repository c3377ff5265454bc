# arbiter: make run | make test | make bench | make lint
#
# Every target sets up what it needs on a fresh machine: a virtualenv in .venv and the
# package installed in it (editable). Installs are remembered by stamp files in .venv that
# are older than pyproject.toml only when it changed, so a second run installs nothing.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
WORKERS ?= 1
PIP := $(BIN)/python -m pip -qq --disable-pip-version-check

export PIP_NO_INPUT := 1

.PHONY: help run test lint bench services clean

help:
	@echo "make run    set up .venv and serve the API on http://$(HOST):$(PORT) (PORT=..., WORKERS=...)"
	@echo "make test   set up .venv with dev tools, check services, then ruff, mypy and pytest"
	@echo "make lint   ruff and mypy only"
	@echo "make bench  run every benchmarks/*.py script"
	@echo "make clean  remove .venv and caches"

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
		|| { echo "arbiter needs Python 3.11 or newer; set PYTHON=python3.11" >&2; exit 1; }
	$(PYTHON) -m venv $(VENV)

# The package alone, for `make run`.
$(VENV)/.stamp-base: pyproject.toml | $(BIN)/python
	$(PIP) install -e .
	@touch $@

# The package with its development tools (pytest, ruff, mypy, drivers); covers the base too.
$(VENV)/.stamp-dev: pyproject.toml | $(BIN)/python
	$(PIP) install -e '.[dev]'
	@touch $@ $(VENV)/.stamp-base

run: $(VENV)/.stamp-base
	@echo "arbiter API on http://$(HOST):$(PORT)"
	@echo "  docs:   http://$(HOST):$(PORT)/docs"
	@echo "  health: http://$(HOST):$(PORT)/health"
	@# uvloop and httptools come with uvicorn[standard]; the service writes its own JSON access
	@# line per request (with the request id), so uvicorn's plain one is off.
	ARBITER_DEMO_DATA=$${ARBITER_DEMO_DATA:-1} exec $(BIN)/uvicorn --factory arbiter.api.app:create_app --host $(HOST) --port $(PORT) \
		--workers $(WORKERS) --loop uvloop --http httptools --no-access-log

services:
	@bash scripts/services.sh

test: $(VENV)/.stamp-dev services
	$(BIN)/ruff check .
	$(BIN)/mypy arbiter
	$(BIN)/pytest

lint: $(VENV)/.stamp-dev
	$(BIN)/ruff check .
	$(BIN)/mypy arbiter

# The bench extra holds peer engines to compare against; a benchmark that needs one it
# cannot import says so, the others still run.
bench: $(VENV)/.stamp-dev
	@if [ ! -e $(VENV)/.stamp-bench ] || [ pyproject.toml -nt $(VENV)/.stamp-bench ]; then \
		if $(PIP) install -e '.[dev,bench]'; then touch $(VENV)/.stamp-bench; \
		else echo "warning: the bench extra did not install; comparisons with peers may be skipped" >&2; fi; \
	fi
	@failed=0; found=0; \
	for script in benchmarks/*.py; do \
		[ -e "$$script" ] || continue; \
		found=1; \
		echo "== $$script"; \
		$(BIN)/python "$$script" || { echo "FAILED: $$script" >&2; failed=1; }; \
	done; \
	[ $$found = 1 ] || echo "no benchmarks/*.py scripts yet"; \
	exit $$failed

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis
	find . -name __pycache__ -type d -prune -not -path './.git/*' -exec rm -rf {} +
