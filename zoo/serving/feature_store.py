"""The Feast side of the pipeline: export what SQLMesh built, apply the repo, retrieve, serve.

A data engineer's flow is `sqlmesh plan` then `zoo features apply`, which exports every
SQLMesh `features` / `labels` model to `$ZOO_HOME/offline/<model>/`, one parquet file per month,
rewriting only the months that changed (atomically, see zoo/serving/export.py), and runs `feast
apply` on feature_repo/. Feast reads the parquet files, never the DuckDB warehouse, so retrieval
keeps working while a refresh holds the warehouse's write lock, and sees the previous export
until the new one is swapped in.

Feast writes its registry (`$ZOO_HOME/registry.db`) in place, so an apply killed half way
leaves it cut short: reading it is then a FeatureStoreError that says so, and
`apply(rebuild=True)` (`zoo features apply --rebuild`) makes it anew from feature_repo/.
Every path is bound as a query parameter, never pasted into SQL, and a name a caller gives
(a service, a view, a feature) is looked up in the registry before it is used.
"""

from __future__ import annotations

import contextlib
import difflib
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from zoo.paths import (
    export_path,
    feature_repo_path,
    offline_dir,
    parquet_files,
    warehouse_path,
)
from zoo.serving.published import open_warehouse, quote

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa
    from feast import FeatureService, FeatureStore
    from feast.repo_config import RepoConfig

# Only these schemas are exported. The trading calendar (reference.trade_calendar, see
# zoo.serving.published) is left out on purpose: it has no stock_id to key a Feast view on, and
# consumers read it from the warehouse.
EXPORTED_SCHEMAS = ("features", "labels")
TIME_COLUMNS = ("trade_date", "available_date")
ENTITY_TIMESTAMP = "event_timestamp"
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# an ISO 8601 time that says its offset from UTC: ...Z, ...+08:00, ...+0800 or ...+08
_OFFSET = re.compile(r".*[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?\s*(Z|[+-]\d{2}(:?\d{2})?)", re.I)


class FeatureStoreError(ValueError):
    """A request Feast cannot answer as asked; the message says what to change."""


def _config_folder(offline: str) -> Path:
    """The folder of the feature_store.yaml of flavour `offline`: feature_repo/, or for
    `spark` the one `apply(offline="spark")` writes (zoo.serving.spark_store)."""
    if offline == "file":
        return feature_repo_path()
    from zoo.serving.spark_store import spark_repo_path

    if offline != "spark":
        raise FeatureStoreError(f"unknown offline store {offline!r}: file or spark")
    folder = spark_repo_path()
    if not (folder / "feature_store.yaml").is_file():
        raise FeatureStoreError(f"no Spark flavour of the Feast repo in {folder}: run "
                                f"`zoo features apply --offline spark` first")
    return folder


def repo_config(plain_sqlite: bool = False, offline: str = "file") -> RepoConfig:
    """feature_store.yaml of feature_repo/ (or of its Spark flavour, `offline="spark"`). Its
    registry and online store live under $ZOO_HOME (data/ when unset; zoo.serving.home_stores).
    With `plain_sqlite`, the online store is Feast's own `sqlite` type at the same file: Feast
    offers its plan-then-apply (which says what changed, and "No changes to registry" on a
    second apply) only to that type."""
    from feast.infra.online_stores.sqlite import SqliteOnlineStoreConfig
    from feast.repo_config import load_repo_config

    from zoo.serving.home_stores import in_home

    folder = _config_folder(offline)
    config = load_repo_config(feature_repo_path(), folder / "feature_store.yaml")
    if plain_sqlite:
        config.online_config = SqliteOnlineStoreConfig(
            path=str(in_home(config.online_store.path)))
        config._online_store = None  # Feast builds it from online_config on first use
    return config


def registry_path(offline: str = "file") -> Path:
    """Where the Feast registry is (feature_store.yaml's `registry.path` under $ZOO_HOME)."""
    from zoo.serving.home_stores import in_home

    return in_home(repo_config(offline=offline).registry.path)


@contextlib.contextmanager
def _registry_readable() -> Iterator[None]:
    """A registry that does not parse is a FeatureStoreError saying how to rebuild it."""
    from google.protobuf.message import DecodeError

    try:
        yield
    except DecodeError as err:
        raise FeatureStoreError(
            f"the Feast registry {registry_path()} is damaged ({err}): Feast writes it in "
            f"place, so an apply that was killed or ran out of disk leaves it cut short. "
            f"Rebuild it from feature_repo/ with `zoo features apply --rebuild`") from None


