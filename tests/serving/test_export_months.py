"""Exports are a folder of monthly parquet files per view, and an export rewrites only the
months whose warehouse rows changed, however they changed (a new day, a restatement of old
days, a retraction, a new column); retrieval reads the folder as it read the one file."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow.parquet as pq
import pytest

from zoo.paths import parquet_files
from zoo.serving.export import export_tables
from zoo.serving.freshness import MANIFEST, STAMP_KEY

VIEW = {"daily": ("features.daily", "trade_date")}


def _warehouse(path: Path) -> Path:
    """Three stocks, every day from 2024-01-01 to 2024-04-30."""
    with duckdb.connect(str(path)) as con:
        con.execute("CREATE SCHEMA features")
        con.execute("""CREATE TABLE features.daily AS
            SELECT printf('%06d.SZ', s) AS stock_id, d::DATE AS trade_date,
                   CAST(s * 1000 + datediff('day', DATE '2024-01-01', d) AS DOUBLE) AS size
            FROM range(3) t(s), range(DATE '2024-01-01', DATE '2024-05-01', INTERVAL 1 DAY) u(d)
            ORDER BY hash(s, d)""")
    return path


def _sql(warehouse: Path, sql: str) -> None:
    with duckdb.connect(str(warehouse)) as con:
        con.execute(sql)


def _files(folder: Path) -> dict[str, tuple[int, int]]:
    """month -> (inode, mtime in ns) of each file: what a rewrite changes."""
    return {p.stem: (p.stat().st_ino, p.stat().st_mtime_ns) for p in folder.glob("*.parquet")}


def _rows(folder: Path, warehouse: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The export's rows and the warehouse's, in one order, without the added columns."""
    exported = duckdb.execute(
        "SELECT * EXCLUDE (event_timestamp, created_timestamp) FROM read_parquet($files)",
        {"files": [str(f) for f in parquet_files(folder)]}).df()
    with duckdb.connect(str(warehouse), read_only=True) as con:
        held = con.execute("SELECT * FROM features.daily").df()
    order = ["stock_id", "trade_date", "size"]
    return (exported.sort_values(order).reset_index(drop=True),
            held.sort_values(order).reset_index(drop=True))


@pytest.fixture()
def exported(tmp_path) -> tuple[Path, Path]:
    warehouse = _warehouse(tmp_path / "warehouse.duckdb")
    first = export_tables(warehouse, tmp_path / "offline", VIEW)["daily"]
    assert first["months_written"] == ["2024-01", "2024-02", "2024-03", "2024-04"]
    assert first["rows"] == first["rows_written"] == 3 * 121
    return warehouse, tmp_path / "offline"


def test_a_folder_of_months_each_sorted_with_its_fingerprint(exported):
    warehouse, offline = exported
    folder = offline / "daily"
    assert sorted(p.name for p in folder.iterdir()) == [
        "2024-01.parquet", "2024-02.parquet", "2024-03.parquet", "2024-04.parquet", MANIFEST]
    february = pq.read_table(folder / "2024-02.parquet").to_pandas()
    assert february["trade_date"].astype(str).str.startswith("2024-02").all()
    assert len(february) == 3 * 29
    assert february.equals(february.sort_values(["stock_id", "event_timestamp"]).reset_index(
        drop=True))
    metadata = pq.read_schema(folder / "2024-02.parquet").metadata
    assert b"zoo_fingerprint" in metadata and STAMP_KEY.encode() in metadata
    manifest = json.loads((folder / MANIFEST).read_text())
    assert manifest["rows"] == 3 * 121 and manifest["months"]["2024-02"] == 3 * 29
    got, held = _rows(folder, warehouse)
    pd.testing.assert_frame_equal(got, held, check_dtype=False)


def test_nothing_changed_nothing_written(exported):
    warehouse, offline = exported
    before = _files(offline / "daily")
    again = export_tables(warehouse, offline, VIEW)["daily"]
    assert again["months_written"] == [] and again["months_unchanged"] == 4
    assert again["rows_written"] == 0 and again["rows"] == 3 * 121
    assert _files(offline / "daily") == before


