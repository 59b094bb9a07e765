# Two commands for a fresh machine (see README.md):
#   make demo   set up .venv and run the main job on data_samples/
#   make test   set up .venv with the test extra and run the test suite
#   make lint   ruff and mypy (configured in pyproject.toml); CI runs it before the tests
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
OUT ?= demo_output

.PHONY: demo test lint test-slow test-all bench clean

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

test: $(VENV)/.installed
	$(BIN)/python -m pytest -m "not slow" -q

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
	$(BIN)/python bench/round_workers.py
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

clean:
	rm -rf $(VENV) $(OUT) .pytest_cache build *.egg-info
