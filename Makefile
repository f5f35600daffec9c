# The two commands of the Quickstart: `make demo` and `make test`.
# Everything else (venvs, Debian audio tools, iproute2 for the benchmark's shaped
# link) is installed on demand.
PYTHON ?= python3
VENV   := .venv
SAMV   := .venv-sam
CKV    := .venv-checkov
BIN    := $(VENV)/bin
SAM    := $(SAMV)/bin/sam
CHECKOV := $(CKV)/bin/checkov
export AWS_DEFAULT_REGION ?= us-east-1
export SAM_CLI_TELEMETRY := 0

.PHONY: demo test test-fast lint build bench bench-content-id venv sam-venv checkov-venv audio-tools netshape music clean

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

# checkov in its own venv too: it pins many packages (boto3 among them) of its own.
checkov-venv: $(CKV)/.installed
$(CKV)/.installed: requirements-checkov.txt
	$(PYTHON) -m venv $(CKV)
	$(CKV)/bin/pip install -q --disable-pip-version-check -r requirements-checkov.txt
	touch $@

audio-tools:
	./scripts/install-audio-tools.sh

# iproute2 (ip, tc): the benchmark's shaped link (bench/shaped.py) and its tests.
netshape:
	./scripts/install-netshape.sh

# Real music for the content-identification tests and benchmark (Debian packages, never committed).
music:
	./scripts/install-music.sh

# The content-identification scene needs the music (and the content-id extra, which the venv has).
demo: venv music
	$(BIN)/gatekeeper demo

test: venv sam-venv checkov-venv audio-tools netshape music
	SAM_CLI=$(abspath $(SAM)) CHECKOV=$(abspath $(CHECKOV)) $(BIN)/python -m pytest -n 2 --dist loadfile -q

# The suite without the slow steps (SAM CLI, checkov, building and installing the wheel,
# the benchmark's shaped link); the benchmark smoke run still shapes when it can.
test-fast: venv audio-tools netshape music
	$(BIN)/python -m pytest -n 2 --dist loadfile -q -m "not slow"

lint: venv sam-venv checkov-venv
	$(BIN)/cfn-lint template.yaml
	$(SAM) validate --lint
	$(CHECKOV) --file template.yaml --framework cloudformation --skip-download --compact

build: sam-venv
	$(SAM) build

# Every measurement: decisions, hostile files, consent propagation, then content
# identification on real music (its queries are cached under bench/results/).
bench: venv netshape audio-tools music
	$(BIN)/python -m bench
	$(BIN)/python -m bench.content_id $(if $(QUICK),--quick)

# Content identification on real music: robustness table and costs (QUICK=1: a subset).
bench-content-id: venv audio-tools music
	$(BIN)/python -m bench.content_id $(if $(QUICK),--quick)

clean:
	rm -rf $(VENV) $(SAMV) $(CKV) .aws-sam .pytest_cache
