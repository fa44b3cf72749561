# Two entry points for newcomers: `make demo` and `make test`. Each builds .venv first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: demo test lint bench docs clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,bench,dask,semantic]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/kefuguard demo

test: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/lint-imports
	$(BIN)/kefuguard rules export --format md --check docs/rules.md
	$(BIN)/python -m pytest -q -n 2

lint: $(STAMP)
	$(BIN)/ruff check src tests bench

docs: $(STAMP)
	$(BIN)/kefuguard rules export --format md --output docs/rules.md

bench: $(STAMP)
	$(BIN)/python bench/accuracy/report.py
	$(BIN)/python bench/bench_checker.py
	$(BIN)/python bench/bench_coldstart.py
	$(BIN)/python bench/bench_shop.py
	$(BIN)/python bench/bench_fuzz.py
	$(BIN)/python bench/bench_audit.py

clean:
	rm -rf $(VENV) build *.egg-info reports
