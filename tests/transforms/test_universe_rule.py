"""One universe rule (`@in_universe`, transforms/macros/universe.py) for the three models that
use it: features.stock_universe_daily publishes it, features.stock_style_daily standardises over
it and labels.stock_fwd_return_daily benchmarks over it, each from its own int_daily_prices row
instead of joining every row back to the universe table."""

from __future__ import annotations

from types import SimpleNamespace

import duckdb
import polars as pl
import pytest
from sqlglot import exp

from tests.transforms.test_two_forms import project_macros

# (listed_trading_days, is_st, is_suspended) -> in the universe
CASES = [((120, False, False), True), ((119, False, False), False),
         ((0, False, False), False), ((2000, True, False), False),
         ((2000, False, True), False), ((2000, True, True), False)]


@pytest.mark.parametrize("dialect", ["duckdb", "spark"])
def test_the_rule_listed_120_days_not_st_not_suspended(dialect):
    in_universe = project_macros("universe.py").in_universe
    rule = in_universe(SimpleNamespace(dialect=dialect, locals={}), exp.column("age"),
                       exp.column("st"), exp.column("suspended"))
    values = ", ".join(f"({age}, {st}, {suspended})" for (age, st, suspended), _ in CASES)
    with duckdb.connect() as con:
        got = con.execute(f"SELECT {rule.sql(dialect='duckdb')} "
                          f"FROM (VALUES {values}) AS t(age, st, suspended)").fetchall()
    assert [value for (value,) in got] == [expected for _, expected in CASES]
    assert rule.sql(dialect=dialect) == "(age >= 120 AND NOT st AND NOT suspended)"


def _table(home, sql: str) -> pl.DataFrame:
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        return con.execute(sql).pl()


def test_style_and_labels_use_the_published_universe(built_warehouse):
    """The style factors' sample is the universe table's, row for row, and the labels' excess
    returns are centred on exactly its stocks (for close returns: T's universe)."""
    universe = _table(built_warehouse, "SELECT stock_id, trade_date, in_universe "
                                       "FROM features.stock_universe_daily")
    style = _table(built_warehouse, "SELECT stock_id, trade_date, in_universe "
                                    "FROM features.stock_style_daily")
    both = style.join(universe, on=["stock_id", "trade_date"], suffix="_published")
    assert both.height == style.height > 0
    assert (both["in_universe"] == both["in_universe_published"]).all()
    assert both["in_universe"].any() and not both["in_universe"].all()

    # fwd_excess_close_5d = fwd_ret_close_5d - its mean over T's universe: on each day the
    # excess of the universe's stocks with a return averages to zero, and it would not over any
    # other sample that differs from it
    labels = _table(built_warehouse, """
        SELECT l.trade_date, u.in_universe, l.fwd_ret_close_5d, l.fwd_excess_close_5d
        FROM labels.stock_fwd_return_daily AS l
        JOIN features.stock_universe_daily AS u USING (stock_id, trade_date)
        WHERE l.fwd_ret_close_5d IS NOT NULL""")
    days = (labels.filter(pl.col("in_universe")).group_by("trade_date")
            .agg(pl.col("fwd_excess_close_5d").mean().abs().alias("mean_excess")))
    assert days.height > 0 and days["mean_excess"].max() < 1e-12
    outside = labels.filter(~pl.col("in_universe"))
    assert outside.height > 0  # the sample differs from all stocks, so the check can fail
