"""The ASOF DuckDB offline store agrees row for row with Feast's stock `duckdb` store, and the
parquet export stamps Feast's timestamps and replaces files atomically."""

from __future__ import annotations

import threading
from datetime import timedelta
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from zoo.paths import parquet_files

feast = pytest.importorskip("feast")

UTC = "UTC"
D = pd.Timestamp("2024-01-02 07:00", tz=UTC)  # 2024-01-02 15:00 Asia/Shanghai
US = pd.Timedelta(microseconds=1)
DAY = pd.Timedelta(days=1)
CREATED = pd.Timestamp("2024-06-01", tz=UTC)


def _daily() -> pd.DataFrame:
    """A daily view (ttl 3 days, with created_timestamp)."""
    rows = [
        # stock, event ts, created ts, close, limit_up, industry
        ("A", D - 10 * DAY, CREATED, 10.0, False, "bank"),
        ("A", D - DAY, CREATED, 11.0, True, "bank"),
        ("A", D, CREATED, 12.0, False, "bank"),           # exactly at an entity ts
        ("A", D + DAY, CREATED, 13.0, False, "bank"),     # 1 us after an entity ts
        ("B", D - 5 * DAY, CREATED, 20.0, True, "steel"),  # too old for ttl at D
        # E: three rows at the same event ts; the largest created ts wins, NULL loses
        ("E", D - DAY, CREATED, 30.0, False, "old"),
        ("E", D - DAY, CREATED + DAY, 31.0, True, "new"),
        ("E", D - DAY, None, 32.0, False, "null"),
        ("E", D - 3 * DAY, None, 29.0, False, "older"),
    ]
    frame = pd.DataFrame(rows, columns=["stock_id", "event_timestamp", "created_timestamp",
                                        "close", "limit_up", "industry"])
    frame["created_timestamp"] = pd.to_datetime(frame["created_timestamp"], utc=True)
    return frame


def _quarterly() -> pd.DataFrame:
    """A quarterly view (ttl 0 = no limit, no created_timestamp)."""
    rows = [
        ("A", D - 30 * DAY, 0.10, 100),
        ("A", D - 2 * DAY, 0.20, 110),
        ("B", D - 400 * DAY, 0.05, 50),
        ("E", D - DAY, 0.30, 70),
    ]
    return pd.DataFrame(rows, columns=["stock_id", "available_ts", "roe", "employees"])


def _entities() -> pd.DataFrame:
    rows = [
        # stock, ts (UTC), tag, weight, note
        ("A", D, 1, 0.5, "exact"),
        ("A", D + DAY - US, 2, 0.1, "1us before a row"),
        ("B", D, 3, 0.2, "ttl expired"),
        ("B", D - 2 * DAY, 4, 0.3, "ttl boundary, included"),
        ("B", D - 2 * DAY + US, 5, 0.3, "1us past ttl"),
        ("C", D, 6, 0.4, "unknown stock"),
        ("E", D, 7, 0.6, "created tie-break"),
        ("A", D - 20 * DAY, 8, 0.7, "before any row"),
        ("E", D - DAY - US, 9, 0.8, "before the duplicates"),
        ("A", D, 10, 0.9, "same key and ts as tag 1"),
    ]
    frame = pd.DataFrame(rows, columns=["stock_id", "event_timestamp", "tag", "weight", "note"])
    # Entities in the market's own time zone: the instant is what counts.
    frame["event_timestamp"] = frame["event_timestamp"].dt.tz_convert("Asia/Shanghai")
    return frame.sample(frac=1.0, random_state=3).reset_index(drop=True)


