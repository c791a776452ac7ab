"""Known-answer cases for the factor measures on hand-made panels."""

from __future__ import annotations

import math
from datetime import date

import numpy as np
import pandas as pd
import polars as pl
import pytest

from tests.evaluate.panels import make_panel
from zoo.evaluate import ic, topn


def test_factor_equal_to_label_has_rank_ic_one():
    panel = make_panel(days=20).with_columns(pl.col("ret_vwap_5").alias("factor"))
    series = ic.rank_ic(panel, 5, "vwap", step=1)
    assert series.height == 20
    assert np.allclose(series["ic"].to_numpy(), 1.0, atol=1e-12)
    assert ic.ic_summary(series)["win_rate"] == 1.0


def test_random_factor_has_ic_near_zero():
    series = ic.rank_ic(make_panel(stocks=300, days=200, seed=3), 5, "close", step=1)
    stats = ic.ic_summary(series)
    # 200 dates of 300 stocks: the mean IC's standard error is about 0.004
    assert abs(stats["mean"]) < 0.015
    assert 0.3 < stats["win_rate"] < 0.7


def test_reversed_factor_flips_the_sign():
    panel = make_panel(days=30, signal=1.0, seed=5)
    forward = ic.rank_ic(panel, 10, "vwap", step=1)
    backward = ic.rank_ic(panel.with_columns(-pl.col("factor")), 10, "vwap", step=1)
    assert ic.ic_summary(forward)["mean"] > 0.3
    assert np.allclose(forward["ic"].to_numpy(), -backward["ic"].to_numpy(), atol=1e-12)


def test_ic_uses_only_universe_stocks_unless_asked():
    panel = make_panel(stocks=50, days=5, signal=1.0)
    outside = panel.with_columns(
        pl.when(pl.col("stock_id") < "000010.SZ").then(False).otherwise(True)
        .alias("in_universe"))
    assert (ic.rank_ic(outside, 5, step=1)["stocks"] == 40).all()
    assert (ic.rank_ic(outside, 5, step=1, universe_only=False)["stocks"] == 50).all()


def test_quantiles_are_pandas_qcut():
    rng = np.random.default_rng(1)
    for n in (7, 10, 57, 300):
        values = rng.standard_normal(n)
        frame = pl.DataFrame({"trade_date": [date(2020, 1, 1)] * n, "x": values})
        ours = frame.select(ic.quantile_expr("x", 10))["x"].to_numpy()
        expected = pd.qcut(values, 10, labels=False) + 1
        assert (ours == expected).all(), n


def test_autocorrelation_of_a_constant_ranking_is_one():
    panel = make_panel(stocks=40, days=6).with_columns(
        pl.col("stock_id").str.slice(0, 6).cast(pl.Int64).cast(pl.Float64).alias("factor"))
    auto = ic.autocorrelation(panel, 1)
    assert auto.height == 5
    assert np.allclose(auto["autocorr"].to_numpy(), 1.0)


def test_fees_lower_returns_by_turnover_times_fee():
    panel = make_panel(stocks=200, days=40, signal=0.5, seed=2, step=5)
    data = topn.dense(panel, 5)
    free = topn.simulate(data, "top10pct", fee=0.0)
    paid = topn.simulate(data, "top10pct", fee=0.003)
    assert (free["gross"] == paid["gross"]).all()
    assert (free["net"] == free["gross"]).all()
    # the fee is two-sided: 0.3% per unit of buy-plus-sell, 0.15% per yuan traded either way
    assert np.array_equal(paid["net"].to_numpy(),
                          (paid["gross"] - paid["turnover"] * 0.003 / 2).to_numpy())
    assert paid["turnover"][0] == pytest.approx(1.0)  # bought from cash
    assert (paid["turnover"] <= 2.0 + 1e-12).all()


