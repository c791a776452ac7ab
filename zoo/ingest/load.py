"""Load a folder of Wind tables into the DuckDB warehouse: all of it, or nothing.

`load_dir` sorts the folder's files (`zoo.ingest.files`: the tables it reads, Wind's own names
for some of them, and the files it ignores, which it reports), checks every file against its
contract (`zoo.ingest.contracts`) and, only if all pass, writes them in one DuckDB
transaction:

- every declared table of the schema is created (keyed, from `wind.Table.create_sql`) when
  missing, whether the folder has a file for it or not, so the transforms always find every
  raw table (a source may lack some: what needs them comes out NULL);
- rows are checked across tables (`zoo.ingest.crosscheck`: a listed stock, a trading day,
  within the listing period), against this load and the warehouse;
- only rows whose key is not in the warehouse yet are inserted, so loading the same files
  twice changes no table, and a later daily extract appends just its new rows;
- a row whose key is already there with different values is an error: raw rows are immutable;
- `raw._loads` records each file loaded (`zoo.ingest.records`).

Strict by default: one broken rule refuses the whole load. With `quarantine=True` a row that
breaks a row rule (of its table's contract, or across tables) is set aside into `raw._rejects`
and the rest loads. What concerns a file as a whole still refuses the load: an unreadable
file, a missing column, a near miss of a table name, two files for one table, and a row
already in the warehouse with other values (another market, not a bad row).

Any failure rolls the transaction back, so the warehouse is exactly as before.
"""

from __future__ import annotations

import io
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

from zoo.ingest import changes, contracts, crosscheck, files, records, wind
from zoo.ingest.report import LoadReport, TableLoad
from zoo.locks import busy_message

__all__ = ["LOADS_TABLE", "REJECTS_TABLE", "STOCK_TABLES", "LoadError", "LoadReport",
           "TableLoad", "connect", "load_dir", "reset_schemas", "tables_of",
           "warehouse_summary"]

SCHEMAS: dict[str, tuple[wind.Table, ...]] = {"raw": wind.RAW_TABLES, "truth": wind.TRUTH_TABLES}
LOADS_TABLE, REJECTS_TABLE = records.LOADS_TABLE, records.REJECTS_TABLE
STOCK_TABLES = crosscheck.STOCK_TABLES
# Two doubles for the same key count as equal within this relative difference, so a file
# re-exported through CSV (shortest round-trip text) is not mistaken for changed data.
SAME_VALUE_RTOL = 1e-9
ARROW_BATCH_ROWS = 1 << 17
NEW_ROWS = "zoo_new_rows"  # temporary table of one file's rows whose key is not loaded yet
N_EXAMPLES = contracts.N_EXAMPLES
CHANGES_SHOWN = 3  # changed columns shown per conflicting row
IMMUTABLE_HINT = (
    "Raw rows are immutable. To load a different market, start from a fresh warehouse "
    "(`zoo data synth --replace`, or `zoo data load --warehouse NEW.duckdb`)."
)
QUARANTINE_HINT = (
    "--quarantine sets aside rows that break a rule; these problems concern a whole file "
    "(a missing column, an unreadable file), so they still refuse the load."
)


class LoadError(Exception):
    """A folder could not be loaded; the warehouse is unchanged. `problems` lists each one."""

    def __init__(self, message: str, problems: Sequence[str] = ()):
        super().__init__(message)
        self.problems = list(problems)


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
        raise LoadError(busy_message(warehouse, err)) from err
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


