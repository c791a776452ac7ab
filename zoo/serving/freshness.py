"""Whether an export still shows the warehouse's raw data: the stamp each export carries.

Every export (zoo.serving.export, a folder of monthly parquet files) records in its manifest
`<view>/_export.json`, under `STAMP_KEY`, the latest `loaded_at` of the warehouse's load log
`raw._loads` when it was written: the raw data it was built from (months an export left
unchanged were checked against that data too); an export of the former layout, one parquet
file, carries it in its key-value metadata. A load after that (a new day, a correcting
extract, or a whole new market from `zoo data synth --replace`) appends a later row to the log,
and the export then shows data the warehouse no longer holds as it is: `stale(...)` names such
exports and `check_fresh` refuses to serve them until the refresh (`sqlmesh plan`, `zoo
features apply`; `zoo score` for a score view) has run.

The warehouse is read only for the log's latest stamp; a warehouse without one (no load yet)
makes nothing stale.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from zoo.serving.published import SCORE_PREFIX, quote

if TYPE_CHECKING:
    import duckdb

STAMP_KEY = "zoo_raw_loaded_at"
MANIFEST = "_export.json"  # in each export's folder: what the last complete export wrote
NO_LOAD = "none"  # the stamp of an export made from a warehouse without a load log
LOAD_LOG = ("raw", "_loads")  # the loader's log of every file loaded (zoo.ingest.load)


class StaleExport(ValueError):
    """An export older than the warehouse's raw data; the message says how to refresh."""


def latest_load(con: duckdb.DuckDBPyConnection) -> datetime | None:
    """The latest `loaded_at` (UTC) of the warehouse's load log, None without one."""
    schema, table = LOAD_LOG
    (present,) = con.execute("SELECT count(*) FROM information_schema.tables "
                             "WHERE table_schema = ? AND table_name = ?", [schema, table]
                             ).fetchone()
    if not present:
        return None
    (latest,) = con.execute(f"SELECT max(loaded_at) FROM {quote(schema)}.{quote(table)}"
                            ).fetchone()
    return latest


def stamp(loaded_at: datetime | None) -> str:
    """The metadata value recording `loaded_at`."""
    return NO_LOAD if loaded_at is None else loaded_at.isoformat()


def export_stamp(path: Path) -> datetime | None | str:
    """The load stamp recorded in the export `path` (a folder, or a file of the former
    layout): a datetime, None (made without a load log), or "" when it carries none (an
    export that never completed, or one written before stamps were recorded)."""
    import pyarrow.parquet as pq

    if path.is_dir():
        try:
            text = json.loads((path / MANIFEST).read_text(encoding="utf-8")).get(STAMP_KEY)
        except (FileNotFoundError, ValueError):
            text = None
        if not isinstance(text, str):
            return ""
    else:
        value = (pq.read_schema(path).metadata or {}).get(STAMP_KEY.encode())
        if value is None:
            return ""
        text = value.decode()
    return None if text == NO_LOAD else datetime.fromisoformat(text)


@dataclass(frozen=True)
class Staleness:
    path: Path
    exported: datetime | None | str
    latest: datetime

    @property
    def name(self) -> str:
        """The view the export is of."""
        return self.path.name.removesuffix(".parquet")

    def made(self) -> str:
        """How the export was made, for a message."""
        if self.exported == "":
            return "carry no load stamp (an export that did not finish, or one by an older zoo)"
        if self.exported is None:
            return "were made before any load"
        return f"were made from the raw data loaded up to {self.exported:%Y-%m-%d %H:%M:%S}"


def stale(paths: list[Path], latest: datetime | None) -> list[Staleness]:
    """Those of the exports `paths` (missing ones skipped) older than the load `latest`."""
    if latest is None:
        return []
    found = []
    for path in paths:
        if not path.exists() and path.with_name(f"{path.name}.parquet").is_file():
            path = path.with_name(f"{path.name}.parquet")  # not exported since the old layout
        if not path.exists():
            continue
        exported = export_stamp(path)
        if not isinstance(exported, datetime) or exported < latest:
            found.append(Staleness(path, exported, latest))
    return found


def _by_stamp(old: list[Staleness]) -> list[tuple[str, str]]:
    groups: dict[str, list[str]] = {}
    for item in old:
        groups.setdefault(item.made(), []).append(item.name)
    return [(made, ", ".join(names)) for made, names in groups.items()]


def check_fresh(paths: list[Path], con: duckdb.DuckDBPyConnection, warehouse: Path) -> None:
    """StaleExport naming every export of `paths` older than `warehouse`'s latest load and
    what to run; nothing when all are current."""
    old = stale(paths, latest_load(con))
    if not old:
        return
    scores = sorted(s.name.removeprefix(SCORE_PREFIX) for s in old
                    if s.name.startswith(SCORE_PREFIX))
    steps = "run `sqlmesh plan` in transforms/ and then `zoo features apply`"
    if scores:
        steps += f"; for score views, `zoo score {' / '.join(scores)}`"
    raise StaleExport(
        f"the exports under {old[0].path.parent} are older than the raw data of {warehouse} "
        f"(last load {old[0].latest:%Y-%m-%d %H:%M:%S} UTC): "
        f"{'; '.join(f'{names} {made}' for made, names in _by_stamp(old))}. They would "
        f"serve data the warehouse no longer holds as it is (a newer load, or a new market "
        f"from `zoo data synth --replace`): {steps}.")
