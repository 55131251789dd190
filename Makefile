# The entry points of README.md. Each runs in a Python environment with hubtree installed: the active virtualenv
# ($VIRTUAL_ENV) if there is one, else ./.venv, made with uv when present, else with `python3 -m venv` (PEP 668
# systems refuse pip installs into the system interpreter). Installs again only when pyproject.toml changed.
PYTHON ?= python3
VENV := $(or $(VIRTUAL_ENV),$(CURDIR)/.venv)
PY := $(VENV)/bin/python
UV := $(shell command -v uv 2>/dev/null)
STAMP := $(VENV)/.hubtree-installed

.PHONY: install demo test lint bench FORCE

install: $(STAMP)

# The stamp holds the checkout it was installed from: an env shared by two checkouts installs again.
ifneq ($(shell cat '$(STAMP)' 2>/dev/null),$(CURDIR))
$(STAMP): FORCE
endif
$(STAMP): pyproject.toml | $(PY)
ifdef UV
	$(UV) pip install -q --python '$(PY)' -e '.[test]'
else
	'$(PY)' -m pip install -q --disable-pip-version-check -e '.[test]'
endif
	@echo '$(CURDIR)' > '$(STAMP)'

$(PY):
	@[ -z "$(VIRTUAL_ENV)" ] || { echo "make: $$VIRTUAL_ENV has no bin/python; deactivate it or fix it" >&2; exit 1; }
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null || [ -n "$(UV)" ] \
	  || { echo "make: hubtree needs Python >= 3.11 ($(PYTHON) is older or missing; PYTHON=python3.X picks another)" >&2; exit 1; }
ifdef UV
	$(UV) venv -q --allow-existing '$(VENV)'
else
	@$(PYTHON) -c 'import ensurepip' 2>/dev/null || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null \
	  && echo "make: installing python3-venv with apt-get (python3 -m venv needs it)" >&2 && apt-get update -qq \
	  && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3-venv >/dev/null; } \
	  || { echo "make: $(PYTHON) cannot make a virtualenv: install python3-venv (apt-get install python3-venv) or uv" >&2; exit 1; }
	$(PYTHON) -m venv '$(VENV)' || { rm -rf '$(VENV)'; exit 1; }
endif

demo: install
	'$(VENV)/bin/hubtree' demo

test: install
	scripts/with-test-services.sh '$(PY)' -m pytest -q

lint: install
	'$(VENV)/bin/ruff' check .

SCALE ?= 200k
bench: install  # the benchmarks of docs/PERFORMANCE.md (SCALE=200k, 1m or 3m; minutes at 200k, hours at 3m)
	'$(PY)' bench/run_all.py --scale $(SCALE)
