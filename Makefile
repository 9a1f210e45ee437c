# Two commands do all the set-up: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: run test install install-dev lint clean

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(VENV)/bin/python
	$(PY) -m pip install --quiet -e .
	@touch $@

$(VENV)/.installed-dev: pyproject.toml | $(VENV)/bin/python
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $@ $(VENV)/.installed

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

# DEMO=1 also starts the Issuetrak simulator on :8765 and adds three demo connections.
DEMO ?=
PROCFILE := $(if $(filter 1,$(DEMO)),Procfile.demo,Procfile)
ifeq ($(DEMO),1)
export ISSUETRAK_ALLOW_HTTP := 1
# The simulator listens on 127.0.0.1:8765, which the outbound policy refuses by default.
export ISSUETRAK_ALLOWED_NETWORKS := 127.0.0.1/32
export ISSUETRAK_ALLOWED_PORTS := 8765
endif

## make run: install, migrate, create the first sysadmin, start web + worker + beat (Ctrl-C stops all)
run: install
	@test -f .env || cp .env.example .env
	$(PY) manage.py migrate --noinput
	$(PY) manage.py bootstrap_admin
	$(if $(filter 1,$(DEMO)),$(PY) manage.py demo_setup)
	@echo "Open http://127.0.0.1:8000/ (Ctrl-C stops everything)"
	$(VENV)/bin/honcho start -f $(PROCFILE)

## make test: install the dev extras and run the whole suite
test: install-dev
	$(PY) -m pytest

lint: install-dev
	$(VENV)/bin/ruff check .

clean:
	rm -rf $(VENV) data/test
