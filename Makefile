# The two commands of the Quickstart: `make demo` and `make test`.
# Everything else (venvs, Debian audio tools) is installed on demand.
PYTHON ?= python3
VENV   := .venv
SAMV   := .venv-sam
BIN    := $(VENV)/bin
SAM    := $(SAMV)/bin/sam
export AWS_DEFAULT_REGION ?= us-east-1
export SAM_CLI_TELEMETRY := 0

.PHONY: demo test test-fast lint build bench bench-content-id venv sam-venv audio-tools music clean

venv: $(VENV)/.installed
$(VENV)/.installed: requirements-dev.txt layers/gatekeeper/requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check -r requirements-dev.txt
	$(BIN)/pip install -q --disable-pip-version-check --no-deps -e .
	touch $@

sam-venv: $(SAMV)/.installed
$(SAMV)/.installed: requirements-sam.txt
	$(PYTHON) -m venv $(SAMV)
	$(SAMV)/bin/pip install -q --disable-pip-version-check -r requirements-sam.txt
	touch $@

audio-tools:
	./scripts/install-audio-tools.sh

# Real music for the content-identification tests and benchmark (Debian packages, never committed).
music:
	./scripts/install-music.sh

demo: venv
	$(BIN)/gatekeeper demo

test: venv sam-venv audio-tools music
	SAM_CLI=$(abspath $(SAM)) $(BIN)/python -m pytest -n 2 --dist loadfile -q

# The suite without the SAM CLI steps (lint/build of the template).
test-fast: venv audio-tools music
	$(BIN)/python -m pytest -n 2 --dist loadfile -q -m "not slow"

lint: venv sam-venv
	$(BIN)/cfn-lint template.yaml
	$(SAM) validate --lint

build: sam-venv
	$(SAM) build

bench: venv
	$(BIN)/python -m bench

# Content identification on real music: robustness table and costs (QUICK=1: a subset).
bench-content-id: venv audio-tools music
	$(BIN)/python -m bench.content_id $(if $(QUICK),--quick)

clean:
	rm -rf $(VENV) $(SAMV) .aws-sam .pytest_cache
