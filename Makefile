# `make run` and `make test` each set up .venv on a fresh clone, then do their job.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: venv run demo test lint format bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[test]'
	touch $(STAMP)

venv: $(STAMP)

# The service on 127.0.0.1:8000 over demo.db (the LMC sample loaded on first start).
DEMO_DATABASE_URL ?= sqlite:///demo.db

run: $(STAMP)
	DATABASE_URL=$(DEMO_DATABASE_URL) $(BIN)/matcher serve --demo

demo: $(STAMP)
	$(BIN)/matcher demo

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test: lint
	$(BIN)/pytest -q

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: $(STAMP)
	$(BIN)/python -m benchmarks.run_matching

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache
