# Patronage: every target sets up its own virtual environment on first use.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)

.PHONY: install demo test test-fast lint types docs check bench clean messages

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Patronage needs Python 3.11 or newer (found " + sys.version.split()[0] + ")")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@rm -f $(VENV)/.installed-*
	@touch $(STAMP)

install: $(STAMP)

## Build the demo company and run its main job (then serve the back office, where available).
demo: install
	$(BIN)/patronage demo --reset

## Run the whole test suite (SQLite and PostgreSQL), on every core.
test: install
	$(BIN)/python -m pytest -n auto

## The inner loop: the tests that need neither a database nor a browser.
test-fast: install
	$(BIN)/python -m pytest -m "not storage and not browser" -n auto

## Re-extract the translatable text into the catalogs (src/patronage/locale/*/LC_MESSAGES).
messages: install
	$(BIN)/python -m patronage.languages.extract

lint: install
	$(BIN)/ruff check src tests benchmarks tools
	$(BIN)/lint-imports
	$(BIN)/hadolint Dockerfile

types: install
	$(BIN)/mypy

## The documentation site (docs/ with MkDocs), into site/; --strict fails on a broken link.
docs: install
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

check: test lint types docs

clean:
	rm -rf $(VENV) site patronage.db patronage.db-wal patronage.db-shm .pytest_cache .mypy_cache .ruff_cache
