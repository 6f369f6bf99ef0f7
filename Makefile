# Every target creates .venv (and installs the package into it) when needed.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test test-fast lint format docs bench notebooks clean

$(STAMP): setup.cfg pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test,notebooks,bench,docs]"
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/keras-transformer train configs/demo.yaml --workdir runs/demo

# The documentation site; a warning (a broken link, a docstring that does
# not parse) fails the build, and so `make test`.
docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --site-dir build/site

test: $(STAMP) docs
	$(BIN)/python -m pytest -n 2 --maxschedchunk 2 --durations=15 tests

test-fast: $(STAMP)
	$(BIN)/python -m pytest -n 2 -m "not slow" tests

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: $(STAMP)
	$(BIN)/python bench/run_all.py

notebooks: $(STAMP)
	$(BIN)/python notebooks/execute.py

clean:
	rm -rf $(VENV) runs build *.egg-info
