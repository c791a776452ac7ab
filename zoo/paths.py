"""Where the pipeline writes: everything lives under $ZOO_HOME.

$ZOO_HOME defaults to `data/` in the project checkout (the folder holding pyproject.toml), so
`zoo ...` from the repository root and `sqlmesh plan` from `transforms/` (whose config.py
makes the same choice) share one warehouse. Outside a checkout the default is `./data`.
"""

from __future__ import annotations

import os
from pathlib import Path


def _default_home() -> Path:
    checkout = Path(__file__).resolve().parents[1]
    if (checkout / "pyproject.toml").is_file() and (checkout / "transforms").is_dir():
        return checkout / "data"
    return Path("data")


def zoo_home() -> Path:
    """The root of everything the pipeline writes; created on first use."""
    home = Path(os.environ.get("ZOO_HOME", _default_home())).expanduser().resolve()
    home.mkdir(parents=True, exist_ok=True)
    return home


def warehouse_path() -> Path:
    """The DuckDB warehouse: schemas raw (Wind tables), truth (synthetic only), and SQLMesh's."""
    return zoo_home() / "warehouse.duckdb"


def bench_dir() -> Path:
    path = zoo_home() / "bench"
    path.mkdir(parents=True, exist_ok=True)
    return path


def feature_repo_path() -> Path:
    """The Feast repository (declarations) of this checkout."""
    return Path(__file__).resolve().parents[1] / "feature_repo"


def offline_dir() -> Path:
    """The parquet exports Feast reads (one folder per feature view)."""
    path = zoo_home() / "offline"
    path.mkdir(parents=True, exist_ok=True)
    return path


def export_path(view: str) -> Path:
    """The export of feature view `view`: a folder of one parquet file per month
    (zoo.serving.export); it need not exist."""
    return offline_dir() / view


def parquet_files(path: Path) -> list[Path]:
    """The parquet files that make up `path`: itself when it is a file; for a folder, every
    `*.parquet` below it, sorted, leaving out names that begin with `.` or `_` (temporary files,
    the export's manifest), as pyarrow's datasets do; none when it does not exist."""
    path = Path(path)
    if path.is_file():
        return [path]
    if not path.is_dir():
        return []
    return sorted(p for p in path.rglob("*.parquet") if p.is_file() and not any(
        part.startswith((".", "_")) for part in p.relative_to(path).parts))


def cache_dir() -> Path:
    """What can be rebuilt from the rest of the home (built day batches): safe to delete."""
    path = zoo_home() / "cache"
    path.mkdir(parents=True, exist_ok=True)
    return path