def _repo(folder: Path, offline_type: str, data: Path) -> feast.FeatureStore:
    from feast import Entity, FeatureService, FeatureView, Field, FileSource, ValueType
    from feast.types import Bool, Float64, Int64, String

    folder.mkdir()
    (folder / "feature_store.yaml").write_text(
        "project: zoo_test\n"
        f"registry: {folder / 'registry.db'}\n"
        "provider: local\n"
        f"online_store:\n  type: sqlite\n  path: {folder / 'online.db'}\n"
        f"offline_store:\n  type: {offline_type}\n"
        "entity_key_serialization_version: 3\n"
        "coerce_tz_aware: false\n")
    stock = Entity(name="stock", join_keys=["stock_id"], value_type=ValueType.STRING)
    daily = FeatureView(
        name="daily", entities=[stock], ttl=timedelta(days=3),
        schema=[Field(name="close", dtype=Float64), Field(name="limit_up", dtype=Bool),
                Field(name="industry", dtype=String)],
        source=FileSource(name="daily_source", path=str(data / "daily.parquet"),
                          timestamp_field="event_timestamp",
                          created_timestamp_column="created_timestamp"))
    quarterly = FeatureView(
        name="quarterly", entities=[stock], ttl=timedelta(0),
        schema=[Field(name="roe", dtype=Float64), Field(name="employees", dtype=Int64)],
        source=FileSource(name="quarterly_source", path=str(data / "quarterly.parquet"),
                          timestamp_field="available_ts"))
    service = FeatureService(name="both_v1", features=[daily, quarterly])
    store = feast.FeatureStore(repo_path=str(folder))
    store.apply([stock, daily, quarterly, service])
    return store


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory) -> Path:
    data = tmp_path_factory.mktemp("offline_data")
    _daily().to_parquet(data / "daily.parquet", index=False)
    _quarterly().to_parquet(data / "quarterly.parquet", index=False)
    return data


@pytest.fixture(scope="module")
def asof_store(data_dir, tmp_path_factory) -> feast.FeatureStore:
    return _repo(tmp_path_factory.mktemp("asof") / "repo",
                 "zoo.serving.offline_store.AsofDuckDBOfflineStore", data_dir)


@pytest.fixture(scope="module")
def stores(asof_store, data_dir, tmp_path_factory) -> dict[str, feast.FeatureStore]:
    """Ours and Feast's stock `duckdb` store (which needs ibis-framework) over the same data."""
    pytest.importorskip("ibis", reason="Feast's stock duckdb offline store needs ibis-framework")
    return {"asof": asof_store,
            "stock": _repo(tmp_path_factory.mktemp("stock") / "repo", "duckdb", data_dir)}


def _normalised(frame: pd.DataFrame) -> list[tuple]:
    """Rows sorted by tag, timestamps in UTC, every missing value None, ints as floats."""
    frame = frame.copy()
    frame["event_timestamp"] = pd.to_datetime(frame["event_timestamp"], utc=True)
    frame = frame.sort_values("tag").reset_index(drop=True)
    out = frame.astype(object).where(frame.notna(), None)
    return [tuple(float(v) if isinstance(v, int | float) and not isinstance(v, bool) else v
                  for v in row) for row in out.itertuples(index=False)]


def _both(stores, features, full_feature_names=False) -> tuple[pd.DataFrame, pd.DataFrame]:
    entities = _entities()
    return tuple(stores[name].get_historical_features(
        entity_df=entities.copy(), features=features,
        full_feature_names=full_feature_names).to_df() for name in ("asof", "stock"))


DAILY = ["daily:close", "daily:limit_up", "daily:industry"]
QUARTERLY = ["quarterly:roe", "quarterly:employees"]


@pytest.mark.parametrize("full_feature_names", [False, True])
def test_agrees_with_stock_duckdb_store_on_two_views(stores, full_feature_names):
    ours, theirs = _both(stores, DAILY + QUARTERLY, full_feature_names)
    assert list(ours.columns) == list(theirs.columns)
    assert _normalised(ours) == _normalised(theirs)
    prefix = "daily__" if full_feature_names else ""
    assert f"{prefix}close" in ours.columns


