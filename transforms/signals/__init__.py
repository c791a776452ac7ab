"""SQLMesh signals: an interval is computed only once its raw data has arrived.

SQLMesh marks an interval as done once processed, even if it ran over days whose raw rows had
not been loaded yet (a plan today over an extract that ends last month would mark the empty
days as filled, and `sqlmesh run` would never revisit them). Daily models therefore declare
`signals (raw_arrived())`: an interval is ready only when the day it covers is on or before the
latest TRADE_DT loaded into raw.AShareEODPrices, so loading a later extract and running
`sqlmesh run` fills exactly the new days.
"""

from __future__ import annotations

import typing as t
from datetime import datetime

from sqlmesh import signal

if t.TYPE_CHECKING:
    from sqlmesh import ExecutionContext
    from sqlmesh.utils.date import DatetimeRanges


@signal()
def raw_arrived(
    batch: DatetimeRanges,
    context: ExecutionContext,
    table: str = "raw.ashareeodprices",
    column: str = "trade_dt",
) -> bool | DatetimeRanges:
    """Ready: the intervals that start on or before the latest Wind date in `table.column`."""
    latest = context.engine_adapter.fetchone(f"SELECT MAX({column}) FROM {table}")[0]
    if latest is None:
        return False
    last_day = datetime.strptime(str(latest), "%Y%m%d")
    return [interval for interval in batch if interval[0].replace(tzinfo=None) <= last_day]