@dataclass(frozen=True)
class Exported:
    """One view's export: all its rows, and what this export rewrote (zoo.serving.export)."""

    name: str
    rows: int
    path: Path
    rows_written: int = 0
    months_written: tuple[str, ...] = ()
    months_unchanged: int = 0
    months_removed: tuple[str, ...] = ()


def _models(warehouse: Path) -> dict[str, tuple[str, str]]:
    """SQLMesh features/labels models in the warehouse: name -> (SELECT, time column).

    DATE columns other than the time column are exported as TIMESTAMP (Feast has no date type;
    the views declare them UnixTimestamp).
    """
    con = open_warehouse(warehouse)
    try:
        rows = con.execute("""
            SELECT table_schema, table_name, list(column_name ORDER BY ordinal_position),
              list(data_type ORDER BY ordinal_position)
            FROM information_schema.columns
            WHERE table_schema IN (SELECT unnest($schemas))
              AND table_catalog = current_database()
            GROUP BY ALL ORDER BY ALL
        """, {"schemas": list(EXPORTED_SCHEMAS)}).fetchall()
    finally:
        con.close()
    models = {}
    for schema, table, columns, types in rows:
        time_column = next((c for c in TIME_COLUMNS if c in columns), None)
        if time_column is None:
            continue
        if not _NAME.fullmatch(table):  # it names a parquet file and a Feast view
            raise FeatureStoreError(f"{schema}.{table!r} is not a plain identifier, so it "
                                    f"cannot be a Feast view; rename or drop it")
        dates = [c for c, t in zip(columns, types, strict=True)
                 if t == "DATE" and c != time_column]
        replace = ", ".join(f"CAST({quote(c)} AS TIMESTAMP) AS {quote(c)}" for c in dates)
        select = (f"SELECT * {f'REPLACE ({replace})' if replace else ''} "
                  f"FROM {quote(schema)}.{quote(table)}")
        models[table] = (select, time_column)
    return models


def export(warehouse: Path | None = None, names: list[str] | None = None) -> list[Exported]:
    """Export the SQLMesh features/labels models (or `names` of them) to parquet for Feast.
    zoo.serving.published.WarehouseBusy when another process holds the warehouse."""
    from zoo.serving.export import export_tables

    warehouse = warehouse or warehouse_path()
    if not warehouse.is_file():
        raise FeatureStoreError(f"no warehouse at {warehouse}: run `zoo data synth` (or "
                                f"`zoo data load`) and `sqlmesh plan` in transforms/ first")
    models = _models(warehouse)
    if not models:
        raise FeatureStoreError(f"{warehouse} has no features/labels models: run `sqlmesh plan` "
                                f"in transforms/ first")
    if names:
        unknown = sorted(set(names) - set(models))
        if unknown:
            raise FeatureStoreError(f"not SQLMesh features/labels models: {unknown}; "
                                    f"known: {sorted(models)}")
        models = {n: models[n] for n in names}
    written = export_tables(warehouse, offline_dir(), models)
    return [Exported(name, info["rows"], Path(info["path"]), info["rows_written"],
                     tuple(info["months_written"]), info["months_unchanged"],
                     tuple(info["months_removed"]))
            for name, info in written.items()]


def apply(rebuild: bool = False, offline: str = "file", spark_source: str = "parquet",
          spark_conf: dict[str, str] | None = None) -> str:
    """`feast apply` on feature_repo/ under $ZOO_HOME; returns what Feast printed. With
    `rebuild`, the registry is deleted first and made anew (a damaged one cannot be read).

    `offline="spark"` applies the Spark flavour instead (zoo.serving.spark_store): it writes
    `$ZOO_HOME/spark/feature_store.yaml` (Spark settings: ZOO_SPARK_MASTER, then `spark_conf`)
    and declares every view over a SparkSource reading its parquet export, or with
    `spark_source="table"` its table in Spark's catalog, into that flavour's own registry."""
    import io
    import sys
    from contextlib import redirect_stdout

    from feast.repo_operations import apply_total

    from zoo.serving import spark_store

    repo = feature_repo_path()
    cwd = Path.cwd()
    out = io.StringIO()
    if str(repo) not in sys.path:  # Feast imports the repo's files by module name
        sys.path.append(str(repo))
    for path in repo.glob("*.py"):  # re-read the repo (scores.py lists the score files anew)
        sys.modules.pop(path.stem, None)
    try:
        if offline == "spark":
            spark_store.write_config(spark_conf)
        config = repo_config(plain_sqlite=True, offline=offline)
        if offline == "spark":
            spark_store.session(config)  # sources.py asks it for the tables' columns
        if rebuild:
            registry_path(offline).unlink(missing_ok=True)
        with spark_store.flavour(offline, spark_source), _registry_readable(), \
                redirect_stdout(out):
            try:
                apply_total(config, repo, skip_source_validation=False)
            finally:
                os.chdir(cwd)  # apply_total changes into the repo
    except spark_store.SparkStoreError as err:
        raise FeatureStoreError(str(err)) from None
    finally:
        for path in repo.glob("*.py"):  # the next import declares the default flavour again
            sys.modules.pop(path.stem, None)
    return out.getvalue()


