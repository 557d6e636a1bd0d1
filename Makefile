# The two commands a newcomer needs: `make run` and `make test`. Everything else is a convenience.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin

.PHONY: run test demo bench lint clean

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

test: $(VENV)/.installed  ## install what the tests need and run the whole suite
	$(BIN)/python -m pytest $(PYTEST_ARGS)

demo: $(VENV)/.installed  ## send signed sample webhooks to the running service (after `make run`)
	$(BIN)/undertone demo

bench: $(VENV)/.installed  ## acknowledgement latency and throughput beside bare Flask: SQLite and PostgreSQL, idle and busy worker
	$(BIN)/python bench/webhook_ack.py

clean:
	rm -rf $(VENV) var .pytest_cache
