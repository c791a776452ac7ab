"""`convert(src, out)`: baostock's native files -> one parquet per Wind table in `out`."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import polars as pl

from zoo.atomic import replace_dir, write_json
from zoo.ingest import contracts, files, wind
from zoo.ingest.baostock import fundamentals, indices, market
from zoo.ingest.baostock.report import ConvertReport
from zoo.ingest.baostock.source import find_file, kdata_files, read_csv

REPORT_FILE = files.CONVERT_REPORT  # the loader passes over it
KIND_TYPES = {wind.STR: pl.String, wind.DATE: pl.String, wind.FLOAT: pl.Float64,
              wind.INT: pl.Int64}
NOT_FED = {
    "AShareBalanceSheet": "query_balance_data has ratios only (liabilityToAsset, "
                          "assetToEquity, ...), no balance-sheet level",
    "AShareCashFlow": "no query_cash_flow_data file (cash_flow_data.csv[.gz])",
    "AShareIncome": "no query_profit_data file (profit_data.csv[.gz])",
    "AShareEODDerivativeIndicator": "no query_profit_data file: total shares unknown",
    "AShareIndustriesClassCITICS": "baostock has no CITIC industries",
    "AShareIndustriesCode": "baostock has no CITIC industries",
    "AIndexFreeWeight": "baostock has no index weights",
    "AIndexMembers": "no <HS300|ZZ500|ZZ1000>_history.csv constituent change list",
    "AIndexEODPrices": "no <HS300|ZZ500|ZZ1000>_index.csv daily levels",
    "AShareST": "no stock was ever ST in the k-data",
}
WHY_NULL = {
    "AShareDescription.S_INFO_NAME": "names are not in k-data (only in query_stock_basic)",
    "AShareDescription.S_INFO_LISTDATE": "listing dates are not in k-data (only in "
                                         "query_stock_basic); not invented",
    "AShareDescription.S_INFO_DELISTDATE": "delisting dates are not in k-data",
    "AShareEODDerivativeIndicator.FREE_SHARES_TODAY": "baostock has no free-float shares",
    "AShareEODDerivativeIndicator.S_DQ_FREETURNOVER": "baostock has no free-float shares",
    "AShareIncome.COMP_TYPE_CODE": "company type (bank, insurer, broker) is not in the source",
    "AShareCashFlow.COMP_TYPE_CODE": "company type (bank, insurer, broker) is not in the source",
}


def shape(table: wind.Table, frame: pl.DataFrame) -> pl.DataFrame:
    """Exactly the declared columns, in order, with the declared types (absent ones NULL)."""
    return frame.select(
        (pl.col(c.name) if c.name in frame.columns else pl.lit(None)).cast(KIND_TYPES[c.kind])
        .alias(c.name) for c in table.columns)


def _daily(src: Path, report: ConvertReport) -> pl.DataFrame:
    files = kdata_files(src)
    if not files:
        raise FileNotFoundError(f"{src}: no stock_data_*.csv[.gz] k-data files")
    daily = pl.concat([market.stock_daily(path, report) for path in files], how="vertical")
    codes = daily.group_by("S_INFO_WINDCODE").agg(pl.col("TRADE_DT").is_duplicated().any())
    twice = codes.filter("TRADE_DT")["S_INFO_WINDCODE"].to_list()
    if twice:
        raise ValueError(f"{src}: stocks in more than one k-data file: {', '.join(twice)}")
    return daily


def _quality(daily: pl.DataFrame, report: ConvertReport) -> None:
    traded = daily.filter("traded")
    pct = (pl.col("raw_close") / pl.col("raw_preclose") - 1) * 100
    agree = traded.select(((pct - pl.col("pctChg")).abs() <= market.PCTCHG_TOL).mean()).item()
    changes = daily.select(
        (pl.col("S_DQ_ADJFACTOR") / pl.col("S_DQ_ADJFACTOR").shift().over("S_INFO_WINDCODE")
         - 1).abs().gt(1e-9).sum()).item()
    report.quality.update({"stocks": daily["S_INFO_WINDCODE"].n_unique(),
                           "traded rows": traded.height,
                           "traded rows whose recomputed pctChg agrees (0.01)": agree or 0.0,
                           "days the adjustment factor changes": changes})


def _with_kdata(statements: pl.DataFrame, description: pl.DataFrame, table: str,
                report: ConvertReport) -> pl.DataFrame:
    """Statements of stocks that have a k-data file: the others are in no AShareDescription,
    and the loader refuses a stock it does not know (profit_data may cover more stocks)."""
    known = statements["S_INFO_WINDCODE"].is_in(description["S_INFO_WINDCODE"].implode())
    dropped = statements.filter(~known)
    report.drop(table, "no k-data file for the stock, so no AShareDescription row",
                (dropped["S_INFO_WINDCODE"] + " " + dropped["REPORT_PERIOD"]).to_list())
    return statements.filter(known)


def build(src: Path, report: ConvertReport) -> dict[str, pl.DataFrame]:
    """Every Wind table the files can feed, shaped as declared."""
    daily = _daily(src, report)
    _quality(daily, report)
    kept = daily.filter("keep")
    frames = {"AShareEODPrices": market.eod_prices(kept), "AShareCalendar": market.calendar(daily)}
    basic_path = find_file(src, "stock_basic")
    basic = None if basic_path is None else market.stock_basic(
        read_csv(basic_path, ("code", "code_name", "ipoDate", "outDate")))
    frames["AShareDescription"] = market.description(daily, basic)
    st = market.st_periods(daily, report)
    if st.height:
        frames["AShareST"] = st
    found = fundamentals.read_all(src, report)
    profit = found.get("profit")
    if profit is not None:
        frames["AShareIncome"] = fundamentals.income(profit, report)
        frames["AShareEODDerivativeIndicator"] = market.eod_derivative(
            kept, fundamentals.shares(profit), report)
    if "cash_flow" in found:
        frames["AShareCashFlow"] = fundamentals.cash_flow(found["cash_flow"], profit, report)
    for name in ("growth", "operation", "balance"):
        if name in found:
            report.notes.append(f"query_{name}_data read: ratios only, no declared Wind "
                                "column takes them")
    for name in ("AShareIncome", "AShareCashFlow"):
        if name in frames:
            frames[name] = _with_kdata(frames[name], frames["AShareDescription"], name, report)
    frames.update(indices.index_tables(src, report))
    report.notes.append("AShareCalendar is the union of the k-data's dates: a trading day on "
                        "which no converted stock has a row is missing")
    report.notes.append("S_DQ_TRADESTATUS is 交易 or 停牌: XD/XR/DR and N (first day) are not "
                        "known from k-data")
    return {t.name: shape(t, frames[t.name]) for t in wind.RAW_TABLES if t.name in frames}


def convert(src: str | Path, out: str | Path, check_contracts: bool = True) -> ConvertReport:
    """Convert the baostock files in `src` to `<Table>.parquet` files in `out` (replaced as a
    whole, atomically) and say what was written, left out, dropped and flagged.

    Raises BaostockFormatError (file, column, rule) on a file that breaks the format.
    With `check_contracts`, each table is run through the loader's contract and the broken
    rules are listed in the report (the files are written either way).
    """
    src, out = Path(src), Path(out)
    report = ConvertReport(src, out)
    tables = build(src, report)
    for table in wind.RAW_TABLES:
        frame = tables.get(table.name)
        if frame is None:
            report.not_fed[table.name] = NOT_FED.get(table.name, "not in the source")
            continue
        report.written[table.name] = frame.height
        for column in table.columns:
            name = f"{table.name}.{column.name}"
            if frame.height and frame[column.name].null_count() == frame.height:
                report.null_columns[name] = WHY_NULL.get(name, "not in the source")
        if check_contracts:
            try:
                contracts.validate(table, frame)
            except contracts.ContractError as err:
                report.contract_failures[table.name] = [f.message().splitlines()[0]
                                                        for f in err.failures]
    with replace_dir(out) as scratch:
        for name, frame in tables.items():
            frame.write_parquet(scratch / f"{name}.parquet")
        write_json(scratch / REPORT_FILE, report.to_json())
    return report


@contextmanager
def converted(src: str | Path, scratch_parent: str | Path) -> Iterator[tuple[ConvertReport, Path]]:
    """Convert `src` into a hidden temporary folder under `scratch_parent` (the warehouse's
    folder, so no other disk has to hold a market) and yield (report, folder); the folder is
    removed on exit. The contracts are not run here: the load that follows runs them."""
    parent = Path(scratch_parent)
    parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".baostock-", dir=parent) as scratch:
        out = Path(scratch) / "wind"
        yield convert(src, out, check_contracts=False), out
