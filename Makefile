# One command per chore. Every target creates .venv and installs what it needs first: install, run
# and serve only the runtime (what production runs); test, lint and bench the development tools too.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# The checkout's own code, whatever else .venv may hold (python -m puts the working folder first).
FEEDSVC := $(BIN)/python -m feedsvc
RUNTIME_STAMP := $(VENV)/.installed-runtime
STAMP := $(VENV)/.installed

.PHONY: run serve relay test lint bench bench-full install clean-venv

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# The runtime: requirements.lock (every package pinned, hash-checked), then feedsvc itself
# (editable: the checkout's code, and the feedsvc command in .venv/bin). No test tools.
$(RUNTIME_STAMP): requirements.lock pyproject.toml setup.py | $(BIN)/python
	$(BIN)/pip install --quiet --require-hashes -r requirements.lock
	$(BIN)/pip install --quiet --no-deps --editable .
	touch $@

# The development tools (requirements-dev.txt), on top of the runtime.
$(STAMP): requirements-dev.txt $(RUNTIME_STAMP)
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

## make install: the production environment in .venv (runtime only)
install: $(RUNTIME_STAMP)

## make run: development server on http://127.0.0.1:8000 with regeneration on
run: $(RUNTIME_STAMP)
	$(FEEDSVC) init-db
	$(FEEDSVC) demo-data --if-empty
	$(BIN)/python -m feedsvc.devserver

## make serve: production server, FEEDSVC_WORKERS processes on FEEDSVC_BIND
serve: $(RUNTIME_STAMP)
	$(FEEDSVC) init-db
	$(FEEDSVC) serve

## make relay: feedsvc relay (FEEDSVC_CONFIG names the settings file with [relay];
## docs/relay.md), after creating/upgrading the schema
relay: $(RUNTIME_STAMP)
	$(FEEDSVC) init-db
	$(FEEDSVC) relay

## make test: the whole suite (PostgreSQL too when FEEDSVC_TEST_DATABASE_URL is set)
test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

## make lint: ruff (lint and format) and mypy --strict on the package
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

## make fuzz: atheris on the record validator, the strict JSON decoder, the conditional-request
## functions and ?limit, FUZZ_SECONDS each (default 30); fails if any target crashed
FUZZ_SECONDS ?= 30
.PHONY: fuzz
fuzz: $(STAMP)
	$(BIN)/python -m tests.fuzz.run --seconds $(FUZZ_SECONDS)

bench: $(STAMP)
	$(BIN)/python -m bench

bench-full: $(STAMP)
	$(BIN)/python -m bench --full

## make lock: re-pin requirements.lock from pyproject.toml's dependencies (LOCK_ARGS=--upgrade
## moves every pin to the newest release allowed; --upgrade-package NAME just one)
.PHONY: lock
lock: $(STAMP)
	CUSTOM_COMPILE_COMMAND="make lock" $(BIN)/pip-compile --quiet --generate-hashes \
	  --extra postgresql --strip-extras --no-emit-index-url --no-emit-find-links $(LOCK_ARGS) \
	  --output-file requirements.lock pyproject.toml

clean-venv:
	rm -rf $(VENV)
