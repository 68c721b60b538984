# edgefm — two commands: `make test` and `make reproduce` (both create .venv when missing).
PYTHON ?= python3
VENV   ?= .venv
PY      = $(VENV)/bin/python
STAMP   = $(VENV)/.installed

.PHONY: venv nbfilter test quick reproduce lab bench docs gallery clean
venv: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev,docs]"
	$(PY) -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (edgefm)" >/dev/null
	$(MAKE) --no-print-directory nbfilter
	touch $(STAMP)

# git stages notebooks through edgefm/cli/nbstrip.py (no outputs, no view state): saving a notebook in
# JupyterLab never puts outputs into a commit. Falls back to a pass-through where the module is absent.
nbfilter:
	@if git rev-parse --git-dir >/dev/null 2>&1; then \
	  git config filter.nbstrip.clean "sh -c 'if [ -f edgefm/cli/nbstrip.py ] && [ -x $(VENV)/bin/python ]; then exec $(VENV)/bin/python -m edgefm.cli.nbstrip; else exec cat; fi'" && \
	  git config filter.nbstrip.smudge cat && echo "git filter nbstrip installed (notebooks are staged without outputs)"; \
	fi

test: venv  ## run the test suite (includes every notebook in quick mode)
	$(PY) -m pytest -q

quick: venv  ## run every notebook with QUICK=True, results under results/quick/
	$(VENV)/bin/edgefm reproduce --quick

reproduce: venv  ## run every notebook at full size, figures under results/
	$(VENV)/bin/edgefm reproduce

LAB_ARGS ?=
lab: venv  ## JupyterLab at the project root (results/, data/ reachable), notebooks/ in view; e.g. LAB_ARGS=--allow-root
	$(VENV)/bin/jupyter lab --ServerApp.root_dir=$(CURDIR) --LabApp.default_url=/lab/tree/notebooks $(LAB_ARGS)

docs: venv  ## the documentation site from existing results (no notebook runs), docs/_build/html
	$(PY) -m sphinx -W --keep-going -q -b html docs docs/_build/html
	@echo "site: docs/_build/html/index.html"

gallery: venv  ## copy a full run's headline figures and summaries into docs/gallery (after make reproduce)
	$(PY) docs/sitegen.py gallery

BENCH_REV ?= dc14b82
bench: venv  ## speed benchmarks (medians printed; figures in results/bench/NAME.json)
	$(PY) benchmarks/bench_sim.py --rev $(BENCH_REV)
	$(PY) benchmarks/bench_control.py --germany50
	for b in benchmarks/bench_*.py; do case $$b in */bench_sim.py|*/bench_control.py) ;; \
	  *) $(PY) $$b || exit 1;; esac; done

clean:
	rm -rf results .pytest_cache docs/_build docs/_generated
