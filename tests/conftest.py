"""Shared fixtures: a tiny synthetic market, generated once per test session."""

from pathlib import Path

import pytest

TINY_MARKET = dict(stocks=60, start="20190101", end="20201231", seed=11)


@pytest.fixture(scope="session")
def tiny_market(tmp_path_factory) -> Path:
    """A folder of raw Wind tables (and truth/) for a 60-stock, two-year synthetic market."""
    from zoo.synth import SynthConfig, generate

    out = tmp_path_factory.mktemp("tiny_market")
    generate(SynthConfig(**TINY_MARKET), out)
    return out


@pytest.fixture(scope="session")
def tiny_warehouse(tiny_market, tmp_path_factory) -> Path:
    """A DuckDB warehouse with the tiny market loaded into raw and truth (treat as read-only)."""
    from zoo.ingest.load import load_dir

    path = tmp_path_factory.mktemp("tiny_warehouse") / "warehouse.duckdb"
    load_dir(tiny_market, path)
    load_dir(tiny_market / "truth", path, schema="truth")
    return path


@pytest.fixture(scope="session")
def built_warehouse(tiny_warehouse, tmp_path_factory) -> Path:
    """$ZOO_HOME with the tiny market loaded and every SQLMesh model built by `sqlmesh plan`.

    Returns the folder (the warehouse is `warehouse.duckdb` inside it); treat as read-only.
    """
    import os
    import shutil
    import subprocess
    import sys

    home = tmp_path_factory.mktemp("built_home")
    shutil.copy(tiny_warehouse, home / "warehouse.duckdb")
    sqlmesh = Path(sys.executable).with_name("sqlmesh")
    transforms = Path(__file__).resolve().parents[1] / "transforms"
    done = subprocess.run(
        [str(sqlmesh), "plan", "--auto-apply", "--no-prompts"],
        cwd=transforms, env={**os.environ, "ZOO_HOME": str(home)},
        capture_output=True, text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return home


@pytest.fixture(scope="session")
def feast_home(built_warehouse, tmp_path_factory) -> Path:
    """A $ZOO_HOME with the built tiny market exported to parquet and the Feast repo applied.

    Tests that use it set ZOO_HOME to it themselves (monkeypatch.setenv); treat as read-only.
    """
    import shutil

    from zoo.serving import feature_store

    home = tmp_path_factory.mktemp("feast_home")
    shutil.copy(built_warehouse / "warehouse.duckdb", home / "warehouse.duckdb")
    with pytest.MonkeyPatch.context() as env:
        env.setenv("ZOO_HOME", str(home))
        feature_store.export()
        feature_store.apply()
    return home


@pytest.fixture
def warehouse(tmp_path: Path) -> Path:
    """A fresh warehouse path (the file does not exist yet)."""
    return tmp_path / "warehouse.duckdb"
