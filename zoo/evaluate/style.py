"""Cross-sectional correlation of a factor with the style and fundamental factors.

The seed report's figures 2, 3 and 7-10 (and table 2): per rebalance date (evaluation.py
uses the longest horizon's dates, monthly by default), the Spearman
correlation across universe stocks of the factor with each style factor of
`features.stock_style_daily` (already z-scored on the universe) and with point-in-time
fundamentals of `features.stock_fundamental_quarterly` (the latest version available on the
day, an ASOF join on available_date <= trade_date); then the mean over dates, and the values on
one chosen date.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import TYPE_CHECKING

from zoo.serving import published
from zoo.vocabulary import FUNDAMENTAL_FACTORS, STYLE_FACTORS

if TYPE_CHECKING:
    import duckdb
    import polars as pl



def _present(con: duckdb.DuckDBPyConnection, relation: published.Relation,
             wanted: dict[str, str]) -> list[str]:
    have = published.columns(con, relation)
    return [c for c in wanted if c in have]


def correlations(con: duckdb.DuckDBPyConnection, panel: pl.DataFrame,
                 step: int) -> pl.DataFrame:
    """Per-date Spearman correlations: columns group ("style"/"fundamental"), factor, trade_date,
    corr, stocks. Dates: the panel's dates whose day_index is a multiple of `step`. A table
    missing from the warehouse gives no rows for its group."""
    return concat(wide_correlations(group, table, columns)
                  for group, table, columns in factor_frames(con, panel, step))


def factor_frames(con: duckdb.DuckDBPyConnection, panel: pl.DataFrame, step: int,
                  whole_style_table: bool = False) -> list[tuple[str, pl.DataFrame, list[str]]]:
    """(group, frame, columns) per group whose table the warehouse has: the panel's universe
    rows with a factor on the `step` dates (stock_id, trade_date, factor) and the group's
    columns beside. `whole_style_table` joins the style table unfiltered, as the plain
    reference (zoo.evaluate.plain) did."""
    import polars as pl

    rows = panel.filter((pl.col("day_index") % step == 0) & pl.col("in_universe")
                        & pl.col("factor").is_not_null()).select("stock_id", "trade_date",
                                                                 "factor")
    con.register("_eval_rows", rows.to_arrow())
    frames = []
    try:
        style = _present(con, published.STYLE, STYLE_FACTORS)
        if style:
            cols = ", ".join(f"s.{c}" for c in style)
            # the style table on the correlation dates only: a join with the whole table
            # built its hash over every stock-day (1.7 of 2.3 CPU seconds at 5000 x 8 years)
            table = published.STYLE.sql if whole_style_table else (
                f"(SELECT * FROM {published.STYLE.sql} WHERE trade_date IN "
                f"(SELECT DISTINCT trade_date FROM _eval_rows))")
            joined = pl.from_arrow(con.execute(
                f"SELECT r.*, {cols} FROM _eval_rows AS r JOIN {table} AS s "
                f"USING (stock_id, trade_date)").to_arrow_table())
            assert isinstance(joined, pl.DataFrame)
            frames.append(("style", joined, style))
        fundamental = _present(con, published.FUNDAMENTALS, FUNDAMENTAL_FACTORS)
        if fundamental:
            cols = ", ".join(fundamental)
            # the ASOF join in polars: DuckDB's ASOF join over a registered frame took 14 s
            # for 170k rows where polars' sorted join_asof takes a fraction of a second
            quarterly = pl.from_arrow(con.execute(
                f"SELECT stock_id, available_date, {cols} "
                f"FROM {published.FUNDAMENTALS.sql} ORDER BY available_date"
            ).to_arrow_table())
            assert isinstance(quarterly, pl.DataFrame)
            joined = rows.sort("trade_date").join_asof(
                quarterly, left_on="trade_date", right_on="available_date", by="stock_id",
                strategy="backward", check_sortedness=False).drop("available_date")
            frames.append(("fundamental", joined, fundamental))
    finally:
        con.unregister("_eval_rows")
    return frames


def wide_correlations(group: str, wide: pl.DataFrame, columns: list[str]) -> pl.DataFrame:
    """Per (date, column) Spearman correlation of `factor` with each of `columns` over the rows
    where the column has a value: group, factor (the column), trade_date, corr, stocks (>= 3).

    Both sides are ranked per column over those rows (null elsewhere, which ranks skip): the
    ranks of a long frame filtered per column, without unpivoting to ten times the rows."""
    import polars as pl

    ranked, per_date = [], []
    for i, column in enumerate(columns):
        valid = pl.col(column).is_not_null() & pl.col(column).is_not_nan()
        ranked += [
            pl.when(valid).then(pl.col("factor")).rank("average").over("trade_date")
            .alias(f"_a{i}"),
            pl.when(valid).then(pl.col(column)).rank("average").over("trade_date")
            .alias(f"_b{i}")]
        per_date += [pl.corr(f"_a{i}", f"_b{i}").alias(f"_corr{i}"),
                     valid.sum().cast(pl.UInt32).alias(f"_stocks{i}")]
    dated = wide.with_columns(ranked).group_by("trade_date").agg(per_date)
    return pl.concat([dated.select(pl.lit(group).alias("group"), pl.lit(column).alias("factor"),
                                   "trade_date", pl.col(f"_corr{i}").alias("corr"),
                                   pl.col(f"_stocks{i}").alias("stocks"))
                      for i, column in enumerate(columns)]).filter(pl.col("stocks") >= 3)


def concat(per_group: Iterable[pl.DataFrame]) -> pl.DataFrame:
    """The groups' per-date correlations in one frame, sorted (an empty one with the columns
    when there are none)."""
    import polars as pl

    out = list(per_group)
    if not out:
        return pl.DataFrame(schema={"group": pl.Utf8, "factor": pl.Utf8, "trade_date": pl.Date,
                                    "corr": pl.Float64, "stocks": pl.UInt32})
    return pl.concat(out).sort("group", "factor", "trade_date")


def summary(per_date: pl.DataFrame, on: date | None = None) -> pl.DataFrame:
    """Mean correlation over dates and on one date: group, factor, name, mean, on_date, date.

    `on` picks the last correlation date on or before it (default: the last date)."""
    import polars as pl

    if per_date.is_empty():
        return pl.DataFrame(schema={"group": pl.Utf8, "factor": pl.Utf8, "name": pl.Utf8,
                                    "mean": pl.Float64, "on_date": pl.Float64,
                                    "date": pl.Date})
    dates = per_date["trade_date"].unique().sort()
    chosen = dates.filter(dates <= on)[-1] if on and (dates <= on).any() else dates[-1]
    means = per_date.group_by("group", "factor").agg(pl.col("corr").mean().alias("mean"))
    day = per_date.filter(pl.col("trade_date") == chosen).select(
        "group", "factor", pl.col("corr").alias("on_date"))
    order = {**{f"style.{k}": i for i, k in enumerate(STYLE_FACTORS)},
             **{f"fundamental.{k}": 100 + i for i, k in enumerate(FUNDAMENTAL_FACTORS)}}
    names = {**{f"style.{k}": v for k, v in STYLE_FACTORS.items()},
             **{f"fundamental.{k}": v for k, v in FUNDAMENTAL_FACTORS.items()}}
    key = pl.concat_str("group", pl.lit("."), "factor")
    return (means.join(day, on=["group", "factor"], how="left")
            .with_columns(key.replace_strict(names, default="").alias("name"),
                          key.replace_strict(order, default=999).alias("_o"),
                          pl.lit(chosen).alias("date"))
            .sort("_o").select("group", "factor", "name", "mean", "on_date", "date"))
