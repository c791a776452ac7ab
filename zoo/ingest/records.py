"""What the warehouse keeps about each load, in the load's own transaction:

- `raw._loads`: one row per file loaded: when (UTC), which table, the file and its sha256, rows
  in the file, inserted, whose period was closed, and set aside; and one row per retraction
  (`zoo data retract`, zoo.ingest.retract): no file, nothing inserted, the rows retracted;
  with the first day the change can affect (`changed_from`, NULL when nothing changed) and
  when the models built from that day were marked for rebuild (`cleared_at`,
  zoo.ingest.changes);
- `raw._rejects`: one row per row set aside by `--quarantine`: when (the load's time, as in
  raw._loads), which table and file, the row's 1-based number in the file, the most important
  rule it breaks and that rule's column, the other rules it breaks, and the row's values as
  JSON text (as read from the file for a contract rule, as validated for a cross-table rule);
- `raw._retracted`: one row per row `zoo data retract` removed: when (as in raw._loads), which
  table, the filter and the reason given, and the row's values as JSON text.
Every change to raw data appends to raw._loads, so its latest `loaded_at` says when the raw
data last changed (zoo.serving.freshness judges the exports by it).
"""

from __future__ import annotations

from datetime import datetime

import duckdb
import polars as pl

LOADS_TABLE = "raw._loads"
REJECTS_TABLE = "raw._rejects"
RETRACTED_TABLE = "raw._retracted"


