"""A query written two ways, one per engine (`@duckdb_or`, transforms/macros/engines.py).

features.stock_style_daily computes its day statistics as grouped aggregates joined back on
DuckDB and as window aggregates elsewhere (Spark, whose inlined CTEs make the grouped form a
tree of joins of joins). The Spark test compares the windowed form on Spark with DuckDB's build
but is left out of `make test`; here both forms run on DuckDB, over the built tiny market.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from types import SimpleNamespace

import duckdb
import numpy as np
import pytest
from sqlglot import exp

from tests.transforms.test_project import TRANSFORMS

STYLE = "features.stock_style_daily"
# the macro's choice, and the same choice made for every engine (in a copy of the project)
CHOICE = 'return on_duckdb if _engine(evaluator) == "duckdb" else elsewhere'
ELSEWHERE = "return elsewhere"


def project_macros(module_file: str):
    """One of the project's macro files (transforms/macros/) run as a module here, with
    SQLMesh's macro registry put back afterwards (SQLMesh's loader does the same around the
    project's macros; left registered under this module, they could not be serialised)."""
    import importlib.util

    from sqlmesh.core.macros import macro

    registered = macro.get_registry()
    try:
        spec = importlib.util.spec_from_file_location(
            f"zoo_test_{module_file.removesuffix('.py')}", TRANSFORMS / "macros" / module_file)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        macro.set_registry(registered)
    return module


@pytest.fixture(scope="module")
def duckdb_or():
    """The project's `duckdb_or` macro (transforms/macros/engines.py)."""
    return project_macros("engines.py").duckdb_or


@pytest.mark.parametrize(("engine", "reads"), [("duckdb", "grouped"), ("spark", "windowed"),
                                               ("bigquery", "windowed")])
def test_duckdb_or_picks_by_the_engine_the_query_runs_on(duckdb_or, engine, reads):
    evaluator = SimpleNamespace(dialect="duckdb",
                                locals={"engine_adapter": SimpleNamespace(dialect=engine)})
    grouped, windowed = exp.to_identifier("grouped"), exp.to_identifier("windowed")
    picked = duckdb_or(evaluator, grouped, windowed)
    assert picked is (grouped if reads == "grouped" else windowed)


@pytest.fixture(scope="module")
def style_queries(built_warehouse, tmp_path_factory) -> tuple[Path, str, str]:
    """A copy of the built home, and the style model's query for its whole range in both
    forms, as SQLMesh renders them for DuckDB: the project's, and a copy's whose `duckdb_or`
    keeps the other form."""
    from sqlmesh import Context

    home = tmp_path_factory.mktemp("two_forms")
    shutil.copy(built_warehouse / "warehouse.duckdb", home / "warehouse.duckdb")
    elsewhere = tmp_path_factory.mktemp("elsewhere") / "transforms"
    shutil.copytree(TRANSFORMS, elsewhere, ignore=shutil.ignore_patterns(
        "logs", ".cache", "__pycache__"))
    engines = elsewhere / "macros" / "engines.py"
    assert engines.read_text().count(CHOICE) == 1
    engines.write_text(engines.read_text().replace(CHOICE, ELSEWHERE))
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        first, last = con.execute(f"SELECT MIN(trade_date), MAX(trade_date) FROM {STYLE}"
                                  ).fetchone()
    queries = []
    with pytest.MonkeyPatch.context() as env:
        env.setenv("ZOO_HOME", str(home))
        for project in (TRANSFORMS, elsewhere):
            context = Context(paths=str(project))
            queries.append(context.render(STYLE, start=str(first), end=str(last))
                           .sql(dialect="duckdb"))
            context.close()
    grouped, windowed = queries
    # each engine's query holds its own form only
    assert "day_medians" in grouped and "windowed_medians" not in grouped
    assert "windowed_medians" in windowed and "day_medians" not in windowed
    return home, grouped, windowed


def test_the_grouped_and_windowed_day_statistics_give_the_same_rows(style_queries):
    home, grouped, windowed = style_queries
    keys = ["stock_id", "trade_date"]
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        got = con.execute(grouped).pl().sort(keys)
        want = con.execute(windowed).pl().sort(keys)
        built = con.execute(f"SELECT COUNT(*) FROM {STYLE}").fetchone()[0]
    assert got.height == want.height == built > 0
    assert got.columns == want.columns
    assert got.select(keys).equals(want.select(keys))
    for column in ("industry_l1_code", "industry_l1_name", "in_universe"):
        assert got[column].equals(want[column]), column
    compared = 0
    for column in ("total_mv_yuan", "size", "midcap", "bp", "ep", "momentum_20d",
                   "liquidity_20d", "volatility_20d", "profitability", "growth", "sue"):
        a, b = got[column].to_numpy(), want[column].to_numpy()
        assert (np.isnan(a) == np.isnan(b)).all(), f"{column}: NULLs differ"
        known = ~np.isnan(a)
        # the sums are added in another order: the last bits may differ, nothing more
        close = np.isclose(a[known], b[known], rtol=1e-9, atol=1e-11)
        assert close.all(), f"{column}: {(~close).sum()} differ"
        compared += known.sum()
    assert compared > got.height  # the factors are not all NULL


def test_one_winsorising_rule_serves_both_forms():
    """`@winsorised` (transforms/macros/statistics.py), which both forms call for every
    factor: clipped to the median +- 3 x 1.483 x MAD, inside untouched, NULL kept NULL, and
    left as it is where the day has no statistics (DuckDB's LEAST and GREATEST skip NULLs)."""
    winsorised = project_macros("statistics.py").winsorised
    evaluator = SimpleNamespace(dialect="duckdb", locals={})
    clip = winsorised(evaluator, exp.column("x"), exp.column("m"), exp.column("d"))
    rows = [(10.0, 1.0, 1.0), (-10.0, 1.0, 1.0), (2.5, 1.0, 1.0), (None, 1.0, 1.0),
            (3.0, 0.0, 0.0), (7.0, None, None)]
    with duckdb.connect() as con:
        got = con.execute(
            f"SELECT {clip.sql(dialect='duckdb')} FROM (VALUES "
            + ", ".join("(" + ", ".join("NULL" if v is None else f"{v}::DOUBLE" for v in row)
                        + ")" for row in rows)
            + ") AS t(x, m, d)").fetchall()
    values = [value for (value,) in got]
    bound = 3 * 1.483
    assert values[3] is None
    assert values[:3] + values[4:] == pytest.approx([1.0 + bound, 1.0 - bound, 2.5, 0.0, 7.0])
