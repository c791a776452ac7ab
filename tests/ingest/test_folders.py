"""What a real export's folder holds besides the tables: Wind tables alphazoo does not read,
Wind's own names for index weights, extra columns, tables it lacks."""

from __future__ import annotations

from pathlib import Path

import duckdb
import polars as pl
import pytest

from tests.ingest.conftest import WriteTables
from zoo.ingest import wind
from zoo.ingest.load import LoadError, load_dir

Frames = dict[str, pl.DataFrame]


def query(warehouse: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute(sql).fetchall()


def test_files_alphazoo_does_not_read_are_ignored_and_reported(warehouse: Path,
                                                               parquet_dir: Path) -> None:
    (parquet_dir / "AShareProfitNotice.csv").write_text("S_INFO_WINDCODE,S_PROFITNOTICE_DATE\n"
                                                        "600000.SH,20200110\n")
    (parquet_dir / "AShareIndustriesClass.csv").write_text("S_INFO_WINDCODE\n600000.SH\n")
    (parquet_dir / "README.txt").write_text("exported 2020-01-09")
    (parquet_dir / "AShareEODPrice.csv").write_text("S_INFO_WINDCODE\n600000.SH\n")
    (parquet_dir / "subfolder").mkdir()
    report = load_dir(parquet_dir, warehouse)
    assert len(report.tables) == 13 and report.rows_inserted == 84
    assert {f.name: f.why for f in report.ignored_files} == {
        "AShareEODPrice.csv": "not a table alphazoo reads (did you mean AShareEODPrices?)",
        "AShareIndustriesClass.csv": "a Wind table alphazoo does not read",
        "AShareProfitNotice.csv": "a Wind table alphazoo does not read",
        "README.txt": "not a table file (.csv or .parquet named after a table)",
    }
    summary = report.summary()
    assert "Ignored files (not loaded):\n" in summary
    assert "  AShareProfitNotice.csv: a Wind table alphazoo does not read" in summary


def test_a_table_in_a_format_not_read_is_refused_when_it_is_the_only_one(
        warehouse: Path, parquet_dir: Path) -> None:
    path = parquet_dir / "AShareST.parquet"
    path.rename(parquet_dir / "AShareST.csv.gz")
    with pytest.raises(LoadError) as caught:
        load_dir(parquet_dir, warehouse)
    assert ("AShareST.csv.gz is not a .csv or .parquet file, and the folder has no AShareST "
            "table file: loading the rest would leave AShareST empty") in str(caught.value)
    assert not warehouse.exists()


def test_a_folder_of_tables_alphazoo_does_not_read_is_refused(warehouse: Path,
                                                              tmp_path: Path) -> None:
    folder = tmp_path / "notices"
    folder.mkdir()
    (folder / "AShareProfitNotice.csv").write_text("S_INFO_WINDCODE\n600000.SH\n")
    with pytest.raises(LoadError, match="holds no table files: .* it has AShareProfitNotice.csv"):
        load_dir(folder, warehouse)


def test_every_declared_raw_table_exists_after_any_load(warehouse: Path, tmp_path: Path,
                                                        wind_frames: Frames,
                                                        write: WriteTables) -> None:
    """A source without balance sheets, cash flows, industries, ST or indices: the tables are
    created empty (keyed), so `sqlmesh plan` finds every raw table it declares."""
    present = ("AShareDescription", "AShareCalendar", "AShareEODPrices",
               "AShareEODDerivativeIndicator", "AShareIncome")
    report = load_dir(write({n: wind_frames[n] for n in present}, tmp_path / "part"), warehouse)
    absent = [t.name for t in wind.RAW_TABLES if t.name not in present]
    assert list(report.created_empty) == absent
    assert f"Created empty (no file for them; what needs them will be NULL): {absent[0]}" in (
        report.summary())
    names = query(warehouse, "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'raw' "
                             "AND NOT starts_with(table_name, '_')")
    assert sorted(n for (n,) in names) == sorted(t.name for t in wind.RAW_TABLES)
    assert all(query(warehouse, f"SELECT count(*) FROM raw.{name}") == [(0,)]
               for name in absent)
    keys = dict(query(warehouse, "SELECT table_name, constraint_column_names FROM "
                                 "duckdb_constraints() WHERE constraint_type = 'PRIMARY KEY' "
                                 "AND schema_name = 'raw'"))
    assert keys == {t.name: list(t.key) for t in wind.RAW_TABLES}
    # a later load of the missing tables fills them; nothing is created twice
    later = load_dir(write({n: wind_frames[n] for n in absent}, tmp_path / "rest"), warehouse)
    assert later.created_empty == () and later.rows_inserted == sum(
        wind_frames[n].height for n in absent)


def _csi_weights(frames: Frames) -> pl.DataFrame:
    """AIndexCSI500Weight as a WDS export writes it: WEIGHT, and columns alphazoo does not
    declare."""
    return frames["AIndexFreeWeight"].rename({"I_WEIGHT": "WEIGHT"}).with_columns(
        OBJECT_ID=pl.lit("{X}"), TOT_SHR=pl.lit(1e5), FREE_SHR_RATIO=pl.lit(0.6),
        CLOSEVALUE=pl.lit(10.0), OPDATE=pl.lit("2020-01-09 02:00:00"), OPMODE=pl.lit("0"))


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_wind_index_weight_tables_load_into_aindexfreeweight(fmt: str, warehouse: Path,
                                                             tmp_path: Path, wind_frames: Frames,
                                                             write: WriteTables) -> None:
    frames = {n: f for n, f in wind_frames.items() if n != "AIndexFreeWeight"}
    frames["AIndexCSI500Weight"] = _csi_weights(wind_frames)
    report = load_dir(write(frames, tmp_path / "wds", fmt), warehouse)
    weights = next(t for t in report.tables if t.table == "AIndexFreeWeight")
    assert (weights.alias, weights.rows_inserted) == ("AIndexCSI500Weight", 6)
    assert weights.ignored_columns == ("OBJECT_ID", "TOT_SHR", "FREE_SHR_RATIO", "CLOSEVALUE",
                                       "OPDATE", "OPMODE")
    assert "(from AIndexCSI500Weight)" in report.summary()
    assert f"AIndexCSI500Weight.{fmt}: OBJECT_ID, TOT_SHR" in report.summary()
    stored = query(warehouse, "SELECT S_INFO_WINDCODE, S_CON_WINDCODE, TRADE_DT, I_WEIGHT FROM "
                              "raw.AIndexFreeWeight ORDER BY ALL")
    assert stored == sorted(wind_frames["AIndexFreeWeight"].rows())


def test_a_one_index_weight_table_without_its_index_column_says_which_index(
        warehouse: Path, tmp_path: Path, wind_frames: Frames, write: WriteTables) -> None:
    weights = wind_frames["AIndexFreeWeight"].drop("S_INFO_WINDCODE").rename(
        {"I_WEIGHT": "weight"})
    frames = {"AShareDescription": wind_frames["AShareDescription"],
              "aindexcsi1000weight": weights}
    load_dir(write(frames, tmp_path / "csi1000", "csv"), warehouse)
    assert query(warehouse, "SELECT DISTINCT S_INFO_WINDCODE FROM raw.AIndexFreeWeight") == [
        (wind.CSI1000,)]


def test_hs300_free_weight_holds_several_indices_and_needs_their_codes(
        warehouse: Path, tmp_path: Path, wind_frames: Frames, write: WriteTables) -> None:
    weights = wind_frames["AIndexFreeWeight"]
    both = pl.concat([weights, weights.with_columns(S_INFO_WINDCODE=pl.lit(wind.CSI300))])
    load_dir(write({"AIndexHS300FreeWeight": both}, tmp_path / "free"), warehouse)
    assert query(warehouse, "SELECT S_INFO_WINDCODE, count(*) FROM raw.AIndexFreeWeight "
                            "GROUP BY ALL ORDER BY ALL") == [(wind.CSI300, 6), (wind.CSI500, 6)]
    with pytest.raises(LoadError, match="AIndexFreeWeight: column S_INFO_WINDCODE breaks rule "
                                        "'required column present'"):
        load_dir(write({"AIndexHS300FreeWeight": weights.drop("S_INFO_WINDCODE")},
                       tmp_path / "no_code"), tmp_path / "other.duckdb")


def test_two_files_for_the_weights_are_refused(warehouse: Path, parquet_dir: Path,
                                               wind_frames: Frames) -> None:
    _csi_weights(wind_frames).write_csv(parquet_dir / "AIndexCSI500Weight.csv")
    with pytest.raises(LoadError, match=r"AIndexFreeWeight: 2 files \(AIndexCSI500Weight.csv, "
                                        r"AIndexFreeWeight.parquet\); keep one"):
        load_dir(parquet_dir, warehouse)


def test_extra_columns_are_reported(warehouse: Path, tmp_path: Path, wind_frames: Frames,
                                    write: WriteTables) -> None:
    export = {name: frame.with_columns(OBJECT_ID=pl.lit("{X}"), OPMODE=pl.lit("0"))
              for name, frame in wind_frames.items()}
    report = load_dir(write(export, tmp_path / "export", "csv"), warehouse)
    assert {t.ignored_columns for t in report.tables} == {("OBJECT_ID", "OPMODE")}
    assert ("Ignored columns (not declared in zoo/ingest/wind.py, not loaded):\n"
            "  AShareDescription.csv: OBJECT_ID, OPMODE") in report.summary()


def test_a_listing_date_may_be_filled_in_later(warehouse: Path, tmp_path: Path,
                                               wind_frames: Frames, write: WriteTables) -> None:
    """Issued, not listed yet: an empty list date loads; Wind fills it in place on listing,
    which a later extract may bring. Moving it once known is a conflict, as for any row."""
    description = wind_frames["AShareDescription"]
    unlisted = description.with_columns(
        pl.when(pl.col("S_INFO_WINDCODE") == "830799.BJ").then(None)
        .otherwise(pl.col("S_INFO_LISTDATE")).alias("S_INFO_LISTDATE"))
    load_dir(write({"AShareDescription": unlisted}, tmp_path / "ipo"), warehouse)
    assert query(warehouse, "SELECT S_INFO_LISTDATE FROM raw.AShareDescription "
                            "WHERE S_INFO_WINDCODE = '830799.BJ'") == [(None,)]
    later = load_dir(write({"AShareDescription": description}, tmp_path / "listed"), warehouse)
    assert [t.rows_closed for t in later.tables] == [1]
    moved = description.with_columns(S_INFO_LISTDATE=pl.lit("20000101"))
    with pytest.raises(LoadError, match="3 rows already in the warehouse with different"):
        load_dir(write({"AShareDescription": moved}, tmp_path / "moved"), warehouse)
