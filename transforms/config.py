"""SQLMesh project configuration: DuckDB warehouse under $ZOO_HOME.

`sqlmesh plan` (run in this folder, or `sqlmesh -p transforms plan`) builds everything;
`sqlmesh run` then fills only the new trading days. A failed audit also shows its first failing
rows and the raw rows they came from (audit_rows.py).

SQLMesh's cache and log files live in the home too (`$ZOO_HOME/sqlmesh/cache`, `.../logs`),
not in this folder: a cache shared by two homes once reused a table version of one warehouse in
another, and a copied home must carry what it needs.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

from audit_rows import AuditRows  # beside this file: SQLMesh puts this folder on sys.path
from sqlmesh.core.config import (
    Config,
    DuckDBConnectionConfig,
    GatewayConfig,
    ModelDefaultsConfig,
)

PROJECT_ROOT = Path(__file__).resolve().parents[1]
ZOO_HOME = Path(os.environ.get("ZOO_HOME", PROJECT_ROOT / "data")).expanduser().resolve()
ZOO_HOME.mkdir(parents=True, exist_ok=True)
WAREHOUSE = str(ZOO_HOME / "warehouse.duckdb")
CACHE_DIR = ZOO_HOME / "sqlmesh" / "cache"
LOG_DIR = ZOO_HOME / "sqlmesh" / "logs"
LOG_LIMIT = 20  # SQLMesh's default number of log files kept


def _logs_into_home() -> None:
    """Move the log file the `sqlmesh` command has just opened into LOG_DIR.

    The command opens `logs/sqlmesh_<time>.log` in the working directory before it reads this
    file, and neither a setting nor an environment variable chooses another folder (only
    `--log-file-dir`, which is kept when given). So the open file is moved, with what it holds,
    its handler follows it, and the `logs/` folder it made is removed when nothing else is in
    it; SQLMesh then prunes that empty folder, so the logs of the home are pruned here.
    """
    if any(arg == "--log-file-dir" or arg.startswith("--log-file-dir=") for arg in sys.argv):
        return
    default = Path("logs").resolve()
    for handler in logging.getLogger().handlers:
        if not isinstance(handler, logging.FileHandler):
            continue
        current = Path(handler.baseFilename)
        if current.parent != default or not current.name.startswith("sqlmesh_"):
            continue
        LOG_DIR.mkdir(parents=True, exist_ok=True)
        handler.acquire()
        try:
            handler.close()
            target = LOG_DIR / current.name
            if current.exists():
                os.replace(current, target)
            handler.baseFilename, handler.mode = str(target), "a"
        finally:
            handler.release()
        try:
            default.rmdir()
        except OSError:  # other files in it: not ours to remove
            pass
        for old in sorted(LOG_DIR.glob("sqlmesh_*.log"), reverse=True)[LOG_LIMIT:]:
            old.unlink(missing_ok=True)


_logs_into_home()

config = Config(
    gateways={
        "local": GatewayConfig(
            connection=DuckDBConnectionConfig(
                database=WAREHOUSE,
                # DuckDB takes 80 % of RAM by default; a full-market plan then peaked at
                # 11.5 GB. With a limit it spills to warehouse.duckdb.tmp/ instead.
                connector_config={
                    "memory_limit": os.environ.get("ZOO_DUCKDB_MEMORY_LIMIT", "4GB"),
                },
            ),
        )
    },
    default_gateway="local",
    model_defaults=ModelDefaultsConfig(dialect="duckdb", start="2010-01-01", cron="@daily"),
    notification_targets=[AuditRows(database=WAREHOUSE)],
    cache_dir=str(CACHE_DIR),
    log_limit=LOG_LIMIT,
)
