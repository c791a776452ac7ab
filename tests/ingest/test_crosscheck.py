"""Rules across tables at load (issue 17): a daily stock row on a trading day, within the
stock's listing period; checked against this load and the warehouse."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from tests.ingest.conftest import WriteTables
from tests.ingest.test_load import data_tables, snapshot
from zoo.ingest import wind
from zoo.ingest.crosscheck import FUTURE_RULE
from zoo.ingest.load import LoadError, load_dir

Frames = dict[str, pl.DataFrame]
SATURDAY = "20200104"


def _moved(frame: pl.DataFrame, code: str, day: str, to: str) -> pl.DataFrame:
    """`frame` with the row of (code, day) moved to another date."""
    hit = (pl.col("S_INFO_WINDCODE") == code) & (pl.col("TRADE_DT") == day)
    return frame.with_columns(pl.when(hit).then(pl.lit(to)).otherwise(pl.col("TRADE_DT"))
                              .alias("TRADE_DT"))


def test_a_price_row_on_a_day_off_is_refused(warehouse: Path, tmp_path: Path,
                                             wind_frames: Frames, write: WriteTables) -> None:
    frames = dict(wind_frames)
    frames["AShareEODPrices"] = _moved(wind_frames["AShareEODPrices"], "000001.SZ", "20200103",
                                       SATURDAY)
    with pytest.raises(LoadError) as caught:
        load_dir(write(frames, tmp_path / "saturday"), warehouse)
    assert ("AShareEODPrices.parquet: AShareEODPrices: column TRADE_DT breaks rule 'a trading "
            "day in AShareCalendar (this load or the warehouse)' in 1 row, e.g. "
            f"S_INFO_WINDCODE=000001.SZ TRADE_DT={SATURDAY} (row 7)") in str(caught.value)
    assert not data_tables(snapshot(warehouse))


def test_rows_before_listing_or_from_delisting_are_refused(warehouse: Path, tmp_path: Path,
                                                           wind_frames: Frames,
                                                           write: WriteTables) -> None:
    frames = dict(wind_frames)
    frames["AShareDescription"] = wind_frames["AShareDescription"].with_columns(
        S_INFO_LISTDATE=pl.when(pl.col("S_INFO_WINDCODE") == "600000.SH")
        .then(pl.lit("20200106")).otherwise(pl.col("S_INFO_LISTDATE")),
        S_INFO_DELISTDATE=pl.when(pl.col("S_INFO_WINDCODE") == "830799.BJ")
        .then(pl.lit("20200108")).otherwise(pl.col("S_INFO_DELISTDATE")))
    with pytest.raises(LoadError) as caught:
        load_dir(write(frames, tmp_path / "listing"), warehouse)
    message = str(caught.value)
    for table in ("AShareEODPrices", "AShareEODDerivativeIndicator"):
        assert (f"{table}: column TRADE_DT breaks rule 'on or after the stock's S_INFO_LISTDATE "
                "(when known)' in 2 rows, e.g. S_INFO_WINDCODE=600000.SH TRADE_DT=20200102 "
                "S_INFO_LISTDATE=20200106 (row 1)") in message
        assert (f"{table}: column TRADE_DT breaks rule 'before the stock's S_INFO_DELISTDATE "
                "(its first day no longer listed)' in 1 row, e.g. S_INFO_WINDCODE=830799.BJ "
                "TRADE_DT=20200108 S_INFO_DELISTDATE=20200108 (row 15)") in message


def test_an_unknown_listing_date_is_not_checked(warehouse: Path, tmp_path: Path,
                                                wind_frames: Frames, write: WriteTables) -> None:
    frames = dict(wind_frames)
    frames["AShareDescription"] = wind_frames["AShareDescription"].with_columns(
        S_INFO_LISTDATE=pl.lit(None, pl.String))
    assert load_dir(write(frames, tmp_path / "unknown"), warehouse).rows_inserted == 84


def test_the_warehouse_calendar_and_listing_count(warehouse: Path, tmp_path: Path,
                                                  wind_frames: Frames,
                                                  write: WriteTables) -> None:
    """A daily extract of prices alone is checked against what the warehouse holds."""
    load_dir(write({n: wind_frames[n] for n in ("AShareDescription", "AShareCalendar")},
                   tmp_path / "reference"), warehouse)
    prices = wind_frames["AShareEODPrices"]
    assert load_dir(write({"AShareEODPrices": prices}, tmp_path / "daily"),
                    warehouse).rows_inserted == 15
    late = _moved(prices, "600000.SH", "20200108", "20200109")
    with pytest.raises(LoadError, match="TRADE_DT=20200109 \\(row 5\\)"):
        load_dir(write({"AShareEODPrices": late}, tmp_path / "late"), warehouse)
    with_day = {"AShareCalendar": wind_frames["AShareCalendar"].with_columns(
        TRADE_DAYS=pl.lit("20200109")).unique(), "AShareEODPrices": late}
    loaded = load_dir(write(with_day, tmp_path / "with_day"), warehouse)
    assert {t.table: t.rows_inserted for t in loaded.tables} == {
        "AShareCalendar": 2, "AShareEODPrices": 1}


def test_prices_without_any_calendar_are_refused(warehouse: Path, tmp_path: Path,
                                                 wind_frames: Frames,
                                                 write: WriteTables) -> None:
    frames = {n: wind_frames[n] for n in ("AShareDescription", "AShareEODPrices")}
    with pytest.raises(LoadError, match="in 15 rows"):
        load_dir(write(frames, tmp_path / "no_calendar"), warehouse)


def test_the_synthetic_market_keeps_the_cross_table_rules(tiny_market: Path,
                                                          warehouse: Path) -> None:
    report = load_dir(tiny_market, warehouse)
    assert report.rows_inserted == report.rows_in_files


def test_the_baostock_calendar_is_the_union_of_k_data_days(tmp_path: Path,
                                                           warehouse: Path) -> None:
    from tests.ingest.test_baostock import _profit, _stock_file
    from zoo.ingest.baostock import convert

    src = tmp_path / "src"
    src.mkdir()
    _stock_file(src, 1)
    _profit(src)
    convert(src, tmp_path / "out")
    report = load_dir(tmp_path / "out", warehouse)
    assert {t.table: t.rows_inserted for t in report.tables}["AShareEODPrices"] == 5


def _with_lone_restatement(frames: Frames, ann_dt: str, table: str = "AShareIncome") -> Frames:
    """`frames` with a 408004000 row for 000001.SZ's Q3 2019, which has no 408005000 row."""
    statements = frames[table]
    original = statements.filter((pl.col("S_INFO_WINDCODE") == "000001.SZ")
                                 & (pl.col("REPORT_PERIOD") == "20190930"))
    lone = original.with_columns(STATEMENT_TYPE=pl.lit(wind.STATEMENT_RESTATED),
                                 ANN_DT=pl.lit(ann_dt), ACTUAL_ANN_DT=pl.lit(None, pl.String))
    return {**frames, table: pl.concat([statements, lone])}


