"""Where Feast reads: the parquet exports of the SQLMesh features and labels.

`zoo features apply` exports each SQLMesh `features` / `labels` model to the folder
`$ZOO_HOME/offline/<model>/`, one parquet file per month, rewriting only the months that changed
(each written to a temporary file and swapped in atomically, zoo/serving/export.py says what a
retrieval running during a refresh may see) with `event_timestamp` = the model's date at 15:00
Asia/Shanghai and `created_timestamp` = when the month was written. The view name, the SQLMesh
model name and the folder name are the same. The path is absolute here; the registry stores it
relative to the home (zoo/serving/home_stores.py), so a copied home reads its own files.

The Spark flavour of this repo (`zoo features apply --offline spark`, zoo/serving/spark_store.py)
declares the same views over `SparkSource`s, for Feast's Spark offline store: the same parquet
folders by default, or with `--spark-source table` the model's table in Spark's catalog
(`features.<model>`, `labels.<model>`, as SQLMesh builds them on Spark), read through a query
that adds `event_timestamp` the way the export does. The flavour being applied is
`ZOO_FEAST_OFFLINE` (`file`, the default, or `spark`), which zoo's apply sets while Feast reads
this repo.
"""

from __future__ import annotations

from pathlib import Path

from feast import FileSource
from feast.data_source import DataSource

from zoo.paths import zoo_home


def offline_source(name: str, path: Path | None = None, schema: str = "features") -> DataSource:
    """The parquet export of SQLMesh model `schema.name` (a folder of monthly files, or `path`)
    as a Feast source: a FileSource, or in the Spark flavour a SparkSource (`spark_source`)."""
    from zoo.serving.spark_store import applying_spark

    if applying_spark():
        return spark_source(name, path, schema)
    return FileSource(
        name=name,
        path=str(path or zoo_home() / "offline" / name),
        timestamp_field="event_timestamp",
        created_timestamp_column="created_timestamp",
    )


def spark_source(name: str, path: Path | None = None, schema: str = "features") -> DataSource:
    """SQLMesh model `schema.name` for Feast's Spark offline store: its parquet export (`path`,
    by default the folder of monthly files), or, when the flavour reads tables, the table
    `schema.name` of Spark's catalog with `event_timestamp` added. A `path` (a score file of
    the former layout) is always read as a file."""
    from feast.infra.offline_stores.contrib.spark_offline_store.spark_source import SparkSource

    from zoo.serving.spark_store import TABLE_SCHEMAS, check_export, reads_tables, table_query

    # The options not used are "", not None: Feast reads an unset one back from the registry
    # as "", and None != "" would make every apply report every view as updated.
    if path is None and schema in TABLE_SCHEMAS and reads_tables():
        return SparkSource(name=name, table="", query=table_query(schema, name), path="",
                           timestamp_field="event_timestamp")
    path = path or zoo_home() / "offline" / name
    check_export(path)
    return SparkSource(
        name=name,
        table="",
        query="",
        path=str(path),
        file_format="parquet",
        timestamp_field="event_timestamp",
        created_timestamp_column="created_timestamp",
    )
