# The two commands a newcomer needs: `make run` and `make test`. Everything else is a convenience.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin

.PHONY: run test demo bench lint clean browser-deps

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Reinstall when the project's dependencies change. torch first, alone: pinned, it takes the CPU build.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

run: $(VENV)/.installed  ## migrate and start web + worker + scheduler with embedded defaults
	$(BIN)/undertone run

test: $(VENV)/.installed browser-deps  ## install what the tests need and run the whole suite
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# The browser tests' accessibility engine, from npm into a git-ignored folder (Chromium: apt `chromium`).
AXE := .npm/node_modules/axe-core/axe.min.js
browser-deps: $(AXE)
$(AXE):
	npm install --no-save --no-package-lock --no-audit --no-fund --prefix .npm axe-core@4.14.1

demo: $(VENV)/.installed  ## send signed sample webhooks to the running service (after `make run`)
	$(BIN)/undertone demo

lint: $(VENV)/.installed  ## ruff and the import-linter contracts (imports point down; one package per vendor)
	$(BIN)/ruff check .
	$(BIN)/lint-imports

bench: $(VENV)/.installed  ## webhook acknowledgement latency and throughput beside a bare Flask endpoint
	$(BIN)/python bench/webhook_ack.py

clean:
	rm -rf $(VENV) var .pytest_cache .npm test-artifacts
