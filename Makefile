# kubedc.ovn_tuning — developer and CI entry points.
# `make demo` and `make test` work on a fresh Debian machine: they install what they need.

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
VPY := $(VENV)/bin/python
COLLECTIONS := .build/collections
LINK := $(COLLECTIONS)/ansible_collections/kubedc/ovn_tuning
export ANSIBLE_COLLECTIONS_PATH := $(CURDIR)/$(COLLECTIONS)
PYTEST_ARGS ?=

.PHONY: deps apt venv link test unit functional demo docs check-docs build clean

deps: apt venv link

apt:
	@if ! command -v ovsdb-server >/dev/null || ! command -v ovn-controller >/dev/null || ! command -v ovn-northd >/dev/null; then \
	  echo "installing ovn-central ovn-host (needs root)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq ovn-central ovn-host >/dev/null; \
	fi

$(VENV)/.installed: requirements.txt requirements-test.txt
	$(PYTHON) -m venv $(VENV)
	$(VPY) -m pip install -q --upgrade pip
	$(VPY) -m pip install -q -r requirements-test.txt
	touch $@

venv: $(VENV)/.installed

link:
	@mkdir -p $(dir $(LINK))
	@[ -e $(LINK) ] || ln -sfn ../../../.. $(LINK)

# The README's test command.
test: deps check-docs
	$(VPY) -m pytest -p no:cacheprovider $(PYTEST_ARGS) tests

unit: deps
	$(VPY) -m pytest -p no:cacheprovider $(PYTEST_ARGS) tests/unit

docs: venv link
	PYTHONPATH=$(COLLECTIONS) $(VPY) -m ansible_collections.kubedc.ovn_tuning.plugins.module_utils.tunables > docs/tunables.md

check-docs: venv link
	@PYTHONPATH=$(COLLECTIONS) $(VPY) -m ansible_collections.kubedc.ovn_tuning.plugins.module_utils.tunables | diff -u docs/tunables.md - \
	  || { echo "docs/tunables.md is out of date with plugins/module_utils/tunables.py: run 'make docs'"; exit 1; }

# The README's first command: a demo rollout against a local lab of real OVN databases.
demo: deps
	@if [ -f playbooks/demo.yml ]; then \
	  $(VENV)/bin/ansible-playbook -i localhost, -c local -e ansible_python_interpreter=$(CURDIR)/$(VPY) playbooks/demo.yml; \
	else echo "demo: not yet available (the staged rollout roles are still to come)"; fi

build: venv
	$(VENV)/bin/ansible-galaxy collection build --force --output-path .build/dist .

clean:
	rm -rf .build $(VENV)
