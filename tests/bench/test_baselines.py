"""The baselines of `zoo bench refresh`: polars computes what pandas does, row for row, and both
compute what the SQL models publish."""

from __future__ import annotations

import math
import time

import duckdb
import polars as pl
import pytest

from zoo.bench.baselines import (
    INDEX_WEIGHTS,
    LABEL_COLUMNS,
    OUT_FILE,
    POLARS_PARTS,
    STYLE_COLUMNS,
    STYLE_TABLE_COLUMNS,
    pandas_features,
    polars_features,
)
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


def test_the_baselines_compute_the_universe_index_weights_row_for_row(baselines,
                                                                       built_warehouse):
    """The CSI weights of features.stock_universe_daily: the baselines compute the universe
    table's features too, not only its flag."""
    ours, theirs = baselines
    columns = list(INDEX_WEIGHTS.values())
    with duckdb.connect(str(built_warehouse / "warehouse.duckdb"), read_only=True) as con:
        sql = con.execute(f"SELECT stock_id, trade_date, {', '.join(columns)} "
                          "FROM features.stock_universe_daily").pl()
    keys = ["stock_id", "trade_date"]
    for baseline in (ours, theirs):
        rows = baseline.select(*keys, *columns).with_columns(pl.col("trade_date").cast(pl.Date))
        both = sql.join(rows, on=keys, how="inner", suffix="_b")
        # the baselines drop the days without a universe (the style model's rows)
        assert both.height == rows.height > 0
        for column in columns:
            a, b = both[column], both[f"{column}_b"].fill_nan(None)
            assert (a.is_null() == b.is_null()).all(), column
            worst = (a - b).abs().max()
            assert worst is not None and worst < 1e-9, (column, worst)
            # members and non-members both: the check could pass on a column of zeros
            assert (a > 0).sum() > 0 and (a == 0).sum() > 0, column


@pytest.mark.parametrize("baseline", ["polars", "pandas"])
def test_a_baseline_writes_a_table_per_part(baseline, tiny_market, fundamentals, baselines,
                                            tmp_path):
    """What the bench times is computing and writing the features, as the SQL does."""
    parts: dict[str, float] = {}
    writes: dict[str, float] = {}
    if baseline == "polars":
        frame = polars_features(tiny_market, fundamentals, parts, tmp_path, writes)
        assert tuple(writes) == POLARS_PARTS and all(writes[p] <= parts[p] for p in parts)
    else:
        frame = pl.from_pandas(pandas_features(tiny_market, fundamentals, tmp_path))
    keys = ["stock_id", "trade_date"]
    prices, labels, style = (pl.read_parquet(tmp_path / OUT_FILE.format(part=part))
                             for part in POLARS_PARTS)
    # prices and labels: every stock-day (the style table drops days without a universe)
    assert prices.height == labels.height >= style.height == frame.height > 0
    assert set(LABEL_COLUMNS) < set(labels.columns) and "is_buyable_t1" in labels.columns
    assert style.columns == [*keys, *STYLE_TABLE_COLUMNS]
    assert {"adj_close", "in_universe", *INDEX_WEIGHTS.values()} <= set(prices.columns)
    assert not any(column.startswith("_") for column in prices.columns)
    for table, column in ((prices, "adj_close"), (labels, "fwd_excess_close_5d"),
                          (style, "midcap")):
        both = frame.select(*keys, column).join(table.select(*keys, column), on=keys,
                                                suffix="_written")
        assert both.height == frame.height
        assert both[column].equals(both[f"{column}_written"], check_names=False), column
