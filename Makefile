# `make run` opens the designer on the titanic example; `make test` runs the whole suite.
# Both create .venv (Python >= 3.11) and install the project into it when missing or stale.
PYTHON ?= $(shell for p in python3.13 python3.12 python3.11 python3; do \
	command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null && { echo $$p; break; }; done)
VENV := .venv
STAMP := $(VENV)/.installed
EXAMPLE := projects/titanic/pipeline.yaml

.PHONY: run test lint bench clean-venv

$(STAMP): pyproject.toml
	@test -n "$(PYTHON)" || { echo "Pipeloom needs Python 3.11 or newer (python3.11 on PATH)."; exit 2; }
	@test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --upgrade pip
	$(VENV)/bin/python -m pip install --quiet -e '.[test]'
	@touch $(STAMP)

run: $(STAMP)
	$(VENV)/bin/pipeloom-designer $(EXAMPLE)

test: $(STAMP)
	QT_QPA_PLATFORM=offscreen $(VENV)/bin/python -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check engine designer tests benchmarks

bench: $(STAMP)
	$(VENV)/bin/python benchmarks/run_all.py

clean-venv:
	rm -rf $(VENV)