@pytest.mark.parametrize("change, month", [
    # a new value for one day (a refresh that restated an old interval)
    ("UPDATE features.daily SET size = size + 0.5 WHERE trade_date = DATE '2024-02-10'",
     "2024-02"),
    # one row retracted
    ("DELETE FROM features.daily WHERE trade_date = DATE '2024-03-05' AND stock_id = "
     "'000001.SZ'", "2024-03"),
    # the values of two rows swapped: neither the count nor the set of values moves
    ("UPDATE features.daily SET size = CASE stock_id WHEN '000000.SZ' THEN 1019 ELSE 19 END "
     "WHERE trade_date = DATE '2024-01-20' AND stock_id IN ('000000.SZ', '000001.SZ')",
     "2024-01"),
    # a row of zeros where there was none (DuckDB hashes zeros to 0)
    ("INSERT INTO features.daily VALUES ('000000.SZ', DATE '2024-04-30', 0)", "2024-04"),
])
def test_only_the_month_that_changed_is_rewritten(exported, change, month):
    warehouse, offline = exported
    folder = offline / "daily"
    before = _files(folder)
    _sql(warehouse, change)
    again = export_tables(warehouse, offline, VIEW)["daily"]
    assert again["months_written"] == [month] and again["months_unchanged"] == 3
    after = _files(folder)
    assert after[month] != before[month]
    assert {m: v for m, v in after.items() if m != month} == \
        {m: v for m, v in before.items() if m != month}
    got, held = _rows(folder, warehouse)
    pd.testing.assert_frame_equal(got, held, check_dtype=False)


def test_a_new_month_is_added_and_a_vanished_one_removed(exported):
    warehouse, offline = exported
    folder = offline / "daily"
    before = _files(folder)
    _sql(warehouse, "INSERT INTO features.daily SELECT stock_id, trade_date + 31, size "
                    "FROM features.daily WHERE trade_date = DATE '2024-04-30'")  # 2024-05-31
    _sql(warehouse, "DELETE FROM features.daily WHERE trade_date < DATE '2024-02-01'")
    again = export_tables(warehouse, offline, VIEW)["daily"]
    assert again["months_written"] == ["2024-05"] and again["months_removed"] == ["2024-01"]
    after = _files(folder)
    assert sorted(after) == ["2024-02", "2024-03", "2024-04", "2024-05"]
    assert all(after[m] == before[m] for m in ("2024-02", "2024-03", "2024-04"))
    assert json.loads((folder / MANIFEST).read_text())["months"] == {
        "2024-02": 87, "2024-03": 93, "2024-04": 90, "2024-05": 3}
    got, held = _rows(folder, warehouse)
    pd.testing.assert_frame_equal(got, held, check_dtype=False)


def test_a_new_column_rewrites_every_month(exported):
    warehouse, offline = exported
    _sql(warehouse, "ALTER TABLE features.daily ADD COLUMN bp DOUBLE DEFAULT 1.0")
    again = export_tables(warehouse, offline, VIEW)["daily"]
    assert len(again["months_written"]) == 4
    assert pq.read_table(offline / "daily").column("bp").to_pylist() == [1.0] * (3 * 121)


def test_no_rows_leave_the_columns_and_undated_rows_their_own_file(tmp_path):
    warehouse = _warehouse(tmp_path / "warehouse.duckdb")
    offline = tmp_path / "offline"
    none = export_tables(warehouse, offline, {
        "nothing": ("SELECT * FROM features.daily WHERE size < 0", "trade_date")})["nothing"]
    assert none["rows"] == 0 and none["months_written"] == ["empty"]
    assert pq.read_table(offline / "nothing").column_names[:3] == [
        "stock_id", "trade_date", "size"]
    _sql(warehouse, "INSERT INTO features.daily VALUES ('000009.SZ', NULL, -1)")
    some = export_tables(warehouse, offline, {
        "nothing": ("SELECT * FROM features.daily WHERE size < 0", "trade_date")})["nothing"]
    assert some["months_written"] == ["undated"] and some["months_removed"] == ["empty"]
    assert sorted(p.name for p in (offline / "nothing").glob("*.parquet")) == [
        "undated.parquet"]


def test_a_damaged_month_is_written_anew(exported):
    warehouse, offline = exported
    (offline / "daily" / "2024-03.parquet").write_bytes(b"PAR1 cut short")
    again = export_tables(warehouse, offline, VIEW)["daily"]
    assert again["months_written"] == ["2024-03"] and again["months_unchanged"] == 3
    got, held = _rows(offline / "daily", warehouse)
    pd.testing.assert_frame_equal(got, held, check_dtype=False)


