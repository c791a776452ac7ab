"""The pandas baseline of `zoo bench refresh`: the daily features of the SQL models written the
usual pandas way, from the raw parquet files of a synthetic market.

It is what the SQL is compared with, in seconds and in values: `pandas_features(market)` reads
the raw files, merges them, and computes the features with groupby-shift, groupby-rolling and
per-day groupby-transform, one row per stock and trading day (`FEATURES` lists what it
computes).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from zoo.vocabulary import HORIZONS

if TYPE_CHECKING:
    import pandas as pd
    import polars as pl

STYLE_COLUMNS = ("momentum_20d", "volatility_20d", "liquidity_20d", "size")
FEATURES = (
    "adjusted OHLC and VWAP (VWAP = amount / volume, close on days without trade)",
    "volume in shares, amount in yuan, turnover and free turnover (percent)",
    "ret_1d (close / pre_close - 1)",
    "is_suspended, is_st, listed_trading_days",
    "price-limit prices and flags (limit-up/down close, limit-up open)",
    "in_universe (listed >= 120 trading days, not ST, not suspended)",
    "fwd_ret_vwap_{5,10,15,20}d from T+1 VWAP and fwd_ret_close_{5,10,15,20}d from T close "
    "(NULL when the entry day is suspended), and their excess over the mean of the day's "
    "universe (for VWAP: of its stocks buyable at T+1)",
    "momentum_20d, volatility_20d, liquidity_20d (ln mean turnover), size (ln total cap): "
    "winsorised at median +- 3 x 1.483 x MAD and z-scored per day over the universe",
)


def pandas_features(market: Path) -> pd.DataFrame:
    """The daily features of the SQL models, written the usual pandas way, from raw parquet.

    One row per stock and trading day with: adjusted OHLC and VWAP, volume (shares), amount
    (yuan), turnover, ret_1d, suspension, ST, listing age, price-limit flags, the universe
    flag, forward returns (h = 5, 10, 15, 20 from T+1 VWAP and from T close; NULL when the
    entry day is suspended) and their excess over the universe mean (for VWAP, over the
    universe stocks buyable at T+1), and the price-based style factors (momentum_20d,
    volatility_20d, liquidity_20d, size) winsorised and z-scored per day over the universe.
    Forward returns shift by rows within a stock (a stock keeps a row on each trading day it is
    listed, suspended days included).

    numpy and pandas are imported here, so a timer around the call counts their import, as a
    script of the usual pandas way would.
    """
    import numpy as np
    import pandas as pd

    def to_date(text):
        return pd.to_datetime(text, format="%Y%m%d")

    code = "S_INFO_WINDCODE"
    prices = pd.read_parquet(market / "AShareEODPrices.parquet", columns=[
        code, "TRADE_DT", "S_DQ_PRECLOSE", "S_DQ_OPEN", "S_DQ_HIGH", "S_DQ_LOW", "S_DQ_CLOSE",
        "S_DQ_VOLUME", "S_DQ_AMOUNT", "S_DQ_ADJFACTOR", "S_DQ_TRADESTATUSCODE"])
    derivative = pd.read_parquet(market / "AShareEODDerivativeIndicator.parquet",
                                 columns=[code, "TRADE_DT", "S_VAL_MV", "S_DQ_TURN",
                                          "S_DQ_FREETURNOVER"])
    description = pd.read_parquet(market / "AShareDescription.parquet",
                                  columns=[code, "S_INFO_LISTDATE", "S_INFO_LISTBOARDNAME"])
    st = pd.read_parquet(market / "AShareST.parquet")
    calendar = pd.read_parquet(market / "AShareCalendar.parquet")

    df = prices.merge(derivative, on=[code, "TRADE_DT"], how="left")
    df = df.merge(description, on=code)
    del prices, derivative
    df["trade_date"] = to_date(df["TRADE_DT"])
    df["list_date"] = to_date(df["S_INFO_LISTDATE"])
    df = df.sort_values([code, "trade_date"], ignore_index=True)

    out = pd.DataFrame({"stock_id": df[code], "trade_date": df["trade_date"]})
    for column in ("open", "high", "low", "close"):
        out[f"adj_{column}"] = df[f"S_DQ_{column.upper()}"] * df["S_DQ_ADJFACTOR"]
    vwap = np.where(df["S_DQ_VOLUME"] > 0,
                    df["S_DQ_AMOUNT"] * 1000 / (df["S_DQ_VOLUME"] * 100), df["S_DQ_CLOSE"])
    out["adj_vwap"] = vwap * df["S_DQ_ADJFACTOR"]
    out["volume_shares"] = df["S_DQ_VOLUME"] * 100
    out["amount_yuan"] = df["S_DQ_AMOUNT"] * 1000
    out["turnover_pct"] = df["S_DQ_TURN"]
    out["free_turnover_pct"] = df["S_DQ_FREETURNOVER"]
    out["ret_1d"] = df["S_DQ_CLOSE"] / df["S_DQ_PRECLOSE"] - 1
    out["is_suspended"] = (df["S_DQ_TRADESTATUSCODE"] == 0) | (df["S_DQ_VOLUME"] == 0)

    # listing age in trading days: positions on the calendar; a listing before the calendar's
    # first day counts back in weekdays
    days = np.sort(to_date(calendar.loc[calendar["S_INFO_EXCHMARKET"].isin(["SSE", "SZSE"]),
                                        "TRADE_DAYS"].unique()))
    list_dates = df["list_date"].to_numpy()
    before = np.busday_count(list_dates.astype("datetime64[D]"), days[0].astype("datetime64[D]"))
    list_position = np.where(list_dates < days[0], -before, np.searchsorted(days, list_dates))
    out["listed_trading_days"] = np.searchsorted(days, df["trade_date"].to_numpy()) - list_position

    # ST: inside an S/P/L period [ENTRY_DT, REMOVE_DT)
    st = st[st["S_TYPE_ST"].isin(["S", "P", "L"])]
    pairs = df[[code, "trade_date"]].reset_index().merge(
        st.assign(entry=to_date(st["ENTRY_DT"]), remove=to_date(st["REMOVE_DT"]))
          [[code, "entry", "remove"]], on=code)
    inside = (pairs["trade_date"] >= pairs["entry"]) & (
        pairs["remove"].isna() | (pairs["trade_date"] < pairs["remove"]))
    out["is_st"] = False
    out.loc[pairs.loc[inside, "index"].unique(), "is_st"] = True

    # price limits on the previous close, rounded half up to 0.01
    board, age = df["S_INFO_LISTBOARDNAME"], out["listed_trading_days"]
    reform = pd.Timestamp("2020-08-24")
    wide = (board == "科创板") | ((board == "创业板") & (df["trade_date"] >= reform))
    free_ipo = (board == "科创板") | ((board == "创业板") & (df["list_date"] >= reform))
    cases = [free_ipo & (age < 5), age == 0, wide, out["is_st"]]
    up = np.select(cases, [np.nan, 0.44, 0.20, 0.05], 0.10)
    down = np.select(cases, [np.nan, 0.36, 0.20, 0.05], 0.10)
    limit_up = np.floor(df["S_DQ_PRECLOSE"] * (1 + up) * 100 + 0.5 + 1e-6) / 100
    limit_down = np.maximum(
        np.floor(df["S_DQ_PRECLOSE"] * (1 - down) * 100 + 0.5 + 1e-6) / 100, 0.01)
    trading = ~out["is_suspended"]
    out["is_limit_up_close"] = trading & (df["S_DQ_CLOSE"] >= limit_up - 1e-9)
    out["is_limit_down_close"] = trading & (df["S_DQ_CLOSE"] <= limit_down + 1e-9)
    out["is_limit_up_open"] = trading & (df["S_DQ_OPEN"] >= limit_up - 1e-9)

    out["in_universe"] = (age >= 120) & ~out["is_st"] & ~out["is_suspended"]

    # forward returns (NULL when the entry day is suspended: T+1 for VWAP, T for close), and
    # their excess over the day's universe mean (for VWAP: its stocks buyable at T+1)
    by_stock = out.groupby("stock_id", sort=False)
    vwap_t1 = by_stock["adj_vwap"].shift(-1)
    # T+1 flags, False where there is no T+1 row (no label then anyway)
    vwap_entry = (~by_stock["is_suspended"].shift(-1).astype("boolean")).fillna(False)
    buyable_t1 = vwap_entry & (~by_stock["is_limit_up_open"].shift(-1).astype("boolean")
                               ).fillna(False)
    for h in HORIZONS:
        out[f"fwd_ret_vwap_{h}d"] = (by_stock["adj_vwap"].shift(-(1 + h)) / vwap_t1 - 1).where(
            vwap_entry)
        out[f"fwd_ret_close_{h}d"] = (by_stock["adj_close"].shift(-h) / out["adj_close"]
                                      - 1).where(~out["is_suspended"])
    benchmark = {"vwap": out["in_universe"] & buyable_t1, "close": out["in_universe"]}
    for h in HORIZONS:
        for kind in ("vwap", "close"):
            ret = out[f"fwd_ret_{kind}_{h}d"]
            mean = ret.where(benchmark[kind]).groupby(out["trade_date"]).transform("mean")
            out[f"fwd_excess_{kind}_{h}d"] = ret - mean

    # price-based style factors
    out["momentum_20d"] = out["adj_close"] / by_stock["adj_close"].shift(20) - 1
    out["volatility_20d"] = (by_stock["ret_1d"].rolling(20).std()
                             .reset_index(level=0, drop=True))
    mean_turnover = by_stock["turnover_pct"].rolling(20).mean().reset_index(level=0, drop=True)
    out["liquidity_20d"] = np.log(mean_turnover.where(mean_turnover > 0))
    out["size"] = np.log(df["S_VAL_MV"] * 10000)
    for factor in STYLE_COLUMNS:
        out[factor] = winsorised_zscore(out, factor)
    return out


def winsorised_zscore(df: pd.DataFrame, column: str) -> pd.Series:
    """Clip at the day's universe median +- 3 x 1.483 x MAD, then z-score by the universe."""
    value, day = df[column], df["trade_date"]
    universe = value.where(df["in_universe"])
    median = universe.groupby(day).transform("median")
    mad = (universe - median).abs().groupby(day).transform("median")
    clipped = value.clip(median - 3 * 1.483 * mad, median + 3 * 1.483 * mad)
    by_day = clipped.where(df["in_universe"]).groupby(day)
    return (clipped - by_day.transform("mean")) / by_day.transform("std")


def polars_features(market: Path) -> pl.DataFrame:
    """What `pandas_features` computes, the way a user would write it with polars today (lazy
    where it reads, window expressions `over` the stock and the day instead of groupby and
    transform); the same rows and columns, as a polars DataFrame.

    numpy and polars are imported here, so a timer around the call counts their import.
    """
    import numpy as np
    import polars as pl

    code = "S_INFO_WINDCODE"

    def to_date(column: str) -> pl.Expr:
        return pl.col(column).cast(pl.String).str.to_date("%Y%m%d", strict=False)

    prices = pl.scan_parquet(market / "AShareEODPrices.parquet").select(
        code, "TRADE_DT", "S_DQ_PRECLOSE", "S_DQ_OPEN", "S_DQ_HIGH", "S_DQ_LOW", "S_DQ_CLOSE",
        "S_DQ_VOLUME", "S_DQ_AMOUNT", "S_DQ_ADJFACTOR", "S_DQ_TRADESTATUSCODE")
    derivative = pl.scan_parquet(market / "AShareEODDerivativeIndicator.parquet").select(
        code, "TRADE_DT", "S_VAL_MV", "S_DQ_TURN", "S_DQ_FREETURNOVER")
    description = pl.scan_parquet(market / "AShareDescription.parquet").select(
        code, "S_INFO_LISTDATE", "S_INFO_LISTBOARDNAME")
    df = (prices.join(derivative, on=[code, "TRADE_DT"], how="left")
          .join(description, on=code)
          .with_columns(trade_date=to_date("TRADE_DT"), list_date=to_date("S_INFO_LISTDATE"))
          .sort(code, "trade_date").collect())

    # listing age in trading days: positions on the calendar; a listing before the calendar's
    # first day counts back in weekdays
    calendar = pl.read_parquet(market / "AShareCalendar.parquet")
    days = np.sort(calendar.filter(pl.col("S_INFO_EXCHMARKET").is_in(["SSE", "SZSE"]))
                   .select(to_date("TRADE_DAYS")).unique().to_series().to_numpy())
    list_dates = df["list_date"].to_numpy().astype("datetime64[D]")
    before = np.busday_count(list_dates, days[0])
    list_position = np.where(list_dates < days[0], -before, np.searchsorted(days, list_dates))
    age = np.searchsorted(days, df["trade_date"].to_numpy().astype("datetime64[D]")) - (
        list_position)

    # ST: inside an S/P/L period [ENTRY_DT, REMOVE_DT)
    st = pl.read_parquet(market / "AShareST.parquet").filter(
        pl.col("S_TYPE_ST").is_in(["S", "P", "L"])).select(
        code, entry=to_date("ENTRY_DT"), remove=to_date("REMOVE_DT"))
    rows = df.select(code, "trade_date").with_row_index("row")
    st_rows = rows.join(st, on=code).filter(
        (pl.col("trade_date") >= pl.col("entry"))
        & (pl.col("remove").is_null() | (pl.col("trade_date") < pl.col("remove"))))["row"]

    close, factor = pl.col("S_DQ_CLOSE"), pl.col("S_DQ_ADJFACTOR")
    out = df.with_row_index("row").select(
        pl.col(code).alias("stock_id"), "trade_date",
        *((pl.col(f"S_DQ_{c.upper()}") * factor).alias(f"adj_{c}")
          for c in ("open", "high", "low", "close")),
        (pl.when(pl.col("S_DQ_VOLUME") > 0)
         .then(pl.col("S_DQ_AMOUNT") * 1000 / (pl.col("S_DQ_VOLUME") * 100))
         .otherwise(close) * factor).alias("adj_vwap"),
        (pl.col("S_DQ_VOLUME") * 100).alias("volume_shares"),
        (pl.col("S_DQ_AMOUNT") * 1000).alias("amount_yuan"),
        pl.col("S_DQ_TURN").alias("turnover_pct"),
        pl.col("S_DQ_FREETURNOVER").alias("free_turnover_pct"),
        (close / pl.col("S_DQ_PRECLOSE") - 1).alias("ret_1d"),
        ((pl.col("S_DQ_TRADESTATUSCODE") == 0) | (pl.col("S_DQ_VOLUME") == 0))
        .alias("is_suspended"),
        pl.Series("listed_trading_days", age),
        pl.col("row").is_in(st_rows.implode()).alias("is_st"),
        # kept for the limits, dropped below
        pl.col("S_DQ_PRECLOSE").alias("_preclose"), close.alias("_close"),
        pl.col("S_DQ_OPEN").alias("_open"), pl.col("S_INFO_LISTBOARDNAME").alias("_board"),
        pl.col("list_date").alias("_list_date"), pl.col("S_VAL_MV").alias("_mv"))

    # price limits on the previous close, rounded half up to 0.01
    reform = pl.date(2020, 8, 24)
    board, age_ = pl.col("_board"), pl.col("listed_trading_days")
    wide = (board == "科创板") | ((board == "创业板") & (pl.col("trade_date") >= reform))
    free_ipo = (board == "科创板") | ((board == "创业板") & (pl.col("_list_date") >= reform))

    def limit(rates: tuple[float, float, float, float]) -> pl.Expr:
        return (pl.when(free_ipo & (age_ < 5)).then(None).when(age_ == 0).then(rates[0])
                .when(wide).then(rates[1]).when(pl.col("is_st")).then(rates[2])
                .otherwise(rates[3]))

    up, down = limit((0.44, 0.20, 0.05, 0.10)), limit((0.36, 0.20, 0.05, 0.10))
    limit_up = (pl.col("_preclose") * (1 + up) * 100 + 0.5 + 1e-6).floor() / 100
    limit_down = pl.when(down.is_null()).then(None).otherwise(pl.max_horizontal(
        (pl.col("_preclose") * (1 - down) * 100 + 0.5 + 1e-6).floor() / 100, pl.lit(0.01)))
    trading = ~pl.col("is_suspended")
    out = out.with_columns(
        (trading & (pl.col("_close") >= limit_up - 1e-9)).fill_null(False)
        .alias("is_limit_up_close"),
        (trading & (pl.col("_close") <= limit_down + 1e-9)).fill_null(False)
        .alias("is_limit_down_close"),
        (trading & (pl.col("_open") >= limit_up - 1e-9)).fill_null(False)
        .alias("is_limit_up_open"),
        ((age_ >= 120) & ~pl.col("is_st") & ~pl.col("is_suspended")).alias("in_universe"))

    # forward returns (NULL when the entry day is suspended: T+1 for VWAP, T for close), and
    # their excess over the day's universe mean (for VWAP: its stocks buyable at T+1)
    def ahead(column: str, n: int) -> pl.Expr:
        return pl.col(column).shift(-n).over("stock_id")

    vwap_entry = (~ahead("is_suspended", 1)).fill_null(False)
    buyable_t1 = vwap_entry & (~ahead("is_limit_up_open", 1)).fill_null(False)
    out = out.with_columns(
        *(expr for h in HORIZONS for expr in (
            pl.when(vwap_entry).then(ahead("adj_vwap", 1 + h) / ahead("adj_vwap", 1) - 1)
            .alias(f"fwd_ret_vwap_{h}d"),
            pl.when(~pl.col("is_suspended")).then(ahead("adj_close", h) / pl.col("adj_close") - 1)
            .alias(f"fwd_ret_close_{h}d"))),
        buyable_t1.alias("_buyable_t1"))
    benchmark = {"vwap": pl.col("in_universe") & pl.col("_buyable_t1"),
                 "close": pl.col("in_universe")}
    out = out.with_columns(
        (pl.col(f"fwd_ret_{kind}_{h}d") - pl.col(f"fwd_ret_{kind}_{h}d").filter(
            benchmark[kind]).mean().over("trade_date")).alias(f"fwd_excess_{kind}_{h}d")
        for h in HORIZONS for kind in ("vwap", "close"))

    # price-based style factors
    mean_turnover = pl.col("turnover_pct").rolling_mean(20).over("stock_id")
    out = out.with_columns(
        (pl.col("adj_close") / ahead("adj_close", -20) - 1).alias("momentum_20d"),
        pl.col("ret_1d").rolling_std(20).over("stock_id").alias("volatility_20d"),
        pl.when(mean_turnover > 0).then(mean_turnover.log()).alias("liquidity_20d"),
        (pl.col("_mv") * 10000).log().alias("size"))
    universe = pl.col("in_universe")
    zscored = []
    for column in STYLE_COLUMNS:
        value = pl.col(column)
        median = value.filter(universe).median().over("trade_date")
        mad = (value - median).abs().filter(universe).median().over("trade_date")
        clipped = value.clip(median - 3 * 1.483 * mad, median + 3 * 1.483 * mad)
        zscored.append(((clipped - clipped.filter(universe).mean().over("trade_date"))
                        / clipped.filter(universe).std().over("trade_date")).alias(column))
    out = out.with_columns(zscored)
    return out.drop(pl.selectors.starts_with("_"))
