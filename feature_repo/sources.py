"""Where Feast reads: the parquet exports of the SQLMesh features and labels.

`zoo features apply` exports each SQLMesh `features` / `labels` model to
`$ZOO_HOME/offline/<model>.parquet` (written to a temporary file and swapped in atomically, so a
retrieval running during a refresh sees the old or the new file, never a mix) with
`event_timestamp` = the model's date at 15:00 Asia/Shanghai and `created_timestamp` = the export
time. The view name, the SQLMesh model name and the parquet file name are the same.
"""

from __future__ import annotations

from feast import FileSource

from zoo.paths import zoo_home


def offline_source(name: str) -> FileSource:
    """The parquet export of SQLMesh model `name` as a Feast source."""
    return FileSource(
        name=name,
        path=str(zoo_home() / "offline" / f"{name}.parquet"),
        timestamp_field="event_timestamp",
        created_timestamp_column="created_timestamp",
    )
