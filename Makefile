# Two entry points for a newcomer: `make run` (demo bench) and `make test` (everything CI runs).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: run test lint tmux node agents screenshots bench mutate clean

$(BIN)/python:
	$(PYTHON) -c 'import sys; sys.exit("Relayboard needs Python >= 3.11") if sys.version_info < (3, 11) else None'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.dev-installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@ $(VENV)/.installed

tmux:
	@command -v tmux >/dev/null || { echo "installing tmux"; $(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq tmux; }

node:
	@command -v npm >/dev/null || { echo "installing Node.js and npm"; $(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq nodejs npm; }

# The real agent CLIs (Claude Code, Codex) that the end-to-end tests drive, pinned, into .agents/ (git-ignored).
agents: node
	tools/agents.sh

run: $(VENV)/.installed tmux
	$(BIN)/relayboard demo

lint: $(VENV)/.dev-installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

test: $(VENV)/.dev-installed tmux agents lint
	$(BIN)/pytest -q -p no:cacheprovider

screenshots: $(VENV)/.dev-installed tmux
	$(BIN)/python screenshots/generate.py

bench: $(VENV)/.dev-installed tmux
	$(BIN)/python benchmarks/run_all.py

# Mutation testing of the call boundary's decisions ([tool.mutmut] in pyproject.toml); minutes, not part of CI.
mutate: $(VENV)/.dev-installed tmux
	$(BIN)/pip install --quiet "mutmut>=3.3,<4"
	rm -rf mutants
	$(BIN)/mutmut run --max-children 2; $(BIN)/mutmut results

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache *.egg-info snapshot_report.html mutants
