"""The portfolio benchmark's scratch warehouse has what the backtest reads."""

from __future__ import annotations

import pytest

from portfolios.backtest import BacktestConfig, backtest
from zoo.bench.portfolio import make_warehouse


def test_scratch_warehouse_runs_a_csi1000_backtest(tmp_path):
    warehouse = tmp_path / "warehouse.duckdb"
    size = make_warehouse(warehouse, days=40, stocks=400)
    assert size["stock_days"] == 40 * 400
    result = backtest("bench", BacktestConfig(index="csi1000"), warehouse=warehouse)
    assert result.rebalances.height == 8
    # the score is the next week's return plus noise: the portfolio should beat the index
    assert result.daily["excess_nav_gross"][-1] > 1.0


@pytest.mark.bench
def test_bench_rebalance_meets_its_target(tmp_path, monkeypatch):
    from zoo.bench.portfolio import time_rebalance

    monkeypatch.setenv("ZOO_HOME", str(tmp_path))
    figures = time_rebalance(repeats=3)
    assert figures["ours_median_s"] < figures["target_s"] == 0.5
    assert figures["max_objective_gap"] < 1e-6
    # the plain formulation's interior point stops within its tolerance of the optimal vertex
    assert figures["max_weight_gap"] < 1e-5
