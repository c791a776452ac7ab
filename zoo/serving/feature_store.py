"""The Feast side of the pipeline: export what SQLMesh built, apply the repo, retrieve, serve.

A data engineer's flow is `sqlmesh plan` then `zoo features apply`, which exports every
SQLMesh `features` / `labels` model to `$ZOO_HOME/offline/<model>.parquet` (atomically, see
zoo/serving/export.py) and runs `feast apply` on feature_repo/. Feast reads the parquet files, never
the DuckDB warehouse, so retrieval keeps working while a refresh holds the warehouse's write
lock, and sees the previous export until the new one is swapped in.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from zoo.paths import feature_repo_path, offline_dir, warehouse_path, zoo_home

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa
    from feast import FeatureStore

# Only these schemas are exported. The trading calendar (reference.trade_calendar, see
# zoo.serving.published) is left out on purpose: it has no stock_id to key a Feast view on, and
# consumers read it from the warehouse.
EXPORTED_SCHEMAS = ("features", "labels")
TIME_COLUMNS = ("trade_date", "available_date")
ENTITY_TIMESTAMP = "event_timestamp"


class FeatureStoreError(ValueError):
    """A request Feast cannot answer as asked; the message says what to change."""


@contextlib.contextmanager
def _zoo_home_env() -> Iterator[Path]:
    """feature_store.yaml reads ${ZOO_HOME}: make sure it is set (to the default if unset)."""
    home = zoo_home()
    previous = os.environ.get("ZOO_HOME")
    os.environ["ZOO_HOME"] = str(home)
    try:
        yield home
    finally:
        if previous is None:
            os.environ.pop("ZOO_HOME", None)


@dataclass(frozen=True)
class Exported:
    name: str
    rows: int
    path: Path


def _models(warehouse: Path) -> dict[str, tuple[str, str]]:
    """SQLMesh features/labels models in the warehouse: name -> (SELECT, time column).

    DATE columns other than the time column are exported as TIMESTAMP (Feast has no date type;
    the views declare them UnixTimestamp).
    """
    import duckdb

    with duckdb.connect(str(warehouse), read_only=True) as con:
        rows = con.execute(f"""
            SELECT table_schema, table_name, list(column_name ORDER BY ordinal_position),
              list(data_type ORDER BY ordinal_position)
            FROM information_schema.columns
            WHERE table_schema IN {EXPORTED_SCHEMAS} AND table_catalog = current_database()
            GROUP BY ALL ORDER BY ALL
        """).fetchall()
    models = {}
    for schema, table, columns, types in rows:
        time_column = next((c for c in TIME_COLUMNS if c in columns), None)
        if time_column is None:
            continue
        dates = [c for c, t in zip(columns, types, strict=True)
                 if t == "DATE" and c != time_column]
        replace = ", ".join(f'CAST("{c}" AS TIMESTAMP) AS "{c}"' for c in dates)
        select = f"SELECT * {f'REPLACE ({replace})' if replace else ''} FROM {schema}.{table}"
        models[table] = (select, time_column)
    return models


def export(warehouse: Path | None = None, names: list[str] | None = None) -> list[Exported]:
    """Export the SQLMesh features/labels models (or `names` of them) to parquet for Feast."""
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
    return [Exported(name, info["rows"], Path(info["path"])) for name, info in written.items()]


def apply() -> str:
    """`feast apply` on feature_repo/ with $ZOO_HOME set; returns what Feast printed."""
    import io
    import sys
    from contextlib import redirect_stdout

    from feast.repo_config import load_repo_config
    from feast.repo_operations import apply_total

    repo = feature_repo_path()
    cwd = Path.cwd()
    out = io.StringIO()
    if str(repo) not in sys.path:  # Feast imports the repo's files by module name
        sys.path.append(str(repo))
    for path in repo.glob("*.py"):  # re-read the repo (scores.py lists the score files anew)
        sys.modules.pop(path.stem, None)
    with _zoo_home_env(), redirect_stdout(out):
        try:
            config = load_repo_config(repo, repo / "feature_store.yaml")
            apply_total(config, repo, skip_source_validation=False)
        finally:
            os.chdir(cwd)  # apply_total changes into the repo
    return out.getvalue()


def store() -> FeatureStore:
    """The project's FeatureStore (feature_repo/, paths under $ZOO_HOME)."""
    from feast import FeatureStore

    with _zoo_home_env():
        return FeatureStore(repo_path=str(feature_repo_path()))


