# The two commands of the README:
#   make demo   set up everything on a fresh machine, train the default model if none exists, and
#               serve it at http://127.0.0.1:8000 (an agent API key is written to data/demo-agent.key)
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
DEMO_KEY := data/demo-agent.key

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
	@# The ONNX fp32 encoder serves a live turn about 3x faster than PyTorch on a few cores; it is
	@# checked against PyTorch on the demo test contacts and used only if it agrees (dispo export).
	$(BIN)/python -c "import sys; from dispo.bundle import resolve; sys.exit(not (resolve('$(DEFAULT_MODEL)') / 'runtime.json').is_file())" || \
	  HF_HUB_OFFLINE=1 $(BIN)/dispo export $(DEFAULT_MODEL) --data $(DEMO_TEST) --variants onnx_fp32 --max-contacts 300
	test -s $(DEMO_KEY) || (umask 077 && $(BIN)/dispo keys create --tenant demo --role agent --name demo-agent > $(DEMO_KEY))
	@echo "agent API key: $(DEMO_KEY); try: curl -H \"X-API-Key: \$$(cat $(DEMO_KEY))\" -H 'Content-Type: application/json' -d @data/samples/contact.json http://127.0.0.1:8000/v1/dispositions"
	HF_HUB_OFFLINE=1 DISPO_MODEL=$(DEFAULT_MODEL) $(BIN)/dispo serve

test: setup
	HF_HUB_OFFLINE=1 $(BIN)/python -m pytest

lint: setup
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/mypy

clean-venv:
	rm -rf $(VENV)
