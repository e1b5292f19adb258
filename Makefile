# Two commands for learners: `make lab` and `make test`. Everything else is a piece of `make test`.
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root,)

# Numeric paths. PyTorch picks its MKL and ATen kernels by the CPU, so floats round differently on different
# machines, and training amplifies the difference. Every claim test and every notebook runs on this machine's own
# path and on two forced ones; a claim that holds on one and not another is not one the course makes.
# `make claims NUMERIC_PATHS=avx2` runs one path only.
NUMERIC_PATHS := native avx2 default
PATH_native   :=
PATH_avx2     := MKL_CBWR=AVX2 ATEN_CPU_CAPABILITY=avx2
PATH_default  := MKL_CBWR=COMPATIBLE ATEN_CPU_CAPABILITY=default
OUTPUTS       := .nb-outputs

.PHONY: lab test install lint unit claims nbval quoted browser bench clean

$(BIN)/python:
	python3 -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

lab: install
	$(BIN)/jupyter lab --ServerApp.ip=127.0.0.1 $(ROOT_FLAG) notebooks/00_start_here.ipynb

test: install lint unit claims nbval quoted browser

lint: install
	$(BIN)/ruff check helpers tests notebooks benchmarks conftest.py

unit: install
	$(BIN)/python -m pytest -m "not browser and not claims and not quoted" tests

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

browser: install
	$(BIN)/python -m pytest -m browser -s tests/browser

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache $(OUTPUTS)

bench: install
	$(BIN)/python -m benchmarks.bench $(BENCH_ARGS)
