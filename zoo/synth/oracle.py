"""How much of the planted truth a perfect model would turn into Rank IC: `oracle_ic` ranks a
truth column against the realised forward return, read back from the written tables."""

from __future__ import annotations

from pathlib import Path

from zoo.metrics import daily_rank_ic


def oracle_ic(out_dir: Path, column: str = "ER_5D", horizon: int = 5) -> float:
    """Mean daily Rank IC (`zoo.metrics.daily_rank_ic`) of a truth column against the realised
    forward VWAP return.

    The realised return runs from T+1 VWAP to T+1+horizon VWAP on back-adjusted prices
    (S_DQ_AVGPRICE x S_DQ_ADJFACTOR), and is missing where T+1 is suspended (nobody could buy
    there; the labels' rule, transforms/models/labels/stock_fwd_return_daily.sql); Spearman
    across stocks per day, averaged over days.
    """
    import polars as pl

    code, day = "S_INFO_WINDCODE", "TRADE_DT"
    log_vwap = (pl.col("S_DQ_AVGPRICE") * pl.col("S_DQ_ADJFACTOR")).log()
    suspended = (pl.col("S_DQ_TRADESTATUSCODE") == 0) | (pl.col("S_DQ_VOLUME") == 0)
    fwd = pl.col("lv").shift(-1 - horizon) - pl.col("lv").shift(-1)
    prices = (pl.scan_parquet(Path(out_dir) / "AShareEODPrices.parquet")
              .select(code, day, log_vwap.alias("lv"), suspended.alias("suspended"))
              .sort(code, day)
              .with_columns(pl.when(~pl.col("suspended").shift(-1)).then(fwd)
                            .over(code).alias("fwd")))
    truth = pl.scan_parquet(Path(out_dir) / "truth" / "expected_return.parquet").select(
        code, day, column)
    daily = daily_rank_ic(truth.join(prices, on=[code, day]).drop_nulls("fwd"),
                          score=column, label="fwd", by=day)
    return float(daily["ic"].fill_nan(None).mean())