# --------------------------------------------------------------------------- load
@dataclass
class _Incoming:
    """A validated file waiting to be written: its valid rows (`rows` = their 1-based numbers
    in the file) and the rows set aside so far (--quarantine)."""

    file: files.TableFile
    frame: pl.DataFrame
    rows: pl.Series
    rows_in_file: int
    seconds: float
    ignored_columns: tuple[str, ...] = ()
    rejected: list[pl.DataFrame] = field(default_factory=list)
    sha256: str = field(default="")

    @property
    def table(self) -> wind.Table:
        return self.file.table

    @property
    def path(self) -> Path:
        return self.file.path

    @cached_property
    def arrow(self) -> pa.Table:
        """The frame as Arrow in record batches: DuckDB scans batches in parallel, and one
        12 M-row chunk on a single core (about twice as slow to insert)."""
        arrow = self.frame.to_arrow()
        return pa.Table.from_batches(arrow.to_batches(max_chunksize=ARROW_BATCH_ROWS),
                                     schema=arrow.schema)

    def set_aside(self, rules: list[tuple[contracts.Rule, pl.Series]]) -> None:
        """Move the rows breaking any of `rules` (rule, mask) out of the frame."""
        self.rejected.append(contracts.set_aside(self.frame, self.rows, rules))
        bad = pl.DataFrame([m.alias(str(i)) for i, (_, m) in enumerate(rules)]).select(
            pl.any_horizontal(pl.all())).to_series()
        self.frame, self.rows = self.frame.filter(~bad), self.rows.filter(~bad)
        self.__dict__.pop("arrow", None)  # made from the frame before: make it again

    def rejects(self) -> pl.DataFrame:
        if not self.rejected:
            return pl.DataFrame(schema=contracts.REJECTS_SCHEMA)
        return pl.concat(self.rejected).sort("row")


def load_dir(src: Path, warehouse: Path, schema: str = "raw", quarantine: bool = False,
             origin: str = "") -> LoadReport:
    """Load every table file in `src` into `schema` of the DuckDB file `warehouse`.

    All files are validated before anything is written; then one transaction creates missing
    tables and inserts the rows whose keys are new. Raises LoadError (warehouse unchanged) on
    a file it cannot load, a broken contract or cross-table rule (with `quarantine`, only on
    one that concerns a whole file), a changed existing row or a locked warehouse. `origin`
    names what the files were converted from (recorded in raw._loads instead of their path).
    """
    started = perf_counter()
    src, warehouse = Path(src), Path(warehouse)
    aliases = wind.TABLE_ALIASES if schema == "raw" else ()
    try:
        scan = files.scan_folder(src, tables_of(schema), aliases)
    except files.FolderError as err:
        raise LoadError(str(err), err.problems) from err
    incoming = _read_and_validate(src, scan.files, quarantine)
    with connect(warehouse) as con:
        loads, created = _write(con, incoming, schema, quarantine, origin)
    rebuild, problem = mark_for_rebuild(warehouse) if schema == "raw" else (None, "")
    return LoadReport(src, warehouse, schema, tuple(loads), perf_counter() - started,
                      scan.ignored, tuple(t.name for t in created), quarantine,
                      REJECTS_TABLE if quarantine else "", origin, rebuild, problem)


def mark_for_rebuild(warehouse: Path) -> tuple[changes.Rebuild | None, str]:
    """Mark what the committed changes affect for rebuild (zoo.ingest.changes); a failure is
    returned as text, not raised: the change is in and stays pending until a later try."""
    try:
        return changes.mark_for_rebuild(warehouse), ""
    except Exception as err:  # noqa: BLE001 - the load is committed; say so, do not lose it
        return None, (f"the change is loaded, but the models built from it could not be "
                      f"marked for rebuild ({type(err).__name__}: {err}); it stays pending: "
                      f"{changes.REFRESH_HINT}")


def _read_and_validate(src: Path, table_files: Sequence[files.TableFile],
                       quarantine: bool) -> list[_Incoming]:
    """Read and validate every file; raise one LoadError listing every file that fails."""
    incoming, problems = [], []
    for file in table_files:
        started = perf_counter()
        try:
            raw = files.read_table_file(file)
            extra = files.extra_columns(file.table, raw)
            if quarantine:
                part = contracts.split(file.table, raw)
                item = _Incoming(file, part.kept, part.rows, raw.height, 0.0, extra)
                if part.rejected.height:
                    item.rejected.append(part.rejected)
            else:
                frame = contracts.validate(file.table, raw)
                item = _Incoming(file, frame, pl.int_range(1, raw.height + 1, eager=True),
                                 raw.height, 0.0, extra)
        except contracts.ContractError as err:
            problems.append(f"{file.path.name}:\n  " + str(err).replace("\n", "\n  "))
            continue
        except (pl.exceptions.PolarsError, OSError) as err:
            problems.append(files.unreadable_file(file.path, err))
            continue
        item.seconds = perf_counter() - started
        incoming.append(item)
    if problems:
        raise LoadError(
            f"{src}: {len(problems)} of {len(table_files)} files break their contracts; nothing "
            "was loaded.\n" + "\n".join(problems) + (f"\n{QUARANTINE_HINT}" if quarantine else ""),
            problems,
        )
    for item in incoming:
        started = perf_counter()
        item.sha256 = files.sha256_of(item.path)
        item.seconds += perf_counter() - started
    return incoming


