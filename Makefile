# reflosses — `make test` and `make book` each bootstrap .venv from requirements.lock.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
JOBS ?= 2

.PHONY: test book run lab check bench lint clean

$(STAMP): requirements.lock pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.lock
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	$(PY) -m ipykernel install --sys-prefix --name reflosses --display-name "Python 3 (reflosses)" >/dev/null
	touch $@

## make test: the whole suite — unit, differential, notebook structure, nbval, site and browser tests
test: $(STAMP)
	$(PY) -m pytest -n $(JOBS) --dist loadfile -q tests book --nbval --nbval-current-env -p no:randomly

## make book: build the bilingual site into book/_build/html (every warning is an error)
book: $(STAMP)
	$(VENV)/bin/jupyter-book build . --path-output book --warningiserror --nitpick --keep-going

## make run NB="book/en/regression/l1_loss.ipynb book/zh/regression/l1_loss.ipynb": re-execute
## notebooks in place with the project's kernel (default: every notebook under book/), no timestamps
NB ?= $(shell find book -name '*.ipynb' -not -path '*/_build/*' -not -path '*/.ipynb_checkpoints/*' | sort)
run: $(STAMP)
	$(VENV)/bin/jupyter nbconvert --to notebook --execute --inplace --ExecutePreprocessor.kernel_name=reflosses \
		--ExecutePreprocessor.record_timing=False --ExecutePreprocessor.timeout=600 $(NB)

## make lab: open the notebooks in JupyterLab with the project's kernel
lab: $(STAMP)
	$(VENV)/bin/jupyter lab book

## make check: compare every reflosses function with the installed torch
check: $(STAMP)
	$(PY) -m reflosses check

## make bench: time reflosses against torch and write benchmarks/results.md
bench: $(STAMP)
	$(PY) benchmarks/run.py

lint: $(STAMP)
	$(VENV)/bin/ruff check reflosses tests benchmarks book/_ext

clean:
	rm -rf book/_build
