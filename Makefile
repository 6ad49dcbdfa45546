# Two commands for a newcomer: `make demo` and `make test`. Both install first.
#
# `make install` installs exactly uv.lock (the versions CI tested) with uv, nothing resolved at
# install time. uv comes from PyPI: the one on PATH if it is the pinned version, otherwise it is
# installed once into .uv/ with `python -m pip`. `make lock` refreshes uv.lock after a change to
# pyproject.toml's ranges (tests/unit/test_dependency_parity.py fails until it is refreshed).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The uv release the lock was written with (uv.lock's format and `required-environments`).
UV_VERSION := 0.13.9
UV_HOME := .uv
UV := $(shell command -v uv >/dev/null 2>&1 && uv --version 2>/dev/null | grep -qx 'uv $(UV_VERSION)\( .*\)\?' && command -v uv || echo $(UV_HOME)/bin/uv)
# No interpreter downloads (only PyPI is reachable from the kit's machines): use $(PYTHON).
export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := $(VENV)
export PATH := $(abspath $(BIN)):$(PATH)

.PHONY: install lock demo test test-fast lint format clean help

help:
	@echo "make demo   - instala e executa o workshop inteiro no stack embutido (sem Docker)"
	@echo "make test   - instala e roda todos os testes"
	@echo "make lint   - ruff"
	@echo "make lock   - atualiza uv.lock depois de mudar as dependências em pyproject.toml"

$(UV_HOME)/bin/uv:
	$(PYTHON) -m venv $(UV_HOME)
	$(UV_HOME)/bin/python -m pip install --quiet --disable-pip-version-check 'uv==$(UV_VERSION)'

# Re-installs only when the lock or the package definition changed (idempotent, fast otherwise).
# --locked: fail instead of installing anything uv.lock does not say (a stale lock is an error).
# --compile-bytecode: the .pyc files are written once here (~14 s). Without them a Python that
# may not write bytecode (PYTHONDONTWRITEBYTECODE, set on CI machines and in the image) compiles
# pandas, scikit-learn and scipy from source at every start: `import workshop.feedback` took
# 5.9 s instead of 1.9 s, in every CLI call, kernel and service of the suite and the demo.
$(STAMP): uv.lock pyproject.toml | $(UV)
	$(UV) sync --locked --extra dev --compile-bytecode --python $(PYTHON) --quiet
	touch $(STAMP)

install: $(STAMP)

lock: | $(UV)
	$(UV) lock $(if $(UPGRADE),--upgrade) --python $(PYTHON)

demo: install
	$(BIN)/workshop demo

test: install
	$(BIN)/python -m pytest tests

test-fast: install
	$(BIN)/python -m pytest tests/unit

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) $(UV_HOME) runs .workshop
