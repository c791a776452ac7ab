"""Where Feast reads: the parquet exports of the SQLMesh features and labels.

`zoo features apply` exports each SQLMesh `features` / `labels` model to the folder
`$ZOO_HOME/offline/<model>/`, one parquet file per month, rewriting only the months that changed
(each written to a temporary file and swapped in atomically, zoo/serving/export.py says what a
retrieval running during a refresh may see) with `event_timestamp` = the model's date at 15:00
Asia/Shanghai and `created_timestamp` = when the month was written. The view name, the SQLMesh
model name and the folder name are the same. The path is absolute here; the registry stores it
relative to the home (zoo/serving/home_stores.py), so a copied home reads its own files.
"""

from __future__ import annotations

from pathlib import Path

from feast import FileSource

from zoo.paths import zoo_home


def offline_source(name: str, path: Path | None = None) -> FileSource:
    """The parquet export of SQLMesh model `name` (a folder of monthly files, or `path`) as a
    Feast source."""
    return FileSource(
        name=name,
        path=str(path or zoo_home() / "offline" / name),
        timestamp_field="event_timestamp",
        created_timestamp_column="created_timestamp",
    )
