# Touchpoint: `make demo` runs the main job, `make test` runs every check. Both install what they need.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
export PATH := $(CURDIR)/$(BIN):$(CURDIR)/node_modules/.bin:$(PATH)

.PHONY: demo test lint typecheck drift unit bench deps clean

demo: $(BIN)/.installed
	touchpoint validate journeys
	touchpoint compile

test: deps lint typecheck drift
	pytest -q

lint: $(BIN)/.installed
	ruff check .
	ruff format --check .

typecheck: $(BIN)/.installed
	mypy touchpoint functions infra tests/infra

# Generated files must match their sources: state machines, registry, manifests, JSON Schemas.
drift: $(BIN)/.installed
	touchpoint compile --check
	touchpoint schema --check

bench: $(BIN)/.installed
	$(BIN)/python bench/run.py

deps: $(BIN)/.installed node_modules/.installed

$(BIN)/.installed: pyproject.toml constraints.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11+ is required")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[dev]'
	@touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

clean:
	rm -rf $(VENV) node_modules .mypy_cache .ruff_cache .pytest_cache .hypothesis cdk.out out
