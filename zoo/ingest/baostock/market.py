"""Daily Wind tables from baostock k-data: AShareEODPrices, AShareEODDerivativeIndicator,
AShareST, AShareCalendar and AShareDescription."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl

from zoo.ingest import wind
from zoo.ingest.baostock import prices as px
from zoo.ingest.baostock.report import ConvertReport
from zoo.ingest.baostock.source import read_kdata, wind_code, wind_date

SHARES_PER_LOT, YUAN_PER_THOUSAND, UNITS_PER_10K = 100.0, 1000.0, 10_000.0
PCTCHG_TOL = 0.01  # percent: baostock rounds pctChg to 4 decimals, raw prices to 0.01
BOARDS = (("688", "科创板"), ("689", "科创板"), ("300", "创业板"), ("301", "创业板"))
CHINEXT_20PCT_FROM = "20200824"  # ChiNext registration reform: limits 10% -> 20%
EXCHANGE_OF_SUFFIX = {"SH": "SSE", "SZ": "SZSE", "BJ": "BSE"}


def _example(code: str, dates: list[str]) -> list[str]:
    return [f"{code} {d}" for d in dates]


def stock_daily(path: Path, report: ConvertReport) -> pl.DataFrame:
    """One stock's rows with raw prices, Wind units and what the derivative table needs."""
    frame = read_kdata(path)
    flag = int(frame["adjustflag"][0])
    adj = frame.select(px.KDATA_PRICE_COLUMNS).to_numpy().astype(float)
    volume, amount = frame["volume"].to_numpy(), frame["amount"].to_numpy()
    rec = px.recover(adj, volume.astype(float), amount.astype(float), flag)
    code = wind_code(pl.lit(frame["code"][0])).alias("c")
    code = pl.select(code).item()
    dates = frame["date"].str.replace_all("-", "")
    tag = dates.to_list()

    def rows(mask: np.ndarray) -> list[str]:
        return _example(code, [tag[i] for i in np.flatnonzero(mask)])

    eod = wind.ASHARE_EOD_PRICES.name
    report.flag(eod, "no factor put every price on the 0.01 grid with amount / volume inside "
                "[low, high]; the previous factor was used", rows(rec.unfitted))
    report.drop(eod, "amount / volume outside [low, high] of the recovered raw prices "
                "(source defect; the contract would refuse it)", rows(rec.vwap_outside))
    report.drop(eod, "never traded in the file: no raw price to carry", rows(rec.no_price))
    status = frame["tradestatus"].to_numpy() == "1"
    report.flag(eod, "tradestatus 0 but volume > 0: kept as traded", rows(~status & rec.traded))
    report.flag(eod, "tradestatus 1 but no volume or amount: written as suspended",
                rows(status & ~rec.traded))
    raw = rec.prices
    out = pl.DataFrame({
        "S_INFO_WINDCODE": [code] * len(tag), "TRADE_DT": dates,
        **{f"raw_{c}": raw[:, i] for i, c in enumerate(px.KDATA_PRICE_COLUMNS)},
        "S_DQ_ADJFACTOR": rec.factor, "traded": rec.traded,
        "volume": np.where(rec.traded, volume, 0.0), "amount": np.where(rec.traded, amount, 0.0),
        "turn": frame["turn"].to_numpy(), "pctChg": frame["pctChg"].to_numpy(),
        "isST": frame["isST"].to_numpy() == "1",
        "peTTM": frame["peTTM"].to_numpy() if "peTTM" in frame.columns else None,
        "pbMRQ": frame["pbMRQ"].to_numpy() if "pbMRQ" in frame.columns else None,
        "keep": ~(rec.vwap_outside | rec.no_price), "adjustflag": [flag] * len(tag),
    }, strict=False)
    report.quality["factor searches"] = report.quality.get("factor searches", 0) + rec.searches
    return out


