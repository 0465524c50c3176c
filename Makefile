# Quickstart targets: `make run` (main job on the shipped default scenario) and `make test`.
# Both build .venv with a Python >= 3.12 found by tools/find-python (an existing .venv on an
# older Python is rebuilt). `make run SCENARIO=scenarios/trapped-ion.toml` runs another one.
VENV     ?= .venv
PY       := $(VENV)/bin/python
SCENARIO ?= scenarios/paper-ideal.toml

.PHONY: run test lint venv clean

# Create the venv (or rebuild one made with Python < 3.12).
venv:
	@if ! $(PY) -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null; then \
	  PYTHON=$$(tools/find-python) || exit 1; \
	  echo "creating $(VENV) with $$PYTHON"; rm -rf $(VENV); "$$PYTHON" -m venv $(VENV); \
	fi

$(VENV)/.installed-test: pyproject.toml | venv
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	touch $@

# dev extras include the test extras, so they satisfy both markers.
$(VENV)/.installed-dev: pyproject.toml | venv
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $@ $(VENV)/.installed-test

run: $(VENV)/.installed-test
	$(VENV)/bin/qnet run $(SCENARIO)

# -n auto: one pytest-xdist worker per core (every test is seeded on its own).
test: $(VENV)/.installed-test
	$(PY) -m pytest -q -n auto

lint: $(VENV)/.installed-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

clean:
	rm -rf $(VENV)