def test_a_lone_restatement_announced_after_the_extract_is_refused(
        warehouse: Path, tmp_path: Path, wind_frames: Frames, write: WriteTables) -> None:
    """The extract's prices end on 20200108; a restatement dated ten months later would hide
    the quarter's reported figures until then (issue 17)."""
    frames = _with_lone_restatement(wind_frames, "20201030")
    with pytest.raises(LoadError) as caught:
        load_dir(write(frames, tmp_path / "future"), warehouse)
    assert (f"AShareIncome.parquet: AShareIncome: column ANN_DT breaks rule '{FUTURE_RULE}' in "
            "1 row, e.g. S_INFO_WINDCODE=000001.SZ REPORT_PERIOD=20190930 "
            "STATEMENT_TYPE=408004000 ANN_DT=20201030 extract_last_day=20200108 (row 7)"
            ) in str(caught.value)
    assert "408004000 (no 408005000 for its stock and report period) announced at most 14 " \
           "days after the extract's last price day" in FUTURE_RULE
    assert not data_tables(snapshot(warehouse))


def test_what_the_future_rule_lets_through(warehouse: Path, tmp_path: Path,
                                           wind_frames: Frames, write: WriteTables) -> None:
    """Within 14 days of the last price day (an announcement dated the next trading day after
    a holiday), a correction with its 408005000 original, and statements loaded before any
    price (nothing says when that extract was taken) all load."""
    within = _with_lone_restatement(wind_frames, "20200122")
    corrected = wind_frames["AShareIncome"].with_columns(
        ANN_DT=pl.when(pl.col("STATEMENT_TYPE") == wind.STATEMENT_RESTATED)
        .then(pl.lit("20201030")).otherwise(pl.col("ANN_DT")))
    within["AShareIncome"] = pl.concat([corrected, within["AShareIncome"].tail(1)])
    report = load_dir(write(within, tmp_path / "within"), warehouse)
    assert report.rows_inserted == report.rows_in_files

    alone = tmp_path / "alone.duckdb"
    statements = _with_lone_restatement(wind_frames, "20251030")
    first = {n: statements[n] for n in ("AShareDescription", "AShareIncome")}
    assert load_dir(write(first, tmp_path / "statements"), alone).rows_inserted == 10


def test_a_later_statement_extract_is_checked_against_the_warehouse_prices(
        warehouse: Path, tmp_path: Path, wind_frames: Frames, write: WriteTables) -> None:
    load_dir(write(wind_frames, tmp_path / "market"), warehouse)
    later = _with_lone_restatement(wind_frames, "20200301", "AShareCashFlow")
    with pytest.raises(LoadError, match="ANN_DT=20200301 extract_last_day=20200108 \\(row 7\\)"):
        load_dir(write({"AShareCashFlow": later["AShareCashFlow"]}, tmp_path / "later"),
                 warehouse)
