"""The baselines of `zoo bench refresh`: polars computes what pandas does, row for row, and both
compute what the SQL models publish."""

from __future__ import annotations

import math
import time

import duckdb
import polars as pl
import pytest

from zoo.bench.baselines import POLARS_PARTS, STYLE_COLUMNS, pandas_features, polars_features
from zoo.bench.refresh import export_fundamentals


@pytest.fixture(scope="module")
def fundamentals(built_warehouse, tmp_path_factory):
    """The fundamental vectors the SQL built from the tiny market, as the bench hands them over."""
    path = tmp_path_factory.mktemp("fundamentals") / "vectors.parquet"
    export_fundamentals(built_warehouse / "warehouse.duckdb", path)
    return path


@pytest.fixture(scope="module")
def baselines(tiny_market, fundamentals):
    theirs = pl.from_pandas(pandas_features(tiny_market, fundamentals))
    ours = polars_features(tiny_market, fundamentals)
    return ours.sort("stock_id", "trade_date"), theirs.sort("stock_id", "trade_date")


def test_polars_baseline_times_each_part_and_computes_the_same(tiny_market, fundamentals,
                                                               baselines):
    parts: dict[str, float] = {}
    started = time.perf_counter()
    timed = polars_features(tiny_market, fundamentals, parts)
    elapsed = time.perf_counter() - started
    assert tuple(parts) == POLARS_PARTS and all(seconds > 0 for seconds in parts.values())
    assert sum(parts.values()) <= elapsed
    assert timed.sort("stock_id", "trade_date").equals(baselines[0], null_equal=True)


def test_polars_and_pandas_baselines_agree_on_every_column(baselines):
    ours, theirs = baselines
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
    for column in ("fwd_excess_vwap_5d", "momentum_20d", "is_limit_up_close", "in_universe",
                   "bp", "sue", "midcap", "industry_l1_name"):
        assert ours[column].drop_nulls().len() > 0, column
    assert not math.isnan(ours["size"].drop_nulls().mean())


def test_the_baselines_compute_the_style_model_row_for_row(baselines, built_warehouse):
    """Every factor of features.stock_style_daily, its rows and its industries: the comparison
    of seconds is between the same features."""
    ours, _ = baselines
    with duckdb.connect(str(built_warehouse / "warehouse.duckdb"), read_only=True) as con:
        sql = con.execute("SELECT * FROM features.stock_style_daily").pl()
    assert ours.height > 0 and sql.height > 0
    keys = ["stock_id", "trade_date"]
    both = sql.join(ours.with_columns(pl.col("trade_date").cast(pl.Date)), on=keys,
                    how="full", suffix="_b", coalesce=True)
    assert both.height == sql.height == ours.height, "different rows"
    for column in ("total_mv_yuan", *STYLE_COLUMNS, "midcap"):
        a, b = both[column].fill_nan(None), both[f"{column}_b"].fill_nan(None)
        assert (a.is_null() == b.is_null()).all(), column
        worst = (a - b).abs().max()
        assert worst is None or worst < 1e-9, (column, worst)
    for column in ("industry_l1_code", "industry_l1_name"):
        assert both[column].equals(both[f"{column}_b"], check_names=False), column
