"""A Feast offline store that answers point-in-time retrieval with asof joins.

Feast's stock `duckdb` offline store builds its point-in-time join with ibis as an inequality
join of every entity row against every earlier feature row, then a window to keep the latest:
about 16 s for 150,000 entity rows against one daily view. An asof join does the same lookup
with both sides in time order. Per feature view, this store reads the rows that can be served
once (polars, or DuckDB for sources polars would read otherwise), matches the entity rows to
them with polars' `join_asof` by join key on integer microseconds, and takes the features by
the matched positions. The exports are monthly files each in (stock, time) order, so their
rows need no sort; other sources are sorted by (time, created). (The class keeps its name,
which registries and feature_store.yaml files name; it answered with DuckDB's ASOF join
before, 1.5-2.6x slower than a plain polars join_asof: `zoo bench retrieve`.)

Use it from feature_store.yaml:

    offline_store:
      type: zoo.serving.offline_store.AsofDuckDBOfflineStore
    coerce_tz_aware: false   # required: naive entity timestamps are refused, not read as UTC

Semantics are Feast's (checked row for row against the stock store in
tests/data/test_offline_store.py). For each entity row and feature view:
- the feature row is the latest one with `timestamp_field <= event_timestamp` and the same
  join keys; when the view's ttl is set (non-zero) it must also have
  `timestamp_field >= event_timestamp - ttl`, otherwise the features are NULL;
- rows sharing the latest timestamp are told apart by the largest `created_timestamp_column`
  (NULLs lose), when the source has one;
- no match gives NULL features; every entity row comes back, in the order given, with all of
  the entity frame's columns unchanged, followed by the features (named `feature`, or
  `view__feature` with full_feature_names).
Differences from the stock store, all on purpose: the entity frame must be a pandas DataFrame
with a timezone-aware `event_timestamp` column (no inference of another datetime column, no
naive timestamps read as UTC, no SQL string), and `filter_by_created_timestamp` is not
supported.

Sources are `FileSource`s over a parquet file or a folder of parquet files (every `*.parquet`
below it but names beginning with `.` or `_`, as pyarrow's datasets read a folder; the exports
of zoo.serving.export are folders of monthly files). `$VARS` and `~` in the path are expanded
here, and a relative path is taken relative to the feature repo (as Feast's
`FileSource.get_uri_for_file_path` does); feature_repo code may equally build absolute paths
from $ZOO_HOME. A folder is listed once per retrieval, so its queries read the same files.

A view's files are read one after the other, so a file replaced while they are read (an
export swapping a month in) could mix two versions of the view. The store records each file's
identity (inode, size, mtime) before a view's read and compares after it: when a file changed,
the view is read again (up to READ_ATTEMPTS times), so an answer always comes from one
version of each file.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import duckdb
import pandas as pd
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from feast.data_format import ParquetFormat
from feast.data_source import DataSource
from feast.feature_view import FeatureView
from feast.infra.offline_stores.file_source import FileSource
from feast.infra.offline_stores.offline_store import (
    OfflineStore,
    RetrievalJob,
    RetrievalMetadata,
)
from feast.infra.registry.base_registry import BaseRegistry
from feast.on_demand_feature_view import OnDemandFeatureView
from feast.repo_config import FeastConfigBaseModel, RepoConfig
from feast.saved_dataset import SavedDatasetStorage

from zoo.paths import parquet_files

ENTITY_TIMESTAMP = "event_timestamp"
READ_ATTEMPTS = 5  # reads of one view while exports keep replacing its files


class AsofDuckDBOfflineStoreConfig(FeastConfigBaseModel):
    """`offline_store:` block of feature_store.yaml for `AsofDuckDBOfflineStore`."""

    type: Literal["zoo.serving.offline_store.AsofDuckDBOfflineStore"] = (
        "zoo.serving.offline_store.AsofDuckDBOfflineStore"
    )
    threads: int | None = None
    """DuckDB worker threads (default: DuckDB's, one per core)."""
    memory_limit: str | None = None
    """DuckDB memory limit, e.g. '8GB' (default: DuckDB's, 80% of RAM)."""
    temp_directory: str | None = None
    """Where DuckDB spills when a join does not fit in memory (default: DuckDB's)."""


# --------------------------------------------------------------------------- SQL helpers
def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _connect(config: RepoConfig) -> duckdb.DuckDBPyConnection:
    store = config.offline_store
    con = duckdb.connect()
    # Naive source timestamps are read as UTC, as Feast does; results come back in UTC.
    con.execute("SET TimeZone = 'UTC'")
    con.execute("SET enable_progress_bar = false")
    # DuckDB plans an ASOF join as a nested loop when it guesses the left side is small, and
    # it guesses ~1 row for any registered Arrow table: minutes instead of seconds.
    con.execute("SET asof_loop_join_threshold = 0")
    # Entity order comes from ORDER BY row id; nothing else needs DuckDB to keep row order.
    con.execute("SET preserve_insertion_order = false")
    if getattr(store, "threads", None):
        con.execute(f"SET threads = {int(store.threads)}")
    if getattr(store, "memory_limit", None):
        con.execute(f"SET memory_limit = {_literal(store.memory_limit)}")
    if getattr(store, "temp_directory", None):
        con.execute(f"SET temp_directory = {_literal(store.temp_directory)}")
    return con


def source_files(source: DataSource, repo_path: Path | str | None) -> list[str]:
    """The parquet files `source` reads now: its file, or those of its folder
    (zoo.paths.parquet_files). A folder without one is a FileNotFoundError."""
    if not isinstance(source, FileSource):
        raise NotImplementedError(
            f"AsofDuckDBOfflineStore reads FileSource parquet only; source "
            f"{source.name!r} is a {type(source).__name__}")
    if source.file_format is not None and not isinstance(source.file_format, ParquetFormat):
        raise NotImplementedError(
            f"AsofDuckDBOfflineStore reads parquet only; source {source.name!r} is "
            f"{type(source.file_format).__name__}")
    uri = os.path.expanduser(os.path.expandvars(source.path))
    uri = FileSource.get_uri_for_file_path(repo_path=repo_path, uri=uri)
    if not os.path.isdir(uri):
        return [uri]
    files = [str(path) for path in parquet_files(Path(uri))]
    if not files:
        raise FileNotFoundError(f"the folder {uri} of source {source.name!r} holds no parquet "
                                f"file")
    return files


def parquet_scan(files: list[str], union_by_name: bool | None = None) -> str:
    """The DuckDB table function reading `files`.

    Columns are matched by name across files (`union_by_name`) only when the files' columns
    differ (default: when they may, i.e. more than one file whose schemas were not compared):
    DuckDB's matching by name makes a retrieval about 3 s slower at 150,000 entity rows
    against a 12M-row view, one file or many.
    """
    if union_by_name is None:
        union_by_name = len(files) > 1
    listed = ", ".join(_literal(f) for f in files)
    return f"read_parquet([{listed}], union_by_name = {str(union_by_name).lower()})"


def _columns_differ(files: list[str]) -> bool:
    """Whether the files' columns (names, types, order) are not all alike; a file that cannot
    be read here (remote, or being replaced) counts as different."""
    if len(files) < 2:
        return False
    seen = None
    for name in files:
        try:
            schema = pq.read_schema(name)
        except (OSError, ValueError):
            return True
        columns = [(field.name, str(field.type)) for field in schema]
        if seen is not None and columns != seen:
            return True
        seen = columns
    return False


def _identities(files: list[str]) -> list[tuple[int, int, int] | None]:
    """What tells one version of each local file from the next (None: missing or remote)."""
    found = []
    for name in files:
        try:
            stat = os.stat(name)
        except OSError:
            found.append(None)
            continue
        found.append((stat.st_ino, stat.st_size, stat.st_mtime_ns))
    return found


def _as_utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


# --------------------------------------------------------------------------- the entity frame
def _check_entity_df(entity_df: Any, config: RepoConfig) -> pd.DataFrame:
    if isinstance(entity_df, str):
        raise NotImplementedError(
            "AsofDuckDBOfflineStore takes the entity rows as a pandas DataFrame, not a SQL "
            "string; run the query yourself (e.g. duckdb.sql(...).df()) and pass the frame")
    if not isinstance(entity_df, pd.DataFrame):
        raise TypeError(f"entity_df must be a pandas DataFrame, not {type(entity_df).__name__}")
    if config.coerce_tz_aware:
        raise ValueError(
            "AsofDuckDBOfflineStore needs `coerce_tz_aware: false` in feature_store.yaml: with "
            "it on, Feast silently reads naive entity timestamps as UTC before the store sees "
            "them (and copies the whole entity frame to do it)")
    if ENTITY_TIMESTAMP not in entity_df.columns:
        raise ValueError(
            f"entity_df has no {ENTITY_TIMESTAMP!r} column (columns: "
            f"{', '.join(map(str, entity_df.columns))}); name the point-in-time column "
            f"{ENTITY_TIMESTAMP!r}")
    dtype = entity_df[ENTITY_TIMESTAMP].dtype
    aware = isinstance(dtype, pd.DatetimeTZDtype) or (
        isinstance(dtype, pd.ArrowDtype) and pa.types.is_timestamp(dtype.pyarrow_dtype)
        and dtype.pyarrow_dtype.tz is not None)
    if not aware:
        what = ("naive timestamps" if pd.api.types.is_datetime64_any_dtype(dtype)
                else f"dtype {dtype}")
        raise ValueError(
            f"entity_df column {ENTITY_TIMESTAMP!r} holds {what}; it must be timezone-aware "
            f"(e.g. trade date 15:00 Asia/Shanghai: "
            f"pd.to_datetime(...).dt.tz_localize('Asia/Shanghai')); naive times are not "
            f"assumed to be UTC")
    return entity_df


# --------------------------------------------------------------------------- one view
class _ViewPlan:
    """What one feature view contributes: its source, keys, timestamps and output columns."""

    def __init__(self, view: FeatureView, feature_refs: list[str], full_feature_names: bool,
                 repo_path: Path | str | None) -> None:
        source = view.batch_source
        if source is None:
            raise ValueError(f"feature view {view.name!r} has no batch_source")
        self.name = view.name
        self.source, self.repo_path = source, repo_path
        self.files: list[str] = []
        self.identities: list[tuple[int, int, int] | None] = []
        self.union = False
        self.schema: pa.Schema | None = None  # the first file's
        # field_mapping maps source columns to feature names; look names up the other way.
        to_source = {new: old for old, new in (source.field_mapping or {}).items()}
        self.column = lambda name: to_source.get(name, name)
        self.timestamp = source.timestamp_field
        self.created = source.created_timestamp_column or None
        # join key in the source -> column in the entity frame, as the stock store reads it
        self.join_keys = dict(view.projection.join_key_map
                              or {e.name: e.name for e in view.entity_columns})
        prefix = view.projection.name_to_use()
        features = [ref.split(":")[1] for ref in feature_refs if ref.startswith(f"{prefix}:")]
        base = view.projection.name_alias or view.name
        self.features = features
        self.outputs = [f"{base}__{f}" if full_feature_names else f for f in features]
        # Feast treats a zero ttl like no ttl (`if ttl:`), and so does this store.
        self.ttl_us = view.ttl // timedelta(microseconds=1) if view.ttl else 0

    def list_files(self) -> list[tuple[int, int, int] | None]:
        """List the source's files now (the reads take these) and compare their columns;
        returns their identities, taken first: a file replaced after them is noticed."""
        self.files = source_files(self.source, self.repo_path)
        self.identities = _identities(self.files)
        self.union = _columns_differ(self.files)
        self.schema = pq.read_schema(self.files[0])
        return self.identities

    def read(self, first: datetime | None, last: datetime | None) -> tuple[pl.DataFrame, bool]:
        """The source rows that can be served: `__k<i>` (join keys), `__ts` and `__c` (event
        and created timestamps as UTC microseconds) and `__f<i>` (features); and whether each
        key's rows are already in time order with no two at one time (true of the exports:
        monthly files, each sorted by stock and time).

        Rows after `last`, or older than `first - ttl`, can never be served and are left out
        (a query for one day then reads days, not years, of the source); rows without a key
        or a timestamp match nothing. Timestamps are read as DuckDB's CAST(... AS TIMESTAMPTZ)
        would (naive ones as UTC, dates at midnight UTC); a source whose timestamps are
        neither timestamps nor dates, or whose files' columns differ, is read by DuckDB.
        """
        keys = [self.column(k) for k in self.join_keys]
        wanted = [(self.column(self.timestamp), "__ts")]
        if self.created:
            wanted.append((self.column(self.created), "__c"))
        names = ([(k, f"__k{i}") for i, k in enumerate(keys)] + wanted
                 + [(self.column(f), f"__f{i}") for i, f in enumerate(self.features)])
        low = (_as_utc(first) - timedelta(microseconds=self.ttl_us)
               if first is not None and self.ttl_us else None)
        high = _as_utc(last) if last is not None else None
        schema = None if self.union else self.schema
        timed = schema is not None and all(
            schema.get_field_index(column) >= 0 and (
                pa.types.is_timestamp(schema.field(column).type)
                or pa.types.is_date(schema.field(column).type))
            for column, _ in wanted)
        if not timed:
            return self._read_duckdb(names, low, high)
        frames = []
        for name in self.files:
            frame = pl.scan_parquet(name).select(
                [pl.col(old).alias(new) for old, new in names])
            frame = frame.with_columns(
                [_epoch_us(pl.col(new), schema.field(old).type) for old, new in wanted])
            frame = frame.filter(pl.all_horizontal(
                [pl.col(c).is_not_null() for c in ("__ts", *(f"__k{i}" for i in
                                                              range(len(keys))))]))
            if high is not None:
                frame = frame.filter(pl.col("__ts") <= _epoch(high))
            if low is not None:
                frame = frame.filter(pl.col("__ts") >= _epoch(low))
            frames.append(frame)
        parts = pl.collect_all(frames)
        return _with_order(parts, len(keys))

    def _read_duckdb(self, names: list[tuple[str, str]], low: datetime | None,
                     high: datetime | None) -> tuple[pl.DataFrame, bool]:
        """`read` through DuckDB, for sources polars would not read the same way."""
        select = []
        for old, new in names:
            column = _ident(old)
            if new in ("__ts", "__c"):
                column = f"epoch_us(CAST({column} AS TIMESTAMPTZ))"
            select.append(f"{column} AS {new}")
        where = ["__ts IS NOT NULL", *(f"{new} IS NOT NULL" for _, new in names
                                       if new.startswith("__k"))]
        if high is not None:
            where.append(f"__ts <= {_epoch(high)}")
        if low is not None:
            where.append(f"__ts >= {_epoch(low)}")
        scan = parquet_scan(self.files, union_by_name=self.union)
        sql = (f"SELECT * FROM (SELECT {', '.join(select)} FROM {scan}) "
               f"WHERE {' AND '.join(where)}")
        con = duckdb.connect()
        try:
            con.execute("SET TimeZone = 'UTC'")
            table = con.execute(sql).to_arrow_table()
        finally:
            con.close()
        keys = sum(new.startswith("__k") for _, new in names)
        return _with_order([pl.from_arrow(table)], keys, known=False)


def _epoch(moment: datetime) -> int:
    return (_as_utc(moment) - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)


def _epoch_us(column: pl.Expr, kind: pa.DataType) -> pl.Expr:
    """A parquet timestamp or date column as UTC microseconds since the epoch (a naive
    timestamp is UTC, a date is its midnight in UTC, as DuckDB casts them here)."""
    if pa.types.is_date(kind):
        return column.cast(pl.Datetime("us")).dt.epoch("us")
    if kind.tz is not None:
        column = column.dt.convert_time_zone("UTC")
    return column.dt.epoch("us")


def _with_order(parts: list[pl.DataFrame], keys: int,
                known: bool = True) -> tuple[pl.DataFrame, bool]:
    """The parts as one frame, and whether each key's rows are in strict time order in it:
    each part sorted by key then time with no time repeated within a key, the parts in time
    order without overlap (`known`: the parts are files read in order). Only a single text
    or integer key is checked; other keys are taken as unordered (sorted by the caller)."""
    frame = pl.concat(parts, how="vertical_relaxed") if len(parts) > 1 else parts[0]
    ordered = known and keys == 1
    previous_last = None
    for part in parts if ordered else ():
        if part.height == 0:
            continue
        key, ts = part["__k0"], part["__ts"]
        if not (key.dtype == pl.String or key.dtype.is_integer()):
            ordered = False
            break
        same = key == key.shift(1)
        if bool(((key < key.shift(1)) | (same & (ts <= ts.shift(1)))).any()):
            ordered = False
            break
        first, last = ts.min(), ts.max()
        if previous_last is not None and first <= previous_last:
            ordered = False
            break
        previous_last = last
    return frame, ordered


def _match(plan: _ViewPlan, source: pl.DataFrame, ordered: bool,
           left: pl.DataFrame) -> pl.Series:
    """For each row of `left` (`__k<i>` and `__ts`, sorted by `__ts`), the position in `source`
    of its feature row, or null: the latest row of its keys at or before its time (the
    largest created timestamp among rows at that time, NULL lowest), within the ttl.
    `ordered`: each key's rows of `source` are already in strict time order."""
    keys = [f"__k{i}" for i in range(len(plan.join_keys))]
    right = source.select(*keys, "__ts", *(["__c"] if "__c" in source.columns else []))
    right = right.with_row_index("__pos")
    if not ordered:
        # each key's rows in time order, the largest created time last among equal times:
        # the backward search takes the last row at or before the entity's time
        order = ["__ts", "__c"] if "__c" in right.columns else ["__ts"]
        right = right.sort(order, nulls_last=False, maintain_order=True)
    for key in keys:
        if left[key].dtype != right[key].dtype:
            left = left.with_columns(left[key].cast(right[key].dtype))
    matched = left.join_asof(
        right.select(*keys, "__ts", "__pos"), on="__ts", by=keys, strategy="backward",
        tolerance=plan.ttl_us or None, check_sortedness=False, allow_parallel=True)
    return matched["__pos"]


def _historical_arrow(config: RepoConfig, entity_df: pd.DataFrame,
                      plans: list[_ViewPlan]) -> pa.Table:
    rows = len(entity_df)
    entity = pa.Table.from_pandas(entity_df, preserve_index=False)
    timestamps = entity_df[ENTITY_TIMESTAMP]
    first, last = timestamps.min(), timestamps.max()
    first, last = (None, None) if pd.isna(first) else (first.to_pydatetime(),
                                                        last.to_pydatetime())
    for plan in plans:
        plan.list_files()
    needed = sorted({c for p in plans for c in p.join_keys.values()})
    keys = _align_keys(pa.table({c: entity.column(c) for c in needed}), plans)
    # The entity rows once, in time order (the asof join's order); rows without a time match
    # nothing. Every view's matches are put back into the entity order at the end.
    ts = pc.cast(pc.cast(entity.column(ENTITY_TIMESTAMP), pa.timestamp("us", "UTC"),
                         safe=False), pa.int64())
    ts = pl.from_arrow(ts).alias("__ts") if rows else pl.Series("__ts", [], pl.Int64)
    frame = pl.DataFrame([ts, *(pl.from_arrow(keys.column(c)).alias(c) for c in needed)])
    frame = frame.with_row_index("__row").filter(pl.col("__ts").is_not_null()).sort(
        "__ts", maintain_order=True)
    for plan in plans:
        if not plan.outputs:
            continue
        source, ordered = _read_view(plan, first, last)
        left = frame.select(
            *(pl.col(c).alias(f"__k{i}") for i, c in enumerate(plan.join_keys.values())),
            "__ts")
        positions = (_match(plan, source, ordered, left) if frame.height
                     else pl.Series("__pos", [], pl.UInt32))
        # position of each entity row's feature row, in entity order (null: none)
        at = pl.DataFrame({"__row": frame["__row"], "__pos": positions})
        index = pl.repeat(None, rows, dtype=pl.UInt32, eager=True).scatter(
            at["__row"], at["__pos"])
        # polars' gather: threaded over the columns, and a null position gives nulls; on
        # contiguous columns (one chunk per column, not one per file or row group), which
        # makes it several times faster than the copy costs
        values = source.select([f"__f{i}" for i in range(len(plan.features))]).rechunk()
        fetched = values.select(pl.all().gather(index)).to_arrow()
        for name, column, field in zip(plan.outputs, fetched.columns,
                                       _feature_types(plan), strict=True):
            if field is not None and column.type != field:
                column = column.cast(field)
            entity = entity.append_column(name, column)
    return entity


def _feature_types(plan: _ViewPlan) -> list[pa.DataType | None]:
    """The type of each feature column in the source's (first) file: what the result column
    is cast back to (polars reads text as another arrow type)."""
    schema = plan.schema
    return [schema.field(plan.column(f)).type if schema.get_field_index(plan.column(f)) >= 0
            else None for f in plan.features]


def _read_view(plan: _ViewPlan, first: datetime | None,
               last: datetime | None) -> tuple[pl.DataFrame, bool]:
    """The view's servable rows (`_ViewPlan.read`), from files none of which changed while
    they were read (the module's docstring says why); the files are listed anew each try."""
    for attempt in range(READ_ATTEMPTS):
        before = plan.list_files() if attempt else plan.identities
        try:
            result = plan.read(first, last)
        except (duckdb.Error, pl.exceptions.PolarsError, OSError):
            if _identities(plan.files) == before:
                raise
            continue  # a file went away, or changed its columns, while it was read
        if _identities(plan.files) == before:
            return result
    raise RuntimeError(
        f"feature view {plan.name!r}: its files were replaced during each of {READ_ATTEMPTS} "
        f"reads (an export writing them); retry when it is done")


def _kind(kind: pa.DataType) -> str:
    """What a join key holds, as far as comparing it goes."""
    if pa.types.is_string(kind) or pa.types.is_large_string(kind) or (
            pa.types.is_string_view(kind)):
        return "text"
    if pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_decimal(kind):
        return "number"
    return str(kind)


def _align_keys(keys: pa.Table, plans: list[_ViewPlan]) -> pa.Table:
    """`keys` with each join-key column fit to join its source's key: a column without a
    value (an empty frame, or all missing) takes the source's type, as there is nothing to
    convert; a key of another kind (numbers against text) is a ValueError naming both, not a
    conversion error."""
    for plan in plans:
        schema = plan.schema
        for source_key, column in plan.join_keys.items():
            name = plan.column(source_key)
            if schema.get_field_index(name) < 0:
                raise ValueError(f"feature view {plan.name!r}: its source {plan.files[0]} has "
                                 f"no join key column {name!r}")
            source = schema.field(name).type
            given = keys.column(column)
            if given.null_count == len(given):
                index = keys.column_names.index(column)
                keys = keys.set_column(index, column, pa.nulls(len(given), source))
            elif _kind(given.type) != _kind(source):
                raise ValueError(
                    f"entity_df column {column!r} holds {given.type} values but feature view "
                    f"{plan.name!r} keys its rows by {source} (e.g. stock ids are text like "
                    f"'000001.SZ'): convert the column")
    return keys


# --------------------------------------------------------------------------- retrieval job
class AsofDuckDBRetrievalJob(RetrievalJob):
    """A lazy retrieval: the DuckDB queries run on `to_arrow()` / `to_df()`."""

    def __init__(self, run: Callable[[], pa.Table], full_feature_names: bool = False,
                 on_demand_feature_views: list[OnDemandFeatureView] | None = None,
                 metadata: RetrievalMetadata | None = None) -> None:
        super().__init__()
        self._run = run
        self._full_feature_names = full_feature_names
        self._on_demand_feature_views = on_demand_feature_views or []
        self._metadata = metadata

    @property
    def full_feature_names(self) -> bool:
        return self._full_feature_names

    @property
    def on_demand_feature_views(self) -> list[OnDemandFeatureView]:
        return self._on_demand_feature_views

    @property
    def metadata(self) -> RetrievalMetadata | None:
        return self._metadata

    def _to_arrow_internal(self, timeout: int | None = None) -> pa.Table:
        return self._run()

    def _to_df_internal(self, timeout: int | None = None) -> pd.DataFrame:
        return self._run().to_pandas()

    def persist(self, storage: SavedDatasetStorage, allow_overwrite: bool = False,
                timeout: int | None = None) -> None:
        source = storage.to_data_source()
        if not isinstance(source, FileSource):
            raise NotImplementedError("AsofDuckDBRetrievalJob persists to file storage only")
        path = source.path
        if os.path.exists(path) and not allow_overwrite:
            from feast.errors import SavedDatasetLocationAlreadyExists

            raise SavedDatasetLocationAlreadyExists(location=path)
        pq.write_table(self.to_arrow(timeout=timeout), path)


# --------------------------------------------------------------------------- the store
class AsofDuckDBOfflineStore(OfflineStore):
    """Feast offline store over parquet FileSources: point-in-time joins as DuckDB ASOF joins."""

    supports_filter_by_created_timestamp = False

    @staticmethod
    def get_historical_features(
        config: RepoConfig,
        feature_views: list[FeatureView],
        feature_refs: list[str],
        entity_df: pd.DataFrame | str,
        registry: BaseRegistry,
        project: str,
        full_feature_names: bool = False,
        filter_by_created_timestamp: bool = False,
    ) -> RetrievalJob:
        if filter_by_created_timestamp:
            raise NotImplementedError(
                "AsofDuckDBOfflineStore does not support filter_by_created_timestamp")
        entity_df = _check_entity_df(entity_df, config)
        plans = [_ViewPlan(view, feature_refs, full_feature_names, config.repo_path)
                 for view in feature_views]
        for plan in plans:
            missing = [c for c in plan.join_keys.values() if c not in entity_df.columns]
            if missing:
                raise ValueError(f"entity_df lacks join key(s) {missing} of feature view "
                                 f"{plan.name!r}")
        clashes = sorted({o for p in plans for o in p.outputs} & set(entity_df.columns))
        if clashes:
            raise ValueError(f"entity_df already has column(s) {clashes} named like requested "
                             f"features; rename them or use full_feature_names=True")

        odfvs = OnDemandFeatureView.get_requested_odfvs(feature_refs, project, registry)
        if any(odfv.mode == "substrait" for odfv in odfvs):
            raise NotImplementedError("AsofDuckDBOfflineStore does not run substrait ODFVs")
        timestamps = entity_df[ENTITY_TIMESTAMP]
        metadata = RetrievalMetadata(
            features=feature_refs,
            keys=[c for c in entity_df.columns if c != ENTITY_TIMESTAMP],
            min_event_timestamp=timestamps.min().to_pydatetime() if len(timestamps) else None,
            max_event_timestamp=timestamps.max().to_pydatetime() if len(timestamps) else None,
        )
        return AsofDuckDBRetrievalJob(
            lambda: _historical_arrow(config, entity_df, plans),
            full_feature_names=full_feature_names,
            on_demand_feature_views=odfvs,
            metadata=metadata,
        )

    @staticmethod
    def pull_latest_from_table_or_query(
        config: RepoConfig,
        data_source: DataSource,
        join_key_columns: list[str],
        feature_name_columns: list[str],
        timestamp_field: str,
        created_timestamp_column: str | None,
        start_date: datetime,
        end_date: datetime,
    ) -> RetrievalJob:
        """The latest row per join key with `start_date <= timestamp <= end_date`."""
        order = [f"CAST({_ident(timestamp_field)} AS TIMESTAMPTZ) DESC"]
        if created_timestamp_column:
            order.append(f"CAST({_ident(created_timestamp_column)} AS TIMESTAMPTZ) "
                         f"DESC NULLS LAST")
        partition = ", ".join(map(_ident, join_key_columns)) or "NULL"

        def run() -> pa.Table:
            sql, params = _pull_select(config, data_source, join_key_columns,
                                       feature_name_columns, timestamp_field,
                                       created_timestamp_column, start_date, end_date)
            sql += (f"\nQUALIFY row_number() OVER (PARTITION BY {partition} "
                    f"ORDER BY {', '.join(order)}) = 1")
            return _run_sql(config, sql, params)

        return AsofDuckDBRetrievalJob(run)

    @staticmethod
    def pull_all_from_table_or_query(
        config: RepoConfig,
        data_source: DataSource,
        join_key_columns: list[str],
        feature_name_columns: list[str],
        timestamp_field: str,
        created_timestamp_column: str | None = None,
        start_date: datetime | None = None,
        end_date: datetime | None = None,
    ) -> RetrievalJob:
        """Every row with `start_date <= timestamp <= end_date` (either bound optional)."""
        return AsofDuckDBRetrievalJob(lambda: _run_sql(config, *_pull_select(
            config, data_source, join_key_columns, feature_name_columns, timestamp_field,
            created_timestamp_column, start_date, end_date)))

    @staticmethod
    def offline_write_batch(config: RepoConfig, feature_view: FeatureView, table: pa.Table,
                            progress: Callable[[int], Any] | None) -> None:
        raise NotImplementedError(
            "AsofDuckDBOfflineStore is read-only: offline views are parquet files exported "
            "from the warehouse (zoo.serving.export), not written through Feast")


def _pull_select(config: RepoConfig, data_source: DataSource, join_key_columns: list[str],
                 feature_name_columns: list[str], timestamp_field: str,
                 created_timestamp_column: str | None, start_date: datetime | None,
                 end_date: datetime | None) -> tuple[str, list[datetime]]:
    files = source_files(data_source, config.repo_path)
    columns = [*join_key_columns, *feature_name_columns, timestamp_field]
    if created_timestamp_column:
        columns.append(created_timestamp_column)
    where, params = [], []
    ts = f"CAST({_ident(timestamp_field)} AS TIMESTAMPTZ)"
    if start_date is not None:
        where.append(f"{ts} >= ?")
        params.append(_as_utc(start_date))
    if end_date is not None:
        where.append(f"{ts} <= ?")
        params.append(_as_utc(end_date))
    sql = (f"SELECT {', '.join(map(_ident, columns))} "
           f"FROM {parquet_scan(files, union_by_name=_columns_differ(files))}")
    if where:
        sql += " WHERE " + " AND ".join(where)
    return sql, params


def _run_sql(config: RepoConfig, sql: str, params: list[Any]) -> pa.Table:
    con = _connect(config)
    try:
        return con.execute(sql, params).to_arrow_table()
    finally:
        con.close()