def service_names(fs: FeatureStore) -> list[str]:
    return sorted(s.name for s in fs.list_feature_services())


def read_entities(path: Path) -> pd.DataFrame:
    """An entity frame from parquet or CSV: `stock_id` and a timezone-aware `event_timestamp`."""
    import pandas as pd

    if path.suffix.lower() == ".parquet":
        frame = pd.read_parquet(path)
    elif path.suffix.lower() == ".csv":
        frame = pd.read_csv(path, dtype={"stock_id": str})
        if ENTITY_TIMESTAMP in frame.columns:
            try:
                frame[ENTITY_TIMESTAMP] = pd.to_datetime(frame[ENTITY_TIMESTAMP], format="ISO8601")
            except (ValueError, TypeError) as err:
                raise FeatureStoreError(
                    f"{path}: column {ENTITY_TIMESTAMP} is not ISO 8601 timestamps with an "
                    f"offset (e.g. 2020-06-30T15:00:00+08:00): {err}") from err
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

    path = offline_dir() / "stock_universe_daily.parquet"
    if not path.is_file():
        raise FeatureStoreError("nothing exported yet: run `zoo features apply` first")
    return duckdb.sql(
        f"SELECT stock_id, event_timestamp FROM read_parquet('{path}') WHERE in_universe "
        f"AND event_timestamp = (SELECT MAX(event_timestamp) FROM read_parquet('{path}')) "
        f"ORDER BY stock_id LIMIT {int(n)}").df()


def get_historical(service: str, entities: pd.DataFrame, fs: FeatureStore | None = None,
                   full_feature_names: bool = False) -> pa.Table:
    """Point-in-time features of a versioned service for an entity frame, as Arrow.

    Unknown stock ids are not an error: their features come back NULL (as for a stock before
    its first row); `unknown_stocks` counts them for callers that want to warn.
    """
    from feast.errors import FeatureServiceNotFoundException

    fs = fs or store()
    try:
        feature_service = fs.get_feature_service(service)
    except FeatureServiceNotFoundException as err:
        raise FeatureStoreError(f"unknown feature service {service!r}; the repo has "
                                f"{service_names(fs)}") from err
    job = fs.get_historical_features(entity_df=entities, features=feature_service,
                                     full_feature_names=full_feature_names)
    return job.to_arrow()


def unknown_stocks(entities: pd.DataFrame) -> list[str]:
    """Stock ids of the entity frame found in no exported daily view."""
    import duckdb

    known = offline_dir() / "stock_universe_daily.parquet"
    if not known.is_file():
        return []
    ids = sorted(set(entities["stock_id"].astype(str)))
    found = {r[0] for r in duckdb.sql(
        f"SELECT DISTINCT stock_id FROM read_parquet('{known}') "
        f"WHERE stock_id IN (SELECT unnest($ids))", params={"ids": ids}).fetchall()} \
        if ids else set()
    return [s for s in ids if s not in found]


def materialize(fs: FeatureStore | None = None) -> datetime:
    """Fill the online store with the latest date's features (not labels); returns that date's
    timestamp."""
    import duckdb

    fs = fs or store()
    latest = None
    for view in fs.list_feature_views():
        path = offline_dir() / f"{view.name}.parquet"
        if path.is_file():
            value = duckdb.sql(f"SELECT MAX({ENTITY_TIMESTAMP}) FROM read_parquet('{path}')"
                               ).fetchone()[0]
            latest = value if latest is None or (value and value > latest) else latest
    if latest is None:
        raise FeatureStoreError("nothing exported yet: run `zoo features apply` first")
    for view in fs.list_feature_views():
        if view.tags.get("kind") == "labels":
            continue  # labels look ahead: nothing to serve online
        if (offline_dir() / f"{view.name}.parquet").is_file():
            # the latest row per stock within the view's TTL, as get_online_features will serve
            fs.materialize(start_date=latest - (view.ttl or timedelta(days=1)),
                           end_date=latest + timedelta(seconds=1), feature_views=[view.name])
    return latest
