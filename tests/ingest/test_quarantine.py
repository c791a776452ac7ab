"""`--quarantine`: rows breaking a row rule are set aside into raw._rejects, the rest loads;
what concerns a whole file still refuses the load. Strict stays the default."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import duckdb
import polars as pl
import pytest

from tests.ingest.conftest import WriteTables
from tests.ingest.test_load import data_tables, snapshot
from zoo.ingest import contracts, wind
from zoo.ingest.load import LoadError, load_dir

Frames = dict[str, pl.DataFrame]
VWAP_RULE = ("S_DQ_AMOUNT x 10 / S_DQ_VOLUME (VWAP, yuan) within [low, high] (+-0.5%) "
             "when volume > 0")


def query(warehouse: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute(sql).fetchall()


@pytest.fixture
def four_bad_rows(tiny_market: Path, tmp_path: Path) -> tuple[Path, list[tuple[str, str]]]:
    """The synthetic market with four traded price rows whose amount / volume lies outside
    [low, high] (the issue's real-data defect), as a folder of its own."""
    folder = tmp_path / "market"
    folder.mkdir()
    for path in tiny_market.glob("*.parquet"):
        (folder / path.name).symlink_to(path)
    prices = pl.read_parquet(tiny_market / "AShareEODPrices.parquet")
    traded = prices.with_row_index("i").filter(pl.col("S_DQ_VOLUME") > 0)
    picked = traded.gather_every(traded.height // 4).head(4)
    hit = pl.int_range(pl.len()).is_in(picked["i"].implode())
    broken = prices.with_columns(
        pl.when(hit).then(pl.col("S_DQ_AMOUNT") * 3).otherwise(pl.col("S_DQ_AMOUNT")))
    (folder / "AShareEODPrices.parquet").unlink()
    broken.write_parquet(folder / "AShareEODPrices.parquet")
    return folder, list(picked.select("S_INFO_WINDCODE", "TRADE_DT").iter_rows())


def test_four_bad_rows_refuse_the_load_and_are_set_aside_with_quarantine(
        four_bad_rows: tuple[Path, list[tuple[str, str]]], tmp_path: Path) -> None:
    folder, bad = four_bad_rows
    strict = tmp_path / "strict.duckdb"
    with pytest.raises(LoadError, match=re.escape(f"column S_DQ_AMOUNT breaks rule "
                                                  f"'{VWAP_RULE}' in 4 rows")):
        load_dir(folder, strict)
    assert not data_tables(snapshot(strict))

    warehouse = tmp_path / "quarantined.duckdb"
    report = load_dir(folder, warehouse, quarantine=True)
    prices = next(t for t in report.tables if t.table == "AShareEODPrices")
    assert (prices.rows_rejected, prices.rows_inserted) == (4, prices.rows_in_file - 4)
    assert prices.rejected_by_rule == ((f"S_DQ_AMOUNT: {VWAP_RULE}", 4),)
    assert report.rows_inserted == report.rows_in_files - 4
    summary = report.summary()
    assert "Set aside 4 rows that break a rule (--quarantine); they are in raw._rejects" in summary
    assert f"         4  S_DQ_AMOUNT: {VWAP_RULE}" in summary
    loaded = set(query(warehouse, "SELECT S_INFO_WINDCODE, TRADE_DT FROM raw.AShareEODPrices"))
    assert not loaded & set(bad)
    rejects = query(warehouse, "SELECT table_name, source_file, rule, column_name, row_json, "
                               "row_number FROM raw._rejects ORDER BY row_number")
    assert [(t, Path(f).name, r, c) for t, f, r, c, _, _ in rejects] == [
        ("raw.AShareEODPrices", "AShareEODPrices.parquet", VWAP_RULE, "S_DQ_AMOUNT")] * 4
    rows = [json.loads(r[4]) for r in rejects]
    assert [(r["S_INFO_WINDCODE"], r["TRADE_DT"]) for r in rows] == bad
    assert query(warehouse, "SELECT rows_rejected FROM raw._loads WHERE table_name = "
                            "'raw.AShareEODPrices'") == [(4,)]


def test_a_missing_column_still_refuses_a_quarantined_load(warehouse: Path, parquet_dir: Path,
                                                           wind_frames: Frames) -> None:
    wind_frames["AShareST"].drop("ENTRY_DT").write_parquet(parquet_dir / "AShareST.parquet")
    with pytest.raises(LoadError) as caught:
        load_dir(parquet_dir, warehouse, quarantine=True)
    assert "column ENTRY_DT breaks rule 'required column present'" in str(caught.value)
    assert "these problems concern a whole file" in str(caught.value)


def test_cross_table_rows_are_set_aside_too(warehouse: Path, tmp_path: Path,
                                            wind_frames: Frames, write: WriteTables) -> None:
    """A description row breaking its contract takes its stock's prices with it (no stock to
    list them under), and a price row on a day off is set aside, with the rule that says so."""
    frames = dict(wind_frames)
    frames["AShareDescription"] = wind_frames["AShareDescription"].with_columns(
        S_INFO_EXCHMARKET=pl.when(pl.col("S_INFO_WINDCODE") == "830799.BJ")
        .then(pl.lit("NYSE")).otherwise(pl.col("S_INFO_EXCHMARKET")))
    frames["AShareEODPrices"] = wind_frames["AShareEODPrices"].with_columns(
        TRADE_DT=pl.when(pl.int_range(pl.len()) == 1).then(pl.lit("20200104"))
        .otherwise(pl.col("TRADE_DT")))
    report = load_dir(write(frames, tmp_path / "cross"), warehouse, quarantine=True)
    rejected = {t.table: t.rejected_by_rule for t in report.tables if t.rows_rejected}
    listed = "S_INFO_WINDCODE: stock listed in AShareDescription (this load or the warehouse)"
    assert rejected == {
        "AShareDescription": (("S_INFO_EXCHMARKET: S_INFO_EXCHMARKET in {SSE, SZSE, BSE}", 1),),
        "AShareEODPrices": ((listed, 5), ("TRADE_DT: a trading day in AShareCalendar (this load "
                                          "or the warehouse)", 1)),
        "AShareEODDerivativeIndicator": ((listed, 5),),
        **{name: ((listed, 1),) for name in ("AShareIncome", "AShareBalanceSheet",
                                             "AShareCashFlow")},
        "AShareST": ((listed, 1),),
        "AShareIndustriesClassCITICS": ((listed, 1),),
    }
    assert query(warehouse, "SELECT count(*) FROM raw.AShareEODPrices") == [(9,)]
    day_off = query(warehouse, "SELECT row_number, row_json FROM raw._rejects WHERE rule LIKE "
                               "'a trading day%'")
    assert [(n, json.loads(j)["TRADE_DT"]) for n, j in day_off] == [(2, "20200104")]


def test_a_flipped_cur_sign_and_a_future_restatement_are_set_aside(
        warehouse: Path, tmp_path: Path, wind_frames: Frames, write: WriteTables) -> None:
    """The two row rules issue 17 added: CUR_SIGN '1' on a closed period (a contract rule) and
    a lone 408004000 announced after the extract (a cross-table rule) are quarantinable."""
    from tests.ingest.test_crosscheck import _with_lone_restatement
    from zoo.ingest.crosscheck import FUTURE_RULE

    frames = _with_lone_restatement(wind_frames, "20201030", "AShareBalanceSheet")
    frames["AIndexMembers"] = wind_frames["AIndexMembers"].with_columns(
        CUR_SIGN=pl.when(pl.col("S_CON_OUTDATE").is_not_null()).then(pl.lit("1"))
        .otherwise(pl.col("CUR_SIGN")))
    report = load_dir(write(frames, tmp_path / "flipped"), warehouse, quarantine=True)
    rejected = {t.table: t.rejected_by_rule for t in report.tables if t.rows_rejected}
    assert rejected == {
        "AIndexMembers": (("CUR_SIGN: CUR_SIGN '1' (current) exactly when S_CON_OUTDATE is "
                           "NULL (open period), '0' when it is set", 1),),
        "AShareBalanceSheet": ((f"ANN_DT: {FUTURE_RULE}", 1),),
    }
    assert report.rows_inserted == report.rows_in_files - 2
    rows = query(warehouse, "SELECT table_name, row_json FROM raw._rejects ORDER BY 1")
    assert [(t, json.loads(j)["S_INFO_WINDCODE"]) for t, j in rows] == [
        ("raw.AIndexMembers", "000905.SH"), ("raw.AShareBalanceSheet", "000001.SZ")]
    assert query(warehouse, "SELECT count(*) FROM raw.AShareBalanceSheet WHERE STATEMENT_TYPE "
                            "= '408004000'") == [(1,)]


def test_nothing_set_aside_is_said_and_raw_rejects_exists(warehouse: Path,
                                                          market_files: Path) -> None:
    report = load_dir(market_files, warehouse, quarantine=True)
    assert report.rows_rejected == 0
    assert "No row broke a rule: nothing was set aside (--quarantine)." in report.summary()
    assert query(warehouse, "SELECT count(*) FROM raw._rejects") == [(0,)]


# --------------------------------------------------------------------------- contracts.split
def test_split_keeps_one_of_two_identical_rows_and_neither_of_two_different(
        wind_frames: Frames) -> None:
    prices = wind_frames["AShareEODPrices"]
    frame = pl.concat([prices, prices.slice(0, 1),
                       prices.slice(3, 1).with_columns(S_DQ_ADJFACTOR=pl.lit(9.0))])
    part = contracts.split(wind.ASHARE_EOD_PRICES, frame)
    assert part.kept.height == prices.height - 1
    assert part.rejected["row"].to_list() == [4, 16, 17]  # row 1's copy; both of row 4's key
    assert set(part.rejected["rule"]) == {"key unique"}
    assert 4 not in part.rows.to_list() and part.rows.len() == part.kept.height


def test_split_judges_groups_after_the_bad_rows_are_gone(wind_frames: Frames) -> None:
    """A weight above 100 is set aside alone: its snapshot sums to 100 without it. A snapshot
    summing above 100 with valid rows is set aside whole."""
    weights = wind_frames["AIndexFreeWeight"]
    frame = pl.concat([weights, weights.slice(0, 1).with_columns(
        S_CON_WINDCODE=pl.lit("600001.SH"), I_WEIGHT=pl.lit(150.0))])
    part = contracts.split(wind.AINDEX_FREE_WEIGHT, frame)
    assert part.rejected.select("row", "rule").rows() == [(7, "0 < I_WEIGHT <= 100")]
    heavy = weights.with_columns(I_WEIGHT=pl.when(pl.col("TRADE_DT") == "20200102")
                                 .then(pl.col("I_WEIGHT") * 1.5).otherwise(pl.col("I_WEIGHT")))
    part = contracts.split(wind.AINDEX_FREE_WEIGHT, heavy)
    assert part.kept["TRADE_DT"].unique().to_list() == ["20200108"]
    assert part.rejected["row"].to_list() == [1, 3, 5]


def test_split_shows_unreadable_values_as_read(wind_frames: Frames) -> None:
    text = wind_frames["AShareEODPrices"].cast(pl.String).with_columns(
        S_DQ_VOLUME=pl.when(pl.int_range(pl.len()) == 2).then(pl.lit("1,000"))
        .otherwise(pl.col("S_DQ_VOLUME")),
        S_DQ_ADJFACTOR=pl.when(pl.int_range(pl.len()) == 2).then(pl.lit("-inf"))
        .otherwise(pl.col("S_DQ_ADJFACTOR")))
    part = contracts.split(wind.ASHARE_EOD_PRICES, text)
    (row,) = part.rejected.rows(named=True)
    assert (row["row"], row["column"], row["rule"]) == (3, "S_DQ_VOLUME", "readable as float")
    assert row["other_rules"] == "S_DQ_ADJFACTOR: finite number; S_DQ_ADJFACTOR: S_DQ_ADJFACTOR > 0"
    assert json.loads(row["row_json"])["S_DQ_ADJFACTOR"] == "-inf"
    assert json.loads(row["row_json"])["S_DQ_VOLUME"] == "1,000"
    assert part.kept.equals(wind_frames["AShareEODPrices"].filter(
        pl.int_range(pl.len()) != 2))


def test_split_of_a_valid_frame_is_validate(wind_frames: Frames) -> None:
    frame = wind_frames["AShareEODDerivativeIndicator"].with_columns(
        S_VAL_PE_TTM=pl.col("S_VAL_PE_TTM").fill_null(math.nan))
    part = contracts.split(wind.ASHARE_EOD_DERIVATIVE, frame)
    assert part.kept.equals(wind_frames["AShareEODDerivativeIndicator"])
    assert part.rejected.is_empty() and part.rows.to_list() == list(range(1, frame.height + 1))
