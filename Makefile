# The two commands a newcomer needs: `make train` and `make test`.
# Both create .venv with the Python found as $(PYTHON) and install winner into it.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SENTENCE := Not all museums in Paris are amazing.

.PHONY: train test bench install clean

$(VENV)/.installed-runtime: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml $(VENV)/.installed-runtime
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test]'
	touch $@

install: $(VENV)/.installed-runtime

train: $(VENV)/.installed-runtime
	$(BIN)/winner train configs/default.yaml
	$(BIN)/winner predict "$(SENTENCE)"

test: $(VENV)/.installed-test
	$(BIN)/python -m pytest

# Speed figures (medians of several runs) beside the PyTorch reference when torch is importable.
# Writes only under runs/bench/.
bench: $(VENV)/.installed-runtime
	$(BIN)/python tests/bench.py

clean:
	rm -rf $(VENV) runs .pytest_cache .hypothesis
