"""SQLMesh's cache and log files live in the home they belong to, not in transforms/ or the
folder the command ran in: a cache shared by two homes once reused one warehouse's table
version in another."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

TRANSFORMS = Path(__file__).resolve().parents[2] / "transforms"
SQLMESH = Path(sys.executable).with_name("sqlmesh")


def _listing(folder: Path) -> set[tuple[str, int]]:
    return {(str(p), p.stat().st_mtime_ns) for p in folder.rglob("*")} if folder.is_dir() \
        else set()


def test_the_build_left_its_cache_and_logs_in_its_home(built_warehouse):
    """The fixture ran `sqlmesh plan` inside transforms/."""
    cache = built_warehouse / "sqlmesh" / "cache"
    assert any(p.is_file() for p in cache.rglob("*")), "no SQLMesh cache in the home"
    logs = list((built_warehouse / "sqlmesh" / "logs").glob("sqlmesh_*.log"))
    assert logs and any(str(built_warehouse) in p.read_text() for p in logs)


def test_sqlmesh_from_anywhere_writes_into_the_home(built_warehouse, tmp_path):
    home, elsewhere = tmp_path / "home", tmp_path / "elsewhere"
    home.mkdir()
    elsewhere.mkdir()
    shutil.copy(built_warehouse / "warehouse.duckdb", home / "warehouse.duckdb")
    checkout = {name: _listing(TRANSFORMS / name) for name in (".cache", "logs")}
    env = {**os.environ, "ZOO_HOME": str(home)}
    for args, cwd in ((["-p", str(TRANSFORMS), "info"], elsewhere), (["info"], TRANSFORMS)):
        done = subprocess.run([str(SQLMESH), *args], cwd=cwd, env=env, capture_output=True,
                              text=True)
        assert done.returncode == 0, done.stdout + done.stderr
    assert sorted(p.name for p in elsewhere.iterdir()) == []
    assert {name: _listing(TRANSFORMS / name) for name in (".cache", "logs")} == checkout
    assert list((home / "sqlmesh" / "logs").glob("sqlmesh_*.log"))  # one a second at most
    assert any(p.is_file() for p in (home / "sqlmesh" / "cache").rglob("*"))
