# WatchDog Lab developer entry points. `make lab` to use it, `make test` to check it.
#
# Everything lives in .venv; the install step is skipped while its stamp is newer than
# pyproject.toml and the front-end sources, so a second `make test` goes straight to the tests.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
.DELETE_ON_ERROR:

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
PIP := $(PY) -m pip --disable-pip-version-check
CHROMIUM ?= /usr/bin/chromium

# A change to any of these rebuilds the front end and reinstalls the package.
INSTALL_INPUTS := pyproject.toml jupyter-config/server-config/watchdog_lab.json \
	labextension/package.json labextension/yarn.lock labextension/tsconfig.json \
	labextension/.yarnrc.yml labextension/install.json \
	$(shell find labextension/src labextension/style labextension/schema -type f 2>/dev/null)
LAB_STAMP := $(VENV)/.watchdog-lab-lab.stamp
TEST_STAMP := $(VENV)/.watchdog-lab-test.stamp
# The Jupyter Enterprise Gateway the gateway tests start: a venv of its own, since it pins
# older Jupyter libraries than WatchDog Lab needs (tests/gateway/requirements.txt).
GATEWAY_VENV ?= .venv-gateway
GATEWAY_REQUIREMENTS := tests/gateway/requirements.txt
GATEWAY_STAMP := $(GATEWAY_VENV)/.gateway.stamp

# JupyterLab refuses to run as root unless told to.
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--ServerApp.allow_root=True,)
LAB_ARGS ?=

.PHONY: help venv install install-lab gateway-venv system-packages lab test test-js lint docs bench clean distclean

help:
	@echo "make lab        create .venv, install WatchDog Lab with JupyterLab, start JupyterLab"
	@echo "make test       install test dependencies (and Debian chromium), run make lint, docs, pytest, jest"
	@echo "make install    install the package in development mode with the test extra"
	@echo "make test-js    run the front end's unit tests (jest)"
	@echo "make lint       ruff check and format, mypy, TypeScript type check, prettier, eslint"
	@echo "make docs       build the docs site into build/docs/html (warnings are errors)"
	@echo "make bench      run the benchmarks (benchmarks/bench_*.py)"
	@echo "make clean      remove build outputs and install stamps (keeps .venv, node_modules)"
	@echo "make distclean  clean, then also remove .venv and the front end's node_modules"

venv: $(PY)

$(PY):
	$(PYTHON) -m venv $(VENV)

# pip runs the hatch jupyter-builder hook, which runs `jlpm install` and `jlpm build:prod` in
# labextension/ and ships the bundle to share/jupyter/labextensions/watchdog-lab.
$(LAB_STAMP): $(PY) $(INSTALL_INPUTS)
	$(PIP) install -e ".[lab]"
	touch $@

# The test extra includes JupyterLab, so it also satisfies `make lab`.
$(TEST_STAMP): $(PY) $(INSTALL_INPUTS)
	$(PIP) install -e ".[test]"
	touch $@ $(LAB_STAMP)

install-lab: $(LAB_STAMP)

install: $(TEST_STAMP)

$(GATEWAY_STAMP): $(TEST_STAMP) $(GATEWAY_REQUIREMENTS)
	$(BIN)/uv venv -q --allow-existing --python $(PY) $(GATEWAY_VENV)
	$(BIN)/uv pip install -q --python $(GATEWAY_VENV)/bin/python -r $(GATEWAY_REQUIREMENTS)
	touch $@

gateway-venv: $(GATEWAY_STAMP)

# System packages the tests use: Debian's chromium (browser tests), bubblewrap (the bot
# sandbox's fallback level), postgresql (vault sync runs a throwaway cluster) and libfaketime
# (a bot runner's wall clock jumps while its schedule holds). Without them
# the tests fail in CI and skip elsewhere (the sync tests fail everywhere: they never skip).
system-packages:
	@missing=""; \
	[ -x "$(CHROMIUM)" ] || missing="$$missing chromium"; \
	command -v bwrap >/dev/null || missing="$$missing bubblewrap"; \
	ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing="$$missing postgresql"; \
	ls /usr/lib/*/faketime/libfaketime.so.1 >/dev/null 2>&1 || missing="$$missing libfaketime"; \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ]; then sudo=""; \
	elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then sudo="sudo -n"; \
	else \
		echo "missing system packages:$$missing; apt-get needs root: run 'sudo apt-get install$$missing'." >&2; \
		case "$${CI:-}" in 1|true|yes) exit 1;; esac; \
		echo "Continuing: the tests that need them will be skipped." >&2; exit 0; \
	fi; \
	echo "make test: installing Debian packages with apt-get$${sudo:+ (through sudo)}:$$missing" >&2; \
	export DEBIAN_FRONTEND=noninteractive; \
	$$sudo apt-get update -qq && $$sudo apt-get install -y -qq $$missing

lab: $(LAB_STAMP)
	$(BIN)/jupyter lab $(ROOT_FLAG) $(LAB_ARGS)

# Pytest workers: most tests wait on kernels, servers, venv builds and browsers, so two workers
# halve the suite even on two cores. Each test module stays on one worker (its module-scoped
# browser and servers with it); each worker's kernels take TCP ports from a range of their own
# (tests/ports.py). `make test PYTEST_WORKERS=0` runs it in one process.
PYTEST_WORKERS ?= 2

# CI runs this: the whole lint first (it is fast and fails early), the docs site (seconds),
# then pytest and jest.
test: $(TEST_STAMP) $(GATEWAY_STAMP) system-packages
	$(MAKE) lint
	$(MAKE) docs
	$(PY) -m pytest -n $(PYTEST_WORKERS) --dist loadfile
	$(MAKE) test-js

# The front end's unit tests (jest). The install step's `jlpm install` brings jest; it is run
# again only if node_modules was removed since.
test-js: $(TEST_STAMP)
	cd labextension && { [ -x node_modules/.bin/jest ] || ../$(BIN)/jlpm install; } && ../$(BIN)/jlpm test

lint: $(TEST_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	cd labextension && ../$(BIN)/jlpm typecheck
	cd labextension && ../$(BIN)/jlpm lint:check

# The docs site: the Markdown pages of docs/, with the configuration, CLI, %wd, REST and
# connection-kind references generated from the code (docs/_ext/). Warnings are errors, so a
# broken link, image or page fails here and in `make test`; -E re-reads every page, since the
# references' sources are code that Sphinx does not watch.
DOCS_OUT ?= build/docs/html
docs: $(TEST_STAMP)
	$(PY) -m sphinx -b html -E -W --keep-going -q -d build/docs/doctrees docs $(DOCS_OUT)
	@echo "The docs are in $(DOCS_OUT)/index.html"

bench: $(TEST_STAMP)
	@shopt -s nullglob; scripts=(benchmarks/bench_*.py); \
	if [ $${#scripts[@]} -eq 0 ]; then echo "No benchmarks/bench_*.py yet."; fi; \
	for script in "$${scripts[@]}"; do echo "== $$script"; $(PY) "$$script"; done

clean:
	rm -rf labextension/lib labextension/tsconfig.tsbuildinfo labextension/coverage watchdog_lab/labextension \
		build dist .pytest_cache .ruff_cache .mypy_cache $(LAB_STAMP) $(TEST_STAMP)
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -prune -exec rm -rf {} +

distclean: clean
	rm -rf $(VENV) $(GATEWAY_VENV) labextension/node_modules labextension/.yarn
