"""SQLMesh project configuration: DuckDB warehouse under $ZOO_HOME, or Spark.

`sqlmesh plan` (run in this folder, or `sqlmesh -p transforms plan`) builds everything;
`sqlmesh run` then fills only the new trading days. A failed audit also shows its first failing
rows and the raw rows they came from (audit_rows.py).

Two gateways run the same models: `local` (the default), DuckDB in `$ZOO_HOME/warehouse.duckdb`,
and `spark` (`sqlmesh --gateway spark plan`), a Spark session that reads the raw tables as
parquet (`zoo data to-spark` lands them) and writes the models into its Hive catalog. pyspark is
an optional extra (`pip install -e '.[spark]'`): nothing here imports it, and the spark gateway
is declared only when it is chosen (chosen_gateway), so a DuckDB plan never starts Spark. The
session (spark_conf below):
- ZOO_SPARK_MASTER: the master, `local[2]` by default; a cluster's URL (`spark://host:7077`,
  `yarn`, `k8s://...`) runs the models there;
- ZOO_SPARK_CONF: more Spark settings, `key=value` pairs separated by `;`, applied last (so
  they override the defaults below), e.g. a shared metastore `spark.hadoop.hive.metastore.uris
  =thrift://meta:9083` and warehouse `spark.sql.warehouse.dir=s3a://bucket/zoo`;
- SPARK_CONF_DIR: Spark's own folder of `spark-defaults.conf` and `hive-site.xml` (Spark reads
  it itself).
Locally the catalog is an embedded Derby metastore in `$ZOO_HOME/spark/metastore_db` and the
tables live in `$ZOO_HOME/spark/warehouse`. SQLMesh's own state cannot live in Spark: it is the
DuckDB file `$ZOO_HOME/spark/state.duckdb`, apart from the local gateway's.

SQLMesh's cache and log files live in the home too (`$ZOO_HOME/sqlmesh/cache`, `.../logs`),
not in this folder: a cache shared by two homes once reused a table version of one warehouse in
another, and a copied home must carry what it needs.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

from audit_rows import AuditRows  # beside this file: SQLMesh puts this folder on sys.path
from sqlmesh.core.config import (
    Config,
    DuckDBConnectionConfig,
    GatewayConfig,
    ModelDefaultsConfig,
    SparkConnectionConfig,
)

PROJECT_ROOT = Path(__file__).resolve().parents[1]
ZOO_HOME = Path(os.environ.get("ZOO_HOME", PROJECT_ROOT / "data")).expanduser().resolve()
ZOO_HOME.mkdir(parents=True, exist_ok=True)
WAREHOUSE = str(ZOO_HOME / "warehouse.duckdb")
CACHE_DIR = ZOO_HOME / "sqlmesh" / "cache"
LOG_DIR = ZOO_HOME / "sqlmesh" / "logs"
LOG_LIMIT = 20  # SQLMesh's default number of log files kept
SPARK_HOME = ZOO_HOME / "spark"  # the spark gateway's catalog, tables and state


def _logs_into_home() -> None:
    """Move the log file the `sqlmesh` command has just opened into LOG_DIR.

    The command opens `logs/sqlmesh_<time>.log` in the working directory before it reads this
    file, and neither a setting nor an environment variable chooses another folder (only
    `--log-file-dir`, which is kept when given). So the open file is moved, with what it holds,
    its handler follows it, and the `logs/` folder it made is removed when nothing else is in
    it; SQLMesh then prunes that empty folder, so the logs of the home are pruned here.
    """
    if any(arg == "--log-file-dir" or arg.startswith("--log-file-dir=") for arg in sys.argv):
        return
    default = Path("logs").resolve()
    for handler in logging.getLogger().handlers:
        if not isinstance(handler, logging.FileHandler):
            continue
        current = Path(handler.baseFilename)
        if current.parent != default or not current.name.startswith("sqlmesh_"):
            continue
        LOG_DIR.mkdir(parents=True, exist_ok=True)
        handler.acquire()
        try:
            handler.close()
            target = LOG_DIR / current.name
            if current.exists():
                os.replace(current, target)
            handler.baseFilename, handler.mode = str(target), "a"
        finally:
            handler.release()
        try:
            default.rmdir()
        except OSError:  # other files in it: not ours to remove
            pass
        for old in sorted(LOG_DIR.glob("sqlmesh_*.log"), reverse=True)[LOG_LIMIT:]:
            old.unlink(missing_ok=True)


_logs_into_home()


def _collect_less_often(argv: list[str] | None = None) -> bool:
    """In the `sqlmesh` command's own process: fewer garbage collections (returns whether).

    Rendering a model builds and copies hundreds of thousands of sqlglot nodes, each with a
    pointer to its parent, and Python's default threshold (a collection every 700 new objects,
    each older generation every 10 of the younger) then scans the state SQLMesh has read again
    and again, a large share of a one-day `sqlmesh run` (README, `zoo bench day`). What exists
    when this file is read (SQLMesh's modules, this config) is frozen out of every later
    collection, and the youngest generation is collected every 50,000 new objects. Cycles are
    still collected, so a long plan's memory stays bounded. Only in the command (argv[0] is
    `sqlmesh`): a process that imports SQLMesh (pytest, a notebook) keeps its own settings, and
    nothing of it is frozen.
    """
    argv = sys.argv if argv is None else argv
    if not argv or Path(argv[0]).name != "sqlmesh":
        return False
    import gc

    gc.freeze()
    gc.set_threshold(50_000, 20, 100)
    return True


_collect_less_often()


def spark_conf() -> dict[str, str]:
    """The spark gateway's session settings: local defaults, then ZOO_SPARK_CONF's."""
    conf = {
        "spark.master": os.environ.get("ZOO_SPARK_MASTER", "local[2]"),
        "spark.app.name": "alphazoo-sqlmesh",
        "spark.sql.warehouse.dir": str(SPARK_HOME / "warehouse"),
        # an embedded Derby metastore in the home, not ./metastore_db in the working folder
        "spark.hadoop.javax.jdo.option.ConnectionURL":
            f"jdbc:derby:;databaseName={SPARK_HOME / 'metastore_db'};create=true",
        "spark.driver.extraJavaOptions": f"-Dderby.system.home={SPARK_HOME}",
        # dates are parsed and cast in one zone whatever the machine's
        "spark.sql.session.timeZone": "UTC",
        # a day's partition of a model is small: a few shuffle tasks, not Spark's 200
        "spark.sql.shuffle.partitions": "4",
        "spark.ui.enabled": "false",
        # SQLMesh partitions a daily model by its date on Spark: hundreds of partitions a
        # model, which the metastore need not list one by one (Spark finds them in the
        # folders) nor gather statistics on; this halved the tiny market's build
        "spark.sql.hive.manageFilesourcePartitions": "false",
        "spark.hadoop.hive.stats.autogather": "false",
    }
    for pair in os.environ.get("ZOO_SPARK_CONF", "").split(";"):
        if pair.strip():
            key, sep, value = pair.partition("=")
            if not sep:
                raise ValueError(f"ZOO_SPARK_CONF: {pair!r} is not key=value")
            conf[key.strip()] = value.strip()
    return conf


def local_gateway() -> GatewayConfig:
    """DuckDB: the warehouse file of the home."""
    return GatewayConfig(
        connection=DuckDBConnectionConfig(
            database=WAREHOUSE,
            # DuckDB takes 80 % of RAM by default; a full-market plan then peaked at
            # 11.5 GB. With a limit it spills to warehouse.duckdb.tmp/ instead.
            connector_config={
                "memory_limit": os.environ.get("ZOO_DUCKDB_MEMORY_LIMIT", "4GB"),
            },
        ),
    )


def spark_gateway() -> GatewayConfig:
    """Spark (spark_conf), with SQLMesh's state in a DuckDB file beside its catalog."""
    SPARK_HOME.mkdir(parents=True, exist_ok=True)
    return GatewayConfig(
        connection=SparkConnectionConfig(config=spark_conf()),
        state_connection=DuckDBConnectionConfig(database=str(SPARK_HOME / "state.duckdb")),
    )


