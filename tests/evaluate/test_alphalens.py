"""Rank IC and quantile returns agree with alphalens-reloaded, an independent implementation.

Both get the same inputs: alphalens' factor_data is built with `get_clean_factor` from our
panel's factor and label (so forward returns are not recomputed from prices, where the
definitions would differ). Where the definitions coincide -- Spearman per date with average
ranks, quantiles by pandas.qcut, equal-weighted mean return per quantile -- the numbers must
agree to 1e-6.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import polars as pl
import pytest

from tests.evaluate.panels import make_panel
from zoo.evaluate import ic

alphalens = pytest.importorskip("alphalens")


def _factor_data(panel: pl.DataFrame, label: str, quantiles: int) -> pd.DataFrame:
    from alphalens.utils import get_clean_factor

    frame = panel.select("trade_date", "stock_id", "factor", label).to_pandas()
    frame["trade_date"] = pd.to_datetime(frame["trade_date"])
    frame = frame.set_index(["trade_date", "stock_id"]).rename_axis(["date", "asset"])
    forward = frame[[label]].rename(columns={label: "5D"})
    forward.index = forward.index.set_levels(
        pd.DatetimeIndex(forward.index.levels[0], freq="5D"), level=0)
    return get_clean_factor(frame["factor"], forward, quantiles=quantiles, max_loss=1.0)


def _signal_panel(ties: bool) -> pl.DataFrame:
    panel = make_panel(stocks=150, days=40, seed=9, signal=0.7, step=5)
    # a few missing labels, dropped pairwise by both
    panel = panel.with_columns(
        pl.when(pl.int_range(pl.len()) % 37 == 0).then(None).otherwise(pl.col("ret_vwap_5"))
        .alias("ret_vwap_5"))
    if ties:
        panel = panel.with_columns(pl.col("factor").round(1))
    return panel


@pytest.mark.parametrize("ties", [False, True])
def test_rank_ic_agrees_with_alphalens(ties):
    from alphalens.performance import factor_information_coefficient

    panel = _signal_panel(ties)
    ours = ic.rank_ic(panel, 5, "vwap")
    # with ties, fewer quantiles keep qcut's bin edges distinct (the IC does not use them)
    theirs = factor_information_coefficient(
        _factor_data(panel, "ret_vwap_5", 5 if ties else 10))
    theirs = theirs["5D"].dropna()
    assert len(theirs) == ours.height == 40
    assert np.allclose(ours["ic"].to_numpy(), theirs.to_numpy(), atol=1e-6, rtol=0)
    assert ic.ic_summary(ours)["mean"] == pytest.approx(theirs.mean(), abs=1e-6)
    assert ic.ic_summary(ours)["icir"] == pytest.approx(theirs.mean() / theirs.std(), abs=1e-6)


def test_quantile_returns_agree_with_alphalens():
    from alphalens.performance import mean_return_by_quantile

    panel = _signal_panel(ties=False)
    ours = ic.quantile_returns(panel, 5, quantiles=10)
    by_date, _ = mean_return_by_quantile(_factor_data(panel, "ret_vwap_5", 10),
                                         by_date=True, demeaned=False)
    theirs = by_date["5D"].reset_index()
    merged = ours.to_pandas().assign(trade_date=lambda f: pd.to_datetime(f["trade_date"]))
    merged = merged.merge(theirs, left_on=["trade_date", "quantile"],
                          right_on=["date", "factor_quantile"], how="outer")
    assert len(merged) == 400 and merged["mean_return"].notna().all()
    assert np.allclose(merged["mean_return"], merged["5D"], atol=1e-6, rtol=0)
    # the top quantile earns more than the bottom one (the panel has a planted signal)
    top = ours.filter(pl.col("quantile") == 10)["mean_return"].mean()
    bottom = ours.filter(pl.col("quantile") == 1)["mean_return"].mean()
    assert top > bottom
