"""Where the pipeline writes: everything lives under $ZOO_HOME (default ./data)."""

from __future__ import annotations

import os
from pathlib import Path


def zoo_home() -> Path:
    """The root of everything the pipeline writes; created on first use."""
    home = Path(os.environ.get("ZOO_HOME", "data")).expanduser().resolve()
    home.mkdir(parents=True, exist_ok=True)
    return home


def warehouse_path() -> Path:
    """The DuckDB warehouse: schemas raw (Wind tables), truth (synthetic only), and SQLMesh's."""
    return zoo_home() / "warehouse.duckdb"


def bench_dir() -> Path:
    path = zoo_home() / "bench"
    path.mkdir(parents=True, exist_ok=True)
    return path
