"""Feast's Spark offline store serves the same feature services as the ASOF DuckDB store: the
Spark flavour of the repo (`zoo features apply --offline spark`, zoo/serving/spark_store.py),
reading the parquet exports or the same tables in Spark's catalog (as SQLMesh builds them on a
Spark gateway), answers the same entity rows with the same frame, service by service.

Run by `make test-spark` (pytest -m spark); needs pyspark and Java."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import psutil
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from zoo.paths import parquet_files

pytestmark = pytest.mark.spark
pytest.importorskip("pyspark")
# Imported here, not first inside a test: its import puts a filter that shows its "experimental"
# RuntimeWarning once in front of the others, which pyproject's filter then could not hide.
import feast.infra.offline_stores.contrib.spark_offline_store.spark  # noqa: E402, F401

SHANGHAI = "Asia/Shanghai"
UNKNOWN_STOCK = "999999.SH"


def _spark_home(feast_home: Path, home: Path, **apply) -> Path:
    """A copy of `feast_home` with the Spark flavour of the repo applied."""
    from zoo.serving.feature_store import apply as apply_repo

    shutil.copytree(feast_home, home)
    with pytest.MonkeyPatch.context() as env:
        env.setenv("ZOO_HOME", str(home))
        env.setenv("ZOO_SPARK_MASTER", "local[2]")
        apply_repo(offline="spark", **apply)
    return home


@pytest.fixture(scope="module")
def spark_home(feast_home, tmp_path_factory) -> Path:
    """The Spark flavour over the parquet exports; starts the module's Spark session (stopped
    after the module), whose warehouse folder is a temporary one."""
    from pyspark.sql import SparkSession

    scratch = tmp_path_factory.mktemp("spark_scratch")
    home = _spark_home(feast_home, tmp_path_factory.mktemp("spark") / "home",
                       spark_conf={"spark.sql.warehouse.dir": str(scratch / "warehouse")})
    yield home
    session = SparkSession.getActiveSession()
    if session is not None:
        session.stop()


@pytest.fixture(scope="module")
def table_home(spark_home, feast_home, tmp_path_factory) -> Path:
    """The Spark flavour over tables of Spark's catalog, `features.<model>` and
    `labels.<model>`, holding what SQLMesh built (as a Spark gateway would: the models' own
    columns, DATE time columns, no `event_timestamp`)."""
    from pyspark.sql import SparkSession

    session = SparkSession.getActiveSession()
    scratch = tmp_path_factory.mktemp("spark_tables")
    with duckdb.connect(str(feast_home / "warehouse.duckdb"), read_only=True) as con:
        tables = con.execute("SELECT table_schema, table_name FROM information_schema.tables "
                             "WHERE table_schema IN ('features', 'labels') ORDER BY ALL"
                             ).fetchall()
        for schema, table in tables:
            folder = scratch / schema / table
            folder.mkdir(parents=True)
            con.execute(f'COPY "{schema}"."{table}" TO \'{folder / "part-0.parquet"}\' '
                        f"(FORMAT parquet)")
    for schema in {schema for schema, _ in tables}:
        session.sql(f"CREATE DATABASE IF NOT EXISTS {schema} LOCATION '{scratch / schema}'")
    for schema, table in tables:
        session.sql(f"CREATE TABLE {schema}.{table} USING parquet "
                    f"LOCATION '{scratch / schema / table}'")
    return _spark_home(feast_home, tmp_path_factory.mktemp("spark_tables_home") / "home",
                       spark_source="table")


def _export(home: Path, view: str) -> pd.DataFrame:
    files = [str(f) for f in parquet_files(home / "offline" / view)]
    with duckdb.connect() as con:
        return con.execute("SELECT * FROM read_parquet($files) ORDER BY stock_id, "
                           "event_timestamp", {"files": files}).df()


@pytest.fixture(scope="module")
def entities(feast_home) -> pd.DataFrame:
    """A few hundred (stock_id, event_timestamp) rows, shuffled, in Shanghai time: closes of
    feature days, mornings before a day's close (between two feature days), weekends, before
    each stock's first row, after the last day (inside and beyond the daily ttl), an unknown
    stock, and one row twice."""
    rng = np.random.default_rng(21)
    days = _export(feast_home, "stock_price_volume_daily")[["stock_id", "event_timestamp"]]
    pick = days.iloc[rng.choice(len(days), 240, replace=False)].reset_index(drop=True)
    closes = pick["event_timestamp"].dt.tz_convert(SHANGHAI)
    hours = pd.to_timedelta(rng.integers(1, 96, len(pick)), unit="h")
    first = days.groupby("stock_id")["event_timestamp"].min().dt.tz_convert(SHANGHAI)
    last = days["event_timestamp"].max().tz_convert(SHANGHAI)
    stocks = sorted(first.index)[:20]
    parts = [
        pd.DataFrame({"stock_id": pick["stock_id"][:120], "event_timestamp": closes[:120]}),
        # 10:00 of a feature day: that day's row is not known yet, the day before's is
        pd.DataFrame({"stock_id": pick["stock_id"][120:180],
                      "event_timestamp": closes[120:180] - pd.Timedelta(hours=5)}),
        pd.DataFrame({"stock_id": pick["stock_id"][180:], "event_timestamp": closes[180:]
                      + hours[180:]}),
        pd.DataFrame({"stock_id": stocks,
                      "event_timestamp": first[stocks].to_numpy() - pd.Timedelta(days=1)}),
        pd.DataFrame({"stock_id": stocks[:10], "event_timestamp": last + pd.Timedelta(days=3)}),
        pd.DataFrame({"stock_id": stocks[10:], "event_timestamp": last + pd.Timedelta(days=40)}),
        pd.DataFrame({"stock_id": [UNKNOWN_STOCK], "event_timestamp": [last]}),
    ]
    frame = pd.concat(parts, ignore_index=True)
    frame["event_timestamp"] = pd.to_datetime(frame["event_timestamp"]).dt.tz_convert(SHANGHAI)
    frame = pd.concat([frame, frame.iloc[[0]]], ignore_index=True)
    return frame.iloc[rng.permutation(len(frame))].reset_index(drop=True)


def _assert_same(service: str, want: pa.Table, got: pa.Table) -> None:
    """Same columns and rows; floats equal to 1e-12 relative, NULL and NaN where the other
    has them, lists element by element."""
    assert got.column_names == want.column_names, service
    assert got.num_rows == want.num_rows, service
    for name in want.column_names:
        a, b = want.column(name).combine_chunks(), got.column(name).combine_chunks()
        where = f"{service}: column {name}"
        assert a.is_null().to_pylist() == b.is_null().to_pylist(), where
        if pa.types.is_list(a.type):
            assert pa.types.is_list(b.type), where
            assert a.value_lengths().to_pylist() == b.value_lengths().to_pylist(), where
            a, b = a.flatten(), b.flatten()
        if pa.types.is_floating(a.type):
            np.testing.assert_allclose(b.to_numpy(zero_copy_only=False),
                                       a.to_numpy(zero_copy_only=False), rtol=1e-12,
                                       equal_nan=True, err_msg=where)
        elif pa.types.is_timestamp(a.type):
            assert a.type.tz == b.type.tz, where
            assert a.cast(pa.int64()).to_pylist() == b.cast(pa.timestamp(a.type.unit)).cast(
                pa.int64()).to_pylist(), where
        else:
            assert a.to_pylist() == b.to_pylist(), where


def _retrieve_both(home: Path, entities: pd.DataFrame, monkeypatch):
    """Every service through the ASOF store and through the Spark flavour of `home`:
    service -> (asof table, spark table), and the seconds (wall, CPU) each store took."""
    from zoo.serving.feature_store import get_historical, service_names, store

    monkeypatch.setenv("ZOO_HOME", str(home))
    stores = {"asof": store(), "spark": store("spark")}
    services = service_names(stores["asof"])
    assert services == service_names(stores["spark"])
    answers: dict[str, dict[str, pa.Table]] = {s: {} for s in services}
    took = {}
    for kind, fs in stores.items():
        wall, cpu = time.perf_counter(), _cpu_seconds()
        for service in services:
            answers[service][kind] = get_historical(service, entities, fs=fs)
        took[kind] = (time.perf_counter() - wall, _cpu_seconds() - cpu)
    return answers, took


def _cpu_seconds() -> float:
    """CPU seconds of this process and its children (Spark's JVM) so far."""
    processes = [psutil.Process(), *psutil.Process().children(recursive=True)]
    return sum(t.user + t.system for t in (p.cpu_times() for p in processes))


def test_the_spark_flavour_reads_spark_sources_in_its_own_registry(spark_home, monkeypatch):
    from feast.infra.offline_stores.contrib.spark_offline_store.spark_source import (
        SparkSource,
    )
    from feast.infra.offline_stores.file_source import FileSource

    from zoo.serving.feature_store import store

    monkeypatch.setenv("ZOO_HOME", str(spark_home))
    spark, default = store("spark"), store()
    assert spark.config.offline_store.type == "spark"
    assert spark.config.offline_store.spark_conf["spark.master"] == "local[2]"
    source = spark.get_feature_view("stock_style_daily").batch_source
    assert isinstance(source, SparkSource)
    assert source.path == str(spark_home / "offline" / "stock_style_daily")
    assert (spark_home / "spark" / "registry.db").is_file()
    # the default flavour is untouched: FileSources, the ASOF store, its own registry
    assert isinstance(default.get_feature_view("stock_style_daily").batch_source, FileSource)
    assert default.config.offline_store.type.endswith("AsofDuckDBOfflineStore")


def test_spark_over_the_exports_serves_what_the_asof_store_serves(spark_home, entities,
                                                                   monkeypatch, capsys):
    answers, took = _retrieve_both(spark_home, entities, monkeypatch)
    assert set(answers) == {"fundamentals_v1", "labels_v1", "portfolio_inputs_v1",
                            "price_volume_v1", "style_v1"}
    for service, pair in answers.items():
        _assert_same(service, pair["asof"], pair["spark"])
    with capsys.disabled():
        print(f"\n{len(entities)} entity rows x {len(answers)} services: "
              + ", ".join(f"{kind} {wall:.1f} s wall, {cpu:.1f} s CPU"
                          for kind, (wall, cpu) in took.items())
              + f" (CPU: this process and Spark's JVM); load average {os.getloadavg()[0]:.1f}")

    # what both agree on is not emptiness, and it is point in time
    frame = answers["price_volume_v1"]["spark"].to_pandas()
    assert frame["adj_close"].notna().mean() > 0.8
    exported = _export(spark_home, "stock_price_volume_daily")
    exported["day"] = exported["event_timestamp"].dt.tz_convert(SHANGHAI).dt.normalize()
    by_day = exported.set_index(["stock_id", "day"])["adj_close"]
    shanghai = frame["event_timestamp"].dt.tz_convert(SHANGHAI)
    morning = (shanghai.dt.hour == 10) & frame["adj_close"].notna()
    assert morning.sum() > 20
    unlike_today = 0
    for stock, moment, close in zip(frame["stock_id"][morning], shanghai[morning],
                                    frame["adj_close"][morning], strict=True):
        today = by_day.get((stock, moment.normalize()))
        earlier = by_day.loc[stock][by_day.loc[stock].index < moment.normalize()]
        assert close == earlier.iloc[-1]  # the day before's close, not the day's own
        unlike_today += today is not None and close != today
    assert unlike_today > morning.sum() // 2
    first = exported.groupby("stock_id")["event_timestamp"].min()
    before = frame["event_timestamp"] < frame["stock_id"].map(first)
    assert before.sum() >= 20 and frame.loc[before, "adj_close"].isna().all()
    assert frame.loc[frame["stock_id"] == UNKNOWN_STOCK, "adj_close"].isna().all()
    late = frame["event_timestamp"] > exported["event_timestamp"].max() + pd.Timedelta(days=14)
    assert late.sum() == 10 and frame.loc[late, "adj_close"].isna().all()
    # the quarterly view's ttl (215 days) still covers 40 days after the last day
    fundamentals = answers["fundamentals_v1"]["spark"].to_pandas()
    assert fundamentals.loc[late, "revenue_ttm"].notna().any()


def test_spark_over_catalog_tables_serves_what_the_asof_store_serves(table_home, entities,
                                                                      monkeypatch):
    from zoo.serving.feature_store import store

    monkeypatch.setenv("ZOO_HOME", str(table_home))
    source = store("spark").get_feature_view("stock_fundamental_quarterly").batch_source
    assert "FROM `features`.`stock_fundamental_quarterly`" in source.query
    answers, _ = _retrieve_both(table_home, entities, monkeypatch)
    for service, pair in answers.items():
        _assert_same(service, pair["asof"], pair["spark"])
    assert pc.sum(answers["labels_v1"]["spark"].column("fwd_ret_close_5d")
                          .is_valid()).as_py() > 100


def test_zoo_features_get_answers_the_same_through_spark(spark_home, entities, tmp_path,
                                                         monkeypatch):
    from click.testing import CliRunner

    from zoo.cli import main

    monkeypatch.setenv("ZOO_HOME", str(spark_home))
    rows = tmp_path / "rows.parquet"
    entities.iloc[:40].to_parquet(rows)
    frames = {}
    for offline in ("file", "spark"):
        out = tmp_path / f"{offline}.parquet"
        result = CliRunner().invoke(main, ["features", "get", "--service", "portfolio_inputs_v1",
                                           "--entities", str(rows), "--out", str(out),
                                           "--offline", offline])
        assert result.exit_code == 0, result.output
        frames[offline] = pq.read_table(out)
    _assert_same("zoo features get", frames["file"], frames["spark"])
    assert frames["spark"].column("csi500_weight_pct").null_count < 40


def test_materialize_from_spark_fills_the_same_online_values(spark_home, monkeypatch):
    from zoo.serving.feature_store import materialize, store

    monkeypatch.setenv("ZOO_HOME", str(spark_home))
    stocks = sorted(_export(spark_home, "stock_style_daily")["stock_id"].unique())[:5]
    online = {}
    for offline in ("file", "spark"):
        fs = store(offline)
        materialize(fs)
        online[offline] = fs.get_online_features(
            features=fs.get_feature_service("price_volume_v1"),
            entity_rows=[{"stock_id": s} for s in stocks]).to_dict()
    assert (spark_home / "spark" / "online.db").is_file()
    assert online["spark"] == online["file"]
    assert all(v is not None for v in online["spark"]["adj_close"])


def test_a_hostile_spark_name_is_refused():
    from zoo.serving.spark_store import SparkStoreError, check_name, spark_conf

    for name in ['x`; DROP TABLE features.y; --', "a.b", "../x", ""]:
        with pytest.raises(SparkStoreError, match="not a plain identifier"):
            check_name(name)
    with pytest.raises(SparkStoreError, match="not a Spark setting"):
        spark_conf({"spark.master: x\nevil": "1"})


def test_spark_settings_follow_zoo_spark_master(tmp_path, monkeypatch):
    from zoo.serving.feature_store import repo_config
    from zoo.serving.spark_store import spark_conf, write_config

    monkeypatch.setenv("ZOO_HOME", str(tmp_path))
    monkeypatch.setenv("ZOO_SPARK_MASTER", "local[4]")
    assert spark_conf()["spark.sql.shuffle.partitions"] == "4"
    monkeypatch.setenv("ZOO_SPARK_MASTER", "spark://head:7077")
    assert "spark.sql.shuffle.partitions" not in spark_conf()  # the cluster's own
    write_config({"spark.executor.memory": "8g", "spark.sql.session.timeZone": "UTC"})
    config = repo_config(offline="spark")
    assert config.offline_store.spark_conf["spark.master"] == "spark://head:7077"
    assert config.offline_store.spark_conf["spark.executor.memory"] == "8g"
    assert config.registry.path == "spark/registry.db"
