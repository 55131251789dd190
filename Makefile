# The two entry points of README.md. Both install what they need first.
PYTHON ?= python3

.PHONY: install demo test lint bench

install:
	$(PYTHON) -m pip install -q -e '.[test]'

demo: install
	hubtree demo

test: install
	scripts/with-test-services.sh $(PYTHON) -m pytest -q

lint: install
	ruff check .

SCALE ?= 200k
bench: install  # the benchmarks of docs/PERFORMANCE.md (SCALE=200k or 1m; takes minutes to an hour)
	$(PYTHON) bench/run_all.py --scale $(SCALE)
