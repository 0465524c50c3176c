# Quickstart targets: `make run` (main job on the shipped default scenario) and `make test`.
# Both build .venv with a Python >= 3.12 found by tools/find-python.
VENV   ?= .venv
PY     := $(VENV)/bin/python
SCENARIO ?= scenarios/paper-ideal.toml

.PHONY: run test lint bench clean

$(VENV)/.installed-%: pyproject.toml
	@test -x $(PY) || "$$(tools/find-python)" -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[$*]'
	@rm -f $(VENV)/.installed-*; touch $@

run: $(VENV)/.installed-test
	$(VENV)/bin/qnet run $(SCENARIO)

test: $(VENV)/.installed-test
	$(PY) -m pytest -q

lint: $(VENV)/.installed-dev
	$(VENV)/bin/ruff check qnet nodes protocols tests benchmarks

clean:
	rm -rf $(VENV)