def test_the_former_one_file_export_is_replaced(tmp_path):
    warehouse = _warehouse(tmp_path / "warehouse.duckdb")
    offline = tmp_path / "offline"
    offline.mkdir()
    (offline / "daily.parquet").write_bytes(b"PAR1 the former layout")
    export_tables(warehouse, offline, VIEW)
    assert not (offline / "daily.parquet").exists() and (offline / "daily").is_dir()


# --------------------------------------------------------------------------- retrieval
@pytest.fixture(scope="module")
def home(feast_home, tmp_path_factory):
    with pytest.MonkeyPatch.context() as env:
        env.setenv("ZOO_HOME", str(feast_home))
        yield feast_home


@pytest.mark.parametrize("service", ["portfolio_inputs_v1", "fundamentals_v1", "labels_v1"])
def test_retrieval_from_the_months_equals_one_file(home, tmp_path, service):
    """Every view of a service read from its monthly folder, and from one file holding the
    same rows: the same answer, row for row."""
    from feast import FeatureView, FileSource

    from zoo.serving import feature_store as fstore
    from zoo.serving.offline_store import AsofDuckDBOfflineStore

    fs = fstore.store()
    wanted, views = fstore.request(fs, service)
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        entities = con.execute(
            "SELECT stock_id, (trade_date + TIME '15:00') AT TIME ZONE 'Asia/Shanghai' "
            "AS event_timestamp FROM features.stock_universe_daily USING SAMPLE 400 ROWS "
            "(reservoir, 7)").df()
    entities["event_timestamp"] = entities["event_timestamp"].dt.tz_convert("Asia/Shanghai")
    refs = [f"{p.name}:{f.name}" for p in wanted.feature_view_projections for f in p.features]
    folders, single = [], []
    for name in views:
        view = fs.get_feature_view(name)
        assert Path(view.batch_source.path) == home / "offline" / name
        assert len(list((home / "offline" / name).glob("*.parquet"))) > 1
        one = tmp_path / f"{name}.parquet"
        pq.write_table(pq.read_table(home / "offline" / name), one)
        copy = FeatureView(name=name, entities=[fs.get_entity("stock")], ttl=view.ttl,
                           schema=view.schema,
                           source=FileSource(name=f"{name}_one", path=str(one),
                                             timestamp_field="event_timestamp",
                                             created_timestamp_column="created_timestamp"))
        copy.entity_columns = view.entity_columns
        folders.append(view)
        single.append(copy)
    got = [AsofDuckDBOfflineStore.get_historical_features(
        fs.config, chosen, refs, entities, fs.registry, fs.project).to_df()
        for chosen in (folders, single)]
    assert len(got[0]) == len(entities)
    pd.testing.assert_frame_equal(got[0], got[1])


def test_months_read_in_runs_are_written_whole(tmp_path, monkeypatch):
    """Changed months are staged from the warehouse in runs of rows (one scan per run); a
    month is never split between two runs."""
    from zoo.serving import export

    monkeypatch.setattr(export, "CHUNK_ROWS", 190)  # 93 + 87 in one run, 93 + 90 in another
    assert export._chunks(["2024-01", "2024-02", "2024-03", "2024-04"],
                          {"2024-01": ("", 93), "2024-02": ("", 87), "2024-03": ("", 93),
                           "2024-04": ("", 90)}) == [["2024-01", "2024-02"],
                                                     ["2024-03", "2024-04"]]
    warehouse = _warehouse(tmp_path / "warehouse.duckdb")
    written = export_tables(warehouse, tmp_path / "offline", VIEW)["daily"]
    assert written["rows_written"] == 3 * 121 and len(written["months_written"]) == 4
    got, held = _rows(tmp_path / "offline" / "daily", warehouse)
    pd.testing.assert_frame_equal(got, held, check_dtype=False)
    for path in (tmp_path / "offline" / "daily").glob("*.parquet"):
        month = pq.read_table(path).to_pandas()
        assert month["trade_date"].astype(str).str.startswith(path.stem).all()
        assert month.equals(month.sort_values(["stock_id", "event_timestamp"]).reset_index(
            drop=True))
