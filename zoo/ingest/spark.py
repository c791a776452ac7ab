"""Raw tables for the spark gateway: the DuckDB warehouse's `raw` schema as parquet in Spark.

The loader writes DuckDB (`zoo data load`, `zoo data synth`); SQLMesh's spark gateway
(transforms/config.py) reads the same Wind tables from its own catalog. `to_spark` lands them
there: each table declared in zoo/ingest/wind.py is written from the warehouse to
`$ZOO_HOME/spark/raw/<Table>/` as parquet, typed as the declaration says (the types of
transforms/external_models.yaml), and registered in the Spark catalog as `raw.<Table>`, a table
over that folder (`CREATE TABLE ... USING parquet LOCATION ...`). Only the Wind tables go: the
loader's bookkeeping (`raw._loads`, `_rejects`, `_retracted`) and the synthetic `truth` stay
in DuckDB.

Each run replaces every table whole, so after a later `zoo data load` the next `to_spark` and
`sqlmesh --gateway spark plan` (or `run`) see all of it. The late-data marking of
zoo/ingest/changes.py works on the local gateway's state only: on Spark a rebuild of changed
days is a plan with `--restate-model`, or a fresh build.

The Spark session is the one SQLMesh itself opens for the spark gateway (its settings come from
transforms/config.py: ZOO_SPARK_MASTER, ZOO_SPARK_CONF, SPARK_CONF_DIR), so the tables land in
the catalog the models are built in. pyspark is imported only here, when this runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from zoo.atomic import replace_dir
from zoo.ingest import wind
from zoo.ingest.load import connect
from zoo.paths import zoo_home

if TYPE_CHECKING:
    import duckdb

__all__ = ["Landed", "export_raw", "register_raw", "spark_dir", "spark_session", "to_spark"]

TRANSFORMS = Path(__file__).resolve().parents[2] / "transforms"
DATABASE = "raw"
# Spark's types for the declared kinds (wind.DUCKDB_TYPES on the DuckDB side)
SPARK_TYPES = {wind.STR: "STRING", wind.DATE: "STRING", wind.FLOAT: "DOUBLE", wind.INT: "BIGINT"}


@dataclass(frozen=True)
class Landed:
    """One raw table landed for Spark: where its parquet is and how many rows it holds."""

    table: str
    path: Path
    rows: int


def spark_dir() -> Path:
    """`$ZOO_HOME/spark`: the spark gateway's raw parquet, local warehouse, metastore, state."""
    path = zoo_home() / "spark"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _select(con: duckdb.DuckDBPyConnection, table: wind.Table) -> str:
    """The table's declared columns, cast to their declared types; no rows if it is missing."""
    columns = ", ".join(f'CAST("{c.name}" AS {c.duckdb_type}) AS "{c.name}"'
                        for c in table.columns)
    found = con.execute("SELECT count(*) FROM information_schema.tables WHERE table_schema = ? "
                        "AND table_name = ?", [table.schema, table.name]).fetchone()
    if found and found[0]:
        return f'SELECT {columns} FROM {table.schema}."{table.name}"'
    nulls = ", ".join(f'CAST(NULL AS {c.duckdb_type}) AS "{c.name}"' for c in table.columns)
    return f"SELECT {nulls} WHERE false"


def export_raw(warehouse: Path, target: Path) -> list[Landed]:
    """Writes each raw Wind table of `warehouse` to `target/<Table>/part-0.parquet`.

    A table's folder is replaced whole (zoo.atomic.replace_dir), so a reader sees the old
    export or the new one, never half of it. A table the warehouse lacks is written empty.
    """
    landed = []
    with connect(warehouse, read_only=True) as con:
        for table in wind.RAW_TABLES:
            folder = target / table.name
            with replace_dir(folder) as scratch:
                con.execute(f"COPY ({_select(con, table)}) TO '{scratch / 'part-0.parquet'}' "
                            "(FORMAT parquet)")
            rows = con.execute(f"SELECT count(*) FROM '{folder / 'part-0.parquet'}'").fetchone()
            landed.append(Landed(table.name, folder, int(rows[0])))
    return landed


def register_raw(spark: Any, landed: list[Landed]) -> None:
    """Registers each landed folder in `spark`'s catalog as `raw.<Table>` (replacing it)."""
    spark.sql(f"CREATE DATABASE IF NOT EXISTS {DATABASE}")
    for item in landed:
        table = wind.TABLES[item.table]
        columns = ", ".join(f"`{c.name}` {SPARK_TYPES[c.kind]}" for c in table.columns)
        # an external table: dropping it leaves the parquet in place
        spark.sql(f"DROP TABLE IF EXISTS {DATABASE}.`{item.table}`")
        spark.sql(f"CREATE TABLE {DATABASE}.`{item.table}` ({columns}) USING parquet "
                  f"LOCATION '{item.path.resolve().as_uri()}'")


def spark_session() -> Any:
    """The spark gateway's session, opened from transforms/config.py as SQLMesh opens it."""
    from sqlmesh.utils import sys_path
    from sqlmesh.utils.metaprogramming import import_python_file

    with sys_path(TRANSFORMS):  # config.py imports audit_rows beside it
        config = import_python_file(TRANSFORMS / "config.py", TRANSFORMS)
    return config.spark_gateway().connection.create_engine_adapter().spark


def to_spark(warehouse: Path | None = None, spark: Any = None) -> list[Landed]:
    """Exports the raw tables of `warehouse` (default the home's) to `$ZOO_HOME/spark/raw/`
    and registers them in the Spark catalog (`spark`, default the spark gateway's session)."""
    from zoo.paths import warehouse_path

    landed = export_raw(warehouse or warehouse_path(), spark_dir() / "raw")
    register_raw(spark if spark is not None else spark_session(), landed)
    return landed
