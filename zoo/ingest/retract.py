"""Retract raw rows: the one audited way to take out of the warehouse a row that should not have
got in (raw rows are otherwise immutable: a load never changes or removes one).

`retract(warehouse, "AShareEODPrices", [("S_INFO_WINDCODE", "600000.SH"), ("TRADE_DT",
"20200605")], reason=...)` removes the rows of the raw table matching every `KEY = value`, in
one transaction that also keeps them in raw._retracted (when, table, the command, the reason,
the row as JSON) and appends a row to raw._loads (no file, 0 inserted, `rows_retracted`: the
number removed; zoo.ingest.records). That row is the warehouse's latest change, so the parquet
exports become stale (zoo.serving.freshness) until the refresh has run.

What a retraction may name:
- a raw table declared in wind.py (a Wind alias such as AIndexCSI500Weight names the table it
  loads into), and only its key columns: at least one, each once; values are bound, never
  written into SQL; a DATE column takes YYYYMMDD or YYYY-MM-DD;
- rows that exist: a filter matching nothing is an error, not a silent success;
- rows nothing else needs: the loader's cross-table rules still hold afterwards (a stock
  listed in AShareDescription for every stock-level row, a day in AShareCalendar for every
  daily stock row), or nothing is removed and the error says which rows still need them.

The refresh. SQLMesh does not notice rows that disappear: `sqlmesh run` only fills new
intervals, and a plain `sqlmesh plan` sees no change. So a retraction, like a load, records the
first day the removed rows can affect and clears what was built from that day on in SQLMesh's
state (zoo.ingest.changes); the next `sqlmesh run` (or `zoo data refresh`) builds it again.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import polars as pl

from zoo.dates import wind_date
from zoo.ingest import changes, contracts, crosscheck, records, wind
from zoo.ingest.load import LoadError, connect, mark_for_rebuild

ROWS_SHOWN = 20


class RetractError(ValueError):
    """A retraction that was refused; nothing was removed."""


@dataclass(frozen=True)
class Retraction:
    """What `retract` removed (or, for a dry run, would remove)."""

    table: wind.Table
    where: tuple[tuple[str, str], ...]
    rows: pl.DataFrame
    reason: str
    dry_run: bool
    retracted_at: datetime | None = None
    # the latest price day before and after, when the retraction moves it back (else None)
    last_price_day: tuple[str, str | None] | None = None
    changed_from: str | None = None  # the first day the removal can affect (YYYYMMDD)
    rebuild: changes.Rebuild | None = None  # what it marked for rebuild
    rebuild_problem: str = ""  # why it could not ('' when it could)

    @property
    def condition(self) -> str:
        return " AND ".join(f"{k} = {v}" for k, v in self.where)

    @property
    def command(self) -> str:
        where = " ".join(f"--where {k}={v}" for k, v in self.where)
        return f"zoo data retract {self.table.name} {where}"

    def summary(self) -> str:
        n = self.rows.height
        rows = f"{n:,} row{'s' if n != 1 else ''}"
        head = (f"Would retract {rows} of raw.{self.table.name} where {self.condition} (dry run: "
                "nothing was removed):" if self.dry_run else
                f"Retracted {rows} of raw.{self.table.name} where {self.condition}; they are kept "
                f"in {records.RETRACTED_TABLE}, and {records.LOADS_TABLE} records the "
                f"retraction ({self.retracted_at:%Y-%m-%d %H:%M:%S} UTC"
                + (f", reason: {self.reason}" if self.reason else "") + "):")
        shown = [f"  {contracts.format_example(row)}"
                 for row in self.rows.head(ROWS_SHOWN).iter_rows(named=True)]
        if n > ROWS_SHOWN:
            shown.append(f"  ... and {n - ROWS_SHOWN:,} more")
        if self.dry_run:
            refresh = ["A retraction marks what was built from the rows for rebuild; `sqlmesh "
                       "run` in transforms/ (or `zoo data refresh`) then builds it again."]
        elif self.rebuild_problem:
            refresh = [f"Warning: {self.rebuild_problem}"]
        else:
            refresh = [self.rebuild.summary() if self.rebuild else "",
                       "Load the corrected rows first, if there are any, then refresh, and "
                       "`zoo features apply` (and `zoo score MODEL` for each score view): until "
                       "then the exports are older than the raw data and are not served."]
        if self.last_price_day is not None:
            old, new = self.last_price_day
            refresh.append(
                f"The latest day with prices goes back from {old} to {new or 'none'}: the days "
                f"after it keep what was built for them (SQLMesh computes a day only once its "
                "prices are loaded) until prices for them are loaded again and the refresh "
                "runs. Load the corrected extract before the refresh.")
        return "\n".join([head, *shown, *refresh])


def parse_where(table: wind.Table, items: Sequence[tuple[str, str]]) -> tuple[tuple[str, str],
                                                                             ...]:
    """(key column, value) pairs checked against `table`'s key, dates written YYYYMMDD.

    Raises RetractError on no filter, a column that is not a key column (or not a column), a
    column given twice, or a date that is no day.
    """
    if not items:
        raise RetractError(f"say which rows: --where KEY=VALUE with key columns of "
                           f"{table.name} ({', '.join(table.key)})")
    by_upper = {c.upper(): c for c in table.key}
    out: dict[str, str] = {}
    for column, value in items:
        name = by_upper.get(column.upper())
        if name is None:
            what = "a column but not a key column" if column.upper() in {
                c.upper() for c in table.column_names} else "not a column"
            raise RetractError(
                f"{column} is {what} of {table.name}: a retraction names rows by their key "
                f"({', '.join(table.key)}), so it removes exactly the rows it says")
        if name in out:
            raise RetractError(f"{name} is given twice")
        if table.column(name).kind == wind.DATE:
            try:
                value = wind_date(value)
            except ValueError as err:
                raise RetractError(f"{name}: {err}") from None
        out[name] = value
    return tuple(out.items())


def find_table(name: str) -> wind.Table:
    """The raw table called `name` (any case), or the one a Wind alias loads into."""
    by_upper = {t.name.upper(): t for t in wind.RAW_TABLES}
    by_upper.update({a.name.upper(): a.table for a in wind.TABLE_ALIASES})
    table = by_upper.get(name.upper())
    if table is not None:
        return table
    close = difflib.get_close_matches(name, [t.name for t in wind.RAW_TABLES], n=3, cutoff=0.6)
    hint = f" (did you mean {', '.join(close)}?)" if close else ""
    raise RetractError(f"{name!r} is not a raw table{hint}; raw tables: "
                       + ", ".join(t.name for t in wind.RAW_TABLES))


def retract(warehouse: Path, table_name: str, where: Sequence[tuple[str, str]],
            reason: str = "", dry_run: bool = False) -> Retraction:
    """Remove the rows of raw `table_name` matching `where` (see the module doc); with
    `dry_run`, only say which. Raises RetractError (nothing removed) or LoadError (no
    warehouse, or held by another process)."""
    table = find_table(table_name)
    pairs = parse_where(table, where)
    warehouse = Path(warehouse)
    if not warehouse.is_file():
        raise LoadError(f"no warehouse at {warehouse}: nothing to retract")
    match = " AND ".join(f"{k} = ?" for k, _ in pairs)
    values = [v for _, v in pairs]
    qualified = f"{table.schema}.{table.name}"
    # a dry run deletes too, to say what the retraction would do, and rolls back
    with connect(warehouse) as con:
        if not crosscheck.table_exists(con, table):
            raise RetractError(f"the warehouse has no table {qualified}: nothing to retract")
        rows = con.execute(f"SELECT * FROM {qualified} WHERE {match} ORDER BY ALL",
                           values).pl()
        if rows.is_empty():
            condition = Retraction(table, pairs, rows, reason, dry_run).condition
            raise RetractError(f"no row of {qualified} has {condition}: nothing to retract")
        at = datetime.now(UTC).replace(tzinfo=None)
        first_day = con.execute(f"SELECT min({changes.first_day_sql(table, 'r')}) FROM "
                                f"{qualified} AS r WHERE {match}", values).fetchone()[0]
        con.execute("BEGIN TRANSACTION")
        try:
            before = _last_price_day(con)
            con.execute(f"DELETE FROM {qualified} WHERE {match}", values)
            if needed := _still_needed(con, table, rows):
                raise RetractError(f"cannot retract these rows of {qualified}: {needed}. "
                                   "Retract those first; nothing was removed.")
            after = _last_price_day(con)
            command = Retraction(table, pairs, rows, reason, dry_run).command
            if not dry_run:
                records.record_retraction(con, at, qualified, command, reason, rows, first_day)
            con.execute("ROLLBACK" if dry_run else "COMMIT")
        except BaseException:
            with suppress(duckdb.Error):  # a connection too broken to roll back discards it
                con.execute("ROLLBACK")
            raise
    moved = (before, after) if before is not None and after != before else None
    rebuild, problem = (None, "") if dry_run else mark_for_rebuild(warehouse)
    return Retraction(table, pairs, rows, reason, dry_run, None if dry_run else at, moved,
                      first_day, rebuild, problem)


def _last_price_day(con: duckdb.DuckDBPyConnection) -> str | None:
    """The latest TRADE_DT of raw.AShareEODPrices: the day up to which SQLMesh computes."""
    prices = wind.ASHARE_EOD_PRICES
    if not crosscheck.table_exists(con, prices):
        return None
    return con.execute(f"SELECT max(TRADE_DT) FROM {prices.schema}.{prices.name}").fetchone()[0]


def _still_needed(con: duckdb.DuckDBPyConnection, table: wind.Table,
                  rows: pl.DataFrame) -> str:
    """What still needs the removed rows under the loader's cross-table rules ('' if none)."""
    if table.name == wind.ASHARE_DESCRIPTION.name:
        codes, column = rows[crosscheck.CODE].unique().to_list(), crosscheck.CODE
        users, rule = crosscheck.STOCK_TABLES, "name a stock no longer in AShareDescription"
    elif table.name == wind.ASHARE_CALENDAR.name:
        codes, column = rows["TRADE_DAYS"].unique().to_list(), crosscheck.DAY
        users, rule = crosscheck.DAILY_STOCK_TABLES, "fall on a day no longer in AShareCalendar"
    else:
        return ""
    reference = (f"SELECT S_INFO_WINDCODE FROM raw.{table.name}" if column == crosscheck.CODE
                 else "SELECT TRADE_DAYS FROM raw.AShareCalendar")
    found = []
    for name in sorted(users):
        user = wind.TABLES[name]
        if not crosscheck.table_exists(con, user):
            continue
        (n,) = con.execute(
            f"SELECT count(*) FROM {user.schema}.{user.name} WHERE {column} IN "
            f"(SELECT unnest(?)) AND {column} NOT IN ({reference})", [codes]).fetchone()
        if n:
            found.append(f"{n:,} row{'s' if n != 1 else ''} of {user.name} would {rule}")
    return "; ".join(found)

