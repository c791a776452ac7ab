"""Scores written back: a warehouse table and a Feast feature view per model.

`write_back(model, scores)` replaces `scores.score_<model>` in the warehouse with the run's
out-of-sample scores (stock_id, trade_date, score, run_id), exports it to
`$ZOO_HOME/offline/score_<model>/` (monthly files; event_timestamp = the scoring day at 15:00
Asia/Shanghai: a score made at the close) and applies the Feast repo, whose scores.py declares a
view `score_<model>` for every such export. Other teams then retrieve scores point in time like any
feature: `store.get_historical_features(entities, features=["score_biagru_gat:score"])`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from zoo.paths import offline_dir, warehouse_path
from zoo.serving.published import SCORE_SCHEMA, open_warehouse, quote, score_table

if TYPE_CHECKING:
    import polars as pl

SCHEMA = SCORE_SCHEMA
COLUMNS = ("stock_id", "trade_date", "score", "run_id")


@dataclass(frozen=True)
class WrittenScores:
    view: str
    rows: int
    table: str
    path: Path


def write_back(model: str, scores: pl.DataFrame, apply: bool = True,
               warehouse: Path | None = None) -> WrittenScores:
    """Store `scores` as the model's warehouse table and Feast view (replacing earlier ones)."""
    from zoo.serving.export import export_tables
    from zoo.serving.feature_store import apply as feast_apply

    missing = [c for c in COLUMNS if c not in scores.columns]
    if missing:
        raise ValueError(f"scores of {model}: missing columns {missing} (need {COLUMNS})")
    if scores.select(["stock_id", "trade_date"]).is_duplicated().any():
        raise ValueError(f"scores of {model}: more than one score per (stock_id, trade_date)")
    relation = score_table(model)  # refuses a model name that is not identifier characters
    view, table = relation.table, relation.name
    warehouse = warehouse or warehouse_path()
    frame = scores.select(COLUMNS).to_arrow()
    con = open_warehouse(warehouse, read_only=False)  # WarehouseBusy names who holds it
    try:
        con.execute("BEGIN")
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {quote(SCHEMA)}")
        con.register("incoming", frame)
        con.execute(f"CREATE OR REPLACE TABLE {relation.sql} AS SELECT stock_id::TEXT AS stock_id, "
                    f"trade_date::DATE AS trade_date, score::DOUBLE AS score, "
                    f"run_id::TEXT AS run_id FROM incoming ORDER BY stock_id, trade_date")
        con.execute("COMMIT")
    finally:
        con.close()
    written = export_tables(warehouse, offline_dir(), {view: (table, "trade_date")})[view]
    if apply:
        feast_apply()
    return WrittenScores(view, written["rows"], table, Path(written["path"]))