def test_point_in_time_cases(asof_store):
    ours = asof_store.get_historical_features(entity_df=_entities(),
                                              features=DAILY + QUARTERLY).to_df()
    by_tag = ours.set_index("tag")
    assert by_tag.loc[1, "close"] == 12.0                 # row exactly at the entity ts
    assert by_tag.loc[2, "close"] == 12.0                 # the row 1 us later is not seen
    assert pd.isna(by_tag.loc[3, "close"])                # latest row older than ttl
    assert by_tag.loc[3, "roe"] == 0.05                   # ttl 0: no age limit
    assert by_tag.loc[4, "close"] == 20.0                 # exactly ts - ttl: still valid
    assert pd.isna(by_tag.loc[5, "close"])
    assert pd.isna(by_tag.loc[6, "close"]) and pd.isna(by_tag.loc[6, "roe"])
    assert (by_tag.loc[7, "close"], by_tag.loc[7, "industry"]) == (31.0, "new")
    assert pd.isna(by_tag.loc[8, "close"])
    assert by_tag.loc[9, "industry"] == "older"
    assert by_tag.loc[10, "close"] == 12.0
    assert by_tag.loc[1, "employees"] == 110


def test_keeps_entity_rows_columns_and_order(asof_store):
    entities = _entities()
    job = asof_store.get_historical_features(entity_df=entities,
                                                 features=asof_store.get_feature_service(
                                                     "both_v1"))
    table = job.to_arrow()
    frame = job.to_df()
    assert table.num_rows == len(entities)
    assert list(frame.columns[:5]) == list(entities.columns)
    pd.testing.assert_frame_equal(frame[entities.columns], entities)  # order and tz kept
    assert job.metadata.min_event_timestamp == entities["event_timestamp"].min()
    assert job.full_feature_names is False


def test_agrees_on_a_single_day(stores):
    """One rebalance day: the store prunes the source to [day - ttl, day] before joining."""
    entities = _entities()
    one_day = entities[entities["event_timestamp"] == D].reset_index(drop=True)
    ours, theirs = (stores[name].get_historical_features(
        entity_df=one_day.copy(), features=DAILY + QUARTERLY).to_df()
        for name in ("asof", "stock"))
    assert len(ours) == 5
    assert _normalised(ours) == _normalised(theirs)


def test_a_single_view(stores):
    ours, theirs = _both(stores, ["daily:industry"])
    assert _normalised(ours) == _normalised(theirs)


def test_a_folder_of_parquet_files_is_one_source(asof_store, data_dir, tmp_path):
    """A source path may be a folder: its files are read as one table (row positions are
    per file, so the fetch by position must not mix files)."""
    from feast import FeatureView, FileSource

    from zoo.serving.offline_store import AsofDuckDBOfflineStore

    folder = tmp_path / "daily"
    folder.mkdir()
    daily = _daily()
    # the files' columns differ (one more, another order): they are matched by name
    daily.iloc[::2].assign(unused=1.0).to_parquet(folder / "part-0.parquet", index=False)
    daily.iloc[1::2][daily.columns[::-1]].to_parquet(folder / "part-1.parquet", index=False)
    view = asof_store.get_feature_view("daily")
    split = FeatureView(name="daily", entities=[asof_store.get_entity("stock")], ttl=view.ttl,
                        schema=view.schema,
                        source=FileSource(name="daily_split", path=str(folder),
                                          timestamp_field="event_timestamp",
                                          created_timestamp_column="created_timestamp"))
    split.entity_columns = view.entity_columns
    whole = asof_store.get_historical_features(entity_df=_entities(), features=DAILY).to_df()
    parts = AsofDuckDBOfflineStore.get_historical_features(
        asof_store.config, [split], DAILY, _entities(), asof_store.registry,
        asof_store.project).to_df()
    assert _normalised(parts) == _normalised(whole)


