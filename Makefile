# Two commands for learners: `make lab` and `make test`. Everything else is a piece of `make test`.
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root,)

.PHONY: lab test install lint unit nbval browser bench clean

$(BIN)/python:
	python3 -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

lab: install
	$(BIN)/jupyter lab --ServerApp.ip=127.0.0.1 $(ROOT_FLAG) notebooks/00_start_here.ipynb

test: install lint unit nbval browser

lint: install
	$(BIN)/ruff check helpers tests notebooks benchmarks

unit: install
	$(BIN)/python -m pytest -m "not browser" tests

nbval: install
	$(BIN)/python -m pytest -p no:cacheprovider --nbval-lax --nbval-current-env --nbval-cell-timeout=300 notebooks

browser: install
	$(BIN)/python -m pytest -m browser -s tests/browser

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache

bench: install
	$(BIN)/python -m benchmarks.bench $(BENCH_ARGS)
