"""Loading a folder of Wind tables: all or nothing, idempotent, append-only, auditable."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import polars as pl
import pytest

from tests.ingest.conftest import WriteTables
from zoo.ingest import load, wind
from zoo.ingest.load import LoadError, load_dir, reset_schemas, warehouse_summary

Frames = dict[str, pl.DataFrame]
NEW_DAY = "20200109"
DAILY_TABLES = ("AShareCalendar", "AShareEODPrices", "AShareEODDerivativeIndicator",
                "AIndexEODPrices")


def snapshot(warehouse: Path) -> dict[str, list[tuple]]:
    """Every table of the warehouse (any schema), rows sorted: equal snapshots, equal data."""
    if not warehouse.exists():
        return {}
    with duckdb.connect(str(warehouse), read_only=True) as con:
        names = con.execute("SELECT table_schema || '.' || table_name FROM "
                            "information_schema.tables ORDER BY ALL").fetchall()
        return {n: con.execute(f"SELECT * FROM {n} ORDER BY ALL").fetchall() for (n,) in names}


def data_tables(snap: dict[str, list[tuple]]) -> dict[str, list[tuple]]:
    return {name: rows for name, rows in snap.items() if name != "raw._loads"}


def query(warehouse: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute(sql).fetchall()


def next_day(frames: Frames) -> Frames:
    """A daily extract: the daily tables' last day repeated as NEW_DAY (plus that last day)."""
    out = {}
    for name in DAILY_TABLES:
        date = "TRADE_DAYS" if name == "AShareCalendar" else "TRADE_DT"
        last = frames[name].filter(pl.col(date) == pl.col(date).max())
        out[name] = pl.concat([last, last.with_columns(pl.lit(NEW_DAY).alias(date))])
    return out


@pytest.fixture(scope="module")
def loaded_template(tmp_path_factory: pytest.TempPathFactory, market_files: Path) -> Path:
    warehouse = tmp_path_factory.mktemp("loaded") / "warehouse.duckdb"
    load_dir(market_files, warehouse)
    return warehouse


@pytest.fixture
def loaded(warehouse: Path, loaded_template: Path) -> Path:
    """A warehouse holding the tiny market (loaded from `market_files`), this test's own copy."""
    shutil.copyfile(loaded_template, warehouse)
    return warehouse


def test_tiny_market_loads_as_is(market_dir: Path, warehouse: Path,
                                 wind_frames: Frames) -> None:
    report = load_dir(market_dir, warehouse)
    assert [t.table for t in report.tables] == [t.name for t in wind.RAW_TABLES]
    assert all(t.rows_inserted == t.rows_in_file == wind_frames[t.table].height
               for t in report.tables)
    for table in wind.RAW_TABLES:
        stored = pl.DataFrame(query(warehouse, f"SELECT * FROM raw.{table.name}"),
                              schema=wind_frames[table.name].schema, orient="row")
        # dates and codes stay text ('000001.SZ', '20200102'), floats round-trip exactly
        assert stored.sort(table.key).equals(wind_frames[table.name].sort(table.key)), table.name
    assert "13 tables" in report.summary() and "84 new rows" in report.summary()


def test_tables_are_keyed(loaded: Path) -> None:
    keys = query(loaded, "SELECT table_name, constraint_column_names FROM duckdb_constraints() "
                         "WHERE constraint_type = 'PRIMARY KEY' AND schema_name = 'raw'")
    assert dict(keys) == {t.name: list(t.key) for t in wind.RAW_TABLES}


def test_loading_twice_changes_no_table(loaded: Path, market_files: Path) -> None:
    before = snapshot(loaded)
    report = load_dir(market_files, loaded)
    assert report.rows_inserted == 0 and report.rows_in_files == 84
    assert data_tables(snapshot(loaded)) == data_tables(before)