GATEWAYS = {"local": local_gateway, "spark": spark_gateway}


def chosen_gateway(argv: list[str] | None = None) -> str:
    """The gateway this command runs on: `--gateway NAME`, else SQLMesh's own SQLMESH_GATEWAY
    (what `--gateway` defaults to; set it for the Python API), else local.

    Only that gateway is declared: SQLMesh opens a connection to every gateway of its config
    (to learn their default catalogs), so with both declared every DuckDB plan would start a
    Spark session, and fail without pyspark.
    """
    argv = sys.argv if argv is None else argv
    for i, arg in enumerate(argv):
        if arg == "--gateway" and i + 1 < len(argv):
            return argv[i + 1]
        if arg.startswith("--gateway="):
            return arg.partition("=")[2]
    return os.environ.get("SQLMESH_GATEWAY") or "local"


GATEWAY = chosen_gateway()

config = Config(
    # an unknown name declares local, and SQLMesh says the gateway asked for is missing
    gateways={name: GATEWAYS[name]() for name in [GATEWAY if GATEWAY in GATEWAYS else "local"]},
    default_gateway=GATEWAY if GATEWAY in GATEWAYS else "local",
    model_defaults=ModelDefaultsConfig(dialect="duckdb", start="2010-01-01", cron="@daily"),
    notification_targets=[AuditRows(database=WAREHOUSE)],
    cache_dir=str(CACHE_DIR),
    log_limit=LOG_LIMIT,
    # SQLMesh otherwise reports each command's name and arguments to its vendor from a
    # background thread, flushed at exit: nothing a warehouse of research data should send
    # (and these machines have no internet to send it over)
    disable_anonymized_analytics=True,
)
