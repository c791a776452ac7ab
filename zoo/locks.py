"""What to say when DuckDB refuses to open the warehouse because another process holds it:
one wording for the loader (zoo.ingest.load.connect) and every consumer
(zoo.serving.published.open_warehouse)."""

from __future__ import annotations

import re
from pathlib import Path


class WarehouseBusy(RuntimeError):
    """The warehouse is held by another process (or opened otherwise in this one)."""


def busy_message(warehouse: Path | str, err: Exception) -> str:
    """Who holds `warehouse` (from DuckDB's lock error `err`) and what to do."""
    pid = re.search(r"PID (\d+)", str(err))
    holder = f"process {pid.group(1)}" if pid else "another process"
    return (f"the warehouse {warehouse} is locked by {holder}: DuckDB lets one process write a "
            f"database file at a time, and no other may open it meanwhile. Wait for it (a "
            f"sqlmesh plan, a load, another zoo command) or close that session (a notebook), "
            f"and run this again.")
