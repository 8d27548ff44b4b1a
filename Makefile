# Quick start: `make run` (whole default pipeline) and `make test` (whole test suite).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
CORES ?= all
RUN ?= default
STAMP := $(VENV)/.installed

.PHONY: run test lint report clean-results venv

venv: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/snakemake --cores $(CORES)
	$(BIN)/snakemake --cores 1 --report results/$(RUN)/report.zip

report: $(STAMP)
	$(BIN)/snakemake --cores 1 --report results/$(RUN)/report.zip

test: $(STAMP)
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/snakefmt --check Snakefile rules
	$(BIN)/snakemake --lint

clean-results:
	rm -rf results/$(RUN)
