"""The Spark flavour of the Feast repo: the same feature services, answered by Feast's Spark
offline store (`offline_store: type: spark`) instead of the ASOF DuckDB store.

`zoo features apply --offline spark` writes `$ZOO_HOME/spark/feature_store.yaml` (the project of
feature_repo/feature_store.yaml, its own registry `spark/registry.db` and online store
`spark/online.db` under the home, and Spark's settings) and applies feature_repo/'s declarations
with `SparkSource`s (feature_repo/sources.py) into that registry. `FeatureStore(repo_path=
$ZOO_HOME/spark)`, `zoo features get --offline spark` and `feast -c $ZOO_HOME/spark ...` (for
reads; its `apply` would find no declaration there and delete every view) read it.

Where Spark reads, per view:
- `parquet` (the default): the view's export, the folder `$ZOO_HOME/offline/<view>/` of monthly
  files, which Spark reads as one table (names beginning with `_` or `.`, like the manifest, are
  skipped, as pyarrow does). Spark takes the columns from one file, so the apply refuses a
  folder whose files' columns differ (the export writes them alike).
- `table`: `features.<view>` / `labels.<view>` of Spark's catalog, as SQLMesh builds them on a
  Spark gateway, through a query that adds `event_timestamp` = the time column (trade_date or
  available_date) at 15:00 Asia/Shanghai, as the export does, and casts other DATE columns to
  TIMESTAMP_NTZ (the views declare them UnixTimestamp; the export writes naive timestamps).
  Such a table has no `created_timestamp`: its grain makes rows unique. Score views are written
  by `zoo score` as parquet only, so they are read from their exports either way.

Spark's settings (`spark_conf`): `spark.master` from `ZOO_SPARK_MASTER` (default `local[2]`),
the session time zone UTC (Feast's Spark store compares timestamps as text and hands them back
without a zone; in UTC they read back as what they are) and no Spark UI; `--spark-conf KEY=VALUE`
adds or replaces any (a cluster's catalog, memory). Feast starts the session from them on its
first retrieval, or uses the process's active session when there is one.

`historical(...)` is the retrieval the zoo uses (zoo.serving.feature_store.get_historical):
Feast's Spark job read as Arrow, shaped as the ASOF store answers: the entity rows in the order
given (Spark returns them in any order) with the entity frame's own columns, then the features.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from zoo.paths import parquet_files, zoo_home

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa
    from feast import FeatureService, FeatureStore
    from feast.repo_config import RepoConfig

FLAVOUR_ENV = "ZOO_FEAST_OFFLINE"  # which sources feature_repo/ declares: file or spark
SOURCE_ENV = "ZOO_SPARK_SOURCE"  # where the Spark flavour reads: parquet or table
MASTER_ENV = "ZOO_SPARK_MASTER"
FLAVOURS = ("file", "spark")
SPARK_SOURCES = ("parquet", "table")
DEFAULT_MASTER = "local[2]"
SPARK_DIR = "spark"  # under $ZOO_HOME: the flavour's feature_store.yaml, registry, online store
TABLE_SCHEMAS = ("features", "labels")  # what SQLMesh builds; scores are parquet only
TIME_COLUMNS = ("trade_date", "available_date")  # as zoo.serving.feature_store exports them
ROW_ID = "__zoo_row_id"
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_CONF_KEY = re.compile(r"[A-Za-z0-9_.\-]+")


class SparkStoreError(ValueError):
    """The Spark flavour cannot be made or read as asked; the message says what to change."""


def _choice(env: str, allowed: tuple[str, ...]) -> str:
    value = os.environ.get(env, allowed[0]).strip().lower() or allowed[0]
    if value not in allowed:
        raise SparkStoreError(f"{env}={value!r}: expected one of {', '.join(allowed)}")
    return value


def applying_spark() -> bool:
    """Whether feature_repo/ is being read for the Spark flavour (ZOO_FEAST_OFFLINE=spark)."""
    return _choice(FLAVOUR_ENV, FLAVOURS) == "spark"


def reads_tables() -> bool:
    """Whether the Spark flavour reads catalog tables (ZOO_SPARK_SOURCE=table), not exports."""
    return _choice(SOURCE_ENV, SPARK_SOURCES) == "table"


@contextlib.contextmanager
def flavour(offline: str, source: str = "parquet") -> Iterator[None]:
    """ZOO_FEAST_OFFLINE and ZOO_SPARK_SOURCE set while Feast reads feature_repo/ (and restored
    after), so its sources.py declares the flavour being applied."""
    if offline not in FLAVOURS or source not in SPARK_SOURCES:
        raise SparkStoreError(f"unknown offline store {offline!r} / Spark source {source!r}: "
                              f"expected {FLAVOURS} / {SPARK_SOURCES}")
    saved = {env: os.environ.get(env) for env in (FLAVOUR_ENV, SOURCE_ENV)}
    os.environ[FLAVOUR_ENV], os.environ[SOURCE_ENV] = offline, source
    try:
        yield
    finally:
        for env, value in saved.items():
            if value is None:
                os.environ.pop(env, None)
            else:
                os.environ[env] = value


def spark_repo_path() -> Path:
    """The folder of the Spark flavour's feature_store.yaml: `$ZOO_HOME/spark`."""
    return zoo_home() / SPARK_DIR


