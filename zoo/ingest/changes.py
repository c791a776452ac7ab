"""What a change of raw data can affect, and SQLMesh told to rebuild it: late data never lost.

SQLMesh computes an interval (a day) of a model once and then counts it as done. A load that
adds rows for days already built (a backfill, a late statement, a correction announced years
later, a new index snapshot, a row that arrived before the rest of its day) would otherwise
change nothing built: `sqlmesh run` fills only missing intervals, and `sqlmesh plan` sees no
change of code. So every change of raw data is recorded with the first day it can affect, and
the intervals built from that day on are cleared in SQLMesh's state; the next `sqlmesh run`
(or `sqlmesh plan`, or `zoo data refresh`) computes them again from all the raw data, and every
model ends as a full build from scratch would make it, whatever order the data came in.

The first day a change can affect (`changed_from` in raw._loads, per file or retraction):
- a row inserted or retracted: the earliest of its table's `effective_dates` (wind.Table: the
  announcement dates of a statement, every DATE column elsewhere); a row without any of them
  (AShareIndustriesCode, a stock with no known listing date) affects all of history
  (`WHOLE_HISTORY`);
- a period closed in place (an end date filled in): the earliest date filled in.
A model built from a changed table (directly or through others) is rebuilt from the earliest
such day among the tables upstream of it; a model that reads ahead (the labels wait for
`horizon_arrived(trading_days := N)`: a label at T reads prices up to T+N) from N + 1 trading
days before that, and what is built from it from there too. Views are not rebuilt (they read
their inputs when queried), FULL models are rebuilt whole.

`mark_for_rebuild` does the clearing right after each load and retraction (zoo.ingest.load,
zoo.ingest.retract) and marks the changes done (`cleared_at`). If it could not (the process
was killed in between), the change stays pending: the next load, `zoo data refresh` or `zoo
daily` clears it, and until then the signals refuse to compute anything (transforms/signals),
so a plain `sqlmesh run` fails loudly instead of building on top of a change it cannot see.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from zoo.ingest import wind

if TYPE_CHECKING:
    import duckdb

__all__ = ["WHOLE_HISTORY", "Rebuild", "closed_first_day_sql", "first_day_sql",
           "mark_for_rebuild", "pending_changes"]

# A change without dates affects every day; as a Wind date, before any model's start.
WHOLE_HISTORY = "19000101"
LOADS_TABLE = "raw._loads"
STATE_SCHEMA = "sqlmesh"  # where SQLMesh keeps its state in the warehouse (its default)
ENVIRONMENT = "prod"
HORIZON_SIGNAL, HORIZON_ARG, HORIZON_DEFAULT = "horizon_arrived", "trading_days", 21
REFRESH_HINT = ("run `zoo data refresh` (or `sqlmesh run` in transforms/ once the change is "
                "marked)")


def first_day_sql(table: wind.Table, alias: str) -> str:
    """SQL: the first day (Wind text YYYYMMDD) row `alias` of `table` can affect."""
    columns = [f"{alias}.{c}" for c in table.effective_dates]
    if not columns:
        return f"'{WHOLE_HISTORY}'"
    earliest = columns[0] if len(columns) == 1 else f"LEAST({', '.join(columns)})"
    return f"COALESCE({earliest}, '{WHOLE_HISTORY}')"


def closed_first_day_sql(table: wind.Table, new: str, old: str) -> str:
    """SQL: the first day a period closed in place can affect: the earliest date filled in
    (new row `new`, stored row `old`); a flag flipped without a date, the row's first day."""
    filled = [f"CASE WHEN {new}.{c.name} IS DISTINCT FROM {old}.{c.name} THEN {new}.{c.name} "
              "END" for c in table.columns if c.closes and c.kind == wind.DATE]
    if not filled:
        return first_day_sql(table, old)
    earliest = filled[0] if len(filled) == 1 else f"LEAST({', '.join(filled)})"
    return f"COALESCE({earliest}, {first_day_sql(table, old)})"


