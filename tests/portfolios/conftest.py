"""A hand-made market for backtest tests, and fake model scores in a copied warehouse."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import numpy as np
import pytest

from portfolios.backtest import Market
from portfolios.constraints import PortfolioConstraints


def make_market(days: int = 80, stocks: int = 60, members: int = 20, industries: int = 5,
                rebalance_days: int = 5, seed: int = 0, suspend: bool = True) -> Market:
    """Random-walk prices, a VWAP between the previous close and the close, and an index whose
    weights drift with prices (as a real cap-weighted index does between reviews)."""
    rng = np.random.default_rng(seed)
    rets = rng.normal(0.0005, 0.02, (days, stocks))
    rets[0] = 0.0
    suspended = np.zeros((days, stocks), dtype=bool)
    if suspend:
        suspended[10:20, 0] = True          # a member (the first ones are members)
        suspended[30:33, stocks - 1] = True
        rets[suspended] = 0.0
    close = 100 * np.cumprod(1 + rets, axis=0)
    prev_close = np.vstack([close[:1], close[:-1]])
    vwap = prev_close + rng.uniform(0.2, 0.8, (days, stocks)) * (close - prev_close)
    vwap[suspended] = close[suspended]
    base = np.zeros(stocks)
    base[:members] = rng.lognormal(0, 0.5, members)
    bench = base * close / close[0]
    bench /= bench.sum(axis=1, keepdims=True)
    decisions = list(range(0, days - 1, rebalance_days))
    limit_up = np.zeros((days, stocks), dtype=bool)
    limit_down = np.zeros((days, stocks), dtype=bool)
    limit_up[rng.random((days, stocks)) < 0.01] = True
    limit_down[rng.random((days, stocks)) < 0.01] = True
    factors = len(PortfolioConstraints().factors)
    start = dt.date(2021, 1, 4)
    return Market(
        dates=[start + dt.timedelta(days=i) for i in range(days)],
        stocks=[f"{i:06d}.SZ" for i in range(stocks)],
        close=close, vwap=vwap, listed=np.ones((days, stocks), dtype=bool),
        suspended=suspended, limit_up=limit_up & ~suspended, limit_down=limit_down & ~suspended,
        in_universe=~suspended, bench=bench, decisions=decisions,
        exposures=rng.standard_normal((len(decisions), stocks, factors)),
        industry=np.tile(rng.integers(0, industries, stocks), (len(decisions), 1)),
        n_industries=industries, scores=rng.standard_normal((len(decisions), stocks)),
    )


@pytest.fixture
def market() -> Market:
    return make_market()


def write_fake_scores(home: Path, model: str, noise: float = 1.0, seed: int = 0) -> None:
    """scores.score_<model> in home's warehouse: the planted 5-day expected return + noise."""
    import duckdb
    import polars as pl

    from zoo.serving.scores import write_back

    warehouse = home / "warehouse.duckdb"
    con = duckdb.connect(str(warehouse), read_only=True)
    truth = con.execute(
        "SELECT S_INFO_WINDCODE AS stock_id, strptime(TRADE_DT, '%Y%m%d')::DATE AS trade_date, "
        "ER_5D AS er FROM truth.expected_return").pl()
    con.close()
    rng = np.random.default_rng(seed)
    noisy = truth["er"].to_numpy() + rng.normal(0, noise * truth["er"].std(), truth.height)
    frame = truth.with_columns(score=pl.Series(noisy), run_id=pl.lit("fake"))
    write_back(model, frame.select("stock_id", "trade_date", "score", "run_id"),
               apply=False, warehouse=warehouse)


@pytest.fixture
def scored_home(built_warehouse, tmp_path, monkeypatch) -> Path:
    """A copy of the built tiny market with fake scores for `fake_a` and `fake_b`; ZOO_HOME set."""
    home = tmp_path / "home"
    home.mkdir()
    shutil.copy(built_warehouse / "warehouse.duckdb", home / "warehouse.duckdb")
    monkeypatch.setenv("ZOO_HOME", str(home))
    write_fake_scores(home, "fake_a", noise=0.5, seed=1)
    write_fake_scores(home, "fake_b", noise=3.0, seed=2)
    return home
