# Two commands on a fresh machine: `make run` and `make test` (see README).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
DEVSTAMP := $(VENV)/.installed-dev
# The browser tests drive Debian's Chromium (no browser download at run time); CJK fonts for the pages.
BROWSER := /usr/bin/chromium /usr/bin/chromedriver /usr/share/fonts/truetype/wqy/wqy-microhei.ttc

# The remote-store tests also run on Virtuoso (Debian's virtuoso-opensource, started by the tests
# on loopback), whose atomic writes go through its ODBC driver and unixODBC (libodbc2).
VIRTUOSO := /usr/bin/virtuoso-t /usr/lib/$(shell uname -m)-linux-gnu/libodbc.so.2

.PHONY: run test test-fast lint constraints bench bench-quick serve certify-examples screenshots docs jsonld w3c clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

# Installs at the tested versions of constraints.txt.
$(STAMP): pyproject.toml constraints.txt | $(BIN)/python
	$(BIN)/pip install -q -c constraints.txt -e .
	touch $@

$(DEVSTAMP): pyproject.toml constraints.txt | $(BIN)/python
	$(BIN)/pip install -q -c constraints.txt -e '.[dev]'
	touch $(STAMP) $@

# The main job: the API on 127.0.0.1:8000 over the embedded Oxigraph store, seeded with examples/.
run: $(STAMP)
	$(BIN)/derivecert serve --host 127.0.0.1 --port 8000 --store var/store --seed examples

certify-examples: $(STAMP)
	$(BIN)/derivecert certify examples/*/*.ttl

$(BROWSER):
	@if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -q && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q chromium chromium-driver fonts-wqy-microhei \
	  || echo "warning: could not install chromium: the browser tests will skip (outside CI)"

# The W3C SPARQL test suites as published (1.1: syntax-query, syntax-fed, service, syntax-update;
# 1.0: syntax-sparql1-5): rdflib's source distribution on PyPI ships them with their manifests.
# Read by tests/api/test_w3c_sparql.py.
W3C_RDFLIB := 7.6.0
W3C_SPARQL := var/w3c/rdflib-$(W3C_RDFLIB).extracted
$(W3C_SPARQL): | $(BIN)/python
	rm -rf var/w3c && mkdir -p var/w3c
	$(BIN)/pip download -q --no-binary :all: --no-deps rdflib==$(W3C_RDFLIB) -d var/w3c
	tar -xzf var/w3c/rdflib-$(W3C_RDFLIB).tar.gz -C var/w3c --strip-components=5 \
	  rdflib-$(W3C_RDFLIB)/test/data/suites/w3c/sparql11 rdflib-$(W3C_RDFLIB)/test/data/suites/w3c/dawg-data-r2
	rm var/w3c/rdflib-$(W3C_RDFLIB).tar.gz
	touch $@

w3c: $(W3C_SPARQL)

# The SPARQL clients on Node the tests drive (Comunica), at the versions of tests/clients/package-lock.json,
# in a git-ignored node_modules; Node and npm from Debian where missing.
NODE_CLIENTS := tests/clients/node_modules/.package-lock.json

$(NODE_CLIENTS): tests/clients/package.json tests/clients/package-lock.json
	@command -v npm >/dev/null || { if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -q && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q nodejs npm; } \
	  || echo "warning: could not install Node.js: the Comunica test will skip (outside CI)"
	cd tests/clients && npm ci --no-audit --no-fund \
	  || echo "warning: could not install the npm clients: the Comunica test will skip (outside CI)"

$(VIRTUOSO):
	@if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -q && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q virtuoso-opensource libodbc2 \
	  || echo "warning: could not install virtuoso-opensource: the Virtuoso tests will skip (outside CI, where they fail)"

test: $(DEVSTAMP) $(W3C_SPARQL) | $(BROWSER) $(NODE_CLIENTS) $(VIRTUOSO)
	$(BIN)/python -m pytest -q

# Everything but the slow tests (HermiT, Schemathesis, durability, browser: marker `slow`).
test-fast: $(DEVSTAMP) $(W3C_SPARQL)
	$(BIN)/python -m pytest -q -m "not slow"

# ruff (pyflakes, pycodestyle, bugbear) and mypy, as configured in pyproject.toml.
lint: $(DEVSTAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy

# Record the versions installed in .venv as the tested ones.
constraints: $(DEVSTAMP)
	{ sed -n '1,3p' constraints.txt; $(BIN)/pip freeze --exclude-editable | grep -v '^derivecert'; } > constraints.txt.new
	mv constraints.txt.new constraints.txt

# Regenerates the README's screenshots (docs/screenshots/*.png) from the browser tests.
screenshots: $(DEVSTAMP) | $(BROWSER)
	DERIVECERT_SCREENSHOTS=docs/screenshots $(BIN)/python -m pytest -q -p no:cacheprovider tests/web/test_browser.py

# The ontology's and the requirements' documentation as static pages (a node serves them at /docs/*).
docs: $(STAMP)
	$(BIN)/python -m derivecert.docs_gen docs/site

# The JSON-LD context from the ontology, and the JSON-LD twins of the examples (tests check both).
jsonld: $(STAMP)
	$(BIN)/python -m derivecert.jsonld_context > src/derivecert/data/context.jsonld
	$(BIN)/python -m derivecert.jsonld_context examples/*/*.ttl

bench: $(DEVSTAMP)
	$(BIN)/python bench/run.py
	$(BIN)/python bench/api.py
	$(BIN)/python bench/federation.py

bench-quick: $(DEVSTAMP)
	$(BIN)/python bench/run.py --quick

clean:
	rm -rf $(VENV) var build *.egg-info src/*.egg-info
