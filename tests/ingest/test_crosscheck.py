"""Rules across tables at load (issue 17): a daily stock row on a trading day, within the
stock's listing period; checked against this load and the warehouse."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from tests.ingest.conftest import WriteTables
from tests.ingest.test_load import data_tables, snapshot
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
