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

.PHONY: deps apt venv link test unit functional demo bench docs check-docs build clean \
	check sanity units-ansible-test lint docs-render changelog-lint ee-check molecule

deps: apt venv link

# The lab's hosts (tests/lab, docs/lab.md): OVN's daemons and CLIs, sshd, Debian's python3 with the
# ovs package, iproute2 for the network namespaces, util-linux for nsenter/unshare.
LAB_PACKAGES := ovn-central ovn-host openssh-server openssh-client python3-openvswitch iproute2 util-linux openssl
# The alert rules and the dashboard are tested with promtool and a real Prometheus over node_exporter.
MONITORING_PACKAGES := prometheus prometheus-node-exporter

apt:
	@if ! command -v ovsdb-server >/dev/null || ! command -v ovn-controller >/dev/null || ! command -v ovn-northd >/dev/null \
	    || ! test -x /usr/sbin/sshd || ! command -v ssh >/dev/null || ! command -v ip >/dev/null || ! command -v nsenter >/dev/null || ! command -v openssl >/dev/null \
	    || ! /usr/bin/python3 -c 'import ovs.db.idl' 2>/dev/null; then \
	  echo "installing $(LAB_PACKAGES) (needs root)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(LAB_PACKAGES) >/dev/null; \
	fi
	@if ! command -v promtool >/dev/null || ! command -v prometheus >/dev/null || ! command -v prometheus-node-exporter >/dev/null; then \
	  echo "installing $(MONITORING_PACKAGES) (needs root)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(MONITORING_PACKAGES) >/dev/null; \
	fi
	@if ! command -v shellcheck >/dev/null; then \
	  echo "installing shellcheck (needs root; used by ansible-test sanity)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq shellcheck >/dev/null; \
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
# Three workers on two cores (much of a rollout test is waiting: soaks, windows, SSH), one test file each
# at a time: a file's tests share their labs and fixtures. The files
# go out in collection order (tests/conftest.py puts the longest first), not by their number of tests.
PYTEST_WORKERS ?= 3
test: deps check-docs
	$(VPY) -m pytest -p no:cacheprovider -n $(PYTEST_WORKERS) --dist loadfile --no-loadscope-reorder --durations=15 $(PYTEST_ARGS) tests

unit: deps
	$(VPY) -m pytest -p no:cacheprovider $(PYTEST_ARGS) tests/unit

docs: venv link
	PYTHONPATH=$(COLLECTIONS) $(VPY) -m ansible_collections.kubedc.ovn_tuning.plugins.module_utils.tunables > docs/tunables.md
	PYTHONPATH=$(COLLECTIONS) $(VPY) -m ansible_collections.kubedc.ovn_tuning.plugins.module_utils.health_metrics > docs/metrics.md

check-docs: venv link
	@PYTHONPATH=$(COLLECTIONS) $(VPY) -m ansible_collections.kubedc.ovn_tuning.plugins.module_utils.tunables | diff -u docs/tunables.md - \
	  || { echo "docs/tunables.md is out of date with plugins/module_utils/tunables.py: run 'make docs'"; exit 1; }

# The README's first command: the staged rollout against a local lab of real OVN databases under
# injected faults, measured before and after (playbooks/demo.yml, docs/demo.md). The table is
# printed again at the end and kept in .build/demo/report.md (every number: report.json).
demo: deps
	$(VENV)/bin/ansible-playbook -i localhost, -c local playbooks/demo.yml
	@echo; cat .build/demo/report.md

# Benchmarks and fault drills (bench/run.py, docs/performance.md): reports in bench/results/.
# BENCH_ARGS e.g. "--only 5 --trials 5".
BENCH_ARGS ?=
bench: deps
	$(VPY) bench/run.py $(BENCH_ARGS)

# The Ansible ecosystem's own checks (.ci/run runs `make check`: the test suite, then these).
# Every part runs even when an earlier one failed; the summary gives each part's time and result, and
# for a failed part its failing tests (or last lines); each part's whole output is in .build/check/PART.log.
CHECK_PARTS := test sanity units-ansible-test lint changelog-lint molecule

check:
	@mkdir -p .build/check; summary=""; failed=""; details=""; \
	for part in $(CHECK_PARTS); do \
	  start=$$(date +%s); log=.build/check/$$part.log; \
	  $(MAKE) --no-print-directory $$part 2>&1 | tee $$log; \
	  if [ "$${PIPESTATUS[0]}" = 0 ]; then result=passed; else \
	    result=FAILED; failed="$$failed $$part"; \
	    details="$$details\n== $$part failed ($$log), its last words:\n$$( { grep -E '^(FAILED|ERROR) ' $$log || tail -n 15 $$log; } | cut -c1-400 | tail -n 20)"; \
	  fi; \
	  summary="$$summary\n  $$part: $$result in $$(( $$(date +%s) - start )) s"; \
	done; \
	printf "== make check:$$summary\n"; \
	printf "%b\n" "$$details"; \
	if [ -n "$$failed" ]; then echo "== make check FAILED:$$failed"; exit 1; fi

# ansible-test on a copy of the collection under .build/ansible-test/ansible_collections/kubedc/ovn_tuning.
sanity: apt venv
	tests/sanity/run.sh sanity

units-ansible-test: venv
	tests/sanity/run.sh units

# ANSIBLE_HOME of its own: ansible-lint puts <ANSIBLE_HOME>/collections first, and a copy of the
# collection installed in ~/.ansible (an older tarball) would then stand in for this tree.
lint: venv link
	ANSIBLE_HOME=$(CURDIR)/.build/ansible-home PATH=$(CURDIR)/$(VENV)/bin:$$PATH $(VENV)/bin/ansible-lint

# Also part of `make test` (tests/unit).
docs-render: venv link
	$(VPY) -m pytest -p no:cacheprovider $(PYTEST_ARGS) tests/unit/test_docs_render.py

changelog-lint: venv
	$(VENV)/bin/antsibull-changelog lint
	$(VENV)/bin/antsibull-changelog lint-changelog-yaml changelogs/changelog.yaml

# Also part of `make test` (tests/unit); building the image needs podman or docker (docs/awx.md).
ee-check: venv link
	$(VPY) -m pytest -p no:cacheprovider $(PYTEST_ARGS) tests/unit/test_execution_environment.py

# Scenarios in extensions/molecule (default driver, localhost, the lab of tests/lab).
molecule: deps
	PATH=$(CURDIR)/$(VENV)/bin:$$PATH $(VENV)/bin/molecule test --all

build: venv
	$(VENV)/bin/ansible-galaxy collection build --force --output-path .build/dist .

clean:
	rm -rf .build $(VENV)