def _write(con: duckdb.DuckDBPyConnection, incoming: list[_Incoming], schema: str,
           quarantine: bool, origin: str) -> tuple[list[TableLoad], list[wind.Table]]:
    """Everything in one transaction; any error rolls it all back. Returns what was loaded and
    the declared tables created empty."""
    con.execute("BEGIN TRANSACTION")
    try:
        # raw: every declared table, so the transforms find the ones this source lacks
        declared = tables_of(schema) if schema == "raw" else [i.table for i in incoming]
        new_tables = {table for table in declared if _create_table(con, table)}
        problems = _cross_check(con, incoming, quarantine) if schema == "raw" else []
        conflicts = [msg for item in incoming
                     if item.table not in new_tables and (msg := _conflicts(con, item))]
        problems += conflicts
        if problems:
            hint = f"\n{IMMUTABLE_HINT}" if conflicts else ""
            raise LoadError("nothing was loaded (the warehouse is unchanged):\n"
                            + "\n".join(problems) + hint, problems)
        loads = [_insert(con, item, item.table in new_tables) for item in incoming]
        _record(con, incoming, loads, quarantine, origin)
        con.execute("COMMIT")
    except duckdb.Error as err:
        _rollback(con)
        raise LoadError(f"DuckDB refused the load, nothing was loaded: {err}") from err
    except BaseException:
        _rollback(con)
        raise
    loaded = {item.table for item in incoming}
    return loads, [t for t in declared if t in new_tables and t not in loaded]


def _cross_check(con: duckdb.DuckDBPyConnection, incoming: list[_Incoming],
                 quarantine: bool) -> list[str]:
    """Cross-table rules on every file (crosscheck): problems, or rows set aside."""
    ref = crosscheck.reference(con, {item.table.name: item.frame for item in incoming})
    problems = []
    for item in incoming:
        found = crosscheck.broken(item.table, item.frame, ref)
        if not found:
            continue
        if quarantine:
            item.set_aside(found)
            continue
        problems += [
            f"{item.path.name}: "
            + crosscheck.failure(item.table, item.frame, item.rows, ref, rule, mask).message()
            for rule, mask in found]
    return problems


def _source(item: _Incoming, origin: str) -> str:
    return f"{origin} (converted: {item.path.name})" if origin else str(item.path.resolve())


def _record(con: duckdb.DuckDBPyConnection, incoming: list[_Incoming], loads: list[TableLoad],
            quarantine: bool, origin: str) -> None:
    """raw._loads, and raw._rejects with --quarantine (created even when nothing is set aside,
    so it can be queried after every quarantined load)."""
    now = datetime.now(UTC).replace(tzinfo=None)
    records.record_loads(con, now, [
        (_qualified(item.table), _source(item, origin), item.sha256, load.rows_in_file,
         load.rows_inserted, load.rows_closed, load.rows_rejected, load.changed_from)
        for item, load in zip(incoming, loads, strict=True)])
    if quarantine:
        for item in incoming:
            records.record_rejects(con, now, _qualified(item.table), _source(item, origin),
                                   item.rejects())


