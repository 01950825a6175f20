# The two commands of the README:
#   make demo   set up everything on a fresh machine and run the main job on the embedded default
#   make test   set up everything and run the whole test suite (what CI runs)
# `make lint` runs ruff and mypy.

SHELL := /bin/bash
VENV ?= .venv
BIN := $(VENV)/bin
PYTHON ?= $(shell command -v python3.11 || command -v python3)
DEMO_CONTACTS ?= 2000
DEMO_CORPUS := data/built/demo.jsonl
DEMO_TEST := data/built/demo-test.jsonl
DEFAULT_MODEL ?= dispo-default

.PHONY: demo test lint setup clean-venv

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	@bash .ci/system-deps
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), f"dispo needs Python >= 3.11, found {sys.version.split()[0]}"'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

demo: setup
	test -f $(DEMO_CORPUS) || $(BIN)/dispo data build -n $(DEMO_CONTACTS) --seed 7 -o $(DEMO_CORPUS)
	test -f $(DEMO_TEST) || $(BIN)/dispo data build -n 300 --seed 8 -o $(DEMO_TEST)
	$(BIN)/dispo data validate $(DEMO_CORPUS)
	$(BIN)/dispo models show $(DEFAULT_MODEL) >/dev/null 2>&1 || \
	  HF_HUB_OFFLINE=1 $(BIN)/dispo train --config training/configs/default.yaml --data $(DEMO_CORPUS) \
	    --eval $(DEMO_TEST) --name $(DEFAULT_MODEL)
	$(BIN)/dispo models show $(DEFAULT_MODEL)

test: setup
	HF_HUB_OFFLINE=1 $(BIN)/python -m pytest

lint: setup
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/mypy

clean-venv:
	rm -rf $(VENV)
