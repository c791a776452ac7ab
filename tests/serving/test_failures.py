"""Failures that used to end in a traceback: a warehouse another process holds, a damaged Feast
registry, temporary files a killed export left, and a $ZOO_HOME with an apostrophe."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import polars as pl
import pytest
from click.testing import CliRunner

from zoo.cli import main

HOLD = """
import sys, time, duckdb
con = duckdb.connect(sys.argv[1])  # the write lock, until killed
print("holding", flush=True)
time.sleep(600)
"""


def _scores(warehouse: Path) -> pl.DataFrame:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return pl.from_arrow(con.execute(
            "SELECT stock_id, trade_date, size AS score, 'r1' AS run_id "
            "FROM features.stock_style_daily WHERE size IS NOT NULL").to_arrow_table())


def _copy_home(source: Path, home: Path, registry: bool = False) -> Path:
    home.mkdir(parents=True)
    shutil.copy(source / "warehouse.duckdb", home / "warehouse.duckdb")
    if (source / "offline").is_dir():
        shutil.copytree(source / "offline", home / "offline")
    if registry:
        shutil.copy(source / "registry.db", home / "registry.db")
    return home


def _clean_error(result, *says: str) -> None:
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output
    for text in says:
        assert text in result.output, result.output


@pytest.fixture
def locked_home(feast_home, tmp_path, monkeypatch):
    """A copy of the exported tiny market with scores of `fake_a` and a finished run of
    `biagru`, whose warehouse another process holds for writing; yields (home, its pid)."""
    from zoo.serving.scores import write_back
    from zoo.train.config import TrainConfig

    home = _copy_home(feast_home, tmp_path / "home", registry=True)
    monkeypatch.setenv("ZOO_HOME", str(home))
    scores = _scores(home / "warehouse.duckdb")
    write_back("fake_a", scores, apply=False, warehouse=home / "warehouse.duckdb")
    run = home / "runs" / "biagru" / "20200101T000000Z-abcdef"
    run.mkdir(parents=True)
    (run / "config.json").write_text(json.dumps(TrainConfig(model="biagru").to_dict()))
    scores.write_parquet(run / "scores.parquet")
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(home / "warehouse.duckdb")],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "holding"
        yield home, holder.pid
    finally:
        holder.kill()
        holder.wait()


@pytest.mark.parametrize("command", [
    ["features", "apply"], ["eval", "oracle"], ["report"], ["report", "fake_a"],
    ["backtest", "fake_a"], ["score", "biagru"],
])
def test_a_held_warehouse_is_a_clear_error_naming_the_holder(command, locked_home):
    home, pid = locked_home
    before = sorted(p.name for p in (home / "offline").iterdir())
    result = CliRunner().invoke(main, command)
    _clean_error(result, f"is locked by process {pid}")
    assert sorted(p.name for p in (home / "offline").iterdir()) == before


def test_features_get_serves_the_exports_while_the_warehouse_is_held(locked_home):
    """Feast reads only the exports: retrieval goes on, and says it could not compare them
    with the warehouse."""
    home, pid = locked_home
    result = CliRunner().invoke(main, ["features", "get", "--service", "style_v1",
                                       "--sample", "2"])
    assert result.exit_code == 0, result.output
    assert "(2 rows)" in result.output and f"locked by process {pid}" in result.output


def test_a_damaged_registry_is_named_and_rebuilt(built_warehouse, tmp_path, monkeypatch):
    home = _copy_home(built_warehouse, tmp_path / "home")
    monkeypatch.setenv("ZOO_HOME", str(home))
    runner = CliRunner()
    assert runner.invoke(main, ["features", "apply"]).exit_code == 0
    registry = home / "registry.db"
    registry.write_bytes(registry.read_bytes()[:3000])  # an apply killed while writing it
    get = ["features", "get", "--service", "style_v1", "--sample", "2"]
    _clean_error(runner.invoke(main, get), f"the Feast registry {registry} is damaged",
                 "zoo features apply --rebuild")
    _clean_error(runner.invoke(main, ["features", "apply", "--skip-export"]),
                 "is damaged", "--rebuild")
    rebuilt = runner.invoke(main, ["features", "apply", "--skip-export", "--rebuild"])
    assert rebuilt.exit_code == 0, rebuilt.output
    result = runner.invoke(main, get)
    assert result.exit_code == 0 and "(2 rows)" in result.output, result.output
    registry.write_bytes(b"")  # an empty registry parses: it lists nothing
    _clean_error(runner.invoke(main, get), "holds none", "zoo features apply")


def test_an_export_removes_the_temporary_files_of_a_killed_one(feast_home, tmp_path,
                                                               monkeypatch):
    from zoo.serving.feature_store import export

    home = _copy_home(feast_home, tmp_path / "home")
    monkeypatch.setenv("ZOO_HOME", str(home))
    offline = home / "offline"
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    view = offline / "stock_style_daily"
    pid = dead.stdout.strip()
    # the former layout's, beside the folders, and a month's and the manifest's in the folder
    killed = [offline / f".stock_style_daily.parquet.{pid}.k1ll3d_x.parquet.tmp",
              view / f".2020-06.parquet.{pid}.k1ll3d_x.parquet.tmp",
              view / f"._export.json.{pid}.k1ll3d_x.json.tmp"]
    unnamed = offline / ".stock_style_daily.parquet.abcd_123.parquet.tmp"  # older naming
    writing = [offline / f".stock_style_daily.parquet.{os.getppid()}.livewrit.parquet.tmp",
               view / f".2020-06.parquet.{os.getppid()}.livewrit.parquet.tmp"]
    for path in (*killed, unnamed, *writing):
        path.write_bytes(b"PAR1 half written")
    old = time.time() - 3600
    os.utime(unnamed, (old, old))
    export(names=["stock_style_daily"])
    left = sorted(p for p in (*offline.iterdir(), *view.iterdir()) if p.name.startswith("."))
    assert left == sorted(writing)  # a live process's files are kept


def test_a_home_with_an_apostrophe_and_a_space(built_warehouse, tmp_path, monkeypatch):
    from zoo.serving.scores import write_back

    home = _copy_home(built_warehouse, tmp_path / "it's a home")
    monkeypatch.setenv("ZOO_HOME", str(home))
    runner = CliRunner()
    applied = runner.invoke(main, ["features", "apply"])
    assert applied.exit_code == 0, applied.output
    write_back("fake_a", _scores(home / "warehouse.duckdb"), apply=True)
    entities = tmp_path / "entities.csv"
    entities.write_text("stock_id,event_timestamp\n000001.SZ,2020-06-30T15:00:00+08:00\n"
                        "999999.SH,2020-06-30T15:00:00+08:00\n")
    for command, says in (
            (["features", "get", "--service", "style_v1", "--sample", "2"], "(2 rows)"),
            (["features", "get", "--service", "style_v1", "--entities", str(entities)],
             "1 stock id(s) are in no exported view"),
            (["features", "get", "--features", "score_fake_a:score", "--sample", "2"],
             "(2 rows)"),
            (["features", "materialize"], "online store filled"),
            (["eval", "fake_a", "--horizon", "5"], "written to"),
            (["backtest", "fake_a", "--index", "csi500"], "saved to")):
        result = runner.invoke(main, command)
        assert result.exit_code == 0, (command, result.output, result.exception)
        assert says in result.output, (command, result.output)