def test_later_extract_appends_only_new_rows(loaded: Path, tmp_path: Path, wind_frames: Frames,
                                             write: WriteTables) -> None:
    before = snapshot(loaded)
    extract = next_day(wind_frames)
    report = load_dir(write(extract, tmp_path / "daily", "csv"), loaded)
    new_rows = {name: frame.height // 2 for name, frame in extract.items()}
    assert {t.table: t.rows_inserted for t in report.tables} == new_rows
    after = snapshot(loaded)
    for name in extract:
        table = f"raw.{name}"
        assert len(after[table]) == len(before[table]) + new_rows[name]
        assert set(before[table]) <= set(after[table])


def test_bad_file_rejected_and_warehouse_untouched(loaded: Path, tmp_path: Path,
                                                   wind_frames: Frames,
                                                   write: WriteTables) -> None:
    """The 5th of 13 files breaks its contract: the 4 valid files before it are not written."""
    assert wind.RAW_TABLES[4].name == "AShareIncome"
    frames = {**wind_frames, **next_day(wind_frames)}  # new rows in earlier tables
    frames["AShareIncome"] = wind_frames["AShareIncome"].with_columns(
        ANN_DT=pl.when(pl.col("S_INFO_WINDCODE") == "000001.SZ").then(pl.lit("20190801"))
        .otherwise(pl.col("ANN_DT")))
    before_bytes, before = loaded.read_bytes(), snapshot(loaded)
    with pytest.raises(LoadError) as caught:
        load_dir(write(frames, tmp_path / "bad", "parquet"), loaded)
    message = str(caught.value)
    assert "1 of 13 files break their contracts; nothing was loaded" in message
    assert ("AShareIncome: column ANN_DT breaks rule 'ANN_DT after REPORT_PERIOD' in 2 rows, "
            "e.g. S_INFO_WINDCODE=000001.SZ REPORT_PERIOD=20190930") in message
    assert "ANN_DT=20190801" in message
    assert loaded.read_bytes() == before_bytes
    assert snapshot(loaded) == before


BAD_FILES = {
    "bad OHLC": ("AShareEODPrices", {"S_DQ_HIGH": 9.0}, "S_DQ_HIGH",
                 "high >= max(open, close, low)"),
    "negative price": ("AIndexEODPrices", {"S_DQ_OPEN": -1.0}, "S_DQ_OPEN", "S_DQ_OPEN > 0"),
    "impossible date": ("AShareEODPrices", {"TRADE_DT": "20230230"}, "TRADE_DT",
                        "a real date written YYYYMMDD"),
    "date written as a float": ("AShareEODPrices", {"TRADE_DT": "20200102.0"}, "TRADE_DT",
                                "a real date written YYYYMMDD"),
    "unknown STATEMENT_TYPE": ("AShareCashFlow", {"STATEMENT_TYPE": "409001000"},
                               "STATEMENT_TYPE", "a Wind statement code 408xxx000"),
    "weights summing above 100": ("AIndexFreeWeight", {"I_WEIGHT": 60.0}, "I_WEIGHT",
                                  "weights sum to at most 100"),
    "text in a number column": ("AShareEODDerivativeIndicator", {"S_DQ_TURN": "n/a"},
                                "S_DQ_TURN", "readable as float"),
}


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
@pytest.mark.parametrize("case", BAD_FILES, ids=str)
def test_broken_contract_rejects_the_load(case: str, fmt: str, loaded: Path, tmp_path: Path,
                                          wind_frames: Frames, write: WriteTables) -> None:
    name, values, column, rule = BAD_FILES[case]
    frame = wind_frames[name]
    broken = frame.with_columns(pl.lit(v).alias(c) for c, v in values.items())
    before_bytes = loaded.read_bytes()
    with pytest.raises(LoadError) as caught:
        load_dir(write({**wind_frames, name: broken}, tmp_path / "bad", fmt), loaded)
    message = str(caught.value)
    assert f"{name}.{fmt}:" in message
    assert f"{name}: column {column} breaks rule '{rule}" in message
    assert f" in {frame.height} rows, e.g. " in message or "groups, e.g." in message
    assert loaded.read_bytes() == before_bytes


def test_changed_row_rejected_and_nothing_written(loaded: Path, tmp_path: Path,
                                                  wind_frames: Frames,
                                                  write: WriteTables) -> None:
    """A conflict in the last table rolls back the new rows already inserted before it."""
    frames = {**wind_frames, **next_day(wind_frames)}
    weights = wind_frames["AIndexFreeWeight"]
    frames["AIndexFreeWeight"] = weights.with_columns(I_WEIGHT=pl.col("I_WEIGHT").reverse())
    before = snapshot(loaded)
    with pytest.raises(LoadError) as caught:
        load_dir(write(frames, tmp_path / "changed", "parquet"), loaded)
    message = str(caught.value)
    assert "AIndexFreeWeight: 4 rows already in the warehouse with different values" in message
    assert ("S_INFO_WINDCODE=000905.SH S_CON_WINDCODE=600000.SH TRADE_DT=20200102: "
            "I_WEIGHT 50 in the warehouse, 20 in the file") in message
    assert "immutable" in message and "--replace" in message
    assert snapshot(loaded) == before


@pytest.mark.parametrize("start", ["fresh", "loaded"])
def test_failure_mid_write_rolls_everything_back(start: str, warehouse: Path,
                                                 loaded_template: Path, tmp_path: Path,
                                                 wind_frames: Frames, write: WriteTables,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """An error while inserting the 5th table undoes the 4 tables inserted before it."""
    if start == "loaded":
        shutil.copyfile(loaded_template, warehouse)
    real_insert = load._insert

    def insert_then_fail(con: duckdb.DuckDBPyConnection, item: object, new_table: bool):
        done = real_insert(con, item, new_table)
        if done.table == wind.RAW_TABLES[4].name:
            raise OSError("disk full")
        return done

    monkeypatch.setattr(load, "_insert", insert_then_fail)
    before = snapshot(warehouse)
    with pytest.raises(OSError, match="disk full"):
        load_dir(write({**wind_frames, **next_day(wind_frames)}, tmp_path / "new"), warehouse)
    assert snapshot(warehouse) == before


def test_same_values_through_csv_are_not_a_conflict(loaded: Path, tmp_path: Path,
                                                    wind_frames: Frames,
                                                    write: WriteTables) -> None:
    report = load_dir(write(wind_frames, tmp_path / "again", "csv"), loaded)
    assert report.rows_inserted == 0


def test_int_dates_in_parquet_are_stored_as_text(warehouse: Path, tmp_path: Path,
                                                 wind_frames: Frames, write: WriteTables) -> None:
    frames = {name: wind_frames[name]
              for name in ("AShareDescription", "AShareCalendar", "AShareEODPrices")}
    frames["AShareEODPrices"] = frames["AShareEODPrices"].with_columns(
        pl.col("TRADE_DT").cast(pl.Int64))
    load_dir(write(frames, tmp_path / "ints", "parquet"), warehouse)
    assert query(warehouse, "SELECT DISTINCT typeof(TRADE_DT), min(TRADE_DT) "
                            "FROM raw.AShareEODPrices GROUP BY ALL") == [("VARCHAR", "20200102")]


def test_table_names_match_up_to_case(warehouse: Path, parquet_dir: Path) -> None:
    for i, path in enumerate(sorted(parquet_dir.iterdir())):
        stem = path.stem.lower() if i % 2 else path.stem.upper()
        path.rename(path.with_name(stem + path.suffix.upper()))
    report = load_dir(parquet_dir, warehouse)
    assert len(report.tables) == 13 and report.rows_inserted == 84


def test_misspelt_table_rejected_with_suggestion(warehouse: Path, parquet_dir: Path) -> None:
    """A near miss of a table that has no file of its own is most likely a typo: loading the
    rest would leave that table empty, so nothing is loaded."""
    (parquet_dir / "AShareEODPrices.parquet").rename(parquet_dir / "AShareEODPrice.parquet")
    with pytest.raises(LoadError) as caught:
        load_dir(parquet_dir, warehouse)
    message = str(caught.value)
    assert ("unknown table file AShareEODPrice.parquet (did you mean AShareEODPrices.csv?), "
            "and the folder has no AShareEODPrices table file") in message
    assert "known tables: AShareDescription, AShareCalendar" in message
    assert not warehouse.exists()


def test_two_files_for_one_table_rejected(warehouse: Path, parquet_dir: Path,
                                          wind_frames: Frames) -> None:
    wind_frames["AShareST"].write_csv(parquet_dir / "asharest.csv")
    with pytest.raises(LoadError, match="AShareST: 2 files"):
        load_dir(parquet_dir, warehouse)


def test_folder_without_tables_rejected(warehouse: Path, tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "README.txt").write_text("not a table")
    with pytest.raises(LoadError, match="holds no table files"):
        load_dir(tmp_path / "empty", warehouse)


def test_extra_columns_are_dropped(warehouse: Path, tmp_path: Path, wind_frames: Frames,
                                   write: WriteTables) -> None:
    export = {name: frame.with_columns(OBJECT_ID=pl.lit("{X}"), OPMODE=pl.lit("0"),
                                       OPDATE=pl.lit("2020-01-09 02:00:00"))
              for name, frame in wind_frames.items()}
    load_dir(write(export, tmp_path / "export", "csv"), warehouse)
    columns = query(warehouse, "SELECT column_name FROM information_schema.columns WHERE "
                               "table_name = 'AShareEODPrices' ORDER BY ordinal_position")
    assert [c for (c,) in columns] == wind.ASHARE_EOD_PRICES.column_names


def test_daily_rows_are_stored_by_date_whatever_order_the_export_lists_them(
        warehouse: Path, tmp_path: Path, wind_frames: Frames, write: WriteTables) -> None:
    """A per-stock export (each stock's whole history in turn) is stored by TRADE_DT, so a
    model reading a few days skips the row groups of the others (zone maps)."""
    by_stock = dict(wind_frames)
    by_stock["AShareEODPrices"] = wind_frames["AShareEODPrices"].sort(
        ["S_INFO_WINDCODE", "TRADE_DT"], descending=[False, True])
    by_stock["AShareIncome"] = wind_frames["AShareIncome"].sort("ANN_DT", descending=True)
    load_dir(write(by_stock, tmp_path / "by_stock", "parquet"), warehouse)
    days = [d for (d,) in query(warehouse, "SELECT TRADE_DT FROM raw.AShareEODPrices")]
    assert len(set(days)) > 1 and days == sorted(days)
    announced = [d for (d,) in query(warehouse, "SELECT LEAST(ANN_DT, ACTUAL_ANN_DT) "
                                                "FROM raw.AShareIncome")]
    assert announced == sorted(announced)


def test_unknown_stock_code_rejected(warehouse: Path, tmp_path: Path, wind_frames: Frames,
                                     write: WriteTables) -> None:
    frames = dict(wind_frames)
    frames["AShareEODPrices"] = wind_frames["AShareEODPrices"].with_columns(
        S_INFO_WINDCODE=pl.col("S_INFO_WINDCODE").str.replace("830799.BJ", "688001.SH"))
    with pytest.raises(LoadError) as caught:
        load_dir(write(frames, tmp_path / "orphans", "parquet"), warehouse)
    assert ("AShareEODPrices: column S_INFO_WINDCODE breaks rule 'stock listed in "
            "AShareDescription (this load or the warehouse)' in 5 rows, e.g. "
            "S_INFO_WINDCODE=688001.SH rows=5") in str(caught.value)
    assert not data_tables(snapshot(warehouse))


def test_unreadable_csv_reports_every_bad_value(warehouse: Path, parquet_dir: Path,
                                                wind_frames: Frames) -> None:
    text = wind_frames["AShareEODPrices"].cast(pl.String).with_columns(
        S_DQ_VOLUME=pl.when(pl.int_range(pl.len()) < 2).then(pl.lit("1,000"))
        .otherwise(pl.col("S_DQ_VOLUME")))
    (parquet_dir / "AShareEODPrices.parquet").unlink()
    text.write_csv(parquet_dir / "AShareEODPrices.csv")
    with pytest.raises(LoadError) as caught:
        load_dir(parquet_dir, warehouse)
    assert ("column S_DQ_VOLUME breaks rule 'readable as float' in 2 rows, e.g. "
            "S_INFO_WINDCODE=600000.SH TRADE_DT=20200102 S_DQ_VOLUME=1,000 (row 1)"
            ) in str(caught.value)


def test_non_utf8_csv_says_how_to_fix(warehouse: Path, tmp_path: Path) -> None:
    src = tmp_path / "gbk"
    src.mkdir()
    (src / "AShareIndustriesCode.csv").write_bytes(
        "INDUSTRIESCODE,INDUSTRIESNAME,LEVELNUM,USED\nb101000000,银行,2,1\n".encode("gbk"))
    with pytest.raises(LoadError, match="iconv -f GBK -t UTF-8"):
        load_dir(src, warehouse)


def test_locked_warehouse_error_is_clear(loaded: Path, market_files: Path) -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c", "import duckdb, sys, time; con = duckdb.connect(sys.argv[1]); "
         "print('ready', flush=True); time.sleep(60)", str(loaded)],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "ready"
        with pytest.raises(LoadError) as caught:
            load_dir(market_files, loaded)
    finally:
        holder.kill()
        holder.wait()
    assert f"the warehouse {loaded} is locked by process {holder.pid}" in str(caught.value)
    assert "close that session" in str(caught.value)


def test_audit_records_every_file(loaded: Path, market_files: Path) -> None:
    load_dir(market_files, loaded)
    rows = query(loaded, "SELECT table_name, source_file, sha256, rows_in_file, rows_inserted "
                         "FROM raw._loads ORDER BY loaded_at, table_name")
    assert len(rows) == 26
    first, second = rows[:13], rows[13:]
    prices = next(r for r in first if r[0] == "raw.AShareEODPrices")
    path = market_files / "AShareEODPrices.parquet"
    assert prices[1:] == (str(path.resolve()), hashlib.sha256(path.read_bytes()).hexdigest(),
                          15, 15)
    assert sum(r[4] for r in first) == 84 and sum(r[4] for r in second) == 0


def test_truth_schema(loaded: Path, tmp_path: Path, truth_frames: Frames,
                      write: WriteTables) -> None:
    report = load_dir(write(truth_frames, tmp_path / "truth"), loaded, schema="truth")
    assert report.rows_inserted == 15 + 6
    assert query(loaded, "SELECT count(*) FROM truth.expected_return") == [(15,)]
    assert ("truth.fundamental_neighbours",) in query(loaded, "SELECT table_name FROM raw._loads")


def test_raw_files_are_not_truth_tables(warehouse: Path, market_files: Path) -> None:
    with pytest.raises(LoadError, match="holds no table files: expected <Table>.csv or "
                       "<Table>.parquet for any of expected_return, fundamental_neighbours; "
                       "it has AIndexEODPrices.parquet"):
        load_dir(market_files, warehouse, schema="truth")


def test_reset_schemas_drops_raw_truth_and_what_was_built_from_them(
        loaded: Path, tmp_path: Path, truth_frames: Frames, write: WriteTables) -> None:
    """A new market must not inherit the old one's features: SQLMesh's state and models and
    written-back scores go too, or `sqlmesh plan` would find its intervals done."""
    load_dir(write(truth_frames, tmp_path / "truth"), loaded, schema="truth")
    with duckdb.connect(str(loaded)) as con:
        for schema in ("sqlmesh", "sqlmesh__features", "features", "scores"):
            con.execute(f"CREATE SCHEMA {schema}; CREATE TABLE {schema}.t AS SELECT 1 AS x")
        con.execute("CREATE TABLE main.kept AS SELECT 1 AS x")
    reset_schemas(loaded)
    assert snapshot(loaded) == {"main.kept": [(1,)]}


def test_warehouse_summary(loaded: Path, tmp_path: Path) -> None:
    text = warehouse_summary(loaded)
    prices = next(line for line in text.splitlines() if "raw.AShareEODPrices " in line)
    assert "15" in prices and "TRADE_DT" in prices and "20200102" in prices and "20200108" in prices
    assert "raw.AShareIncome" in text and "Last load:" in text
    assert "No warehouse" in warehouse_summary(tmp_path / "none.duckdb")


def test_later_extract_may_close_an_open_period(loaded: Path, tmp_path: Path,
                                                wind_frames: Frames, write: WriteTables) -> None:
    """Wind fills REMOVE_DT in place when an ST period ends: that update is accepted."""
    st = wind_frames["AShareST"].with_columns(
        REMOVE_DT=pl.when(pl.col("S_INFO_WINDCODE") == "830799.BJ")
        .then(pl.lit("20200106")).otherwise(pl.col("REMOVE_DT"))
    )
    report = load_dir(write({"AShareST": st}, tmp_path / "closed", "parquet"), loaded)
    assert report.rows_inserted == 0
    assert [t.rows_closed for t in report.tables] == [1]
    assert query(loaded, "SELECT REMOVE_DT FROM raw.AShareST "
                         "WHERE S_INFO_WINDCODE = '830799.BJ'") == [("20200106",)]
    closed = query(loaded, "SELECT rows_closed FROM raw._loads ORDER BY loaded_at DESC LIMIT 1")
    assert closed == [(1,)]


def test_a_closed_period_cannot_be_moved(loaded: Path, tmp_path: Path,
                                         wind_frames: Frames, write: WriteTables) -> None:
    st = wind_frames["AShareST"].with_columns(
        REMOVE_DT=pl.when(pl.col("S_INFO_WINDCODE") == "000001.SZ")
        .then(pl.lit("20170103")).otherwise(pl.col("REMOVE_DT"))
    )
    before = snapshot(loaded)
    with pytest.raises(LoadError, match="AShareST: 1 row already in the warehouse"):
        load_dir(write({"AShareST": st}, tmp_path / "moved", "parquet"), loaded)
    assert snapshot(loaded) == before


def test_an_older_extract_showing_a_closed_period_open_changes_nothing(
        loaded: Path, tmp_path: Path, wind_frames: Frames, write: WriteTables) -> None:
    """Extracts may arrive out of order: yesterday's, still showing the ST period open, after
    today's that closed it. The period stays closed, and nothing counts as changed."""
    st = wind_frames["AShareST"]
    closed = st.with_columns(
        REMOVE_DT=pl.when(pl.col("S_INFO_WINDCODE") == "830799.BJ")
        .then(pl.lit("20200106")).otherwise(pl.col("REMOVE_DT")))
    assert load_dir(write({"AShareST": closed}, tmp_path / "closed", "parquet"),
                    loaded).tables[0].changed_from == "20200106"
    before = snapshot(loaded)
    report = load_dir(write({"AShareST": st}, tmp_path / "older", "parquet"), loaded)
    assert [(t.rows_inserted, t.rows_closed, t.changed_from) for t in report.tables] == [
        (0, 0, None)]
    assert query(loaded, "SELECT REMOVE_DT FROM raw.AShareST "
                         "WHERE S_INFO_WINDCODE = '830799.BJ'") == [("20200106",)]
    assert data_tables(snapshot(loaded)) == data_tables(before)