def test_a_file_replaced_while_it_is_read_is_read_again(asof_store, monkeypatch):
    """A view's files are read one by one: when one changed while they were read (an export
    swapped a month in), the answer could mix versions, so it is thrown away and read again."""
    from zoo.serving import offline_store

    whole = asof_store.get_historical_features(entity_df=_entities(), features=DAILY).to_df()
    real, checks, reads = offline_store._identities, [], []

    def replaced_once(files):  # the check after the first read finds another file
        checks.append(files)
        return [None] * len(files) if len(checks) == 2 else real(files)

    real_read = offline_store._ViewPlan.read
    monkeypatch.setattr(offline_store, "_identities", replaced_once)
    monkeypatch.setattr(offline_store._ViewPlan, "read",
                        lambda self, *a: reads.append(1) or real_read(self, *a))
    again = asof_store.get_historical_features(entity_df=_entities(), features=DAILY).to_df()
    assert len(reads) == 2
    assert _normalised(again) == _normalised(whole)

    monkeypatch.setattr(offline_store, "_identities", lambda files: [object()] * len(files))
    with pytest.raises(RuntimeError, match="'daily'.*replaced during each of 5 reads"):
        asof_store.get_historical_features(entity_df=_entities(), features=DAILY).to_df()


def test_naive_entity_timestamps_are_refused(asof_store):
    entities = _entities()
    entities["event_timestamp"] = entities["event_timestamp"].dt.tz_localize(None)
    with pytest.raises(ValueError, match="event_timestamp.*naive"):
        asof_store.get_historical_features(entity_df=entities, features=DAILY)


def test_missing_event_timestamp_is_refused(asof_store):
    entities = _entities().rename(columns={"event_timestamp": "ts"})
    with pytest.raises(ValueError, match="no 'event_timestamp' column"):
        asof_store.get_historical_features(entity_df=entities, features=DAILY)


def test_sql_entity_df_is_not_implemented(asof_store):
    with pytest.raises(NotImplementedError, match="pandas DataFrame"):
        asof_store.get_historical_features(entity_df="SELECT 1", features=DAILY)


def test_coerce_tz_aware_must_be_off(asof_store):
    from zoo.serving.offline_store import AsofDuckDBOfflineStore

    config = asof_store.config.model_copy(update={"coerce_tz_aware": True})
    with pytest.raises(ValueError, match="coerce_tz_aware: false"):
        AsofDuckDBOfflineStore.get_historical_features(
            config, [], [], _entities(), asof_store.registry, "zoo_test")


def test_pull_latest_and_all_match_stock_store(stores):
    results = {}
    for name, store in stores.items():
        view = store.get_feature_view("daily")
        offline = store._get_provider().offline_store
        kwargs = dict(config=store.config, data_source=view.batch_source,
                      join_key_columns=["stock_id"],
                      feature_name_columns=["close", "limit_up", "industry"],
                      timestamp_field="event_timestamp",
                      created_timestamp_column="created_timestamp",
                      start_date=(D - 6 * DAY).to_pydatetime(), end_date=D.to_pydatetime())
        latest = offline.pull_latest_from_table_or_query(**kwargs).to_df()
        everything = offline.pull_all_from_table_or_query(**kwargs).to_df()
        results[name] = [
            sorted(map(tuple, frame[["stock_id", "close", "industry"]].values.tolist()))
            for frame in (latest, everything)]
    assert results["asof"] == results["stock"]
    assert ("E", 31.0, "new") in results["asof"][0]


# --------------------------------------------------------------------------- export
def _warehouse(path: Path, rows: int = 12) -> Path:
    con = duckdb.connect(str(path))
    con.execute("CREATE SCHEMA features")
    con.execute(f"""CREATE TABLE features.stock_style_daily AS
        SELECT printf('%06d.SZ', i % 3) AS stock_id,
               DATE '2024-01-01' + CAST(i // 3 AS INTEGER) AS trade_date,
               CAST(i AS DOUBLE) AS size
        FROM range({rows}) t(i) ORDER BY hash(i)""")
    con.close()
    return path


