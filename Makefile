# The two entry points of README.md. Both install what they need first.
PYTHON ?= python3

.PHONY: install demo test lint

install:
	$(PYTHON) -m pip install -q -e '.[test]'

demo: install
	hubtree demo

test: install
	scripts/with-test-services.sh $(PYTHON) -m pytest -q

lint: install
	ruff check .
