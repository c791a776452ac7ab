"""SQLMesh signals: an interval is computed only once its raw data has arrived.

SQLMesh marks an interval as done once processed, even if it ran over days whose raw rows had
not been loaded yet (a plan today over an extract that ends last month would mark the empty
days as filled, and `sqlmesh run` would never revisit them). Daily models therefore declare
`signals (raw_arrived())`: an interval is ready only when the day it covers is on or before the
latest TRADE_DT loaded into raw.AShareEODPrices, so loading a later extract and running
`sqlmesh run` fills exactly the new days.

Days already built are another matter: a load that adds or removes rows for them clears what
was built from them in SQLMesh's state (zoo/ingest/changes.py), so `sqlmesh run` computes them
again. Should that step not have happened (the loading process was killed after its commit),
raw._loads holds the change as pending, and both signals refuse to go on: building on top of
a change SQLMesh cannot see would leave the old values in place without a word.
"""

from __future__ import annotations

import typing as t
from datetime import datetime

from sqlmesh import signal

if t.TYPE_CHECKING:
    from sqlmesh import ExecutionContext
    from sqlmesh.utils.date import DatetimeRanges


LOADS_SCHEMA, LOADS_TABLE = "raw", "_loads"  # the loader's record of loads (zoo.ingest.load)
PENDING_MESSAGE = (
    "raw data changed ({n} load(s) or retraction(s), from {day}) but what was built from it "
    "is not marked for rebuild yet: run `zoo data refresh` (it marks it, then runs `sqlmesh "
    "run`)"
)


def _refuse_pending(context: ExecutionContext) -> None:
    adapter = context.engine_adapter
    # Asked through the adapter, not information_schema, so that it holds on Spark too, whose
    # catalog has no raw._loads (zoo.ingest.spark lands the Wind tables only): nothing pending.
    if not adapter.get_data_objects(LOADS_SCHEMA, {LOADS_TABLE}) or "cleared_at" not in {
            column.lower() for column in adapter.columns(f"{LOADS_SCHEMA}.{LOADS_TABLE}")}:
        return
    n, day = adapter.fetchone(
        "SELECT count(*), min(changed_from) FROM raw._loads "
        "WHERE changed_from IS NOT NULL AND cleared_at IS NULL")
    if n:
        raise RuntimeError(PENDING_MESSAGE.format(n=n, day=day))


@signal()
def raw_arrived(
    batch: DatetimeRanges,
    context: ExecutionContext,
    table: str = "raw.ashareeodprices",
    column: str = "trade_dt",
) -> bool | DatetimeRanges:
    """Ready: the intervals that start on or before the latest Wind date in `table.column`."""
    _refuse_pending(context)
    latest = context.engine_adapter.fetchone(f"SELECT MAX({column}) FROM {table}")[0]
    if latest is None:
        return False
    last_day = datetime.strptime(str(latest), "%Y%m%d")
    return [interval for interval in batch if interval[0].replace(tzinfo=None) <= last_day]


@signal()
def horizon_arrived(
    batch: DatetimeRanges,
    context: ExecutionContext,
    trading_days: int = 21,
    table: str = "raw.ashareeodprices",
    column: str = "trade_dt",
) -> bool | DatetimeRanges:
    """Ready: the intervals whose days have `trading_days` more trading days of raw prices
    loaded after them, so a forward-looking model (the labels) is written once, complete.

    Without it a label row would be written with NULL horizons at the edge of the data and,
    its interval counted as done, never be completed by a later `sqlmesh run`.
    """
    _refuse_pending(context)
    cutoff = context.engine_adapter.fetchone(
        f"SELECT MIN(day) FROM (SELECT DISTINCT {column} AS day FROM {table} "
        f"ORDER BY day DESC LIMIT {int(trading_days) + 1}) AS latest_days "
        f"HAVING COUNT(*) = {int(trading_days) + 1}"
    )
    if cutoff is None or cutoff[0] is None:
        return False
    last_day = datetime.strptime(str(cutoff[0]), "%Y%m%d")
    return [interval for interval in batch if interval[0].replace(tzinfo=None) <= last_day]
