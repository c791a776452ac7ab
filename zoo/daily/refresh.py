"""Refresh the warehouse after loads: what `zoo data refresh` and `zoo daily` run.

1. mark what pending raw changes affect for rebuild (zoo.ingest.changes; a load or retraction
   did it already unless it was killed in between);
2. `sqlmesh run` in transforms/: it computes the days cleared and the new days, and nothing
   else; on a warehouse nothing was built in yet, `sqlmesh plan --auto-apply` builds it all.
After any sequence of loads, every model then equals a full build from scratch.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from time import perf_counter

from zoo.ingest.changes import Rebuild, mark_for_rebuild
from zoo.paths import warehouse_path, zoo_home

TRANSFORMS = Path(__file__).resolve().parents[2] / "transforms"


class RefreshError(RuntimeError):
    """SQLMesh failed; `output` is what it printed."""

    def __init__(self, message: str, output: str = ""):
        super().__init__(message)
        self.output = output


@dataclass(frozen=True)
class Refreshed:
    """What a refresh did: the rebuild it marked, the SQLMesh command, its output and time."""

    rebuild: Rebuild
    command: tuple[str, ...]
    output: str
    seconds: float

    def summary(self) -> str:
        lines = [self.rebuild.summary()] if self.rebuild.changes else []
        lines.append(f"`{' '.join(self.command)}` took {self.seconds:.1f} s.")
        return "\n".join(lines)


def sqlmesh_args(*args: str) -> list[str]:
    """The `sqlmesh` of this interpreter's environment, on the project's transforms/."""
    return [str(Path(sys.executable).with_name("sqlmesh")), "-p", str(TRANSFORMS), *args]


def built(warehouse: Path) -> bool:
    """Whether SQLMesh has built the warehouse's models (a prod environment exists)."""
    import duckdb

    if not warehouse.is_file():
        return False
    with duckdb.connect(str(warehouse), read_only=True) as con:
        found = con.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'sqlmesh' "
            "AND table_name = '_environments'").fetchone()
        if not (found and found[0]):
            return False
        (n,) = con.execute("SELECT count(*) FROM sqlmesh._environments "
                           "WHERE name = 'prod'").fetchone()
    return bool(n)


def refresh(home: Path | None = None) -> Refreshed:
    """Mark pending changes, then `sqlmesh run` (or the first `sqlmesh plan`) in `home`
    (default $ZOO_HOME). Raises RefreshError with SQLMesh's output when it fails."""
    import duckdb

    from zoo.locks import busy_message

    home = Path(home) if home is not None else zoo_home()
    warehouse = home / warehouse_path().name
    if not warehouse.is_file():
        raise RefreshError(f"no warehouse at {warehouse}: load data first (`zoo data load` or "
                           "`zoo data synth`)")
    try:
        rebuild = mark_for_rebuild(warehouse)
    except duckdb.IOException as err:
        raise RefreshError(busy_message(warehouse, err)) from err
    command = ("run",) if built(warehouse) else ("plan", "--auto-apply", "--no-prompts")
    args = sqlmesh_args(*command)
    started = perf_counter()
    done = subprocess.run(args, env={**os.environ, "ZOO_HOME": str(home)},
                          capture_output=True, text=True, check=False)
    seconds = perf_counter() - started
    output = done.stdout + done.stderr
    if done.returncode != 0:
        raise RefreshError(f"`sqlmesh {' '.join(command)}` failed (exit {done.returncode}):\n"
                           + output[-4000:], output)
    return Refreshed(rebuild, ("sqlmesh", *command), output, seconds)
