"""Statements from baostock's `query_*_data` files (one version per report period).

`pubDate` is ANN_DT (and ACTUAL_ANN_DT), `statDate` REPORT_PERIOD, STATEMENT_TYPE 408001000.
baostock's amounts are year to date, as Wind's. What can be fed:
- AShareIncome from query_profit_data: NET_PROFIT_INCL_MIN_INT_INC = netProfit;
  OPER_REV = netProfit / npMargin (npMargin is net profit over operating revenue);
  LESS_OPER_COST = OPER_REV x (1 - gpMargin). MBRevenue is main-business revenue, a
  narrower figure than any declared column, so it is not used.
- AShareCashFlow from query_cash_flow_data: NET_CASH_FLOWS_OPER_ACT = CFOToNP x netProfit.
- query_balance_data has ratios only (no level), query_growth_data and query_operation_data
  growth and turnover ratios: no declared column takes them.
COMP_TYPE_CODE (bank, insurer, broker, other) is not in the source: it is left NULL.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from zoo.ingest import wind
from zoo.ingest.baostock.report import ConvertReport
from zoo.ingest.baostock.source import (
    FUNDAMENTAL_FILES,
    find_file,
    read_fundamentals,
    wind_code,
    wind_date,
)

QUARTER_ENDS = ("0331", "0630", "0930", "1231")


def read_all(src: Path, report: ConvertReport) -> dict[str, pl.DataFrame]:
    """The `<name>_data.csv[.gz]` files present, keyed by name."""
    found = {}
    for name, fields in FUNDAMENTAL_FILES.items():
        path = find_file(src, f"{name}_data")
        if path is None:
            report.notes.append(f"{name}_data.csv[.gz] (query_{name}_data) is absent")
            continue
        found[name] = read_fundamentals(path, ())
        missing = [f for f in fields if f not in found[name].columns]
        if missing:
            report.notes.append(f"{path.name} lacks {', '.join(missing)}: those items stay NULL")
    return found


def _keys(frame: pl.DataFrame, table: str, report: ConvertReport) -> pl.DataFrame:
    """Wind key columns; rows the contract would refuse are dropped and reported."""
    keyed = frame.with_columns(
        wind_code(pl.col("code")).alias("S_INFO_WINDCODE"),
        wind_date(pl.col("pubDate")).alias("ANN_DT"),
        wind_date(pl.col("statDate")).alias("REPORT_PERIOD"))
    example = pl.col("S_INFO_WINDCODE") + " " + pl.col("REPORT_PERIOD") + " ann " + pl.col(
        "ANN_DT")
    rules = (
        (pl.col("REPORT_PERIOD").str.slice(4).is_in(QUARTER_ENDS), "statDate not a quarter end"),
        (pl.col("ANN_DT") > pl.col("REPORT_PERIOD"), "pubDate not after statDate"),
        (pl.struct("S_INFO_WINDCODE", "REPORT_PERIOD", "ANN_DT").is_first_distinct(),
         "a second row for the same code, statDate and pubDate"),
    )
    for ok, reason in rules:
        report.drop(table, reason, keyed.filter(~ok).select(example).to_series().to_list())
        keyed = keyed.filter(ok)
    return keyed.with_columns(
        pl.col("ANN_DT").alias("ACTUAL_ANN_DT"),
        pl.lit(wind.STATEMENT_CONSOLIDATED).alias("STATEMENT_TYPE"),
        pl.lit("CNY").alias("CRNCY_CODE"), pl.lit(None, pl.Int64).alias("COMP_TYPE_CODE"))


def _col(frame: pl.DataFrame, name: str) -> pl.Expr:
    return pl.col(name) if name in frame.columns else pl.lit(None, pl.Float64)


def income(profit: pl.DataFrame, report: ConvertReport) -> pl.DataFrame:
    table = wind.ASHARE_INCOME.name
    keyed = _keys(profit, table, report)
    margin, net = _col(keyed, "npMargin"), _col(keyed, "netProfit")
    revenue = pl.when(margin.is_finite() & (margin != 0)).then(net / margin)
    return keyed.with_columns(
        revenue.alias("OPER_REV"),
        (revenue * (1 - _col(keyed, "gpMargin"))).alias("LESS_OPER_COST"),
        net.alias("NET_PROFIT_INCL_MIN_INT_INC"))


def cash_flow(cash: pl.DataFrame, profit: pl.DataFrame | None,
              report: ConvertReport) -> pl.DataFrame:
    keyed = _keys(cash, wind.ASHARE_CASH_FLOW.name, report)
    if profit is None or "CFOToNP" not in keyed.columns:
        return keyed
    net = profit.select("code", "statDate", pl.col("netProfit").alias("np"))
    keyed = keyed.join(net.unique(["code", "statDate"]), on=["code", "statDate"], how="left")
    return keyed.with_columns((pl.col("CFOToNP") * pl.col("np")).alias("NET_CASH_FLOWS_OPER_ACT"))


def shares(profit: pl.DataFrame) -> pl.DataFrame:
    """Total shares by announcement: S_INFO_WINDCODE, avail (pubDate), totalShare."""
    return (profit.filter(pl.col("totalShare") > 0)
            .select(wind_code(pl.col("code")).alias("S_INFO_WINDCODE"),
                    wind_date(pl.col("pubDate")).alias("avail"), "totalShare")
            .unique(["S_INFO_WINDCODE", "avail"], keep="last"))
