# make demo: set up .venv and run the pipeline on the synthetic market.
# make test: set up .venv and run the default test suite.
# make test-spark: add the spark extra (pyspark; needs Java 17+) and run the Spark tests.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
SPARK_STAMP := $(VENV)/.spark-stamp
export ZOO_HOME ?= $(CURDIR)/data

# The demo: a smaller market, two test years and a short training, so that `make demo` takes
# about 4 minutes on a quiet 2-core CPU (measured step by step: README, "The demo"). The two
# models train side by side, one thread each (a small GRU gains little from a second thread,
# and two runs sharing both cores oversubscribe them); their lines are prefixed with the model.
# The research configuration, for the README's benchmark figures, is the default market
# (`zoo data synth`: 500 stocks, 2016-2024.06) and zoo/train/config.py's defaults (5 training
# years, every day of each, up to 30 epochs, test years from 2017), or `zoo bench zoo`.
# The market's last trading day is held out as the next evening's extract, which `zoo daily`
# loads after training: the daily cycle, scores of a day no training saw included.
DEMO_MARKET ?= --stocks 400 --start 20180101 --end 20231231 --hold-out-days 1
DEMO_TRAIN ?= --quiet --set model.hidden_channels=32 --set days_per_epoch=240 \
	--set max_epochs=4 --set patience=2 --set train_years=2 --set first_test_year=2022
SHELL := bash

.PHONY: demo test test-spark lint bench clean

# requirements.lock pins every package (pip constraints), so a fresh machine gets the same
# versions; torch==2.13.0 is the CPU wheel that lies on this machine's disk.
$(STAMP): pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c requirements.lock torch==2.13.0
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c requirements.lock -e '.[dev]'
	touch $(STAMP)

# synth -> features -> Feast -> train and score biagru_gat and its baseline biagru -> the next
# evening (`zoo daily`: load, refresh, export, online store, score the new day) -> factor
# evaluation -> CSI 500 / CSI 1000 enhanced-index backtests -> the HTML report (path printed)
demo: $(STAMP)
	$(BIN)/zoo data synth $(DEMO_MARKET)
	$(BIN)/sqlmesh -p transforms plan --auto-apply --no-prompts
	$(BIN)/zoo data summary
	$(BIN)/zoo features apply
	$(BIN)/zoo features get --service portfolio_inputs_v1 --sample 5
	set -o pipefail; pids=; for model in biagru_gat biagru; do \
	  OMP_NUM_THREADS=1 $(BIN)/zoo train $$model $(DEMO_TRAIN) 2>&1 \
	    | sed -u "s/^/[$$model] /" & pids="$$pids $$!"; done; \
	status=0; for pid in $$pids; do wait $$pid || status=1; done; exit $$status
	$(BIN)/zoo score biagru_gat
	$(BIN)/zoo score biagru
	$(BIN)/zoo daily --extract "$$(ls -d $(ZOO_HOME)/synth/extracts/* | tail -1)"
	$(BIN)/zoo eval biagru_gat biagru oracle --horizon 5,20
	for model in biagru_gat biagru; do for index in csi500 csi1000; do \
	  for universe in all constituents80; do \
	    $(BIN)/zoo backtest $$model --index $$index --universe $$universe || exit 1; \
	  done; done; done
	$(BIN)/zoo report biagru_gat biagru oracle --demo

test: $(STAMP)
	$(BIN)/python -m pytest

# SQLMesh's spark gateway on local Spark (tests marked `spark`, left out of `make test`): the
# tiny market built on DuckDB and on Spark, table for table (README "Scaling out").
$(SPARK_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c requirements.lock -e '.[dev,spark]'
	touch $(SPARK_STAMP)

test-spark: $(SPARK_STAMP)
	OMP_NUM_THREADS=1 $(BIN)/python -m pytest -m spark

lint: $(STAMP)
	$(BIN)/ruff check zoo portfolios tests transforms feature_repo

clean:
	rm -rf $(VENV) data
