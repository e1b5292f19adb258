# Two commands for learners: `make lab` and `make test`. Everything else is a piece of `make test`, or `make site`.
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root,)
FIRST_LESSON := notebooks/00_start_here.ipynb
SITE    := _site

# Python 3.11 to 3.14. Empty: python3 if it is one of those, else the first of python3.13, 3.12, 3.11, 3.14 on PATH.
# `make lab PYTHON=python3.12` picks one. tools/python_check.sh says in one line what to do when it is wrong.
PYTHON  ?=
CHECK_PYTHON := sh tools/python_check.sh

# PyTorch's wheel. On Linux x86_64, PyPI's torch is the CUDA build (with its nvidia packages, several GB); the
# course needs the CPU build only, which PyTorch's CPU wheel index serves. macOS (Apple silicon) and other
# platforms get PyPI's wheel, which has no CUDA build to leave out. Empty: no extra index. .ci/run sets it empty: CI's machines reach only their own
# package registries, which serve the CPU wheel themselves.
PLATFORM    ?= $(shell uname -s)-$(shell uname -m)
TORCH_INDEX ?= $(if $(filter Linux-x86_64,$(PLATFORM)),https://download.pytorch.org/whl/cpu,)

# Numeric paths. PyTorch picks its MKL and ATen kernels by the CPU, so floats round differently on different
# machines, and training amplifies the difference. Every claim test and every notebook runs on this machine's own
# path and on two forced ones; a claim that holds on one and not another is not one the course makes.
# `make claims NUMERIC_PATHS=avx2` runs one path only.
NUMERIC_PATHS := native avx2 default
PATH_native   :=
PATH_avx2     := MKL_CBWR=AVX2 ATEN_CPU_CAPABILITY=avx2
PATH_default  := MKL_CBWR=COMPATIBLE ATEN_CPU_CAPABILITY=default
OUTPUTS       := .nb-outputs

.PHONY: lab test install python-check lint unit claims nbval quoted pictures resolve browser site bench clean

$(BIN)/python:
	@python=$$($(CHECK_PYTHON) pick $(PYTHON)) && echo "creating $(VENV) with $$python" && "$$python" -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet $(if $(TORCH_INDEX),--extra-index-url $(TORCH_INDEX)) -e '.[test]'
	touch $(STAMP)

python-check:
	@$(CHECK_PYTHON) venv $(VENV) $(PYTHON)

install: python-check $(STAMP)

# Serves the repository's root (README, helpers/, notebooks/) and opens the first lesson.
lab: install
	$(BIN)/jupyter lab --ServerApp.ip=127.0.0.1 "--ServerApp.root_dir=$(CURDIR)" $(ROOT_FLAG) $(FIRST_LESSON)

test: install lint unit claims nbval quoted pictures resolve browser

lint: install
	$(BIN)/ruff check helpers tests notebooks benchmarks tools conftest.py

unit: install
	$(BIN)/python -m pytest -m "not browser and not claims and not quoted and not pictures and not resolve" tests

claims: install
	@status=0; $(foreach p,$(NUMERIC_PATHS),echo "== claims on numeric path $(p): $(or $(PATH_$(p)),this machine's own)"; \
	  env $(PATH_$(p)) $(BIN)/python -m pytest -p no:cacheprovider -q -m claims tests || status=1;) exit $$status

# Runs every notebook top to bottom on each numeric path and keeps what each cell printed (conftest.py),
# for the quoted-number check.
nbval: install
	rm -rf $(OUTPUTS)
	@status=0; $(foreach p,$(NUMERIC_PATHS),echo "== notebooks on numeric path $(p): $(or $(PATH_$(p)),this machine's own)"; \
	  env $(PATH_$(p)) NB_OUTPUTS_DIR=$(OUTPUTS)/$(p) $(BIN)/python -m pytest -p no:cacheprovider --nbval-lax \
	    --nbval-current-env --nbval-cell-timeout=300 notebooks || status=1;) exit $$status

quoted: install
	NB_OUTPUTS_ROOT=$(OUTPUTS) $(BIN)/python -m pytest -p no:cacheprovider -m quoted tests

# Every figure and every panel of every notebook carries a PNG in the outputs make nbval saved.
pictures: install
	NB_OUTPUTS_ROOT=$(OUTPUTS) $(BIN)/python -m pytest -p no:cacheprovider -m pictures tests

# Every pin resolves to binary wheels for Python 3.11 to 3.14 (pip --dry-run against the package index).
resolve: install
	$(BIN)/python -m pytest -p no:cacheprovider -m resolve tests

# The six lessons as static HTML pages in $(SITE)/, from the outputs make nbval saved (run where missing).
site: install
	$(BIN)/python -m tools.site --outputs $(OUTPUTS)/native --out $(SITE)

browser: install
	$(BIN)/python -m pytest -m browser -s tests/browser

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache $(OUTPUTS) $(SITE)

bench: install
	$(BIN)/python -m benchmarks.bench $(BENCH_ARGS)