def eod_prices(daily: pl.DataFrame) -> pl.DataFrame:
    close, pre = pl.col("raw_close"), pl.col("raw_preclose")
    traded = pl.col("traded")
    return daily.select(
        "S_INFO_WINDCODE", "TRADE_DT", pl.lit("CNY").alias("CRNCY_CODE"),
        pre.alias("S_DQ_PRECLOSE"), pl.col("raw_open").alias("S_DQ_OPEN"),
        pl.col("raw_high").alias("S_DQ_HIGH"), pl.col("raw_low").alias("S_DQ_LOW"),
        close.alias("S_DQ_CLOSE"), (close - pre).round(2).alias("S_DQ_CHANGE"),
        ((close / pre - 1) * 100).alias("S_DQ_PCTCHANGE"),
        (pl.col("volume") / SHARES_PER_LOT).alias("S_DQ_VOLUME"),
        (pl.col("amount") / YUAN_PER_THOUSAND).alias("S_DQ_AMOUNT"), "S_DQ_ADJFACTOR",
        pl.when(traded).then(pl.col("amount") / pl.col("volume")).otherwise(close)
        .alias("S_DQ_AVGPRICE"),
        pl.when(traded).then(pl.lit("交易")).otherwise(pl.lit("停牌")).alias("S_DQ_TRADESTATUS"),
        pl.when(traded).then(wind.TRADESTATUS_NORMAL).otherwise(wind.TRADESTATUS_SUSPENDED)
        .alias("S_DQ_TRADESTATUSCODE"),
    )


def _limit_fraction() -> pl.Expr:
    """The day's price limit by board, ST status and date (first days after listing have none,
    which this cannot know: a close exactly at +-limit is still counted)."""
    code, day = pl.col("S_INFO_WINDCODE"), pl.col("TRADE_DT")
    chinext = code.str.starts_with("300") | code.str.starts_with("301")
    return (pl.when(code.str.ends_with(".BJ")).then(0.30)
            .when(code.str.starts_with("688") | code.str.starts_with("689")).then(0.20)
            .when(chinext & (day >= CHINEXT_20PCT_FROM)).then(0.20)
            .when(pl.col("isST")).then(0.05)
            .otherwise(0.10))


def eod_derivative(daily: pl.DataFrame, shares: pl.DataFrame,
                   report: ConvertReport) -> pl.DataFrame:
    """Float shares = volume / turn (carried over untraded days); total shares from the latest
    profit report announced before the day (`shares`: code, pubDate as TRADE_DT, totalShare)."""
    turn = pl.col("turn")
    daily = daily.sort("S_INFO_WINDCODE", "TRADE_DT").with_columns(
        pl.when(pl.col("traded") & (turn > 0)).then(pl.col("volume") / (turn / 100))
        .forward_fill().over("S_INFO_WINDCODE").alias("float_shares"))
    # strictly before: the project uses a report from the trading day after its ANN_DT
    shares = shares.with_columns(pl.col("avail").cast(pl.Int64)).sort("avail")
    daily = daily.with_columns(day=pl.col("TRADE_DT").cast(pl.Int64)).sort("day").join_asof(
        shares, left_on="day", right_on="avail", by="S_INFO_WINDCODE", strategy="backward",
        allow_exact_matches=False, check_sortedness=False).sort("S_INFO_WINDCODE", "TRADE_DT")
    day = pl.col("S_INFO_WINDCODE") + " " + pl.col("TRADE_DT")
    table = wind.ASHARE_EOD_DERIVATIVE.name
    no_float = daily.filter(pl.col("float_shares").is_null())
    report.drop(table, "float shares unknown: no traded day with turnover yet",
                no_float.select(day).to_series().to_list())
    daily = daily.filter(pl.col("float_shares").is_not_null())
    no_total = daily.filter(pl.col("totalShare").is_null())
    report.drop(table, "total shares unknown: no profit report announced before the day",
                no_total.select(day).to_series().to_list())
    daily = daily.filter(pl.col("totalShare").is_not_null())
    low_total = daily.filter(pl.col("float_shares") > pl.col("totalShare") * 1.001)
    report.flag(table, "float shares (volume / turn) above the last report's total shares "
                "(shares issued since): total raised to the float shares",
                low_total.select(day).to_series().to_list())
    total = pl.max_horizontal("totalShare", "float_shares")
    close, pre, lim = pl.col("raw_close"), pl.col("raw_preclose"), _limit_fraction()
    at = (close - (pre * (1 + lim) + 1e-9).round(2)).abs() < 0.005
    at_down = (close - (pre * (1 - lim) + 1e-9).round(2)).abs() < 0.005
    return daily.select(
        "S_INFO_WINDCODE", "TRADE_DT", pl.lit("CNY").alias("CRNCY_CODE"),
        (close * total / UNITS_PER_10K).alias("S_VAL_MV"),
        (close * pl.col("float_shares") / UNITS_PER_10K).alias("S_DQ_MV"),
        (total / UNITS_PER_10K).alias("TOT_SHR_TODAY"),
        (pl.col("float_shares") / UNITS_PER_10K).alias("FLOAT_A_SHR_TODAY"),
        pl.lit(None, pl.Float64).alias("FREE_SHARES_TODAY"),
        pl.when(pl.col("traded")).then(turn).otherwise(0.0).alias("S_DQ_TURN"),
        pl.lit(None, pl.Float64).alias("S_DQ_FREETURNOVER"),
        pl.col("peTTM").alias("S_VAL_PE_TTM"), pl.col("pbMRQ").alias("S_VAL_PB_NEW"),
        close.alias("S_DQ_CLOSE_TODAY"),
        pl.when(pl.col("traded") & at).then(1).when(pl.col("traded") & at_down).then(-1)
        .otherwise(0).alias("UP_DOWN_LIMIT_STATUS"),
    )


