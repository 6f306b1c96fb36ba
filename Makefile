# The two commands of the README: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
# The one place where the default torch is pinned; override with `make demo TORCH_VERSION=2.14.1`.
TORCH_VERSION ?= 2.13.0
RESULTS ?= .sqrtwatch/results
DB ?= sqlite:///sqrtwatch.db
PORT ?= 8501
PYTEST_ARGS ?=

BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-torch-$(TORCH_VERSION)

.PHONY: setup demo test test-fast lint clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet "torch==$(TORCH_VERSION)"
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	rm -f $(VENV)/.installed-torch-*
	touch $@

demo: setup
	$(BIN)/sqrtwatch run --quick --results $(RESULTS)
	$(BIN)/sqrtwatch ingest $(RESULTS) --db $(DB)
	$(BIN)/sqrtwatch detect --db $(DB)
	$(BIN)/sqrtwatch dashboard --db $(DB) --port $(PORT)

test: setup
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# The edit-test loop: no slow (asv, browser) or PostgreSQL tests, on every core.
test-fast: setup
	$(BIN)/python -m pytest -m "not slow and not postgres" -n auto $(PYTEST_ARGS)

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/actionlint .github/workflows/*.yml

clean:
	rm -rf .sqrtwatch .asv sqrtwatch.db sqrtwatch.db-wal sqrtwatch.db-shm