def _create_loads(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("CREATE SCHEMA IF NOT EXISTS raw")
    con.execute(
        f"CREATE TABLE IF NOT EXISTS {LOADS_TABLE} (\n"
        "  loaded_at TIMESTAMP NOT NULL,  -- UTC\n"
        "  table_name VARCHAR NOT NULL,   -- schema.table\n"
        "  source_file VARCHAR NOT NULL,  -- for a retraction: the command, filter and reason\n"
        "  sha256 VARCHAR NOT NULL,       -- of the file; of the retracted rows' JSON\n"
        "  rows_in_file BIGINT NOT NULL,\n"
        "  rows_inserted BIGINT NOT NULL,\n"
        "  rows_closed BIGINT NOT NULL,   -- existing rows whose period was closed\n"
        "  rows_rejected BIGINT NOT NULL DEFAULT 0,  -- rows set aside (--quarantine)\n"
        "  rows_retracted BIGINT NOT NULL DEFAULT 0,  -- rows removed (zoo data retract)\n"
        "  changed_from VARCHAR,  -- YYYYMMDD: first day the change can affect; NULL: none\n"
        "  cleared_at TIMESTAMP   -- UTC: built models marked for rebuild; NULL: pending\n)"
    )
    # These columns came after the first warehouses: an older raw._loads gains them (0 or
    # NULL before: an old load is not pending).
    for column, kind in (("rows_rejected", "BIGINT DEFAULT 0"),
                         ("rows_retracted", "BIGINT DEFAULT 0"),
                         ("changed_from", "VARCHAR"), ("cleared_at", "TIMESTAMP")):
        con.execute(f"ALTER TABLE {LOADS_TABLE} ADD COLUMN IF NOT EXISTS {column} {kind}")


def record_loads(con: duckdb.DuckDBPyConnection, at: datetime,
                 rows: list[tuple[str, str, str, int, int, int, int, str | None]]) -> None:
    """Append (table, source file, sha256, rows in file, inserted, closed, rejected, changed
    from) rows."""
    _create_loads(con)
    con.executemany(
        f"INSERT INTO {LOADS_TABLE} (loaded_at, table_name, source_file, sha256, rows_in_file, "
        "rows_inserted, rows_closed, rows_rejected, changed_from) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [(at, *row) for row in rows])


def record_retraction(con: duckdb.DuckDBPyConnection, at: datetime, table: str, command: str,
                      reason: str, rows: pl.DataFrame, changed_from: str | None) -> str:
    """Keep the `rows` removed from `table` (schema.table) in raw._retracted and append their
    retraction to raw._loads (source_file: `command` and the reason; sha256 of the rows' JSON
    lines, which it returns; `changed_from`: the first day the removal can affect)."""
    import hashlib

    con.execute("CREATE SCHEMA IF NOT EXISTS raw")
    con.execute(
        f"CREATE TABLE IF NOT EXISTS {RETRACTED_TABLE} (\n"
        "  retracted_at TIMESTAMP NOT NULL,  -- UTC, its row's loaded_at in raw._loads\n"
        "  table_name VARCHAR NOT NULL,      -- schema.table\n"
        "  filter VARCHAR NOT NULL,          -- the command that removed it\n"
        "  reason VARCHAR NOT NULL,          -- as given ('' when none)\n"
        "  row_json VARCHAR NOT NULL         -- the row's values, JSON text\n)"
    )
    lines = rows.select(pl.struct(pl.all()).struct.json_encode()).to_series().to_list()
    digest = hashlib.sha256("\n".join(lines).encode()).hexdigest()
    con.executemany(f"INSERT INTO {RETRACTED_TABLE} VALUES (?, ?, ?, ?, ?)",
                    [(at, table, command, reason, line) for line in lines])
    _create_loads(con)
    source = command + (f" (reason: {reason})" if reason else "")
    con.execute(
        f"INSERT INTO {LOADS_TABLE} (loaded_at, table_name, source_file, sha256, rows_in_file, "
        "rows_inserted, rows_closed, rows_rejected, rows_retracted, changed_from) "
        "VALUES (?, ?, ?, ?, 0, 0, 0, 0, ?, ?)",
        [at, table, source, digest, rows.height, changed_from])
    return digest


def record_rejects(con: duckdb.DuckDBPyConnection, at: datetime, table: str, source: str,
                   rejected: pl.DataFrame) -> None:
    """Append the rows set aside from one file (contracts.REJECTS_SCHEMA) to raw._rejects."""
    con.execute("CREATE SCHEMA IF NOT EXISTS raw")
    con.execute(
        f"CREATE TABLE IF NOT EXISTS {REJECTS_TABLE} (\n"
        "  rejected_at TIMESTAMP NOT NULL,  -- UTC, the load's time in raw._loads\n"
        "  table_name VARCHAR NOT NULL,     -- schema.table\n"
        "  source_file VARCHAR NOT NULL,\n"
        "  row_number BIGINT NOT NULL,      -- 1-based data row in the file\n"
        "  rule VARCHAR NOT NULL,           -- the most important rule the row breaks\n"
        "  column_name VARCHAR NOT NULL,    -- the column that rule blames\n"
        "  other_rules VARCHAR NOT NULL,    -- 'COLUMN: rule; ...' it breaks too\n"
        "  row_json VARCHAR NOT NULL        -- the row's values, JSON text\n)"
    )
    if rejected.is_empty():
        return
    frame = rejected.select(
        pl.lit(at).alias("rejected_at"), pl.lit(table).alias("table_name"),
        pl.lit(source).alias("source_file"), pl.col("row").alias("row_number"), "rule",
        pl.col("column").alias("column_name"), "other_rules", "row_json")
    con.register("rejected", frame.to_arrow())
    try:
        con.execute(f"INSERT INTO {REJECTS_TABLE} SELECT * FROM rejected")
    finally:
        con.unregister("rejected")


def loaded_sha256s(con: duckdb.DuckDBPyConnection) -> set[str]:
    """The SHA-256 of every file (or retraction) recorded in raw._loads; empty without a log."""
    present = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'raw' "
        "AND table_name = '_loads'").fetchone()
    if not (present and present[0]):
        return set()
    return {row[0] for row in con.execute(f"SELECT DISTINCT sha256 FROM {LOADS_TABLE}").fetchall()}
