# Parley: `make run` serves on http://127.0.0.1:8000 (SQLite + in-memory bus); `make test` runs every tier.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test lint bench clean

# The service alone for `make run`; tests, lint and the Pulumi SDKs for everything else.
$(VENV)/.runtime: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.dev: $(VENV)/.runtime
	$(BIN)/pip install --quiet -e '.[dev,infra]'
	touch $@

run: $(VENV)/.runtime
	$(BIN)/parley migrate
	$(BIN)/parley serve --host $(HOST) --port $(PORT)

test: $(VENV)/.dev
	$(BIN)/python -m tests.setup
	$(BIN)/pytest $(PYTEST_ARGS)

lint: $(VENV)/.dev
	$(BIN)/ruff check app infra policies ci tests bench
	$(BIN)/ruff format --check app infra policies ci tests bench
	$(BIN)/mypy

bench: $(VENV)/.dev
	$(BIN)/python -m bench.run $(BENCH_ARGS)

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache .mypy_cache .ruff_cache .hypothesis parley.db*
