# The two commands a new user needs: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
DEV_ENV := STAMPS_REQUIRE_HTTPS=false DJANGO_DEBUG=true STAMPS_LOG_FORMAT=plain

.PHONY: install run test lint bench mutate clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

run: install
	$(DEV_ENV) $(BIN)/python manage.py migrate --verbosity 0
	$(DEV_ENV) $(BIN)/python manage.py collectstatic --noinput --verbosity 0
	$(DEV_ENV) $(BIN)/python manage.py seed_demo --base-url http://$(HOST):$(PORT)
	$(DEV_ENV) $(BIN)/python manage.py runserver $(HOST):$(PORT)

test: install
	PATH="$(CURDIR)/$(BIN):$$PATH" bash scripts/test.sh

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy .

# Plants each bug of scripts/mutate.py's list and fails if the tests let one through (slow).
mutate: install
	PATH="$(CURDIR)/$(BIN):$$PATH" python scripts/mutate.py

# Load test against PostgreSQL (DATABASE_URL) next to pgbench; see bench/run.sh for settings.
bench: install
	BIN=$(BIN) bash bench/run.sh

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
