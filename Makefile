# The two commands of the README:
#   make demo   install what serving needs and serve the shipped default model at
#               http://127.0.0.1:8000 (an agent API key is written to data/demo-agent.key)
#   make test   set up everything and run the whole test suite (what CI runs)
# `make lint` runs ruff and mypy. `make default-model` rebuilds the shipped model (models/dispo-default)
# from the public data sets in ../shared/data (SHARED=...).

SHELL := /bin/bash
VENV ?= .venv
BIN := $(VENV)/bin
PYTHON ?= $(shell command -v python3.11 || command -v python3)
DEMO_CONTACTS ?= 2000
DEMO_CORPUS := data/built/demo.jsonl
DEFAULT_MODEL ?= dispo-default
DEMO_KEY := data/demo-agent.key
SHARED ?= ../shared/data

.PHONY: demo test lint setup core default-model clean-venv

core: $(VENV)/.core
setup: $(VENV)/.installed

# What serving needs (make demo): no browser, no Ray, no test tools.
$(VENV)/.core: pyproject.toml
	@bash .ci/system-deps core
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), f"dispo needs Python >= 3.11, found {sys.version.split()[0]}"'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	touch $@

# Everything, tests and benchmarks included (make test, CI).
$(VENV)/.installed: $(VENV)/.core
	@bash .ci/system-deps
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

demo: core
	@# The default model ships with the project (models/dispo-default, rebuilt by make default-model).
	@# Without it (removed by hand), a quick model is trained on a built corpus instead (~5 min).
	$(BIN)/dispo models show $(DEFAULT_MODEL) >/dev/null 2>&1 || ( \
	  $(BIN)/dispo data build -n $(DEMO_CONTACTS) --seed 7 -o $(DEMO_CORPUS) && \
	  HF_HUB_OFFLINE=1 $(BIN)/dispo train --config training/configs/default.yaml --data $(DEMO_CORPUS) \
	    --name $(DEFAULT_MODEL) )
	$(BIN)/dispo models show $(DEFAULT_MODEL)
	test -s $(DEMO_KEY) || (umask 077 && $(BIN)/dispo keys create --tenant demo --role agent --name demo-agent > $(DEMO_KEY))
	@echo "agent API key: $(DEMO_KEY); try: curl -H \"X-API-Key: \$$(cat $(DEMO_KEY))\" -H 'Content-Type: application/json' -d @data/samples/contact.json http://127.0.0.1:8000/v1/dispositions"
	HF_HUB_OFFLINE=1 DISPO_MODEL=$(DEFAULT_MODEL) $(BIN)/dispo serve

test: setup
	HF_HUB_OFFLINE=1 $(BIN)/python -m pytest

# The shipped default model: build the corpus, convert the public sets, train on 2 CPU cores
# (about an hour), evaluate on the realistic test half, and replace models/dispo-default.
default-model: core
	HF_HUB_OFFLINE=1 OMP_WAIT_POLICY=PASSIVE $(BIN)/python -m training.default_model --shared $(SHARED)

lint: setup
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/mypy

clean-venv:
	rm -rf $(VENV)
