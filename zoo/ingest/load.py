"""Load a folder of Wind tables into the DuckDB warehouse: all of it, or nothing.

`load_dir` finds one `<Table>.csv` or `<Table>.parquet` per table (names matched up to case),
checks every file against its contract (`zoo.ingest.contracts`) and, only if all pass, writes
them in one DuckDB transaction:

- tables are created from `wind.Table.create_sql` (keyed) when missing;
- only rows whose key is not in the warehouse yet are inserted, so loading the same files
  twice changes no table, and a later daily extract appends just its new rows;
- a row whose key is already there with different values is an error: raw rows are immutable;
- every stock code of the stock-level tables must be listed in AShareDescription (this load
  or the warehouse);
- `raw._loads` records each file loaded: when (UTC), which table, the file and its sha256,
  rows in the file and rows inserted.

Any failure rolls the transaction back, so the warehouse is exactly as before.
"""

from __future__ import annotations

import difflib
import hashlib
import io
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from time import perf_counter

import duckdb
import polars as pl
import pyarrow as pa

from zoo.ingest import contracts, wind

SCHEMAS: dict[str, tuple[wind.Table, ...]] = {"raw": wind.RAW_TABLES, "truth": wind.TRUTH_TABLES}
DATA_SUFFIXES = (".csv", ".parquet")
CSV_NULLS = ["", "NULL"]
LOADS_TABLE = "raw._loads"
# Stock-level tables: their S_INFO_WINDCODE must be a listed stock.
STOCK_TABLES = frozenset({
    "AShareEODPrices", "AShareEODDerivativeIndicator", "AShareIncome", "AShareBalanceSheet",
    "AShareCashFlow", "AShareST", "AShareIndustriesClassCITICS",
})
# Two doubles for the same key count as equal within this relative difference, so a file
# re-exported through CSV (shortest round-trip text) is not mistaken for changed data.
SAME_VALUE_RTOL = 1e-9
ARROW_BATCH_ROWS = 1 << 17
N_EXAMPLES = contracts.N_EXAMPLES
CHANGES_SHOWN = 3  # changed columns shown per conflicting row
IMMUTABLE_HINT = (
    "Raw rows are immutable. To load a different market, start from a fresh warehouse "
    "(`zoo data synth --replace`, or `zoo data load --warehouse NEW.duckdb`)."
)


class LoadError(Exception):
    """A folder could not be loaded; the warehouse is unchanged. `problems` lists each one."""

    def __init__(self, message: str, problems: Sequence[str] = ()):
        super().__init__(message)
        self.problems = list(problems)


# --------------------------------------------------------------------------- report
@dataclass(frozen=True)
class TableLoad:
    """What loading one file did."""

    table: str
    source: Path
    sha256: str
    rows_in_file: int
    rows_inserted: int
    seconds: float
    rows_closed: int = 0  # existing rows whose period-closing columns were filled in


@dataclass(frozen=True)
class LoadReport:
    """What `load_dir` did, per table."""

    src: Path
    warehouse: Path
    schema: str
    tables: tuple[TableLoad, ...]
    seconds: float

    @property
    def rows_in_files(self) -> int:
        return sum(t.rows_in_file for t in self.tables)

    @property
    def rows_inserted(self) -> int:
        return sum(t.rows_inserted for t in self.tables)

    def summary(self) -> str:
        n = len(self.tables)
        lines = [
            f"Loaded {n} table{'s' if n != 1 else ''} from {self.src} into {self.schema} "
            f"of {self.warehouse} in {self.seconds:.1f} s: {self.rows_inserted:,} new rows "
            f"({self.rows_in_files - self.rows_inserted:,} already there)."
        ]
        width = max((len(t.table) for t in self.tables), default=0)
        lines += [
            f"  {t.table:<{width}}  {t.rows_in_file:>12,} in file  {t.rows_inserted:>12,} new"
            f"  {t.seconds:6.1f} s"
            + (f"  ({t.rows_closed:,} periods closed)" if t.rows_closed else "")
            for t in self.tables
        ]
        return "\n".join(lines)


