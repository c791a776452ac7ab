"""The polars baseline of `zoo bench refresh` computes what the pandas one does, row for row."""

from __future__ import annotations

import math

import polars as pl

from zoo.bench.baselines import pandas_features, polars_features


def test_polars_and_pandas_baselines_agree_on_every_column(tiny_market):
    theirs = pl.from_pandas(pandas_features(tiny_market)).sort("stock_id", "trade_date")
    ours = polars_features(tiny_market).sort("stock_id", "trade_date")
    assert ours.columns == theirs.columns and ours.height == theirs.height > 0
    for column in ours.columns:
        a, b = ours[column], theirs[column]
        if a.dtype.is_numeric() and b.dtype.is_numeric():
            a, b = a.cast(pl.Float64).fill_nan(None), b.cast(pl.Float64).fill_nan(None)
            assert (a.is_null() == b.is_null()).all(), column
            worst = (a - b).abs().max()
            assert worst is None or worst < 1e-9, (column, worst)
        else:
            assert a.cast(b.dtype).equals(b, check_names=False), column
    # not all empty: the checks above could pass on NULL columns
    for column in ("fwd_excess_vwap_5d", "momentum_20d", "is_limit_up_close", "in_universe"):
        assert ours[column].drop_nulls().len() > 0, column
    assert not math.isnan(ours["size"].drop_nulls().mean())