def st_periods(daily: pl.DataFrame, report: ConvertReport) -> pl.DataFrame:
    """Runs of isST = 1 -> [ENTRY_DT, REMOVE_DT); REMOVE_DT is the first row with isST = 0."""
    runs = (daily.sort("S_INFO_WINDCODE", "TRADE_DT")
            .with_columns(run=pl.col("isST").rle_id().over("S_INFO_WINDCODE"),
                          first=pl.col("TRADE_DT").first().over("S_INFO_WINDCODE"))
            .group_by("S_INFO_WINDCODE", "run", maintain_order=True)
            .agg(pl.col("isST").first(), pl.col("TRADE_DT").first().alias("ENTRY_DT"),
                 pl.col("first").first())
            .with_columns(REMOVE_DT=pl.col("ENTRY_DT").shift(-1).over("S_INFO_WINDCODE"))
            .filter("isST"))
    censored = runs.filter(pl.col("ENTRY_DT") == pl.col("first"))
    report.flag(wind.ASHARE_ST.name, "ST on the file's first day: ENTRY_DT is that day, the "
                "true entry is on or before it", (censored["S_INFO_WINDCODE"] + " "
                                                  + censored["ENTRY_DT"]).to_list())
    return runs.select("S_INFO_WINDCODE", pl.lit("S").alias("S_TYPE_ST"), "ENTRY_DT",
                       "REMOVE_DT", pl.col("ENTRY_DT").alias("ANN_DT"))


def calendar(daily: pl.DataFrame) -> pl.DataFrame:
    days = daily.select(pl.col("TRADE_DT").unique().sort().alias("TRADE_DAYS"))
    suffixes = daily["S_INFO_WINDCODE"].str.slice(-2).unique().to_list()
    exchanges = sorted({"SSE", "SZSE"} | {EXCHANGE_OF_SUFFIX[s] for s in suffixes})
    return days.join(pl.DataFrame({"S_INFO_EXCHMARKET": exchanges}), how="cross")


def description(daily: pl.DataFrame, basic: pl.DataFrame | None) -> pl.DataFrame:
    """One row per stock; name and listing date only from a stock_basic file when present."""
    code = pl.col("S_INFO_WINDCODE")
    board = pl.when(code.str.ends_with(".BJ")).then(pl.lit("北证"))
    for prefix, name in BOARDS:
        board = board.when(code.str.starts_with(prefix)).then(pl.lit(name))
    stocks = daily.select(code.unique().sort()).with_columns(
        code.str.slice(0, 6).alias("S_INFO_CODE"),
        code.str.slice(-2).replace_strict(EXCHANGE_OF_SUFFIX).alias("S_INFO_EXCHMARKET"),
        board.otherwise(pl.lit("主板")).alias("S_INFO_LISTBOARDNAME"))
    if basic is None:
        basic = pl.DataFrame(schema={"S_INFO_WINDCODE": pl.String, "S_INFO_NAME": pl.String,
                                     "S_INFO_LISTDATE": pl.String,
                                     "S_INFO_DELISTDATE": pl.String})
    return stocks.join(basic, on="S_INFO_WINDCODE", how="left")


def stock_basic(frame: pl.DataFrame) -> pl.DataFrame:
    """`query_stock_basic` (code, code_name, ipoDate, outDate) as description columns."""
    return frame.select(
        wind_code(pl.col("code")).alias("S_INFO_WINDCODE"),
        pl.col("code_name").alias("S_INFO_NAME"),
        wind_date(pl.col("ipoDate")).alias("S_INFO_LISTDATE"),
        wind_date(pl.col("outDate")).replace("", None).alias("S_INFO_DELISTDATE"))