# --------------------------------------------------------------------------- connections
@contextmanager
def connect(warehouse: Path, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
    """Open the warehouse; a file held by another process is a LoadError that says so."""
    if not read_only:
        warehouse.parent.mkdir(parents=True, exist_ok=True)
    try:
        con = duckdb.connect(str(warehouse), read_only=read_only)
    except duckdb.IOException as err:
        if "lock" not in str(err).lower():
            raise LoadError(f"cannot open the warehouse {warehouse}: {err}") from err
        pid = re.search(r"PID (\d+)", str(err))
        holder = f"process {pid.group(1)}" if pid else "another process"
        raise LoadError(
            f"the warehouse {warehouse} is locked by {holder}: DuckDB lets one process write "
            "a database file at a time. Close the other session (a notebook, sqlmesh, another "
            "zoo command) and run this again."
        ) from err
    except duckdb.ConnectionException as err:
        raise LoadError(
            f"the warehouse {warehouse} is already open in this process with other settings "
            f"(read-only vs read-write); close that connection first ({err})"
        ) from err
    try:
        yield con
    finally:
        con.close()


def _table_exists(con: duckdb.DuckDBPyConnection, schema: str, name: str) -> bool:
    found = con.execute(
        "SELECT count(*) FROM information_schema.tables "
        "WHERE lower(table_schema) = lower(?) AND lower(table_name) = lower(?)",
        [schema, name],
    ).fetchone()
    return bool(found and found[0])


def _qualified(table: wind.Table) -> str:
    return f"{table.schema}.{table.name}"


# --------------------------------------------------------------------------- files
def tables_of(schema: str) -> tuple[wind.Table, ...]:
    try:
        return SCHEMAS[schema]
    except KeyError:
        raise ValueError(f"unknown schema {schema!r}; expected one of {sorted(SCHEMAS)}") from None


def find_table_files(src: Path, tables: Sequence[wind.Table]) -> dict[wind.Table, Path]:
    """One data file per table found in `src` (any subset of `tables`), in `tables` order.

    A .csv/.parquet file that names no table, or two files for one table, is a LoadError.
    """
    if not src.is_dir():
        raise LoadError(f"{src} is not a folder")
    by_name = {t.name.lower(): t for t in tables}
    found: dict[wind.Table, list[Path]] = {}
    problems = []
    for path in sorted(src.iterdir()):
        if not _is_data_file(path):
            continue
        table = by_name.get(path.stem.lower())
        if table is None:
            problems.append(_unknown_file(path, tables))
        else:
            found.setdefault(table, []).append(path)
    problems += [
        f"{table.name}: {len(paths)} files ({', '.join(p.name for p in paths)}); keep one"
        for table, paths in found.items()
        if len(paths) > 1
    ]
    if problems:
        raise LoadError(f"{src}: " + "\n".join(problems), problems)
    if not found:
        raise LoadError(
            f"{src} holds no table files: expected <Table>.csv or <Table>.parquet for any of "
            + ", ".join(t.name for t in tables)
        )
    return {t: found[t][0] for t in tables if t in found}


def _is_data_file(path: Path) -> bool:
    return path.is_file() and not path.name.startswith(".") and (
        path.suffix.lower() in DATA_SUFFIXES
    )


def _unknown_file(path: Path, tables: Sequence[wind.Table]) -> str:
    names = {t.name.lower(): t.name for t in tables}
    close = difflib.get_close_matches(path.stem.lower(), names, n=1, cutoff=0.6)
    hint = f" (did you mean {names[close[0]]}{path.suffix}?)" if close else ""
    return (f"unknown table file {path.name}{hint}; known tables: "
            + ", ".join(t.name for t in tables))


def read_table_file(path: Path, table: wind.Table) -> pl.DataFrame:
    """Read one file as it is; `contracts.validate` then casts and checks it."""
    if path.suffix.lower() == ".parquet":
        return pl.read_parquet(path)
    return _read_csv(path, table)


def _read_csv(path: Path, table: wind.Table) -> pl.DataFrame:
    """Read with wind.py's types (dates and codes stay text: '000001' keeps its zeros).

    If a value does not parse, read everything as text instead, so the contract reports every
    unreadable value with its row rather than polars stopping at the first.
    """
    header = pl.read_csv(path, n_rows=0, infer_schema=False).columns
    kinds = {c.name: c.kind for c in table.columns}
    types = {h: contracts.POLARS_TYPES[kinds[h.upper()]] for h in header if h.upper() in kinds}
    try:
        return pl.read_csv(path, infer_schema=False, schema_overrides=types,
                           null_values=CSV_NULLS)
    except pl.exceptions.ComputeError:
        return pl.read_csv(path, infer_schema=False, null_values=CSV_NULLS)


def sha256_of(path: Path) -> str:
    with path.open("rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


# --------------------------------------------------------------------------- load
@dataclass
class _Incoming:
    """A validated file waiting to be written."""

    table: wind.Table
    path: Path
    frame: pl.DataFrame
    seconds: float
    sha256: str = field(default="")

    @cached_property
    def arrow(self) -> pa.Table:
        """The frame as Arrow in record batches: DuckDB scans batches in parallel, and one
        12 M-row chunk on a single core (about twice as slow to insert)."""
        arrow = self.frame.to_arrow()
        return pa.Table.from_batches(arrow.to_batches(max_chunksize=ARROW_BATCH_ROWS),
                                     schema=arrow.schema)


def load_dir(src: Path, warehouse: Path, schema: str = "raw") -> LoadReport:
    """Load every table file in `src` into `schema` of the DuckDB file `warehouse`.

    All files are validated before anything is written; then one transaction creates missing
    tables and inserts the rows whose keys are new. Raises LoadError (warehouse unchanged) on
    an unknown file, a broken contract, an unknown stock code, a changed existing row or a
    locked warehouse.
    """
    started = perf_counter()
    src, warehouse = Path(src), Path(warehouse)
    files = find_table_files(src, tables_of(schema))
    incoming = _read_and_validate(src, files)
    with connect(warehouse) as con:
        loads = _write(con, incoming, check_codes=schema == "raw")
    return LoadReport(src, warehouse, schema, tuple(loads), perf_counter() - started)


def _read_and_validate(src: Path, files: dict[wind.Table, Path]) -> list[_Incoming]:
    """Read and validate every file; raise one LoadError listing every file that fails."""
    incoming, problems = [], []
    for table, path in files.items():
        started = perf_counter()
        try:
            frame = contracts.validate(table, read_table_file(path, table))
        except contracts.ContractError as err:
            problems.append(f"{path.name}:\n  " + str(err).replace("\n", "\n  "))
            continue
        except (pl.exceptions.PolarsError, OSError) as err:
            problems.append(_unreadable_file(path, err))
            continue
        incoming.append(_Incoming(table, path, frame, perf_counter() - started))
    if problems:
        raise LoadError(
            f"{src}: {len(problems)} of {len(files)} files break their contracts; nothing was "
            "loaded.\n" + "\n".join(problems),
            problems,
        )
    for item in incoming:
        started = perf_counter()
        item.sha256 = sha256_of(item.path)
        item.seconds += perf_counter() - started
    return incoming


def _unreadable_file(path: Path, err: Exception) -> str:
    hint = ""
    if "utf-8" in str(err).lower():
        hint = (" The file is not UTF-8 (WDS exports are often GBK): convert it with "
                f"`iconv -f GBK -t UTF-8 {path.name}` or export as UTF-8.")
    return f"{path.name}: cannot read the file: {str(err).splitlines()[0]}.{hint}"


def _write(con: duckdb.DuckDBPyConnection, incoming: list[_Incoming],
           check_codes: bool) -> list[TableLoad]:
    """Everything in one transaction; any error rolls it all back."""
    con.execute("BEGIN TRANSACTION")
    try:
        new_tables = {item.table for item in incoming if _create_table(con, item.table)}
        problems = _unknown_stock_codes(con, incoming) if check_codes else []
        conflicts = [msg for item in incoming
                     if item.table not in new_tables and (msg := _conflicts(con, item))]
        problems += conflicts
        if problems:
            hint = f"\n{IMMUTABLE_HINT}" if conflicts else ""
            raise LoadError("nothing was loaded (the warehouse is unchanged):\n"
                            + "\n".join(problems) + hint, problems)
        loads = [_insert(con, item, item.table in new_tables) for item in incoming]
        _record_loads(con, [item.table for item in incoming], loads)
        con.execute("COMMIT")
    except duckdb.Error as err:
        _rollback(con)
        raise LoadError(f"DuckDB refused the load, nothing was loaded: {err}") from err
    except BaseException:
        _rollback(con)
        raise
    return loads


def _rollback(con: duckdb.DuckDBPyConnection) -> None:
    """Undo the open transaction; a connection too broken to roll back discards it on close."""
    with suppress(duckdb.Error):
        con.execute("ROLLBACK")


def _create_table(con: duckdb.DuckDBPyConnection, table: wind.Table) -> bool:
    """Create `table` (keyed, from wind.py) if missing; True if this load created it."""
    con.execute(f"CREATE SCHEMA IF NOT EXISTS {table.schema}")
    if _table_exists(con, table.schema, table.name):
        _check_columns(con, table)
        return False
    con.execute(table.create_sql())
    return True


def _check_columns(con: duckdb.DuckDBPyConnection, table: wind.Table) -> None:
    have = [r[0] for r in con.execute(
        "SELECT column_name FROM information_schema.columns WHERE lower(table_schema) = "
        "lower(?) AND lower(table_name) = lower(?) ORDER BY ordinal_position",
        [table.schema, table.name],
    ).fetchall()]
    if [h.upper() for h in have] != [c.upper() for c in table.column_names]:
        raise LoadError(
            f"{_qualified(table)} in the warehouse has columns {have}, but wind.py declares "
            f"{table.column_names}: the warehouse was made by another version of alphazoo. "
            "Load into a fresh warehouse (`zoo data synth --replace`)."
        )


@contextmanager
def _registered(con: duckdb.DuckDBPyConnection, item: _Incoming) -> Iterator[str]:
    """Expose the file's rows to SQL as the view `incoming` (no copy into DuckDB)."""
    con.register("incoming", item.arrow)
    try:
        yield "incoming"
    finally:
        con.unregister("incoming")


def _key_match(table: wind.Table, left: str, right: str) -> str:
    return " AND ".join(f"{left}.{k} = {right}.{k}" for k in table.key)


def _insert(con: duckdb.DuckDBPyConnection, item: _Incoming, new_table: bool) -> TableLoad:
    """Insert the rows whose key is not in the table yet (all of them into a new table)."""
    started = perf_counter()
    table, cols = item.table, ", ".join(item.table.column_names)
    with _registered(con, item) as view:
        sql = f"INSERT INTO {_qualified(table)} ({cols}) SELECT {cols} FROM {view} AS i"
        if not new_table:
            sql += (f" WHERE NOT EXISTS (SELECT 1 FROM {_qualified(table)} AS t "
                    f"WHERE {_key_match(table, 't', 'i')})")
        inserted = con.execute(sql).fetchone()
        closed = 0 if new_table else _close_periods(con, table, view)
    return TableLoad(table.name, item.path, item.sha256, item.frame.height,
                     int(inserted[0]) if inserted else 0,
                     item.seconds + perf_counter() - started, closed)


def _close_periods(con: duckdb.DuckDBPyConnection, table: wind.Table, view: str) -> int:
    """Fill in the period-closing columns of existing rows (see wind.Column.closes)."""
    closing = [c for c in table.columns if c.closes]
    if not closing:
        return 0
    assignments = ", ".join(f"{c.name} = i.{c.name}" for c in closing)
    changed = " OR ".join(f"i.{c.name} IS DISTINCT FROM t.{c.name}" for c in closing)
    updated = con.execute(
        f"UPDATE {_qualified(table)} AS t SET {assignments} FROM {view} AS i "
        f"WHERE {_key_match(table, 't', 'i')} AND ({changed})"
    ).fetchone()
    return int(updated[0]) if updated else 0


def _differs(column: wind.Column) -> str:
    """SQL: the file's value conflicts with the warehouse's (i = incoming, t = table)."""
    if column.closes:
        # a period may be closed (NULL -> date) and its CUR_SIGN flipped; nothing else changes
        if column.kind == wind.STR:
            return "FALSE"
        return f"(t.{column.name} IS NOT NULL AND {_raw_differs(column)})"
    return _raw_differs(column)


def _raw_differs(column: wind.Column) -> str:
    new, old = f"i.{column.name}", f"t.{column.name}"
    if column.kind != wind.FLOAT:
        return f"{new} IS DISTINCT FROM {old}"
    return (f"NOT ({new} IS NOT DISTINCT FROM {old} OR abs({new} - {old}) <= "
            f"{SAME_VALUE_RTOL} * greatest(abs({new}), abs({old})))")


def _conflicts(con: duckdb.DuckDBPyConnection, item: _Incoming) -> str:
    """Rows of the file whose key is in the warehouse with other values ('' if none)."""
    table = item.table
    values = [c for c in table.columns if c.name not in table.key]
    if not values:
        return ""
    pairs = ", ".join(f"i.{c.name} AS \"new {c.name}\", t.{c.name} AS \"old {c.name}\""
                      for c in values)
    with _registered(con, item) as view:
        found = con.execute(
            f"SELECT {', '.join(f'i.{k}' for k in table.key)}, {pairs}, count(*) OVER () AS n "
            f"FROM {view} AS i JOIN {_qualified(table)} AS t ON {_key_match(table, 'i', 't')} "
            f"WHERE {' OR '.join(_differs(c) for c in values)} LIMIT {N_EXAMPLES}"
        ).pl()
    if found.is_empty():
        return ""
    examples = [_conflict_example(table, row) for row in found.iter_rows(named=True)]
    n = found["n"][0]
    return (f"{item.path.name}: {table.name}: {n:,} row{'s' if n != 1 else ''} already in the "
            f"warehouse with different values, e.g. {examples[0]}"
            + "".join(f"\n    {e}" for e in examples[1:]))


def _conflict_example(table: wind.Table, row: dict[str, object]) -> str:
    key = " ".join(f"{k}={contracts.format_value(row[k])}" for k in table.key)
    changes = [
        f"{c.name} {contracts.format_value(row[f'old {c.name}'])} in the warehouse, "
        f"{contracts.format_value(row[f'new {c.name}'])} in the file"
        for c in table.columns
        if c.name not in table.key and not _same(row[f"old {c.name}"], row[f"new {c.name}"])
    ]
    more = len(changes) - CHANGES_SHOWN
    return f"{key}: {'; '.join(changes[:CHANGES_SHOWN])}" + (
        f"; and {more} more column{'s' if more > 1 else ''}" if more > 0 else "")


def _same(old: object, new: object) -> bool:
    """Equal, or floats equal within SAME_VALUE_RTOL (as `_differs` decides in SQL)."""
    if isinstance(old, float) and isinstance(new, float):
        return abs(old - new) <= SAME_VALUE_RTOL * max(abs(old), abs(new))
    return old == new


def _unknown_stock_codes(con: duckdb.DuckDBPyConnection, incoming: list[_Incoming]) -> list[str]:
    """Stock-level rows whose S_INFO_WINDCODE is in no AShareDescription (file or warehouse)."""
    checked = [item for item in incoming if item.table.name in STOCK_TABLES]
    if not checked:
        return []
    known = pl.concat([
        item.frame.select("S_INFO_WINDCODE") for item in incoming
        if item.table is wind.ASHARE_DESCRIPTION
    ] + [_warehouse_codes(con)])["S_INFO_WINDCODE"]
    problems = []
    for item in checked:
        unknown = (item.frame.lazy().filter(~pl.col("S_INFO_WINDCODE").is_in(known.implode()))
                   .group_by("S_INFO_WINDCODE").agg(pl.len().alias("rows"))
                   .sort("S_INFO_WINDCODE").collect())
        if unknown.height:
            failure = contracts.RuleFailure(
                item.table.name, "S_INFO_WINDCODE",
                "stock listed in AShareDescription (this load or the warehouse)",
                int(unknown["rows"].sum()), unknown.head(N_EXAMPLES).rows(named=True))
            problems.append(f"{item.path.name}: {failure.message()}")
    return problems


def _warehouse_codes(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    description = wind.ASHARE_DESCRIPTION
    if not _table_exists(con, description.schema, description.name):
        return pl.DataFrame({"S_INFO_WINDCODE": []}, schema={"S_INFO_WINDCODE": pl.String})
    return con.execute(f"SELECT S_INFO_WINDCODE FROM {_qualified(description)}").pl()


def _record_loads(con: duckdb.DuckDBPyConnection, tables: list[wind.Table],
                  loads: list[TableLoad]) -> None:
    """Append one row per file to raw._loads (created if missing)."""
    con.execute("CREATE SCHEMA IF NOT EXISTS raw")
    con.execute(
        f"CREATE TABLE IF NOT EXISTS {LOADS_TABLE} (\n"
        "  loaded_at TIMESTAMP NOT NULL,  -- UTC\n"
        "  table_name VARCHAR NOT NULL,   -- schema.table\n"
        "  source_file VARCHAR NOT NULL,\n"
        "  sha256 VARCHAR NOT NULL,\n"
        "  rows_in_file BIGINT NOT NULL,\n"
        "  rows_inserted BIGINT NOT NULL,\n"
        "  rows_closed BIGINT NOT NULL    -- existing rows whose period was closed\n)"
    )
    now = datetime.now(UTC).replace(tzinfo=None)
    con.executemany(
        f"INSERT INTO {LOADS_TABLE} VALUES (?, ?, ?, ?, ?, ?, ?)",
        [(now, _qualified(table), str(load.source.resolve()), load.sha256, load.rows_in_file,
          load.rows_inserted, load.rows_closed)
         for table, load in zip(tables, loads, strict=True)],
    )


# --------------------------------------------------------------------------- maintenance
def reset_schemas(warehouse: Path) -> None:
    """Drop every schema of the warehouse: raw and truth (with raw._loads), and all that was
    built from them (SQLMesh's state and models, written-back scores), so the next load
    starts a new market and the next `sqlmesh plan` builds everything from it. Dropping only
    the raw tables would leave SQLMesh's intervals marked done, and a plan would keep serving
    the old market's features."""
    warehouse = Path(warehouse)
    if not warehouse.exists():
        return
    with connect(warehouse) as con:
        schemas = [row[0] for row in con.execute("""
            SELECT schema_name FROM information_schema.schemata
            WHERE catalog_name = current_database()
              AND schema_name NOT IN ('main', 'information_schema', 'pg_catalog')""").fetchall()]
        con.execute("BEGIN TRANSACTION")
        try:
            for schema in schemas:
                con.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
            con.execute("COMMIT")
        except BaseException:
            _rollback(con)
            raise


def warehouse_summary(warehouse: Path) -> str:
    """Rows and date range of every raw and truth table (its first date column), then of every
    table SQLMesh built in `MODEL_SCHEMAS` (its time column)."""
    from rich.console import Console
    from rich.table import Table as RichTable

    warehouse = Path(warehouse)
    if not warehouse.exists():
        return (f"No warehouse at {warehouse} yet: run `zoo data synth`, or `zoo data load "
                "FOLDER` with a Wind export.")
    view = RichTable(title=f"Warehouse {warehouse}")
    for name, justify in (("table", "left"), ("rows", "right"), ("date column", "left"),
                          ("first", "left"), ("last", "left")):
        view.add_column(name, justify=justify)
    with connect(warehouse, read_only=True) as con:
        for schema, tables in SCHEMAS.items():
            for table in tables:
                if _table_exists(con, schema, table.name):
                    view.add_row(*_table_stats(con, table))
        raw_rows = view.row_count
        models = _model_stats(con)
        last_load = _last_load(con)
    if models:
        view.add_section()
        for row in models:
            view.add_row(*row)
    if not raw_rows and not models:
        return f"The warehouse {warehouse} holds no raw or truth tables yet."
    out = Console(file=io.StringIO(), width=110, color_system=None)
    out.print(view)
    if last_load:
        out.print(f"Last load: {last_load} UTC")
    if not models:
        out.print("No SQLMesh models built yet: `sqlmesh plan` in transforms/ builds them.")
    return out.file.getvalue().rstrip()  # type: ignore[attr-defined]


# Schemas where SQLMesh publishes its models (views on tables in sqlmesh__<schema>; staging
# is only views on raw, so it is left out), and the time columns a model may have, by
# preference.
MODEL_SCHEMAS = ("reference", "intermediate", "features", "labels")
MODEL_TIME_COLUMNS = ("trade_date", "available_date", "as_of_date", "calendar_date")


def _model_stats(con: duckdb.DuckDBPyConnection) -> list[tuple[str, ...]]:
    """(name, rows, time column, first, last) of each model in MODEL_SCHEMAS, by schema."""
    marks = ", ".join("?" * len(MODEL_SCHEMAS))
    columns: dict[tuple[str, str], set[str]] = {}
    for schema, name, column in con.execute(
        "SELECT table_schema, table_name, lower(column_name) FROM information_schema.columns "
        f"WHERE table_schema IN ({marks})", list(MODEL_SCHEMAS),
    ).fetchall():
        columns.setdefault((schema, name), set()).add(column)
    rows = []
    for schema in MODEL_SCHEMAS:
        for name in sorted(n for s, n in columns if s == schema):
            time = next((c for c in MODEL_TIME_COLUMNS if c in columns[schema, name]), None)
            span = f", min({time}), max({time})" if time else ""
            row = con.execute(f'SELECT count(*){span} FROM "{schema}"."{name}"').fetchone()
            first, last = (str(row[1] or ""), str(row[2] or "")) if time else ("", "")
            rows.append((f"{schema}.{name}", f"{row[0]:,}", time or "", first, last))
    return rows


def _table_stats(con: duckdb.DuckDBPyConnection, table: wind.Table) -> tuple[str, ...]:
    date = next((c.name for c in table.columns if c.kind == wind.DATE), None)
    span = f", min({date}), max({date})" if date else ""
    row = con.execute(f"SELECT count(*){span} FROM {_qualified(table)}").fetchone() or (0,)
    first, last = (row[1], row[2]) if date else ("", "")
    return (_qualified(table), f"{row[0]:,}", date or "", first or "", last or "")


def _last_load(con: duckdb.DuckDBPyConnection) -> str:
    if not _table_exists(con, "raw", "_loads"):
        return ""
    row = con.execute(f"SELECT max(loaded_at) FROM {LOADS_TABLE}").fetchone()
    return f"{row[0]:%Y-%m-%d %H:%M:%S}" if row and row[0] else ""
