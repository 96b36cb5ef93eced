# Touchpoint: `make demo` runs the main job, `make test` runs every check. Both install what they need.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
export PATH := $(CURDIR)/$(BIN):$(CURDIR)/node_modules/.bin:$(PATH)
CHROMIUM := /usr/bin/chromium
SUDO   := $(if $(filter 0,$(shell id -u)),,sudo)

.PHONY: demo test checks lint typecheck drift unit bench reliability-report deps clean

# The demo needs only the simulator's extra; after `make test` the full install serves it too.
DEMO_DEPS := $(if $(wildcard $(BIN)/.installed),$(BIN)/.installed,$(BIN)/.installed-sim)

demo: $(DEMO_DEPS)
	touchpoint validate journeys
	touchpoint compile
	touchpoint simulate scenarios/demo.yaml --json out/report.json --html out/report.html

# Two at a time: mypy on infra/ reads all of aws-cdk-lib (~2.5 min cold) while pytest runs, itself on
# two workers (pytest-xdist, one test file per worker so module fixtures are built once).
test: deps $(CHROMIUM)
	$(MAKE) --no-print-directory -j2 checks

checks: lint typecheck drift unit

unit: deps $(CHROMIUM)
	pytest -q -n 2 --dist loadfile

lint: $(BIN)/.installed
	ruff check .
	ruff format --check .
	lint-imports

typecheck: $(BIN)/.installed
	mypy touchpoint functions infra tests/infra

# Generated files must match their sources: state machines, registry, manifests, JSON Schemas.
drift: $(BIN)/.installed
	touchpoint compile --check
	touchpoint schema --check

BENCH_USERS ?= 200
bench: $(BIN)/.installed
	$(BIN)/python bench/run.py all $(BENCH_USERS)

# The reliability tier (in `make test` at scale 1) at RELIABILITY_SCALE, its figures into docs/reliability.md.
RELIABILITY_SCALE ?= 5
reliability-report: $(BIN)/.installed
	$(BIN)/python bench/reliability_report.py $(RELIABILITY_SCALE)

deps: $(BIN)/.installed node_modules/.installed

$(BIN)/.installed: pyproject.toml constraints.txt
	$(call install,dev)

$(BIN)/.installed-sim: pyproject.toml constraints.txt
	$(call install,sim)

define install
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11+ is required")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[$(1)]'
	@touch $@
endef

# The HTML report is checked in headless Chromium (Debian's package; CJK fonts for the journeys' names).
$(CHROMIUM):
	$(SUDO) apt-get update -qq
	$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium fonts-noto-cjk

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

clean:
	rm -rf $(VENV) node_modules .mypy_cache .ruff_cache .pytest_cache .hypothesis .import_linter_cache cdk.out out