# --------------------------------------------------------------------------- pending changes
@dataclass(frozen=True)
class Change:
    """The pending changes of one raw table: the first day they can affect, how many."""

    table: str  # schema.table, as raw._loads names it
    first_day: str  # Wind text YYYYMMDD (WHOLE_HISTORY: every day)
    loads: int

    @property
    def since(self) -> str:
        if self.first_day == WHOLE_HISTORY:
            return "all of history"
        return f"{self.first_day[:4]}-{self.first_day[4:6]}-{self.first_day[6:]}"


def _has_column(con: duckdb.DuckDBPyConnection, schema: str, table: str, column: str) -> bool:
    found = con.execute(
        "SELECT count(*) FROM information_schema.columns WHERE table_schema = ? "
        "AND table_name = ? AND column_name = ?", [schema, table, column]).fetchone()
    return bool(found and found[0])


def pending_changes(con: duckdb.DuckDBPyConnection) -> tuple[list[Change], datetime | None]:
    """The raw changes not yet cleared from SQLMesh's state, per table, and the latest load
    time among them (None when there are none)."""
    if not _has_column(con, "raw", "_loads", "cleared_at"):
        return [], None
    rows = con.execute(
        f"SELECT table_name, min(changed_from), count(*), max(loaded_at) FROM {LOADS_TABLE} "
        "WHERE changed_from IS NOT NULL AND cleared_at IS NULL GROUP BY table_name "
        "ORDER BY table_name").fetchall()
    if not rows:
        return [], None
    return [Change(t, str(d), int(n)) for t, d, n, _ in rows], max(r[3] for r in rows)


# --------------------------------------------------------------------------- SQLMesh state
@dataclass(frozen=True)
class Rebuild:
    """What `mark_for_rebuild` did: the changes it handled and, per model whose built
    intervals it cleared, the first day to compute again (None: no build yet)."""

    changes: tuple[Change, ...]
    models: tuple[tuple[str, str], ...] = ()  # (schema.model, first day as YYYY-MM-DD)
    built: bool = False

    def summary(self) -> str:
        if not self.changes:
            return "No raw change waits for a rebuild."
        if not self.built:
            return "Nothing was built from the raw data yet: `sqlmesh plan` builds it."
        first = min(self.changes, key=lambda c: c.first_day)
        n = len(self.changes)
        head = (f"Raw data changed in {n} table{'s' if n != 1 else ''}, from {first.since} "
                f"({first.table})")
        if not self.models:
            return f"{head}; no built model reads it."
        return "\n".join([f"{head}; marked for rebuild (`sqlmesh run` or `zoo data refresh` "
                          "computes them again):"]
                         + [f"  {model} from {day}" for model, day in self.models])


def _plain(name: str) -> str:
    """'"warehouse"."raw"."ashareeodprices"' -> 'raw.ashareeodprices'."""
    return ".".join(part.strip('"') for part in name.split(".")[-2:]).lower()


def _horizon(snapshot: Any) -> int:
    """The trading days a model reads ahead (its horizon_arrived signal), else 0."""
    for name, args in getattr(snapshot.model, "signals", ()) or ():
        if name == HORIZON_SIGNAL:
            value = args.get(HORIZON_ARG)
            return int(value.to_py()) if value is not None else HORIZON_DEFAULT
    return 0


def rebuild_from(snapshots: Mapping[str, Any], changed: Mapping[str, str],
                 ahead: Any) -> dict[str, str]:
    """Per model (plain schema.name) downstream of a changed raw table, the first day to
    rebuild: the earliest changed day among its inputs, moved back by `ahead(day, n)` for a
    model that reads n trading days ahead (see the module doc)."""
    memo: dict[str, str | None] = {}

    def first(name: str) -> str | None:
        if name in memo:
            return memo[name]
        memo[name] = None  # a cycle cannot happen in SQLMesh's DAG; this stops one anyway
        snapshot = snapshots.get(name)
        days = [changed[name]] if name in changed else []
        if snapshot is not None:
            days += [d for p in snapshot.parents if (d := first(_plain(p.name))) is not None]
        day = min(days) if days else None
        if day is not None and snapshot is not None and (n := _horizon(snapshot)):
            day = ahead(day, n + 1)
        memo[name] = day
        return day

    out = {}
    for name, snapshot in snapshots.items():
        day = first(name)
        if day is not None and snapshot.is_model and snapshot.model.kind.is_materialized:
            out[name] = day
    return out


