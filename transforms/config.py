"""SQLMesh project configuration: DuckDB warehouse under $ZOO_HOME.

`sqlmesh plan` (run in this folder, or `sqlmesh -p transforms plan`) builds everything;
`sqlmesh run` then fills only the new trading days. A failed audit also shows its first failing
rows and the raw rows they came from (audit_rows.py).
"""

from __future__ import annotations

import os
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
)
