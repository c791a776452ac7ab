# make demo: set up .venv and run the pipeline on the synthetic market.
# make test: set up .venv and run the default test suite.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
export ZOO_HOME ?= $(CURDIR)/data

# The demo's training: small enough for about ten minutes on a 2-core CPU (research runs use
# the defaults of zoo/train/config.py, or a GPU).
DEMO_TRAIN ?= --quiet --set model.hidden_channels=32 --set days_per_epoch=120 \
	--set max_epochs=4 --set patience=2 --set train_years=2 --set first_test_year=2021

.PHONY: demo test lint bench clean

# requirements.lock pins every package (pip constraints), so a fresh machine gets the same
# versions; torch==2.13.0 is the CPU wheel that lies on this machine's disk.
$(STAMP): pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c requirements.lock torch==2.13.0
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c requirements.lock -e '.[dev]'
	touch $(STAMP)

# synth -> features -> Feast -> train and score biagru_gat and its baseline biagru -> factor
# evaluation -> CSI 500 / CSI 1000 enhanced-index backtests -> the HTML report (path printed)
demo: $(STAMP)
	$(BIN)/zoo data synth
	cd transforms && ../$(BIN)/sqlmesh plan --auto-apply --no-prompts
	$(BIN)/zoo data summary
	$(BIN)/zoo features apply
	$(BIN)/zoo features get --service portfolio_inputs_v1 --sample 5
	$(BIN)/zoo train biagru_gat $(DEMO_TRAIN)
	$(BIN)/zoo score biagru_gat
	$(BIN)/zoo train biagru $(DEMO_TRAIN)
	$(BIN)/zoo score biagru
	$(BIN)/zoo eval biagru_gat biagru oracle --horizon 5,20
	for model in biagru_gat biagru; do for index in csi500 csi1000; do \
	  for universe in all constituents80; do \
	    $(BIN)/zoo backtest $$model --index $$index --universe $$universe || exit 1; \
	  done; done; done
	$(BIN)/zoo report biagru_gat biagru oracle

test: $(STAMP)
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check zoo portfolios tests transforms feature_repo

clean:
	rm -rf $(VENV) data
