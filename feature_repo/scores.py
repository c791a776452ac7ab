"""Score views: `score_<model>` for every model whose scores the zoo has written back.

`zoo score NAME` writes `$ZOO_HOME/offline/score_<name>/` (monthly parquet files of stock_id,
event_timestamp = the scoring day at 15:00 Asia/Shanghai, score, run_id) and re-applies this
repo, so the scores are retrievable point in time like any other feature. One view per export
found.
"""

from __future__ import annotations

from pathlib import Path

from feast import FeatureView, Field
from feast.types import Float64, String

from zoo.paths import zoo_home

from entities import stock
from features import DAILY_TTL
from sources import offline_source


def score_view(name: str, path: Path | None = None) -> FeatureView:
    """The view of the scores of zoo model `name` (export `score_<name>/`, or `path`)."""
    view = f"score_{name}"
    return FeatureView(
        name=view,
        entities=[stock],
        ttl=DAILY_TTL,
        source=offline_source(view, path, schema="scores"),
        description=f"Out-of-sample scores of the zoo model {name}, made at the day's close.",
        tags={"kind": "scores", "model": name},
        schema=[Field(name="score", dtype=Float64), Field(name="run_id", dtype=String)],
    )


for _path in sorted((zoo_home() / "offline").glob("score_*")):
    _view = _path.name.removesuffix(".parquet")
    if _path.is_dir():
        globals()[_view] = score_view(_view.removeprefix("score_"))
    elif _path.suffix == ".parquet" and not _path.with_suffix("").is_dir():
        # one file, as zoo wrote scores before monthly exports, until `zoo score` rewrites it
        globals()[_view] = score_view(_view.removeprefix("score_"), _path)
