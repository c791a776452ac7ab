"""Rank IC, quantile returns and factor autocorrelation on a panel (see inputs.py), in polars.

Definitions (chosen to coincide with alphalens-reloaded where it has the same measure, which
tests/evaluate/test_alphalens.py checks to 1e-6):
- Rank IC of a date: Spearman correlation, across the stocks in the universe at T with both a
  factor value and a label, of the factor and the forward return (average ranks for ties,
  like scipy.stats.spearmanr). "T0 收盘" uses ret_close_h (T close to T+h close), "T1 均价"
  ret_vwap_h (T+1 VWAP to T+1+h VWAP).
- ICIR: mean IC / standard deviation of IC over the rebalance dates (ddof=1), not annualised.
  胜率 (win rate): share of dates with IC > 0.
- Quantile q of n stocks (q quantiles): with i the 0-based position in ascending factor order,
  max(1, ceil(i * q / (n - 1))); that is what pandas.qcut(x, q) gives for distinct values
  (bins closed on the right, the lowest value in the first), which alphalens uses.
- Autocorrelation: Spearman correlation of a stock's factor at a rebalance date with its value at
  the previous one, across the stocks in the universe at both.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from zoo.metrics import ic_summary

__all__ = ["autocorrelation", "ic_by_year", "ic_summary", "quantile_returns", "rank_ic"]

if TYPE_CHECKING:
    import polars as pl

LABELS = {"close": "T0 收盘", "vwap": "T1 均价"}


def _on_dates(panel: pl.DataFrame, step: int) -> pl.DataFrame:
    import polars as pl

    return panel.filter((pl.col("day_index") % step) == 0)


def rank_ic(panel: pl.DataFrame, horizon: int, label: str = "vwap",
            step: int | None = None, universe_only: bool = True) -> pl.DataFrame:
    """Rank IC per rebalance date: columns trade_date, ic, stocks.

    Dates are those whose day_index is a multiple of `step` (default: the horizon);
    `universe_only=False` takes every stock with a factor and a label (as
    zoo.synth.oracle_ic does).
    """
    import polars as pl

    from zoo.metrics import daily_rank_ic

    ret = f"ret_{label}_{horizon}"
    if ret not in panel.columns:
        raise ValueError(f"panel has no column {ret} (label {label!r}, horizon {horizon})")
    rows = _on_dates(panel, step or horizon).filter(
        pl.col("in_universe") | (not universe_only))
    return daily_rank_ic(rows, "factor", ret)


def ic_by_year(ic: pl.DataFrame) -> pl.DataFrame:
    """Mean IC per calendar year of the rebalance date: columns year, ic, periods."""
    import polars as pl

    return (ic.filter(pl.col("ic").is_not_nan())
            .group_by(pl.col("trade_date").dt.year().alias("year"))
            .agg(pl.col("ic").mean(), pl.len().alias("periods")).sort("year"))


def quantile_expr(column: str, quantiles: int, by: str = "trade_date") -> pl.Expr:
    """The quantile (1 = lowest) of `column` within each `by` group, as pandas.qcut gives it."""
    import polars as pl

    position = pl.col(column).rank("ordinal").over(by).cast(pl.Float64) - 1.0
    count = pl.col(column).count().over(by).cast(pl.Float64)
    bucket = (position * quantiles / (count - 1.0)).ceil()
    return pl.max_horizontal(bucket, pl.lit(1.0)).cast(pl.Int32)


def quantile_returns(panel: pl.DataFrame, horizon: int, quantiles: int = 10,
                     label: str = "vwap", step: int | None = None) -> pl.DataFrame:
    """Mean forward return per (rebalance date, factor quantile) over the universe: columns
    trade_date, quantile, mean_return, stocks."""
    import polars as pl

    ret = f"ret_{label}_{horizon}"
    rows = _on_dates(panel, step or horizon).filter(
        pl.col("in_universe") & pl.col("factor").is_not_null() & pl.col(ret).is_not_null())
    return (rows.with_columns(quantile_expr("factor", quantiles).alias("quantile"))
            .group_by("trade_date", "quantile")
            .agg(pl.col(ret).mean().alias("mean_return"), pl.len().alias("stocks"))
            .sort("trade_date", "quantile"))


def autocorrelation(panel: pl.DataFrame, horizon: int) -> pl.DataFrame:
    """Factor rank autocorrelation between consecutive rebalance dates: trade_date, autocorr."""
    import polars as pl

    rows = (_on_dates(panel, horizon)
            .filter(pl.col("in_universe") & pl.col("factor").is_not_null())
            .select("stock_id", "trade_date", "day_index", "factor"))
    # each row's (date, stock) as one integer, so a stock's previous date is key + h * stocks:
    # an integer join, where (stock_id, day_index) made polars hash strings on both sides
    stocks = rows["stock_id"].unique().sort()
    key = (pl.col("day_index").cast(pl.Int64) * len(stocks)
           + pl.col("stock_id").cast(pl.Enum(stocks)).to_physical().cast(pl.Int64))
    rows = rows.with_columns(key.alias("_key"))
    previous = rows.select(pl.col("_key") + horizon * len(stocks),
                           pl.col("factor").alias("previous"))
    pairs = rows.join(previous, on="_key", how="inner")
    return (pairs.group_by("trade_date")
            .agg(pl.corr(pl.col("factor").rank("average"), pl.col("previous").rank("average"))
                 .alias("autocorr"), pl.len().alias("stocks"))
            .filter(pl.col("stocks") >= 3).sort("trade_date"))
