# Two commands on a fresh machine: `make run` and `make test` (see README).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
DEVSTAMP := $(VENV)/.installed-dev

.PHONY: run test bench bench-quick serve certify-examples clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e .
	touch $@

$(DEVSTAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP) $@

# The main job: the API on 127.0.0.1:8000 over the embedded Oxigraph store, seeded with examples/.
run: $(STAMP)
	$(BIN)/derivecert serve --host 127.0.0.1 --port 8000 --store var/store --seed examples

certify-examples: $(STAMP)
	$(BIN)/derivecert certify examples

test: $(DEVSTAMP)
	$(BIN)/python -m pytest -q

bench: $(DEVSTAMP)
	$(BIN)/python bench/run.py
	$(BIN)/python bench/api.py

bench-quick: $(DEVSTAMP)
	$(BIN)/python bench/run.py --quick

clean:
	rm -rf $(VENV) var build *.egg-info src/*.egg-info
