# The two commands a newcomer needs: `make demo` and `make test`.
# Both create .venv on first use (Python >= 3.11 as python3, or set PYTHON=...).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.critmin-installed

.PHONY: demo test test-fast fuzz lint typecheck unit bench dataset clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "critmin needs Python >= 3.11"'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

demo: $(STAMP)
	$(BIN)/critmin exposure --commodity rare_earths --importer USA

lint: $(STAMP)
	$(BIN)/ruff check src tests scripts benchmarks
	$(BIN)/ruff format --check src tests scripts benchmarks

typecheck: $(STAMP)
	$(BIN)/mypy src

# Tests run on every core (pytest-xdist); each test has its own CRITMIN_HOME (tests/conftest.py).
unit: $(STAMP)
	$(BIN)/python -m pytest -n auto

test: lint typecheck unit

# The fast lane: unit tests without the slow marks (no lint, no type check).
test-fast: $(STAMP)
	$(BIN)/python -m pytest tests/unit -m "not slow" -q -n auto

# Longer fuzzing of every reader (the tests marked fuzz) with more, still derandomised, examples.
fuzz: $(STAMP)
	HYPOTHESIS_PROFILE=fuzz $(BIN)/python -m pytest -m fuzz -q

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_dataset.py

# Maintainers: rebuild the bundled dataset from ../shared/data/raw (not needed to use critmin).
dataset: $(STAMP)
	$(BIN)/python scripts/build_dataset.py --raw ../shared/data/raw

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
