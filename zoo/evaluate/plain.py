"""The evaluation's steps as they were written before they were made fast (issue 22): the
reference that tests/evaluate/test_agreement.py holds the fast steps to, and the baseline
`zoo bench eval` times beside them (`evaluate(..., plain=True)`).

- `panel_sql`: every table joined whole, a holder's price path looked up for every row;
- `correlations`: the style table joined whole, each column's correlation in a long frame
  (unpivoted, ranked over (date, column));
- `dense`: the targets marked on a filtered frame and joined back, positions from dense ranks;
- `autocorrelation`: consecutive dates paired by a join on (stock_id, day_index), ranks over
  each date as window columns.

Same results as the fast steps (panels and target arrays exactly, correlations to rounding);
only slower.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from zoo.evaluate import style
from zoo.evaluate.inputs import FactorSource
from zoo.evaluate.topn import PORTFOLIOS, Dense, scattered
from zoo.serving import published

if TYPE_CHECKING:
    import duckdb
    import polars as pl


def panel_sql(source: FactorSource, horizons: tuple[int, ...], start: date | None,
              end: date | None, every: int | None) -> str:
    """The query of `zoo.evaluate.inputs.load_panel`, plainly: each table joined whole."""
    hs = sorted(set(horizons))
    keep = " OR ".join(f"day_index % {s} = 0" for s in ((every,) if every else hs))
    window = [f"trade_date >= DATE '{start.isoformat()}'"] if start else []
    window += [f"trade_date <= DATE '{end.isoformat()}'"] if end else []
    where = ("WHERE " + " AND ".join(window)) if window else ""
    returns = ", ".join(f"l.fwd_ret_close_{h}d AS ret_close_{h}, l.fwd_ret_vwap_{h}d AS "
                        f"ret_vwap_{h}, COALESCE(l.fwd_ret_vwap_{h}d, x{h}.adj_vwap / n.adj_vwap "
                        f"- 1) AS hold_vwap_{h}" for h in hs)
    exits = ", ".join(f"LEAD(trade_date, {1 + h}) OVER (ORDER BY trade_date) AS exit_date_{h}"
                      for h in hs)
    exit_joins = "\n    ".join(
        f"LEFT JOIN {published.PRICE_VOLUME.sql} AS x{h} "
        f"ON x{h}.stock_id = l.stock_id AND x{h}.trade_date = c.exit_date_{h}" for h in hs)
    return f"""
    WITH factor AS (
        SELECT * FROM ({source.sql}) {where}
    ), days AS (
        SELECT trade_date, (ROW_NUMBER() OVER (ORDER BY trade_date) - 1)::INTEGER AS day_index
        FROM (SELECT DISTINCT trade_date FROM factor
              WHERE trade_date IN (SELECT DISTINCT trade_date FROM {published.LABELS.sql}))
    ), rebalance AS (
        SELECT * FROM days WHERE {keep}
    ), calendar AS (
        SELECT trade_date, LEAD(trade_date) OVER (ORDER BY trade_date) AS next_date, {exits}
        FROM {published.CALENDAR.sql}
    )
    SELECT l.stock_id, l.trade_date, r.day_index, f.factor,
           COALESCE(u.in_universe, FALSE) AS in_universe, {returns},
           COALESCE(l.is_buyable_t1, FALSE) AS buyable,
           COALESCE(NOT (n.is_suspended OR n.is_limit_down_close), FALSE) AS sellable
    FROM {published.LABELS.sql} AS l
    JOIN rebalance AS r ON r.trade_date = l.trade_date
    LEFT JOIN factor AS f ON f.stock_id = l.stock_id AND f.trade_date = l.trade_date
    LEFT JOIN {published.UNIVERSE.sql} AS u
        ON u.stock_id = l.stock_id AND u.trade_date = l.trade_date
    LEFT JOIN calendar AS c ON c.trade_date = l.trade_date
    LEFT JOIN {published.PRICE_VOLUME.sql} AS n
        ON n.stock_id = l.stock_id AND n.trade_date = c.next_date
    {exit_joins}
    ORDER BY l.trade_date, l.stock_id
    """


def correlations(con: duckdb.DuckDBPyConnection, panel: pl.DataFrame,
                 step: int) -> pl.DataFrame:
    """`zoo.evaluate.style.correlations`, plainly: the style table joined whole, and the
    correlations of a long frame (one row per stock, date and column)."""
    return style.concat(long_correlations(group, table, columns) for group, table, columns
                        in style.factor_frames(con, panel, step, whole_style_table=True))


def long_correlations(group: str, wide: pl.DataFrame, columns: list[str]) -> pl.DataFrame:
    import polars as pl

    long = (wide.unpivot(index=["stock_id", "trade_date", "factor"], on=columns,
                         variable_name="style", value_name="value")
            .filter(pl.col("value").is_not_null() & pl.col("value").is_not_nan()))
    keys = ["trade_date", "style"]
    return (long.with_columns(pl.col("factor").rank("average").over(keys).alias("_a"),
                              pl.col("value").rank("average").over(keys).alias("_b"))
            .group_by(keys).agg(pl.corr("_a", "_b").alias("corr"), pl.len().alias("stocks"))
            .filter(pl.col("stocks") >= 3)
            .select(pl.lit(group).alias("group"), pl.col("style").alias("factor"),
                    "trade_date", "corr", "stocks"))


def dense(panel: pl.DataFrame, horizon: int, top_n: int = 100,
          top_quantiles: int = 10) -> Dense:
    """`zoo.evaluate.topn.dense`, plainly: targets on a filtered frame joined back."""
    import polars as pl

    from zoo.evaluate.ic import quantile_expr

    rows = panel.filter((pl.col("day_index") % horizon) == 0)
    ranked = rows.filter(pl.col("in_universe") & pl.col("factor").is_not_null()
                         & pl.col("factor").is_not_nan())
    ranked = ranked.with_columns(
        (quantile_expr("factor", top_quantiles) == top_quantiles).alias("top10pct"),
        (pl.col("factor").rank("ordinal", descending=True).over("trade_date") <= top_n)
        .alias("top100")).select("stock_id", "trade_date", *PORTFOLIOS)
    rows = rows.join(ranked, on=["stock_id", "trade_date"], how="left").with_columns(
        pl.col(*PORTFOLIOS).fill_null(False))
    dates = rows["trade_date"].unique().sort()
    stocks = rows["stock_id"].unique().sort()
    rows = rows.with_columns(
        pl.col("trade_date").rank("dense").cast(pl.Int64).sub(1).alias("_d"),
        pl.col("stock_id").rank("dense").cast(pl.Int64).sub(1).alias("_s"))
    d, s = rows["_d"].to_numpy(), rows["_s"].to_numpy()
    return scattered(rows, dates, stocks, d, s, horizon)  # not a step it replaced


def autocorrelation(panel: pl.DataFrame, horizon: int) -> pl.DataFrame:
    """`zoo.evaluate.ic.autocorrelation`, plainly: pairs joined on (stock_id, day_index)."""
    import polars as pl

    rows = (panel.filter((pl.col("day_index") % horizon) == 0)
            .filter(pl.col("in_universe") & pl.col("factor").is_not_null())
            .select("stock_id", "trade_date", "day_index", "factor"))
    previous = rows.select("stock_id", (pl.col("day_index") + horizon).alias("day_index"),
                           pl.col("factor").alias("previous"))
    pairs = rows.join(previous, on=["stock_id", "day_index"], how="inner")
    return (pairs.with_columns(
                pl.col("factor").rank("average").over("trade_date").alias("_a"),
                pl.col("previous").rank("average").over("trade_date").alias("_b"))
            .group_by("trade_date").agg(pl.corr("_a", "_b").alias("autocorr"),
                                        pl.len().alias("stocks"))
            .filter(pl.col("stocks") >= 3).sort("trade_date"))
