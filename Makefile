# `make run` opens the designer on the titanic example; `make test` runs the whole suite.
# Both create .venv (Python >= 3.11) and install the project into it when missing or stale.
PYTHON ?= $(shell for p in python3.13 python3.12 python3.11 python3; do \
	command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null && { echo $$p; break; }; done)
VENV := .venv
STAMP := $(VENV)/.installed
EXAMPLE := projects/titanic/pipeline.yaml

.PHONY: run test lint bench screenshots clean-venv

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

# docs/screenshot-*.png: the example offscreen in both themes, then after a real run (Spark,
# about half a minute) of a fresh copy of it, so no earlier run or saved layout shows
SHOT := QT_QPA_PLATFORM=offscreen $(VENV)/bin/pipeloom-designer
SHOT_ARGS := --size 1440x900 --select dataprep
screenshots: $(STAMP)
	@set -e; tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	export XDG_CONFIG_HOME="$$tmp/config"; \
	cp -R projects/titanic "$$tmp/titanic"; rm -rf "$$tmp/titanic/.pipeloom"; \
	echo "docs/screenshot-light.png"; \
	$(SHOT) $(EXAMPLE) --screenshot docs/screenshot-light.png $(SHOT_ARGS) --theme light; \
	echo "docs/screenshot-dark.png"; \
	$(SHOT) $(EXAMPLE) --screenshot docs/screenshot-dark.png $(SHOT_ARGS) --theme dark; \
	echo "docs/screenshot-run.png (runs the pipeline)"; \
	$(SHOT) "$$tmp/titanic/pipeline.yaml" --screenshot docs/screenshot-run.png $(SHOT_ARGS) \
		--theme light --run

clean-venv:
	rm -rf $(VENV)
