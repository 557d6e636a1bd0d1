# The two commands a newcomer needs: `make run` and `make test`. Everything else is a convenience.
# PYTHON is the interpreter the venv is made from: Python 3.11, 3.12 or 3.13, e.g. `make PYTHON=python3.12 run`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
# The versions pyproject.toml's requires-python admits (keep the two in step), checked before anything is installed.
SUPPORTED := (3, 11) <= sys.version_info[:2] < (3, 14)
UNSUPPORTED := "Undertone needs Python 3.11, 3.12 or 3.13, not " + sys.version.split()[0] + ": make PYTHON=python3.12 run"
VERSION := import sys; print(*sys.version_info[:2], sep=".")

.PHONY: run test demo bench faults lint clean venv-python browser-deps

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if $(SUPPORTED) else $(UNSUPPORTED))'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Reinstall when the project's dependencies change. torch first, alone: pinned, it takes the CPU build on disk
# for Python 3.11; for 3.12 and 3.13 PyPI has only a CUDA build (2.7 GB of wheels with its libraries), which runs on the CPU.
$(VENV)/.installed: pyproject.toml | $(BIN)/python venv-python
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

# When PYTHON is given, an existing venv made from another version is an error rather than silently used.
venv-python: | $(BIN)/python
ifneq ($(filter command line environment,$(origin PYTHON)),)
	@want=$$($(PYTHON) -c '$(VERSION)'); have=$$($(BIN)/python -c '$(VERSION)'); \
	if [ "$$want" != "$$have" ]; then \
	  echo "$(VENV) was made from Python $$have, not $$want ($(PYTHON)): run 'make clean' first, or add VENV=.venv-$$want"; \
	  exit 1; \
	fi
endif

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

bench: $(VENV)/.installed  ## acknowledgement latency and throughput beside bare Flask: SQLite and PostgreSQL, idle and busy worker
	$(BIN)/python bench/webhook_ack.py

faults: $(VENV)/.installed  ## the fault suite against real processes (~20 min; FAULTS_ARGS="--quick" ~5 min, "--only NAME")
	$(BIN)/python bench/faults.py $(FAULTS_ARGS)

clean:
	rm -rf $(VENV) var .pytest_cache .npm test-artifacts
