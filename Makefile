# The one way in, for people and for CI.  `make run` and `make test` work on a fresh machine.
SHELL := /bin/bash
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test
HOST ?= 127.0.0.1
PORT ?= 8000
EHR_PORT ?= 9090

.PHONY: run ehr-double test lint typecheck pytest bench golden system-deps clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e .
	touch $@

$(TEST_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[test,spark]'
	touch $(STAMP) $@

run: $(STAMP)
	@echo "To try a SMART launch: 'make ehr-double' in another terminal, then run with CALCINOSIS_SMART_CLIENT_ID=calcinosis-cds CALCINOSIS_SMART_ALLOWED_ISS=http://127.0.0.1:$(EHR_PORT)/fhir (docs/smart.md)"
	$(BIN)/calcinosis serve --host $(HOST) --port $(PORT) --demo

# The test suite's SMART EHR double (authorization + FHIR server) with the example patients, for trying launches.
ehr-double: $(STAMP)
	$(BIN)/python -m tests.servicekit.ehr --port $(EHR_PORT) --app-launch http://$(HOST):$(PORT)/launch $(EHR_ARGS)

system-deps:
	bash scripts/system-deps.sh

lint: $(TEST_STAMP)
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/ruff check src tests benchmarks

typecheck: $(TEST_STAMP)
	$(BIN)/mypy --strict src benchmarks

pytest: $(TEST_STAMP) system-deps
	source scripts/test-env.sh && $(BIN)/pytest

test: lint typecheck pytest

# Rewrite tests/golden/ (every output of every example input); review `git diff tests/golden` after.
golden: $(TEST_STAMP)
	$(BIN)/python scripts/golden.py

bench: $(STAMP)
	$(BIN)/python benchmarks/assess.py
	$(BIN)/python benchmarks/cli.py
	$(BIN)/python benchmarks/service.py

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache tests/artifacts
