"""The same SQLMesh project on Spark: the tiny market built by the spark gateway (local Spark,
transforms/config.py) equals the DuckDB build, table for table and value for value.

Marked `spark` (left out of `make test`; `make test-spark` installs the extra and runs it); it
skips where pyspark is not installed. One Spark session does it all (a JVM start is ~10 s, and
the embedded Derby metastore admits one JVM at a time): the raw tables land through
zoo.ingest.spark, SQLMesh plans in this process, and the tables are read back through Spark.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import numpy as np
import polars as pl
import pytest

pytestmark = pytest.mark.spark
pytest.importorskip("pyspark")

TRANSFORMS = Path(__file__).resolve().parents[2] / "transforms"
# What a consumer reads: every features and labels table, the intermediate ones they are made
# from, and the published calendar.
SCHEMAS = ("intermediate", "features", "labels", "reference")


@pytest.fixture(scope="module")
def spark_context(tiny_warehouse, tmp_path_factory):
    """A SQLMesh Context on the spark gateway with the tiny market built (`sqlmesh --gateway
    spark plan`), in a home of its own."""
    from pyspark.sql import SparkSession
    from sqlmesh import Context

    from zoo.ingest.spark import to_spark

    # A session left by another module would keep its own catalog and warehouse folder
    # (Spark hands the open session to every builder): this one is made with this home's.
    if (left := SparkSession.getActiveSession()) is not None:
        left.stop()
    home = tmp_path_factory.mktemp("spark_home")
    shutil.copy(tiny_warehouse, home / "warehouse.duckdb")
    with pytest.MonkeyPatch.context() as env:
        env.setenv("ZOO_HOME", str(home))
        env.setenv("SQLMESH_GATEWAY", "spark")  # what `--gateway spark` sets (config.py)
        context = Context(paths=str(TRANSFORMS), gateway="spark")
        spark = context.engine_adapter.spark
        landed = to_spark(spark=spark)
        assert {item.table for item in landed} >= {"AShareEODPrices", "AShareIncome"}
        context.plan(auto_apply=True, no_prompts=True)
        yield context
        context.close()
        spark.stop()


def _models(context) -> list:
    return sorted((m for m in context.models.values()
                   if not m.kind.is_external and m.schema_name in SCHEMAS),
                  key=lambda m: m.name)


def _duckdb(home: Path, name: str) -> pl.DataFrame:
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        return con.execute(f"SELECT * FROM {name}").pl()


def _spark(context, name: str) -> pl.DataFrame:
    return pl.from_arrow(context.engine_adapter.spark.table(name).toArrow())


def _is_null(values: np.ndarray) -> np.ndarray:
    return np.array([v is None for v in values], dtype=bool)


def _floats_equal(name: str, got: np.ndarray, want: np.ndarray, rtol: float = 1e-9,
                  atol: float = 1e-12) -> None:
    """The same NULLs and NaNs, and values equal within rtol (atol near 0)."""
    got_null, want_null = _is_null(got), _is_null(want)
    assert (got_null == want_null).all(), f"{name}: NULLs differ"
    g, w = got[~got_null].astype(float), want[~want_null].astype(float)
    assert (np.isnan(g) == np.isnan(w)).all(), f"{name}: NaNs differ"
    g, w = g[~np.isnan(g)], w[~np.isnan(w)]
    bad = ~np.isclose(g, w, rtol=rtol, atol=atol)
    assert not bad.any(), f"{name}: {bad.sum()} differ, e.g. {g[bad][:3]} vs {w[bad][:3]}"


def _assert_same(name: str, keys: list[str], got: pl.DataFrame, want: pl.DataFrame) -> None:
    """Same columns and types, same rows by `keys`, same values (floats within 1e-9)."""
    # Spark keeps a partitioned table's partition column (the model's date) last
    assert sorted(got.columns) == sorted(want.columns), name
    got = got.select(want.columns)
    assert got.schema == want.schema, f"{name}: {got.schema} on Spark, {want.schema}"
    assert got.height == want.height, f"{name}: {got.height} rows on Spark, {want.height}"
    assert want.height > 0, f"{name} is empty: nothing compared"
    got, want = got.sort(keys), want.sort(keys)
    assert got.select(keys).equals(want.select(keys)), f"{name}: the keys differ"
    for column, dtype in got.schema.items():
        label = f"{name}.{column}"
        if dtype == pl.Float64:
            _floats_equal(label, got[column].to_numpy().astype(object),
                          want[column].to_numpy().astype(object))
        elif isinstance(dtype, pl.List):
            assert got[column].list.len().equals(want[column].list.len()), \
                f"{label}: lengths differ"
            _floats_equal(label, got[column].explode().to_numpy().astype(object),
                          want[column].explode().to_numpy().astype(object))
        else:
            assert got[column].equals(want[column]), f"{label} differs"


def test_spark_builds_what_duckdb_builds(spark_context, built_warehouse):
    from sqlglot import exp

    context = spark_context
    compared = []
    for model in _models(context):
        name = f"{model.schema_name}.{model.view_name}"
        keys = [column.name for grain in model.grains for column in grain.find_all(exp.Column)]
        _assert_same(name, keys, _spark(context, name), _duckdb(built_warehouse, name))
        compared.append(name)
    assert {"features.stock_style_daily", "features.stock_fundamental_quarterly",
            "features.stock_price_volume_daily", "features.stock_universe_daily",
            "labels.stock_fwd_return_daily"} <= set(compared)
