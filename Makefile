# Two commands matter: `make demo` and `make test`. Both create .venv when it is missing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint typecheck pytest bench docs clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/agentsim demo

lint: $(STAMP)
	$(BIN)/ruff check agentsim scenarios tests benchmarks
	$(BIN)/ruff format --check agentsim scenarios tests benchmarks

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP)
	HYPOTHESIS_PROFILE=$${HYPOTHESIS_PROFILE:-ci} $(BIN)/python -m pytest -n 2 agentsim tests

test: lint typecheck pytest

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_sim.py
	$(BIN)/python benchmarks/bench_counterfactual.py
	$(BIN)/python benchmarks/bench_attribution.py
	$(BIN)/python benchmarks/bench_methods.py
	$(BIN)/python benchmarks/bench_ingest.py

# docs/: an example report of a failed support-desk run and its screenshot (needs chromium)
docs: $(STAMP)
	$(BIN)/python docs/make_docs.py

clean:
	rm -rf $(VENV) build *.egg-info