def is_spark(config: RepoConfig) -> bool:
    return getattr(config.offline_store, "type", None) == "spark"


def session(config: RepoConfig):
    """The Spark session Feast's Spark store uses for `config`: the process's active one, or
    one started from the config's `spark_conf`."""
    from feast.infra.offline_stores.contrib.spark_offline_store.spark import (
        get_spark_session_or_start_new_with_repoconfig,
    )

    return get_spark_session_or_start_new_with_repoconfig(config.offline_store)


def spark_conf(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The Spark session's settings: master (ZOO_SPARK_MASTER, default local[2]), UTC, no UI,
    then `extra` (which may replace any)."""
    master = os.environ.get(MASTER_ENV, "").strip() or DEFAULT_MASTER
    conf = {
        "spark.master": master,
        "spark.app.name": "alphazoo-feast",
        "spark.sql.session.timeZone": "UTC",
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
    }
    local = re.fullmatch(r"local(\[(\d+|\*)(,\d+)?\])?", master)
    if local:
        # Spark's 200 shuffle partitions, each a task, on a machine's few cores: a test's 282
        # entity rows x 5 services took 26-32 s with one per core against 61-80 s
        cores = local.group(2) or "1"  # plain `local` is one thread
        conf["spark.sql.shuffle.partitions"] = str(
            os.cpu_count() or 1 if cores == "*" else int(cores))
    for key, value in (extra or {}).items():
        if not _CONF_KEY.fullmatch(key):
            raise SparkStoreError(f"{key!r} is not a Spark setting's name (e.g. "
                                  f"spark.driver.memory)")
        conf[key] = str(value)
    return conf


def write_config(extra_conf: Mapping[str, str] | None = None) -> Path:
    """`$ZOO_HOME/spark/feature_store.yaml`: feature_repo/'s, with its registry and online
    store under `spark/` and Feast's Spark offline store. Returns its folder."""
    import yaml

    from zoo.atomic import write_text
    from zoo.paths import feature_repo_path

    config = yaml.safe_load((feature_repo_path() / "feature_store.yaml").read_text())
    for block in ("registry", "online_store"):
        path = Path(config[block]["path"])
        if path.is_absolute():
            raise SparkStoreError(f"feature_repo/feature_store.yaml: {block}.path is absolute "
                                  f"({path}); the Spark flavour keeps its own under the home")
        config[block]["path"] = str(Path(SPARK_DIR) / path)
    config["offline_store"] = {"type": "spark", "spark_conf": spark_conf(extra_conf)}
    folder = spark_repo_path()
    folder.mkdir(parents=True, exist_ok=True)
    header = ("# Written by `zoo features apply --offline spark` (zoo/serving/spark_store.py): "
              "feature_repo/'s store\n# with Feast's Spark offline store; rewritten by each "
              "such apply. Relative paths: under $ZOO_HOME.\n")
    write_text(folder / "feature_store.yaml", header + yaml.safe_dump(config, sort_keys=False))
    return folder


def check_name(name: str, what: str = "name") -> str:
    """`name` when it is a plain identifier (it is written into Spark SQL), else an error."""
    if not _NAME.fullmatch(name):
        raise SparkStoreError(f"{what} {name!r} is not a plain identifier ([A-Za-z_][A-Za-z0-9_]*)"
                              f"; Spark SQL cannot take it")
    return name


def check_export(path: Path) -> None:
    """Refuse a folder of parquet files whose columns (names, types, order) differ: Spark
    would read every file with the columns of one."""
    import pyarrow.parquet as pq

    seen: dict[str, list[str]] = {}
    for file in parquet_files(path):
        schema = pq.read_schema(file)
        seen.setdefault(str([(f.name, str(f.type)) for f in schema]), []).append(file.name)
    if len(seen) > 1:
        groups = "; ".join(f"{', '.join(files[:3])}{' ...' if len(files) > 3 else ''}: {cols}"
                           for cols, files in seen.items())
        raise SparkStoreError(f"the files of {path} have different columns, which Spark would "
                              f"read as one file's; export the view again (`zoo features "
                              f"apply`). {groups}")


def table_query(schema: str, name: str) -> str:
    """The Spark SQL reading table `schema.name` of Spark's catalog as the export would write
    it: DATE columns but the time column as TIMESTAMP_NTZ, and `event_timestamp` = the time
    column at the close in Shanghai. Asks the active Spark session for the columns."""
    from pyspark.sql import SparkSession

    from zoo.serving.export import CLOSE_TIME, MARKET_TIME_ZONE

    check_name(schema, "schema")
    check_name(name, "table")
    session = SparkSession.getActiveSession()
    if session is None:
        raise SparkStoreError("no active Spark session to read the catalog from")
    table = f"`{schema}`.`{name}`"
    if not session.catalog.tableExists(f"{schema}.{name}"):
        raise SparkStoreError(f"Spark's catalog has no table {schema}.{name}: build it "
                              f"(SQLMesh's spark gateway) or apply with --spark-source parquet")
    fields = [(check_name(f.name, f"column of {schema}.{name}"), f.dataType.typeName())
              for f in session.table(table).schema]
    time_column = next((c for c in TIME_COLUMNS if c in dict(fields)), None)
    if time_column is None:
        raise SparkStoreError(f"{schema}.{name} has neither of {TIME_COLUMNS}")
    columns = [f"CAST({c} AS TIMESTAMP_NTZ) AS {c}" if kind == "date" and c != time_column
               else c for c, kind in fields]
    hour, minute = (int(part) for part in CLOSE_TIME.split(":"))
    columns.append(f"make_timestamp(year({time_column}), month({time_column}), "
                   f"day({time_column}), {hour}, {minute}, 0, '{MARKET_TIME_ZONE}') "
                   f"AS event_timestamp")
    return f"SELECT {', '.join(columns)} FROM {table}"


def historical(fs: FeatureStore, entities: pd.DataFrame, wanted: FeatureService | list[str],
               full_feature_names: bool = False) -> pa.Table:
    """Feast's Spark retrieval of `wanted` for `entities`, as the ASOF store answers: every
    entity row in the order given with the entity frame's columns unchanged, then the features,
    timestamps that Spark hands back without a zone marked with the session's."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if ROW_ID in entities.columns:
        raise SparkStoreError(f"the entity frame may not have a column named {ROW_ID}")
    # Feast converts the frame's timestamps in place: it gets a copy
    frame = entities.assign(**{ROW_ID: range(len(entities))})
    job = fs.get_historical_features(entity_df=frame, features=wanted,
                                     full_feature_names=full_feature_names)
    result = job.to_spark_df()  # runs Feast's statements; the last one is the answer
    table = result.orderBy(ROW_ID).toArrow()
    if table.column(ROW_ID).to_pylist() != list(range(len(entities))):
        raise SparkStoreError(f"Feast's Spark store answered {table.num_rows} rows for "
                              f"{len(entities)} entity rows")
    # Spark's TIMESTAMP is an instant that Arrow receives as the wall time of the session's
    # zone, without it; TIMESTAMP_NTZ columns are naive and stay so
    zone = result.sparkSession.conf.get("spark.sql.session.timeZone")
    spark_types = {f.name: f.dataType.typeName() for f in result.schema}
    for i, field in enumerate(table.schema):
        if spark_types.get(field.name) == "timestamp" and field.type.tz is None:
            table = table.set_column(i, field.name, pc.assume_timezone(
                table.column(i), zone).cast(pa.timestamp(field.type.unit, tz="UTC")))
    given = pa.Table.from_pandas(entities, preserve_index=False)
    features = [name for name in table.column_names
                if name != ROW_ID and name not in given.column_names]
    return pa.Table.from_arrays(given.columns + table.select(features).columns,
                                names=given.column_names + features)
