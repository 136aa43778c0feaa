# One command per chore. Every target creates .venv and installs what it needs first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app wsgi
STAMP := $(VENV)/.installed

.PHONY: run serve test lint bench bench-full install clean-venv

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(STAMP): requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

install: $(STAMP)

## make run: development server on http://127.0.0.1:8000 with regeneration on
run: $(STAMP)
	$(FLASK) init-db
	$(FLASK) demo-data --if-empty
	$(BIN)/python -m feedsvc.devserver

## make serve: production server, FEEDSVC_WORKERS processes on FEEDSVC_BIND
serve: $(STAMP)
	$(FLASK) init-db
	$(BIN)/python -m feedsvc.serve

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

clean-venv:
	rm -rf $(VENV)
