"""Score views: `score_<model>` for every model whose scores the zoo has written back.

`zoo score NAME` writes `$ZOO_HOME/offline/score_<name>.parquet` (stock_id, event_timestamp =
the scoring day at 15:00 Asia/Shanghai, score, run_id) and re-applies this repo, so the scores
are retrievable point in time like any other feature. One view per file found.
"""

from __future__ import annotations

from feast import FeatureView, Field
from feast.types import Float64, String

from zoo.paths import zoo_home

from entities import stock
from features import DAILY_TTL
from sources import offline_source


def score_view(name: str) -> FeatureView:
    """The view of the scores of zoo model `name` (file `score_<name>.parquet`)."""
    view = f"score_{name}"
    return FeatureView(
        name=view,
        entities=[stock],
        ttl=DAILY_TTL,
        source=offline_source(view),
        description=f"Out-of-sample scores of the zoo model {name}, made at the day's close.",
        tags={"kind": "scores", "model": name},
        schema=[Field(name="score", dtype=Float64), Field(name="run_id", dtype=String)],
    )


for _path in sorted((zoo_home() / "offline").glob("score_*.parquet")):
    globals()[_path.stem] = score_view(_path.stem.removeprefix("score_"))
