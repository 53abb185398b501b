# Shipyard developer commands. Everything runs from a local virtualenv that `make` creates.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export OMP_NUM_THREADS ?= 1

.PHONY: install demo test test-fast lint format bench clean

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[all,torch,dev]'
	touch $(STAMP)

install: $(STAMP)

## demo: train a model on bundled data, register it with lineage, promote it, score a file
demo: $(STAMP)
	PATH="$(abspath $(BIN)):$$PATH" bash examples/demo.sh

## test: lint + the whole test suite (PostgreSQL tests need SHIPYARD_TEST_DATABASE_URL)
test: lint
	$(BIN)/python -m pytest -q

test-fast: $(STAMP)
	$(BIN)/python -m pytest -q -m "not slow and not e2e"

lint: $(STAMP)
	$(BIN)/ruff check src tests examples
	$(BIN)/ruff format --check src tests examples
	$(BIN)/mypy
	$(BIN)/lint-imports

format: $(STAMP)
	$(BIN)/ruff format src tests examples
	$(BIN)/ruff check --fix src tests examples

## bench: registry micro-benchmark + drift benchmark vs Evidently 0.7.23 (~2-4 min, + 1-2 min
## the first time to build its venv) + serving benchmark vs bare/echo/MLflow/BentoML (~25 min,
## needs wrk: installed with apt-get if missing); BENCH_ARGS=--quick for a ~3-minute smoke run,
## BENCH_ARGS=--drift-only (or --registry-only, --serving-only) for one of them
BENCH_ARGS ?=
bench: $(STAMP)
	$(BIN)/python bench/run.py $(BENCH_ARGS)

clean:
	rm -rf .demo .pytest_cache .mypy_cache .ruff_cache