def _state(warehouse: Path) -> tuple[Any, Any] | None:
    """(engine adapter, SQLMesh state sync) of the warehouse, or None when it has no state."""
    import duckdb

    with duckdb.connect(str(warehouse), read_only=True) as con:
        found = con.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = ? "
            "AND table_name = '_environments'", [STATE_SCHEMA]).fetchone()
    if not (found and found[0]):
        return None
    from sqlmesh.core.config import DuckDBConnectionConfig
    from sqlmesh.core.state_sync.db.facade import EngineAdapterStateSync

    adapter = DuckDBConnectionConfig(database=str(warehouse)).create_engine_adapter()
    # SQLMesh's cache of the home (transforms/config.py): the snapshots are read from it
    # instead of parsed and optimised again (seconds at every load otherwise)
    cache = warehouse.parent / "sqlmesh" / "cache"
    return adapter, EngineAdapterStateSync(adapter, schema=STATE_SCHEMA, cache_dir=cache)


def _wind_ms(day: str) -> int:
    """Wind date text -> epoch milliseconds of its midnight UTC (SQLMesh's interval unit)."""
    moment = datetime.strptime(max(day, "19700101"), "%Y%m%d").replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


def mark_for_rebuild(warehouse: Path) -> Rebuild:
    """Clear, in SQLMesh's state, the intervals the pending raw changes affect (see the module
    doc), then mark those changes done. A warehouse without a build has nothing to clear.
    Raises duckdb.IOException when another process holds the warehouse (nothing changed)."""
    import duckdb

    warehouse = Path(warehouse)
    with duckdb.connect(str(warehouse)) as con:
        changes, latest = pending_changes(con)
    if not changes:
        return Rebuild(())
    opened = _state(warehouse)
    cleared: dict[str, str] | None = None
    if opened is not None:
        adapter, state = opened
        try:
            cleared = _clear(adapter, state, changes)
        finally:
            adapter.close()
    with duckdb.connect(str(warehouse)) as con:
        con.execute(f"UPDATE {LOADS_TABLE} SET cleared_at = ? WHERE changed_from IS NOT NULL "
                    "AND cleared_at IS NULL AND loaded_at <= ?",
                    [datetime.now(UTC).replace(tzinfo=None), latest])
    models = tuple(sorted((name, f"{day[:4]}-{day[4:6]}-{day[6:]}" if day != WHOLE_HISTORY
                           else "all of history") for name, day in (cleared or {}).items()))
    return Rebuild(tuple(changes), models, cleared is not None)


def _clear(adapter: Any, state: Any, changes: Iterable[Change]) -> dict[str, str] | None:
    """Remove the affected intervals of the prod environment's models; returns what it
    cleared, per model, from which day (None: nothing was built yet)."""
    environment = state.get_environment(ENVIRONMENT)
    if environment is None:
        return None
    snapshots = {_plain(s.name): s for s in state.get_snapshots(environment.snapshots).values()}
    changed = {c.table.lower(): c.first_day for c in changes}

    def ahead(day: str, n: int) -> str:
        if day == WHOLE_HISTORY:
            return day
        row = adapter.fetchone(
            "SELECT min(d) FROM (SELECT d FROM (SELECT TRADE_DAYS AS d FROM raw.asharecalendar "
            f"UNION SELECT TRADE_DT FROM raw.ashareeodprices) WHERE d < '{int(day):08d}' "
            f"ORDER BY d DESC LIMIT {int(n)}) HAVING count(*) = {int(n)}")
        return str(row[0]) if row and row[0] else WHOLE_HISTORY

    days = rebuild_from(snapshots, changed, ahead)
    end = int((datetime.now(UTC) + timedelta(days=2)).timestamp() * 1000)
    state.remove_intervals([(snapshots[name], (_wind_ms(day), end))
                            for name, day in days.items()], remove_shared_versions=True)
    return days

