"""The SQLMesh project: declarations agree with zoo/ingest/wind.py and the project builds."""

import gc
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from zoo.ingest.wind import RAW_TABLES, external_models_yaml

TRANSFORMS = Path(__file__).resolve().parents[2] / "transforms"
SQLMESH = Path(sys.executable).with_name("sqlmesh")


def test_external_models_match_wind_spec():
    committed = (TRANSFORMS / "external_models.yaml").read_text()
    assert committed == external_models_yaml(), (
        "transforms/external_models.yaml is stale: "
        "python -m zoo.ingest.wind > transforms/external_models.yaml"
    )


@pytest.fixture()
def empty_warehouse(tmp_path, monkeypatch):
    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    con.execute("CREATE SCHEMA raw")
    for table in RAW_TABLES:
        con.execute(table.create_sql())
    con.close()
    return tmp_path


def sqlmesh(zoo_home: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "ZOO_HOME": str(zoo_home)}
    return subprocess.run(
        [str(SQLMESH), *args], cwd=TRANSFORMS, env=env, capture_output=True, text=True
    )


def test_plan_builds_on_empty_raw_and_renders_for_spark(empty_warehouse):
    plan = sqlmesh(empty_warehouse, "plan", "--auto-apply", "--no-prompts")
    assert plan.returncode == 0, plan.stdout + plan.stderr
    with duckdb.connect(str(empty_warehouse / "warehouse.duckdb"), read_only=True) as con:
        views = {r[0] for r in con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'staging'"
        ).fetchall()}
    assert {"stg_eod_prices", "stg_income", "stg_index_weights"} <= views
    render = sqlmesh(empty_warehouse, "render", "staging.stg_income", "--dialect", "spark")
    assert render.returncode == 0, render.stderr
    assert "TO_TIMESTAMP(" in render.stdout and "STRPTIME" not in render.stdout.upper()


def test_plan_on_an_unchanged_project_does_nothing(built_warehouse, tmp_path):
    import shutil

    shutil.copy(built_warehouse / "warehouse.duckdb", tmp_path / "warehouse.duckdb")
    plan = sqlmesh(tmp_path, "plan", "--auto-apply", "--no-prompts", "--skip-tests")
    assert plan.returncode == 0, plan.stdout + plan.stderr
    assert "No changes to plan" in plan.stdout
    assert "insert" not in plan.stdout and "full refresh" not in plan.stdout


def _gc_after_reading_config(argv0: str, home: str) -> tuple[tuple[int, ...], bool]:
    """In a fresh process started as `argv0`: read transforms/config.py as SQLMesh does, and
    return the garbage collector's thresholds and whether anything was frozen."""
    config = _read_config(argv0, home)
    assert config.config.disable_anonymized_analytics  # nothing is sent to SQLMesh's vendor
    return gc.get_threshold(), gc.get_freeze_count() > 0


def _read_config(argv0: str, home: str):
    import importlib

    sys.argv[0] = argv0
    os.environ["ZOO_HOME"] = home
    sys.path.insert(0, str(TRANSFORMS))
    return importlib.import_module("config")


@pytest.mark.parametrize(("argv0", "collects_less"), [
    (str(SQLMESH), True),  # the command: a short process that renders many queries
    ("/usr/bin/pytest", False),  # a process that imports the project keeps its settings
])
def test_only_the_sqlmesh_command_collects_garbage_less_often(argv0, collects_less, tmp_path):
    from concurrent.futures import ProcessPoolExecutor
    from multiprocessing import get_context

    with ProcessPoolExecutor(1, mp_context=get_context("spawn")) as pool:
        threshold, frozen = pool.submit(_gc_after_reading_config, argv0, str(tmp_path)).result()
    assert (threshold[0] > gc.get_threshold()[0], frozen) == (collects_less, collects_less)


def test_models_without_the_optimiser_declare_what_they_project(tmp_path, monkeypatch):
    """A model rendered with `optimize_query false` is typed by its `columns (...)` block alone
    (SQLMesh types no projection without the optimiser): the block must name the query's
    projections in order, each with the type the query casts it to."""
    from sqlglot import exp
    from sqlmesh import Context

    monkeypatch.setenv("ZOO_HOME", str(tmp_path))
    context = Context(paths=str(TRANSFORMS))
    unoptimised = [m for m in context.models.values() if m.optimize_query is False]
    assert "features.stock_fundamental_quarterly" in {m.name for m in unoptimised}
    for model in unoptimised:
        declared = model.columns_to_types_
        assert declared, f"{model.name}: optimize_query false without a columns (...) block"
        query = model.render_query_or_raise(start="2023-01-03", end="2023-01-03")
        assert [s.output_name for s in query.selects] == list(declared), model.name
        for select in query.selects:
            cast = select.unalias()
            assert isinstance(cast, exp.Cast), f"{model.name}.{select.output_name} is not cast"
            assert cast.to.sql("duckdb") == declared[select.output_name].sql("duckdb"), (
                f"{model.name}.{select.output_name}: cast to {cast.to.sql('duckdb')}, "
                f"declared {declared[select.output_name].sql('duckdb')}")