def test_turnover_of_a_full_swap_is_two():
    """Four stocks, top 2; the ranking reverses: the whole book is sold and bought again."""
    rows = []
    for day, order in enumerate(([4.0, 3.0, 2.0, 1.0], [1.0, 2.0, 3.0, 4.0])):
        for stock, value in enumerate(order):
            rows.append({"stock_id": f"s{stock}", "trade_date": date(2020, 1, 1 + day),
                         "day_index": day, "factor": value, "in_universe": True,
                         "ret_vwap_1": 0.0, "hold_vwap_1": 0.0, "buyable": True,
                         "sellable": True})
    data = topn.dense(pl.DataFrame(rows), 1, top_n=2)
    run = topn.simulate(data, "top100", fee=0.003)
    assert run["turnover"].to_list() == pytest.approx([1.0, 2.0])
    assert run["net"].to_list() == pytest.approx([-0.0015, -0.003])


def _tradability_panel(buyable_s0: bool, sellable_s0: bool,
                       suspended_s0: bool = False) -> pl.DataFrame:
    """s0 ranks first on day 0, s1 from day 1 on; on day 1 s0 may be unbuyable, unsellable or
    suspended at T+1 (then its label is NULL and a holder earns 5 %)."""
    rows = []
    for day, (f0, f1) in enumerate(((2.0, 1.0), (1.0, 2.0), (1.0, 2.0))):
        for stock, value in (("s0", f0), ("s1", f1)):
            ret = 0.01 if stock == "s0" else 0.02
            suspended = suspended_s0 and stock == "s0" and day == 1
            rows.append({"stock_id": stock, "trade_date": date(2020, 1, 1 + day),
                         "day_index": day, "factor": value, "in_universe": True,
                         "ret_vwap_1": None if suspended else ret,
                         "hold_vwap_1": 0.05 if suspended else ret,
                         "buyable": (buyable_s0 if stock == "s0" else True) and not suspended,
                         "sellable": (sellable_s0 if (stock == "s0" and day == 1) else True)
                         and not suspended})
    return pl.DataFrame(rows)


def test_an_unbuyable_stock_is_never_bought():
    run = topn.simulate(topn.dense(_tradability_panel(False, True), 1, top_n=1),
                              "top100")
    assert run["holdings"].to_list() == [0, 1, 1]
    assert run["gross"].to_list() == pytest.approx([0.0, 0.02, 0.02])


def test_an_unsellable_held_stock_stays_held():
    run = topn.simulate(topn.dense(_tradability_panel(True, False), 1, top_n=1),
                              "top100")
    # day 1: s0 cannot be sold, s1 is bought beside it (equal weights); day 2: s0 is sold
    assert run["holdings"].to_list() == [1, 2, 1]
    assert run["gross"].to_list() == pytest.approx([0.01, 0.015, 0.02])


def test_a_held_stock_suspended_at_t1_earns_its_holders_return():
    """Its label is NULL (nobody could buy it), but the holder who cannot sell it earns its
    move through the suspension, not zero; the benchmark leaves it out."""
    run = topn.simulate(topn.dense(_tradability_panel(True, True, suspended_s0=True), 1,
                                   top_n=1), "top100")
    assert run["holdings"].to_list() == [1, 2, 1]
    assert run["gross"].to_list() == pytest.approx([0.01, (0.05 + 0.02) / 2, 0.02])
    assert run["benchmark"].to_list() == pytest.approx([0.015, 0.02, 0.015])


def test_excess_annualisation_and_drawdown():
    excess = pl.Series([0.01] * 48)  # 48 weekly periods at 242 / 5 a year
    assert topn.annualised(excess, 5) == pytest.approx(1.01 ** (242 / 5) - 1)
    nav = pl.Series([1.1, 0.99, 1.2, 0.9])
    assert topn.max_drawdown(nav) == pytest.approx(1 - 0.9 / 1.2)
    assert math.isnan(topn.annualised(pl.Series([], dtype=pl.Float64), 5))
