# Parley: `make run` serves on http://127.0.0.1:8000 (SQLite + in-memory bus); `make test` runs every tier.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test lint bench clean

$(BIN)/parley: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

run: $(BIN)/parley
	$(BIN)/parley migrate
	$(BIN)/parley serve --host $(HOST) --port $(PORT)

test: $(BIN)/parley
	$(BIN)/python -m tests.setup
	$(BIN)/pytest $(PYTEST_ARGS)

lint: $(BIN)/parley
	$(BIN)/ruff check app tests bench
	$(BIN)/ruff format --check app tests bench
	$(BIN)/mypy

bench: $(BIN)/parley
	$(BIN)/python -m bench.run $(BENCH_ARGS)

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache .mypy_cache .ruff_cache .hypothesis parley.db*
