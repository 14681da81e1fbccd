# queuemodel: every target sets up its own virtual environment first.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: reproduce test test-slow test-laws search-laws bench derive clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

## reproduce: the paper's figures and claim report from the model (figures/out/)
reproduce: $(STAMP)
	$(BIN)/queuemodel reproduce --out figures/out

## test: the whole default test suite (what CI runs)
test: $(STAMP)
	$(BIN)/python -m pytest

## test-slow: the long simulation-oracle runs (pytest -m slow; a few minutes)
test-slow: $(STAMP)
	$(BIN)/python -m pytest -m slow

## test-laws: the property tests with fresh random examples (HYPOTHESIS_PROFILE=dev; minutes;
##            LAWS_PROFILE=deep for 1,500 examples each, 9-13 minutes here)
LAWS_PROFILE ?= dev
test-laws: $(STAMP)
	HYPOTHESIS_PROFILE=$(LAWS_PROFILE) $(BIN)/python -m pytest \
		tests/test_properties.py tests/test_flows.py \
		tests/test_latency.py tests/test_whatif.py tests/test_api.py tests/test_parallel.py \
		tests/test_levers.py tests/test_copy_misses.py tests/test_readers.py tests/test_attribute.py \
		tests/test_livelock.py tests/test_outcome_spread.py tests/test_fragment_waste.py \
		tests/test_idle_states.py tests/test_path_files.py tests/test_forward_tso.py \
		tests/test_rx_checksum.py

## search-laws: the laws over 240,000 random scenarios in vectorised grids, nine monotone
##              laws along their axes and the stage-cost law (a minute or two; SEED=n)
SEED ?= 0
search-laws: $(STAMP)
	$(BIN)/python tests/search_laws.py --seed $(SEED)

## bench: speed targets (pytest-benchmark; not part of the default run)
bench: $(STAMP)
	$(BIN)/python -m pytest tests/benchmarks -m benchmark --benchmark-columns=min,mean,max,rounds

## derive: write derivations/DERIVATIONS.md from the sympy derivations
derive: $(STAMP)
	$(BIN)/python -m derivations

clean:
	rm -rf $(VENV) .hypothesis .benchmarks *.egg-info