def _by_rule(rejected: pl.DataFrame) -> tuple[tuple[str, int], ...]:
    """('COLUMN: rule', rows) for the rows set aside, most rows first."""
    counts = (rejected.group_by("column", "rule").agg(pl.len().alias("n"))
              .sort("n", "column", "rule", descending=[True, False, False]))
    return tuple((f"{c}: {r}", n) for c, r, n in counts.iter_rows())


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
    """Insert the rows whose key is not in the table yet (all of them into a new table), and
    say from which day the rows inserted or closed can change what is built (raw only)."""
    started = perf_counter()
    table, cols = item.table, ", ".join(item.table.column_names)
    with _registered(con, item) as view:
        source = view
        if not new_table:  # the new rows, found once (the anti-join scans the whole table)
            source = NEW_ROWS
            con.execute(f"CREATE OR REPLACE TEMP TABLE {NEW_ROWS} AS SELECT {cols} FROM {view} "
                        f"AS i WHERE NOT EXISTS (SELECT 1 FROM {_qualified(table)} AS t "
                        f"WHERE {_key_match(table, 't', 'i')})")
        first = None
        if table.schema == "raw":
            first = con.execute(f"SELECT min({changes.first_day_sql(table, 'i')}) "
                                f"FROM {source} AS i").fetchone()[0]
        inserted = con.execute(f"INSERT INTO {_qualified(table)} ({cols}) SELECT {cols} "
                               f"FROM {source} AS i{_in_date_order(table)}").fetchone()
        if not new_table:
            con.execute(f"DROP TABLE {NEW_ROWS}")
        closed, first_closed = (0, None) if new_table else _close_periods(con, table, view)
    rejected = item.rejects()
    return TableLoad(table.name, item.path, item.sha256, item.rows_in_file,
                     int(inserted[0]) if inserted else 0,
                     item.seconds + perf_counter() - started, closed, rejected.height,
                     _by_rule(rejected), item.ignored_columns,
                     item.file.alias.name if item.file.alias else "",
                     min((d for d in (first, first_closed) if d is not None), default=None))


def _in_date_order(table: wind.Table) -> str:
    """` ORDER BY` the first day a raw row can affect, or nothing for a table without dates.

    DuckDB keeps rows in the order they were inserted and keeps each row group's min and max:
    stored by date, a model that reads a few days of a daily table (a filter on TRADE_DT)
    skips every other row group, whatever order the export listed its rows in (a per-stock
    export lists each stock's whole history in turn)."""
    if table.schema != "raw" or not table.effective_dates:
        return ""
    return f" ORDER BY {changes.first_day_sql(table, 'i')}"


def _close_periods(con: duckdb.DuckDBPyConnection, table: wind.Table,
                   view: str) -> tuple[int, str | None]:
    """Fill in the period-closing columns of existing rows (see wind.Column.closes): a date
    that was NULL, and the flags that go with it; returns the rows closed and the first day
    they can affect (raw only). A period only closes: an older extract still showing it open
    (NULL where the warehouse has the date) changes nothing, whatever order they came in."""
    closing = [c for c in table.columns if c.closes]
    dates = [c for c in closing if c.kind == wind.DATE]
    if not dates:
        return 0, None
    assignments = ", ".join(f"{c.name} = COALESCE(t.{c.name}, i.{c.name})"
                            if c.kind == wind.DATE else f"{c.name} = i.{c.name}"
                            for c in closing)
    filled = " OR ".join(f"(t.{c.name} IS NULL AND i.{c.name} IS NOT NULL)" for c in dates)
    matched = f"{view} AS i WHERE {_key_match(table, 't', 'i')} AND ({filled})"
    first = None
    if table.schema == "raw":
        first = con.execute(
            f"SELECT min({changes.closed_first_day_sql(table, 'i', 't')}) "
            f"FROM {_qualified(table)} AS t, {matched}").fetchone()[0]
    updated = con.execute(
        f"UPDATE {_qualified(table)} AS t SET {assignments} FROM {matched}").fetchone()
    return (int(updated[0]) if updated else 0), first


def _differs(column: wind.Column) -> str:
    """SQL: the file's value conflicts with the warehouse's (i = incoming, t = table)."""
    if column.closes:
        # a period may be closed (NULL -> date) and its CUR_SIGN flipped, and an older extract
        # may still show it open; a closing date never moves
        if column.kind == wind.STR:
            return "FALSE"
        return (f"(t.{column.name} IS NOT NULL AND i.{column.name} IS NOT NULL AND "
                f"{_raw_differs(column)})")
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
