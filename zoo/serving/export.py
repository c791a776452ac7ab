"""Export warehouse tables to the parquet files Feast's offline store reads.

`export_tables(warehouse, offline_dir, tables)` writes each relation as
`<offline_dir>/<name>.parquet` with two columns added for Feast:
- `event_timestamp`: the relation's DATE time column at 15:00 Asia/Shanghai (the close, when
  a daily value becomes known), as TIMESTAMPTZ, i.e. 07:00 UTC;
- `created_timestamp`: when this export ran (UTC), the same for every row of one call;
and sorted by (stock_id, event_timestamp), which is the order the ASOF join of
`zoo.serving.offline_store` reads and lets parquet row-group statistics prune by stock.

Each file is written to a temporary file in the same folder and then moved into place with
`os.replace`, so a reader opening `<name>.parquet` sees either the previous export or the new
one, never a mix or a half-written file; the temporary files a killed export left behind are
removed by the next one (zoo.atomic.remove_stale_temps). Each file records the latest load of
the warehouse's raw data it was made from (zoo.serving.freshness), so a reader can tell an
export the warehouse has since moved past. The warehouse is opened read-only.

Which tables to export is the caller's choice, e.g. the SQLMesh features and labels:
    export_tables(warehouse_path(), zoo_home() / "offline",
                  {"stock_style_daily": ("features.stock_style_daily", "trade_date"),
                   "stock_fundamental_quarterly": ("features.stock_fundamental_quarterly",
                                                   "available_date")})
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from typing import NamedTuple

from zoo.atomic import remove_stale_temps, replace_file
from zoo.serving.freshness import STAMP_KEY, latest_load, stamp
from zoo.serving.published import open_warehouse, quote

CLOSE_TIME = "15:00"
MARKET_TIME_ZONE = "Asia/Shanghai"
SORT_KEYS = ("stock_id",)
ADDED_COLUMNS = ("event_timestamp", "created_timestamp")
TEMP_SUFFIX = ".parquet.tmp"
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class ExportTable(NamedTuple):
    """A relation to export: a table name (`schema.table`) or a SELECT query, and its DATE
    time column."""

    relation: str
    time_column: str


def _relation_sql(relation: str) -> str:
    """A table name is used as is; anything else is taken as a query and parenthesised."""
    text = relation.strip().rstrip(";")
    if all(_NAME.fullmatch(part) for part in text.split(".")):
        return text
    return f"({text})"


def export_tables(warehouse: Path, offline_dir: Path,
                  tables: dict[str, ExportTable | tuple[str, str]]) -> dict:
    """Write each of `tables` as `<offline_dir>/<name>.parquet`; returns per name the path,
    rows written and the created_timestamp stamped on them. Raises
    zoo.serving.published.WarehouseBusy when another process holds the warehouse.

    Args:
        warehouse: the DuckDB file, opened read-only.
        offline_dir: folder of the parquet files (created if missing).
        tables: output name -> (table name or SELECT query, DATE time column).
    """
    offline_dir = Path(offline_dir)
    offline_dir.mkdir(parents=True, exist_ok=True)
    remove_stale_temps(offline_dir, TEMP_SUFFIX)
    created = datetime.now(UTC)
    written: dict[str, dict] = {}
    con = open_warehouse(Path(warehouse))
    try:
        con.execute("SET TimeZone = 'UTC'")
        loaded = stamp(latest_load(con))
        for name, spec in tables.items():
            if not _NAME.fullmatch(name):
                raise ValueError(f"export name {name!r} is not a plain identifier")
            relation, time_column = ExportTable(*spec)
            source = _relation_sql(relation)
            columns = [row[0] for row in con.execute(f"DESCRIBE SELECT * FROM {source}")
                       .fetchall()]
            if time_column not in columns:
                raise ValueError(f"{name}: time column {time_column!r} is not among "
                                 f"{', '.join(columns)}")
            taken = [c for c in ADDED_COLUMNS if c in columns]
            if taken:
                raise ValueError(f"{name}: the relation already has {taken}, which the export "
                                 f"adds")
            order = [quote(k) for k in SORT_KEYS if k in columns] + ["event_timestamp"]
            query = (
                f"SELECT *, (CAST({quote(time_column)} AS DATE) + TIME '{CLOSE_TIME}') "
                f"AT TIME ZONE '{MARKET_TIME_ZONE}' AS event_timestamp, "
                f"CAST($created AS TIMESTAMPTZ) AS created_timestamp "
                f"FROM {source} ORDER BY {', '.join(order)}")
            target = offline_dir / f"{name}.parquet"
            # DuckDB names the format by the suffix; readers see the old file or the new one
            with replace_file(target, suffix=TEMP_SUFFIX) as temp:
                rows = con.execute(
                    f"COPY ({query}) TO $path (FORMAT parquet, COMPRESSION zstd, "
                    f"KV_METADATA {{{STAMP_KEY}: $loaded}})",
                    {"created": created, "path": str(temp), "loaded": loaded},
                ).fetchone()[0]
            written[name] = {"path": str(target), "rows": int(rows),
                             "created_timestamp": created.isoformat()}
    finally:
        con.close()
    return written
