# Quick start: `make run` (whole default pipeline) and `make test` (whole test suite;
# `make test-fast` runs the unit tests only).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
CORES ?= all
RUN ?= default
STAMP := $(VENV)/.installed

.PHONY: run test test-fast lint report clean-results venv test-slurm slurm-up slurm-down benchmark

venv: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/snakemake --cores $(CORES)
	$(BIN)/snakemake --cores 1 --report results/$(RUN)/report.zip

report: $(STAMP)
	$(BIN)/snakemake --cores 1 --report results/$(RUN)/report.zip

test: $(STAMP)
	$(BIN)/python -m pytest

# The unit tests only (no end-to-end Snakemake run; marker e2e, see tests/conftest.py).
test-fast: $(STAMP)
	$(BIN)/python -m pytest -m "not e2e and not slurm"

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/snakefmt --check Snakefile rules
	$(BIN)/snakemake --lint

clean-results:
	rm -rf results/$(RUN)

slurm-up:
	scripts/ci/slurm_up.sh

slurm-down:
	scripts/ci/slurm_down.sh

# Starts a one-node SLURM cluster on this machine (Debian slurm-wlm + munge) and runs the
# workflow through profiles/slurm; its tables must equal a local run's byte for byte.
test-slurm: $(STAMP)
	if scripts/ci/slurm_up.sh; then \
		SINKZONE_SLURM=1 $(BIN)/python -m pytest -m slurm tests/test_slurm.py; \
	else \
		echo "test-slurm: NOT RUN: a local SLURM cluster could not be started (messages above)"; \
	fi

# Benchmarks (outside the test suite): generated 30 m inputs of 5e7 and 2e8 cells, the whole
# pipeline with --cores 2, InVEST Carbon on the same rasters (own venv), the read floor.
benchmark: $(STAMP)
	$(BIN)/python benchmarks/run.py