def test_export_stamps_event_timestamp_at_the_close(tmp_path):
    from zoo.serving.export import export_tables

    warehouse = _warehouse(tmp_path / "warehouse.duckdb")
    written = export_tables(warehouse, tmp_path / "offline", {
        "stock_style_daily": ("features.stock_style_daily", "trade_date"),
        "by_query": ("SELECT stock_id, trade_date AS available_date, size "
                     "FROM features.stock_style_daily WHERE size > 5", "available_date"),
    })
    assert written["stock_style_daily"]["rows"] == 12
    assert written["by_query"]["rows"] == 6
    assert written["stock_style_daily"]["months_written"] == ["2024-01"]
    table = pq.read_table(tmp_path / "offline" / "stock_style_daily" / "2024-01.parquet")
    assert table.schema.field("event_timestamp").type == pa.timestamp("us", tz="UTC")
    frame = table.to_pandas()
    expected = (pd.to_datetime(frame["trade_date"]) + pd.Timedelta(hours=7)).dt.tz_localize(UTC)
    assert (frame["event_timestamp"] == expected).all()
    assert (frame["event_timestamp"].dt.tz_convert("Asia/Shanghai").dt.hour == 15).all()
    assert frame["created_timestamp"].nunique() == 1
    assert frame.equals(frame.sort_values(["stock_id", "event_timestamp"]).reset_index(
        drop=True))
    assert not list((tmp_path / "offline").rglob(".*tmp"))


def test_export_replaces_files_atomically(tmp_path):
    """A reader of the folder during exports sees every month whole, each of one version (the
    months of one read may be of two versions), and never a row too many or too few."""
    from zoo.serving.export import export_tables

    warehouse = _warehouse(tmp_path / "warehouse.duckdb", rows=9_000)  # 100 months
    offline = tmp_path / "offline"
    folder = offline / "values"

    def version(value: int) -> dict:
        query = f"SELECT stock_id, trade_date, {value} AS value FROM features.stock_style_daily"
        return {"values": (query, "trade_date")}

    export_tables(warehouse, offline, version(1))
    seen: list[tuple[list[set], int, int]] = []
    failed: list[Exception] = []
    stop = threading.Event()

    def read_repeatedly() -> None:
        while not stop.is_set():
            try:  # as Feast's own stores read a folder (pyarrow), and as ours does (DuckDB)
                table = pq.read_table(folder, columns=["value", "trade_date"]).to_pandas()
                files = [str(f) for f in parquet_files(folder)]
                rows = duckdb.execute("SELECT count(*) FROM read_parquet($f)", {"f": files}
                                      ).fetchone()[0]
            except Exception as err:  # noqa: BLE001 - reported by the assertion below
                failed.append(err)
                return
            months = table.groupby(table["trade_date"].astype(str).str[:7])["value"]
            seen.append(([set(v) for _, v in months], len(table), rows))

    reader = threading.Thread(target=read_repeatedly)
    reader.start()
    try:
        for value in (2, 1, 2, 1, 2):
            export_tables(warehouse, offline, version(value))
    finally:
        stop.set()
        reader.join()
    assert not failed, failed
    assert seen, "the reader never read"
    assert all(rows == by_duckdb == 9_000 and all(v in ({1}, {2}) for v in months)
               for months, rows, by_duckdb in seen), seen
    assert set(pq.read_table(folder).column("value").unique().to_pylist()) == {2}


def test_no_entity_rows_and_rows_without_a_time_or_key(asof_store):
    """An empty entity frame gives an empty answer with every column; a row without a
    timestamp or a key matches nothing, and the rows around it are answered as ever."""
    empty = _entities().iloc[:0]
    none = asof_store.get_historical_features(entity_df=empty, features=DAILY).to_df()
    assert len(none) == 0 and {"close", "limit_up", "industry"} <= set(none.columns)
    entities = _entities()
    whole = asof_store.get_historical_features(entity_df=entities.copy(), features=DAILY).to_df()
    holes = entities.copy()
    holes.loc[0, "event_timestamp"] = pd.NaT
    holes.loc[1, "stock_id"] = None
    some = asof_store.get_historical_features(entity_df=holes, features=DAILY).to_df()
    assert some.loc[[0, 1], ["close", "industry"]].isna().all().all()
    assert _normalised(some.iloc[2:]) == _normalised(whole.iloc[2:])
