# Two commands matter: `make demo` and `make test`. Both create .venv when it is missing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

RUNTIME := $(VENV)/.runtime
MIN_VENV := .venv-min

.PHONY: demo test lint typecheck pytest bench docs clean test-min

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# the runtime dependencies only: `make demo` needs no dev toolchain
$(RUNTIME): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -e .
	touch $(RUNTIME)

demo: $(RUNTIME)
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

# The declared minimum versions of the runtime dependencies and of the pandas and arrow
# extras (">=" read as "=="), in a venv of their own, with the test tools; then the test
# suite. Separate from `make test` (it builds a second environment, minutes of installing).
test-min:
	test -x $(MIN_VENV)/bin/python || $(PYTHON) -m venv $(MIN_VENV)
	$(MIN_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(MIN_VENV)/bin/python -m pip install --quiet -e '.[dev]'
	$(MIN_VENV)/bin/python -m pip install --quiet $$($(MIN_VENV)/bin/python -c \
	    "import tomllib; p = tomllib.load(open('pyproject.toml', 'rb'))['project']; \
	    opt = p['optional-dependencies']; deps = p['dependencies'] + opt['pandas'] + opt['arrow']; \
	    print(' '.join(d.replace('>=', '==') for d in deps))")
	$(MIN_VENV)/bin/python -m pip list | grep -iE '^(simpy|networkx|numpy|scipy|pydantic|typer|rich|pandas|pyarrow) '
	HYPOTHESIS_PROFILE=ci $(MIN_VENV)/bin/python -m pytest -n 2 agentsim tests

clean:
	rm -rf $(VENV) $(MIN_VENV) build *.egg-info
