# Two commands for a fresh machine (see README.md):
#   make demo   set up .venv and run the main job on data_samples/
#   make test   set up .venv with the test extra and run the test suite
#   make lint   ruff and mypy (configured in pyproject.toml); CI runs it before the tests
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
OUT ?= demo_output

.PHONY: demo test lint test-slow test-all bench clean qualcoder-venv

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# The demo needs qualcode and its dependencies only; the test extra (JupyterLab, Playwright, Dask, the
# linters) is installed by the targets that use it.
$(VENV)/.installed-demo: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e .
	touch $@

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e ".[test]"
	touch $@ $(VENV)/.installed-demo

demo: $(VENV)/.installed-demo
	$(BIN)/qualcode codebook validate nic_study
	$(BIN)/qualcode load data_samples/transcripts --attributes data_samples/attributes.csv
	$(BIN)/qualcode demo --out $(OUT)

# The suite runs on TEST_WORKERS processes (pytest-xdist): every test is independent (its own tmp_path, no shared
# cache), and two processes keep `make test` under ten minutes on a 2-core machine. TEST_WORKERS=0 runs it in one.
TEST_WORKERS ?= 2
test: $(VENV)/.installed
	$(BIN)/python -m pytest -m "not slow" -q -n $(TEST_WORKERS)

lint: $(VENV)/.installed
	$(BIN)/ruff check qualcode tests bench
	$(BIN)/mypy

test-slow: $(VENV)/.installed
	$(BIN)/python -m pytest -m slow -q

test-all: $(VENV)/.installed
	$(BIN)/python -m pytest -q

bench: $(VENV)/.installed
	$(BIN)/python bench/load_1m_words.py
	$(BIN)/python bench/load_large_file.py
	$(BIN)/python bench/coders_1m_words.py
	$(BIN)/python bench/evaluate_coders.py
	$(BIN)/python bench/suggestion_quality.py
# bench/round_workers.py (a 1M-word round on 2 workers against 1) is run by hand: round_scale.py below
# measures the same comparison at 0.1M and 1M words, with a LocalCluster too.
	$(BIN)/python bench/round_scale.py
	$(BIN)/python bench/review_workbook.py
	$(BIN)/python bench/decision_log.py
	$(BIN)/python bench/codebook_scale.py
	# Hostile inputs (issue 21): time, CPU and peak RSS of each refusal against a normal input of the same kind.
	$(BIN)/python bench/archive_bombs.py
	$(BIN)/python bench/codebook_hostile.py
	$(BIN)/python bench/qdpx_hostile.py
	$(BIN)/python bench/scheduler_endpoints.py
	$(BIN)/python bench/folder_walk.py

# QualCoder 4.0's own environment (PyQt6 …), apart from qualcode's: tests/peers/test_qualcoder.py runs QualCoder's
# real REFI-QDA import and export in it. Built once, rebuilt when the pinned list changes.
QC_VENV ?= .venv-qualcoder
QC_REQUIREMENTS := tests/peers/qualcoder/requirements.txt

$(QC_VENV)/.installed: $(QC_REQUIREMENTS)
	rm -rf $(QC_VENV)
	$(PYTHON) -m venv $(QC_VENV)
	$(QC_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r $(QC_REQUIREMENTS)
	touch $@

qualcoder-venv: $(QC_VENV)/.installed

clean:
	rm -rf $(VENV) $(QC_VENV) $(OUT) .pytest_cache build *.egg-info
