"""The baselines of `zoo bench refresh`: the daily features of the SQL models written the usual
pandas way and the way a user would with polars today, from the raw parquet files of a
synthetic market.

They are what the SQL is compared with, in seconds and in values: `pandas_features(market,
fundamentals)` reads the raw files, merges them, and computes the features with groupby-shift,
groupby-rolling and per-day groupby-transform, one row per stock and trading day (`FEATURES`
lists what it computes); `polars_features` computes the same with polars. Both read the
fundamental vectors (features.stock_fundamental_quarterly, a parquet copy) for the fundamental
style factors, as the SQL style model does: the vectors are an input of the compared models,
not one of them. Given a folder, both write what they computed there, a parquet table per part
(prices and universe, labels, style), as the SQL models write their tables: a refresh is
computing and keeping the features.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING

from zoo.ingest.wind import CSI300, CSI500, CSI1000
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
# The benchmark indexes of features.stock_universe_daily and their weight columns.
INDEX_WEIGHTS = {CSI300: "csi300_weight_pct", CSI500: "csi500_weight_pct",
                 CSI1000: "csi1000_weight_pct"}
# With `out_dir`, each baseline writes its features as the SQL models do, a table per part of
# POLARS_PARTS (OUT_FILE): the price and universe rows (every column of that part), the labels
# (LABEL_COLUMNS) and the style factors (STYLE_TABLE_COLUMNS), each keyed by stock and day.
OUT_FILE = "{part}.parquet"
LABEL_COLUMNS = tuple(f"fwd_{measure}_{kind}_{h}d" for measure in ("ret", "excess")
                      for kind in ("vwap", "close") for h in HORIZONS)
STYLE_TABLE_COLUMNS = ("industry_l1_code", "industry_l1_name", "in_universe", "total_mv_yuan",
                       "size", "midcap", *(c for c in STYLE_COLUMNS if c != "size"))
FEATURES = (
    "adjusted OHLC and VWAP (VWAP = amount / volume, close on days without trade)",
    "volume in shares, amount in yuan, turnover and free turnover (percent)",
    "ret_1d (close / pre_close - 1)",
    "is_suspended, is_st, listed_trading_days",
    "price-limit prices and flags (limit-up/down close, limit-up open)",
    "in_universe (listed >= 120 trading days, not ST, not suspended)",
    "the CSI 300 / 500 / 1000 weights (features.stock_universe_daily's rule: the latest "
    "snapshot, drifted by the adjusted close since, renormalised over the members in force to "
    "the share of the index the data covers; 0 out of the index, NULL when unknown)",
    "fwd_ret_vwap_{5,10,15,20}d from T+1 VWAP and fwd_ret_close_{5,10,15,20}d from T close "
    "(NULL when the entry day is suspended), and their excess over the mean of the day's "
    "universe (for VWAP: of its stocks buyable at T+1)",
    "the style factors: size (ln total cap), bp, ep, momentum_20d, liquidity_20d (ln mean "
    "turnover), volatility_20d, profitability (ROE TTM), growth (YoY), sue, each winsorised "
    "at median +- 3 x 1.483 x MAD and z-scored per day over the universe, the fundamental ones "
    "from the vector in force that day; mid-cap (size cubed orthogonalised to size, sqrt-cap "
    "WLS, standardised the same way); total cap; the CITIC level-1 industry and its name",
)


def pandas_features(market: Path, fundamentals: Path,
                    out_dir: Path | None = None) -> pd.DataFrame:
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
    script of the usual pandas way would. With `out_dir`, each part's table is written there
    (OUT_FILE) as soon as it is computed.
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

    # CSI 300 / 500 / 1000 weights: each member's weight in the index's latest snapshot on or
    # before the day, drifted by its adjusted close since, renormalised over the members in
    # force to the share of the snapshot's weight the data has prices for (of 100, or of the
    # snapshot's total when it is 100 +- 1); 0 out of the index, NULL before the index's
    # first membership period (or for a member without a weight)
    closes = out[["stock_id", "trade_date", "adj_close"]]
    raw = pd.read_parquet(market / "AIndexFreeWeight.parquet")
    weights = pd.DataFrame({"index_id": raw[code], "stock_id": raw["S_CON_WINDCODE"],
                            "snapshot_date": to_date(raw["TRADE_DT"]),
                            "weight": raw["I_WEIGHT"]}).merge(
        closes.rename(columns={"trade_date": "snapshot_date", "adj_close": "snapshot_close"}),
        on=["stock_id", "snapshot_date"], how="left")
    weights["priced_weight"] = weights["weight"].where(weights["snapshot_close"].notna(), 0.0)
    coverage = weights.groupby(["index_id", "snapshot_date"], as_index=False).agg(
        rows=("weight", "size"), priced=("snapshot_close", "count"),
        total=("weight", "sum"), priced_weight=("priced_weight", "sum"))
    whole = coverage["total"].where((coverage["total"] - 100).abs() <= 1, 100.0)
    coverage["covered"] = np.where(coverage["rows"] == coverage["priced"], 1.0,
                                   coverage["priced_weight"] / whole)
    raw = pd.read_parquet(market / "AIndexMembers.parquet")
    members = pd.DataFrame({"index_id": raw[code], "stock_id": raw["S_CON_WINDCODE"],
                            "start": to_date(raw["S_CON_INDATE"]),
                            "end": to_date(raw["S_CON_OUTDATE"])})
    member_days = closes.merge(members, on="stock_id")
    member_days = member_days[(member_days["trade_date"] >= member_days["start"]) & (
        member_days["end"].isna() | (member_days["trade_date"] < member_days["end"]))]
    member_days = pd.merge_asof(
        member_days.sort_values("trade_date"),
        coverage[["index_id", "snapshot_date", "covered"]].sort_values("snapshot_date"),
        left_on="trade_date", right_on="snapshot_date", by="index_id").merge(
        weights[["index_id", "stock_id", "snapshot_date", "weight", "snapshot_close"]],
        on=["index_id", "stock_id", "snapshot_date"], how="left")
    drifted = member_days["weight"] * member_days["adj_close"] / member_days["snapshot_close"]
    member_days["weight_pct"] = 100 * member_days["covered"] * drifted / drifted.groupby(
        [member_days["index_id"], member_days["trade_date"]]).transform("sum")
    for index_id, column in INDEX_WEIGHTS.items():
        rows = member_days[member_days["index_id"] == index_id].groupby(
            ["stock_id", "trade_date"], as_index=False)["weight_pct"].max()
        rows["member"] = True
        rows = out[["stock_id", "trade_date"]].merge(rows, on=["stock_id", "trade_date"],
                                                     how="left")
        weight = rows["weight_pct"].where(rows["member"].notna(), 0.0).to_numpy()
        known_from = members.loc[members["index_id"] == index_id, "start"].min()
        out[column] = (np.nan if pd.isna(known_from)
                       else np.where(out["trade_date"] >= known_from, weight, np.nan))
    if out_dir is not None:
        out.to_parquet(out_dir / OUT_FILE.format(part="prices"), index=False)

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
    if out_dir is not None:
        labels = out[["stock_id", "trade_date", *LABEL_COLUMNS]].assign(is_buyable_t1=buyable_t1)
        labels.to_parquet(out_dir / OUT_FILE.format(part="labels"), index=False)

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
    if out_dir is not None:
        out[["stock_id", "trade_date", *STYLE_TABLE_COLUMNS]].to_parquet(
            out_dir / OUT_FILE.format(part="style"), index=False)
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
    """Seconds since the previous lap, by name, into `parts` (nothing kept when it is None);
    with `out_dir`, `write` writes a part's table there (OUT_FILE) and keeps its seconds in
    `writes`."""

    def __init__(self, parts: dict[str, float] | None, out_dir: Path | None,
                 writes: dict[str, float] | None) -> None:
        self.parts, self.last = parts, time.perf_counter()
        self.out_dir, self.writes = out_dir, writes

    def __call__(self, name: str) -> None:
        now = time.perf_counter()
        if self.parts is not None:
            self.parts[name] = now - self.last
        self.last = now

    def write(self, part: str, frame: pl.DataFrame) -> None:
        if self.out_dir is None:
            return
        started = time.perf_counter()
        frame.write_parquet(self.out_dir / OUT_FILE.format(part=part))
        if self.writes is not None:
            self.writes[part] = time.perf_counter() - started


def polars_features(market: Path, fundamentals: Path, parts: dict[str, float] | None = None,
                    out_dir: Path | None = None,
                    writes: dict[str, float] | None = None) -> pl.DataFrame:
    """What `pandas_features` computes, the way a user would write it with polars today (lazy
    where it reads, window expressions `over` the stock and the day instead of groupby and
    transform); the same rows and columns, as a polars DataFrame.

    numpy and polars are imported here, so a timer around the call counts their import. With
    `parts`, the seconds of each of POLARS_PARTS are put in it: reading, prices, limits and
    universe flags (the imports too); forward returns; style factors and industries. With
    `out_dir`, each part's table is written there (OUT_FILE) before its lap ends, so a part's
    seconds count its writing too; the seconds of the writing alone go into `writes`.
    """
    lap = _Laps(parts, out_dir, writes)
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

    # CSI 300 / 500 / 1000 weights (pandas_features says how)
    closes = out.select("stock_id", "trade_date", "adj_close")
    weights = pl.read_parquet(market / "AIndexFreeWeight.parquet").select(
        pl.col(code).alias("index_id"), pl.col("S_CON_WINDCODE").alias("stock_id"),
        to_date("TRADE_DT").alias("snapshot_date"), pl.col("I_WEIGHT").alias("weight")).join(
        closes.rename({"trade_date": "snapshot_date", "adj_close": "snapshot_close"}),
        on=["stock_id", "snapshot_date"], how="left")
    total, priced = pl.col("weight").sum(), pl.col("snapshot_close").is_not_null()
    coverage = weights.group_by("index_id", "snapshot_date").agg(
        pl.when(priced.all()).then(1.0)
        .otherwise(pl.col("weight").filter(priced).sum()
                   / pl.when((total - 100).abs() <= 1).then(total).otherwise(100.0))
        .alias("covered")).sort("snapshot_date")
    members = pl.read_parquet(market / "AIndexMembers.parquet").select(
        pl.col(code).alias("index_id"), pl.col("S_CON_WINDCODE").alias("stock_id"),
        to_date("S_CON_INDATE").alias("start"), to_date("S_CON_OUTDATE").alias("end"))
    drifted = pl.col("weight") * pl.col("adj_close") / pl.col("snapshot_close")
    member_days = (
        closes.join(members, on="stock_id")
        .filter((pl.col("trade_date") >= pl.col("start"))
                & (pl.col("end").is_null() | (pl.col("trade_date") < pl.col("end"))))
        .sort("trade_date")
        .join_asof(coverage, left_on="trade_date", right_on="snapshot_date", by="index_id",
                   check_sortedness=False)  # both sorted just above
        .join(weights, on=["index_id", "stock_id", "snapshot_date"], how="left")
        .select("index_id", "stock_id", "trade_date", (
            100 * pl.col("covered") * drifted / drifted.sum().over("index_id", "trade_date"))
            .alias("weight_pct"))
        .group_by("stock_id", "trade_date").agg(
            *(pl.col("weight_pct").filter(pl.col("index_id") == index_id).max()
              .alias(f"_{column}") for index_id, column in INDEX_WEIGHTS.items()),
            *((pl.col("index_id") == index_id).any().alias(f"_in_{column}")
              for index_id, column in INDEX_WEIGHTS.items())))
    known_from = dict(members.group_by("index_id").agg(pl.col("start").min()).iter_rows())
    out = out.join(member_days, on=["stock_id", "trade_date"], how="left",
                   maintain_order="left").with_columns(
        (pl.lit(None, pl.Float64) if known_from.get(index_id) is None
         else pl.when(pl.col("trade_date") >= known_from[index_id])
         .then(pl.when(pl.col(f"_in_{column}")).then(pl.col(f"_{column}")).otherwise(0.0)))
        .alias(column) for index_id, column in INDEX_WEIGHTS.items())
    lap.write("prices", out.select(pl.exclude("^_.*$")))
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
    lap.write("labels", out.select("stock_id", "trade_date", *LABEL_COLUMNS,
                                   is_buyable_t1=pl.col("_buyable_t1")))
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
    lap.write("style", out.select("stock_id", "trade_date", *STYLE_TABLE_COLUMNS))
    lap("style")
    return out