def store(offline: str = "file") -> FeatureStore:
    """The project's FeatureStore (feature_repo/, paths under $ZOO_HOME), or with
    `offline="spark"` its Spark flavour (`$ZOO_HOME/spark`, made by `apply(offline="spark")`)."""
    from feast import FeatureStore

    with _registry_readable():
        return FeatureStore(repo_path=str(_config_folder(offline)))


def service_names(fs: FeatureStore) -> list[str]:
    with _registry_readable():
        return sorted(s.name for s in fs.list_feature_services())


def _unknown(kind: str, name: str, known: list[str]) -> FeatureStoreError:
    """The error for a `kind` named `name` the registry lacks: close matches and what exists
    (and, when nothing does, that the registry is empty)."""
    if not known:
        return FeatureStoreError(
            f"unknown {kind} {name!r}: the Feast registry {registry_path()} holds none; run "
            f"`zoo features apply` (`--rebuild` if it was damaged)")
    close = difflib.get_close_matches(name, known, n=3, cutoff=0.5)
    hint = f"did you mean {', '.join(map(repr, close))}? " if close else ""
    return FeatureStoreError(f"unknown {kind} {name!r}; {hint}the repo has {known}")


def request(fs: FeatureStore, service: str | None = None,
            features: list[str] | None = None) -> tuple[FeatureService | list[str], list[str]]:
    """What to ask Feast for, a service or `view:feature` references, each name checked
    against the registry (FeatureStoreError with close matches otherwise), and the names of
    the feature views it reads."""
    from feast.errors import FeatureServiceNotFoundException

    with _registry_readable():
        if not features:
            try:
                found = fs.get_feature_service(str(service))
            except FeatureServiceNotFoundException:
                raise _unknown("feature service", str(service), service_names(fs)) from None
            return found, sorted(p.name for p in found.feature_view_projections)
        views = {v.name: [f.name for f in v.features] for v in fs.list_feature_views()}
    for ref in features:
        view, colon, feature = ref.partition(":")
        if not colon:
            raise FeatureStoreError(f"{ref!r} is not a feature reference: write VIEW:FEATURE, "
                                    f"e.g. stock_style_daily:size")
        if view not in views:
            raise _unknown("feature view", view, sorted(views))
        if feature not in views[view]:
            raise _unknown(f"feature of {view}", feature, views[view])
    return list(features), sorted({ref.partition(":")[0] for ref in features})


def _csv_timestamps(path: Path, column: pd.Series) -> pd.Series:
    """ISO 8601 texts with an offset as UTC timestamps (offsets may differ row to row: each
    says when it is); a text without an offset is an error, not a guess."""
    import pandas as pd

    texts = column.astype("string")
    bare = [(i, t) for i, t in texts.items() if pd.isna(t) or not _OFFSET.fullmatch(t.strip())]
    if bare:
        row, text = bare[0]
        raise FeatureStoreError(
            f"{path}: {len(bare)} value(s) of {ENTITY_TIMESTAMP} do not say their offset from "
            f"UTC, e.g. row {int(row) + 2}: {text!r}; write 2020-06-30T15:00:00+08:00")
    try:
        return pd.to_datetime(texts, format="ISO8601", utc=True)
    except (ValueError, TypeError) as err:
        raise FeatureStoreError(
            f"{path}: column {ENTITY_TIMESTAMP} is not ISO 8601 timestamps with an offset "
            f"(e.g. 2020-06-30T15:00:00+08:00): {err}") from None


