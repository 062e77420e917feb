# `make run` and `make test` each set up .venv on a fresh clone, then do their job; `make test`
# also installs Chromium for the browser tests when it is missing (scripts/ensure-chromium)
# and starts PostgreSQL and Redis when they are installed and stopped (scripts/ensure-services).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: venv run demo test test-no-browser chromium services lint format bench clean

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

# Debian's Chromium for tests/e2e: installed if missing (as root or with password-less sudo),
# or a message saying what to install and that `make test-no-browser` runs the rest.
chromium:
	scripts/ensure-chromium

# The tests run on every core (pytest-xdist), a module's tests together (its fixtures are
# built once); `make test PYTEST_WORKERS=0` runs them in this process, one after another.
PYTEST_WORKERS ?= auto
PYTEST := $(BIN)/pytest -q -n $(PYTEST_WORKERS) --dist loadfile

# PostgreSQL and Redis for the service tests: started if installed and stopped (their tests
# are skipped, with the reason, where they cannot be).
services:
	scripts/ensure-services

test: chromium services lint
	$(PYTEST)

# Everything but the browser tests (tests/e2e): for a machine without Chromium.
test-no-browser: services lint
	$(PYTEST) --ignore=tests/e2e

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: $(STAMP)
	$(BIN)/python -m benchmarks.run_matching

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache
