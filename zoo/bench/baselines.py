"""The baselines of `zoo bench refresh`: the daily features of the SQL models written the usual
pandas way and the way a user would with polars today, from the raw parquet files of a
synthetic market.

They are what the SQL is compared with, in seconds and in values: `pandas_features(market,
fundamentals)` reads the raw files, merges them, and computes the features with groupby-shift,
groupby-rolling and per-day groupby-transform, one row per stock and trading day (`FEATURES`
lists what it computes); `polars_features` computes the same with polars. Both read the
fundamental vectors (features.stock_fundamental_quarterly, a parquet copy) for the fundamental
style factors, as the SQL style model does: the vectors are an input of the compared models,
not one of them.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING

from zoo.vocabulary import HORIZONS

if TYPE_CHECKING:
    import pandas as pd
    import polars as pl

# the factors of features.stock_style_daily standardised one by one (mid-cap is fitted on size)
STYLE_COLUMNS = ("size", "bp", "ep", "momentum_20d", "liquidity_20d", "volatility_20d",
                 "profitability", "growth", "sue")
# what the style factors read of the fundamental vector (features.stock_fundamental_quarterly)
FUNDAMENTAL_INPUTS = ("parent_equity", "net_profit_ttm", "roe_ttm", "net_profit_yoy", "sue")
# those read to compute a factor and then dropped (sue is a factor under its own name)
FUNDAMENTAL_ONLY_READ = tuple(c for c in FUNDAMENTAL_INPUTS if c not in STYLE_COLUMNS)
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
    "the style factors: size (ln total cap), bp, ep, momentum_20d, liquidity_20d (ln mean "
    "turnover), volatility_20d, profitability (ROE TTM), growth (YoY), sue, each winsorised "
    "at median +- 3 x 1.483 x MAD and z-scored per day over the universe, the fundamental ones "
    "from the vector in force that day; mid-cap (size cubed orthogonalised to size, sqrt-cap "
    "WLS, standardised the same way); total cap; the CITIC level-1 industry and its name",
)


def pandas_features(market: Path, fundamentals: Path) -> pd.DataFrame:
    """The daily features of the SQL models, written the usual pandas way, from raw parquet.

    One row per stock and trading day with: adjusted OHLC and VWAP, volume (shares), amount
    (yuan), turnover, ret_1d, suspension, ST, listing age, price-limit flags, the universe
    flag, forward returns (h = 5, 10, 15, 20 from T+1 VWAP and from T close; NULL when the
    entry day is suspended) and their excess over the universe mean (for VWAP, over the
    universe stocks buyable at T+1), the style factors of features.stock_style_daily
    (STYLE_COLUMNS and mid-cap) winsorised and z-scored per day over the universe, the
    fundamental ones from the vector of `fundamentals` (a parquet of
    features.stock_fundamental_quarterly) in force that day, and the CITIC level-1 industry.
    Forward returns shift by rows within a stock (a stock keeps a row on each trading day it is
    listed, suspended days included). Like the SQL style model, a day without a universe stock
    of known size (nothing to fit mid-cap on) has no rows.

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

    # style factors (features.stock_style_daily): price-based ones over the last 20 rows, the
    # fundamental ones from the vector in force that day (the latest available on or before it)
    out["momentum_20d"] = out["adj_close"] / by_stock["adj_close"].shift(20) - 1
    out["volatility_20d"] = (by_stock["ret_1d"].rolling(20).std()
                             .reset_index(level=0, drop=True))
    mean_turnover = by_stock["turnover_pct"].rolling(20).mean().reset_index(level=0, drop=True)
    out["liquidity_20d"] = np.log(mean_turnover.where(mean_turnover > 0))
    out["total_mv_yuan"] = df["S_VAL_MV"] * 10000
    vectors = pd.read_parquet(fundamentals, columns=["stock_id", "available_date",
                                                     *FUNDAMENTAL_INPUTS])
    vectors["available_date"] = pd.to_datetime(vectors["available_date"])
    out = pd.merge_asof(out.sort_values("trade_date", kind="stable"),
                        vectors.sort_values("available_date"), left_on="trade_date",
                        right_on="available_date", by="stock_id")
    cap = out["total_mv_yuan"].where(out["total_mv_yuan"] != 0)
    out["size"] = np.log(cap)
    out["bp"] = out["parent_equity"] / cap
    out["ep"] = out["net_profit_ttm"] / cap
    out["profitability"] = out["roe_ttm"]
    out["growth"] = out["net_profit_yoy"]
    out = out.drop(columns=["available_date", *FUNDAMENTAL_ONLY_READ])
    for factor in STYLE_COLUMNS:
        out[factor] = winsorised_zscore(out, factor)

    # mid-cap: size cubed less its sqrt(cap)-weighted least-squares fit on size across the
    # universe, then standardised the same way; a day without a universe to fit on is dropped
    z = out["size"]
    fitted = out["in_universe"] & z.notna()
    w = np.sqrt(out["total_mv_yuan"].where(fitted))
    sums = pd.DataFrame({f"s{k}": w * z ** k for k in range(5)}).groupby(
        out["trade_date"]).transform("sum")
    denominator = sums["s0"] * sums["s2"] - sums["s1"] ** 2
    slope = ((sums["s0"] * sums["s4"] - sums["s1"] * sums["s3"])
             / denominator.where(denominator != 0))
    out["midcap"] = z ** 3 - (sums["s3"] - slope * sums["s1"]) / sums["s0"] - slope * z
    out = out[fitted.groupby(out["trade_date"]).transform("any")].copy()
    out["midcap"] = winsorised_zscore(out, "midcap")

    # the CITIC level-1 industry in force that day, [ENTRY_DT, REMOVE_DT), and its name
    industries = pd.read_parquet(market / "AShareIndustriesClassCITICS.parquet")
    industries = pd.DataFrame({
        "stock_id": industries[code],
        "industry_l1_code": industries["CITICS_IND_CODE"].str[:4],
        "start": to_date(industries["ENTRY_DT"]), "end": to_date(industries["REMOVE_DT"])})
    out = pd.merge_asof(out, industries.sort_values("start"), left_on="trade_date",
                        right_on="start", by="stock_id")
    ended = out["end"].notna() & (out["trade_date"] >= out["end"])
    out["industry_l1_code"] = out["industry_l1_code"].mask(ended)
    names = pd.read_parquet(market / "AShareIndustriesCode.parquet")
    names = names[(names["LEVELNUM"] == 2) & names["INDUSTRIESCODE"].str.startswith("b1")]
    out = out.drop(columns=["start", "end"]).merge(
        pd.DataFrame({"industry_l1_code": names["INDUSTRIESCODE"].str[:4],
                      "industry_l1_name": names["INDUSTRIESNAME"]}),
        on="industry_l1_code", how="left")
    return out


def winsorised_zscore(df: pd.DataFrame, column: str) -> pd.Series:
    """Clip at the day's universe median +- 3 x 1.483 x MAD, then z-score by the universe."""
    value, day = df[column], df["trade_date"]
    universe = value.where(df["in_universe"])
    median = universe.groupby(day).transform("median")
    mad = (universe - median).abs().groupby(day).transform("median")
    clipped = value.clip(median - 3 * 1.483 * mad, median + 3 * 1.483 * mad)
    by_day = clipped.where(df["in_universe"]).groupby(day)
    std = by_day.transform("std")
    return (clipped - by_day.transform("mean")) / std.where(std != 0)


# The parts of polars_features timed on their own, in the order they run (POLARS_PARTS).
POLARS_PARTS = ("prices", "labels", "style")


class _Laps:
    """Seconds since the previous lap, by name, into `parts` (nothing kept when it is None)."""

    def __init__(self, parts: dict[str, float] | None) -> None:
        self.parts, self.last = parts, time.perf_counter()

    def __call__(self, name: str) -> None:
        now = time.perf_counter()
        if self.parts is not None:
            self.parts[name] = now - self.last
        self.last = now


def polars_features(market: Path, fundamentals: Path,
                    parts: dict[str, float] | None = None) -> pl.DataFrame:
    """What `pandas_features` computes, the way a user would write it with polars today (lazy
    where it reads, window expressions `over` the stock and the day instead of groupby and
    transform); the same rows and columns, as a polars DataFrame.

    numpy and polars are imported here, so a timer around the call counts their import. With
    `parts`, the seconds of each of POLARS_PARTS are put in it: reading, prices, limits and
    universe flags (the imports too); forward returns; style factors and industries.
    """
    lap = _Laps(parts)
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
    lap("prices")

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
    lap("labels")

    # style factors (features.stock_style_daily): price-based ones over the last 20 rows, the
    # fundamental ones from the vector in force that day (the latest available on or before it)
    mean_turnover = pl.col("turnover_pct").rolling_mean(20).over("stock_id")
    cap = pl.when(pl.col("total_mv_yuan") != 0).then(pl.col("total_mv_yuan"))
    out = (out.with_columns(
        (pl.col("adj_close") / ahead("adj_close", -20) - 1).alias("momentum_20d"),
        pl.col("ret_1d").rolling_std(20).over("stock_id").alias("volatility_20d"),
        pl.when(mean_turnover > 0).then(mean_turnover.log()).alias("liquidity_20d"),
        (pl.col("_mv") * 10000).alias("total_mv_yuan"))
        .sort("trade_date")
        .join_asof(pl.read_parquet(fundamentals, columns=["stock_id", "available_date",
                                                          *FUNDAMENTAL_INPUTS])
                   .sort("available_date"),
                   left_on="trade_date", right_on="available_date", by="stock_id",
                   check_sortedness=False)  # sorted just above; polars cannot check with `by`
        .with_columns(cap.log().alias("size"), (pl.col("parent_equity") / cap).alias("bp"),
                      (pl.col("net_profit_ttm") / cap).alias("ep"),
                      pl.col("roe_ttm").alias("profitability"),
                      pl.col("net_profit_yoy").alias("growth"))
        .drop("available_date", *FUNDAMENTAL_ONLY_READ))
    universe = pl.col("in_universe")

    def on_universe(value: pl.Expr, statistic: str) -> pl.Expr:
        return getattr(value.filter(universe), statistic)().over("trade_date")

    def standardised(value: pl.Expr) -> pl.Expr:
        """Clipped at the universe's median +- 3 x 1.483 x MAD, z-scored by the universe."""
        median = on_universe(value, "median")
        mad = on_universe((value - median).abs(), "median")
        clipped = value.clip(median - 3 * 1.483 * mad, median + 3 * 1.483 * mad)
        std = on_universe(clipped, "std")
        return pl.when(std != 0).then((clipped - on_universe(clipped, "mean")) / std)

    out = out.with_columns(standardised(pl.col(c)).alias(c) for c in STYLE_COLUMNS)
    # mid-cap: size cubed less its sqrt(cap)-weighted least-squares fit on size across the
    # universe, then standardised the same way; a day without a universe to fit on is dropped
    z = pl.col("size")
    w = pl.when(universe & z.is_not_null()).then(pl.col("total_mv_yuan").sqrt())
    sw, swx, swxx, swy, swxy = ((w * z.pow(k)).sum().over("trade_date") for k in range(5))
    denominator = sw * swxx - swx * swx
    slope = pl.when(denominator != 0).then((sw * swxy - swx * swy) / denominator)
    out = (out.filter((universe & z.is_not_null()).any().over("trade_date"))
           .with_columns((z.pow(3) - (swy - slope * swx) / sw - slope * z).alias("midcap"))
           .with_columns(standardised(pl.col("midcap")).alias("midcap")))

    # the CITIC level-1 industry in force that day, [ENTRY_DT, REMOVE_DT), and its name
    industries = pl.read_parquet(market / "AShareIndustriesClassCITICS.parquet").select(
        pl.col(code).alias("stock_id"),
        pl.col("CITICS_IND_CODE").str.slice(0, 4).alias("industry_l1_code"),
        to_date("ENTRY_DT").alias("_start"), to_date("REMOVE_DT").alias("_end"))
    names = pl.read_parquet(market / "AShareIndustriesCode.parquet").filter(
        (pl.col("LEVELNUM") == 2) & pl.col("INDUSTRIESCODE").str.starts_with("b1")).select(
        pl.col("INDUSTRIESCODE").str.slice(0, 4).alias("industry_l1_code"),
        pl.col("INDUSTRIESNAME").alias("industry_l1_name"))
    out = (out.set_sorted("trade_date")  # still in the order of the as-of join above
           .join_asof(industries.sort("_start"), left_on="trade_date", right_on="_start",
                      by="stock_id", check_sortedness=False)
           .with_columns(pl.when(pl.col("_end").is_null() | (pl.col("trade_date") < pl.col("_end")))
                         .then(pl.col("industry_l1_code")).alias("industry_l1_code"))
           .join(names, on="industry_l1_code", how="left"))
    out = out.drop(pl.selectors.starts_with("_"))
    lap("style")
    return out