def read_entities(path: Path) -> pd.DataFrame:
    """An entity frame from parquet or CSV: `stock_id` and a timezone-aware `event_timestamp`.
    A CSV's timestamps must each carry an offset (they may differ); they come back in UTC."""
    import pandas as pd

    if path.suffix.lower() == ".parquet":
        try:
            frame = pd.read_parquet(path)
        except (OSError, ValueError) as err:
            raise FeatureStoreError(f"{path}: not a readable parquet file ({err})") from None
    elif path.suffix.lower() == ".csv":
        try:
            frame = pd.read_csv(path, dtype={"stock_id": str})
        except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
            raise FeatureStoreError(f"{path}: not a readable CSV file ({err})") from None
        if ENTITY_TIMESTAMP in frame.columns:
            frame[ENTITY_TIMESTAMP] = _csv_timestamps(path, frame[ENTITY_TIMESTAMP])
    else:
        raise FeatureStoreError(f"{path}: entities must be a .parquet or .csv file")
    missing = [c for c in ("stock_id", ENTITY_TIMESTAMP) if c not in frame.columns]
    if missing:
        raise FeatureStoreError(
            f"{path}: the entity frame needs columns stock_id and {ENTITY_TIMESTAMP}; "
            f"missing {missing} (has {list(frame.columns)})")
    return frame


def sample_entities(n: int) -> pd.DataFrame:
    """`n` stocks of the universe on the latest exported day, at that day's close."""
    import duckdb

    if n < 1:
        raise FeatureStoreError(f"a sample needs at least one stock, not {n}")
    files = [str(f) for f in parquet_files(export_path("stock_universe_daily"))]
    if not files:
        raise FeatureStoreError("nothing exported yet: run `zoo features apply` first")
    with duckdb.connect() as con:
        return con.execute(
            "SELECT stock_id, event_timestamp FROM read_parquet($files) WHERE in_universe "
            "AND event_timestamp = (SELECT MAX(event_timestamp) FROM read_parquet($files)) "
            "ORDER BY stock_id LIMIT $n", {"files": files, "n": int(n)}).df()


def get_historical(service: str | None, entities: pd.DataFrame, fs: FeatureStore | None = None,
                   full_feature_names: bool = False,
                   features: list[str] | None = None) -> pa.Table:
    """Point-in-time features of a versioned service (or of `features`, `view:feature`
    references, instead) for an entity frame, as Arrow.

    Unknown stock ids are not an error: their features come back NULL (as for a stock before
    its first row); `unknown_stocks` counts them for callers that want to warn.
    """
    from zoo.serving import spark_store

    fs = fs or store()
    wanted, _ = request(fs, service, features)
    with _registry_readable():
        if spark_store.is_spark(fs.config):
            return spark_store.historical(fs, entities, wanted, full_feature_names)
        job = fs.get_historical_features(entity_df=entities, features=wanted,
                                         full_feature_names=full_feature_names)
        return job.to_arrow()


def unknown_stocks(entities: pd.DataFrame) -> list[str]:
    """Stock ids of the entity frame found in no exported daily view."""
    import duckdb

    known = [str(f) for f in parquet_files(export_path("stock_universe_daily"))]
    if not known:
        return []
    ids = sorted(set(entities["stock_id"].dropna().astype(str)))
    if not ids:
        return []
    with duckdb.connect() as con:
        found = {r[0] for r in con.execute(
            "SELECT DISTINCT stock_id FROM read_parquet($files) "
            "WHERE stock_id IN (SELECT unnest($ids))",
            {"files": known, "ids": ids}).fetchall()}
    return [s for s in ids if s not in found]


def materialize(fs: FeatureStore | None = None) -> datetime:
    """Fill the online store with the latest date's features (not labels); returns that date's
    timestamp."""
    import duckdb

    fs = fs or store()
    latest = None
    with _registry_readable():
        views = fs.list_feature_views()
    exported = {view.name: [str(f) for f in parquet_files(export_path(view.name))]
                for view in views}
    for view in views:
        if exported[view.name]:
            with duckdb.connect() as con:
                value = con.execute(f"SELECT MAX({quote(ENTITY_TIMESTAMP)}) "
                                    f"FROM read_parquet($files)", {"files": exported[view.name]}
                                    ).fetchone()[0]
            latest = value if latest is None or (value and value > latest) else latest
    if latest is None:
        raise FeatureStoreError("nothing exported yet: run `zoo features apply` first")
    for view in views:
        if view.tags.get("kind") == "labels":
            continue  # labels look ahead: nothing to serve online
        if exported[view.name]:
            # the latest row per stock within the view's TTL, as get_online_features will serve
            fs.materialize(start_date=latest - (view.ttl or timedelta(days=1)),
                           end_date=latest + timedelta(seconds=1), feature_views=[view.name])
    return latest
