"""Scores written back: a warehouse table and a Feast feature view per model.

`write_back(model, scores)` replaces `scores.score_<model>` in the warehouse with the run's
out-of-sample scores (stock_id, trade_date, score, run_id), exports it to
`$ZOO_HOME/offline/score_<model>/` (monthly files; event_timestamp = the scoring day at 15:00
Asia/Shanghai: a score made at the close) and applies the Feast repo, whose scores.py declares a
view `score_<model>` for every such export. Other teams then retrieve scores point in time like any
feature: `store.get_historical_features(entities, features=["score_biagru_gat:score"])`.

`append_scores(model, scores)` adds the scores of new days (`zoo score NAME --through DATE`,
zoo.train.inference) to the table, leaving the rows of every other day as they are, and
exports and applies the same way; `scored_days(model)` says which days the table holds.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from zoo.paths import offline_dir, warehouse_path
from zoo.serving.published import (
    SCORE_SCHEMA,
    Relation,
    columns,
    connect,
    open_warehouse,
    quote,
    score_table,
)

if TYPE_CHECKING:
    import polars as pl

SCHEMA = SCORE_SCHEMA
COLUMNS = ("stock_id", "trade_date", "score", "run_id")
_SELECT = ("SELECT stock_id::TEXT AS stock_id, trade_date::DATE AS trade_date, "
           "score::DOUBLE AS score, run_id::TEXT AS run_id FROM incoming")


@dataclass(frozen=True)
class WrittenScores:
    view: str
    rows: int  # rows of the exported view (the whole table)
    table: str
    path: Path


def _checked(model: str, scores: pl.DataFrame) -> Relation:
    missing = [c for c in COLUMNS if c not in scores.columns]
    if missing:
        raise ValueError(f"scores of {model}: missing columns {missing} (need {COLUMNS})")
    if scores.select(["stock_id", "trade_date"]).is_duplicated().any():
        raise ValueError(f"scores of {model}: more than one score per (stock_id, trade_date)")
    return score_table(model)  # refuses a model name that is not identifier characters


def _export(relation: Relation, warehouse: Path, apply: bool) -> WrittenScores:
    from zoo.serving.export import export_tables
    from zoo.serving.feature_store import apply as feast_apply

    view, table = relation.table, relation.name
    written = export_tables(warehouse, offline_dir(), {view: (table, "trade_date")})[view]
    if apply:
        feast_apply()
    return WrittenScores(view, written["rows"], table, Path(written["path"]))


def write_back(model: str, scores: pl.DataFrame, apply: bool = True,
               warehouse: Path | None = None) -> WrittenScores:
    """Store `scores` as the model's warehouse table and Feast view (replacing earlier ones)."""
    relation = _checked(model, scores)
    warehouse = warehouse or warehouse_path()
    frame = scores.select(COLUMNS).to_arrow()
    con = open_warehouse(warehouse, read_only=False)  # WarehouseBusy names who holds it
    try:
        con.execute("BEGIN")
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {quote(SCHEMA)}")
        con.register("incoming", frame)
        con.execute(f"CREATE OR REPLACE TABLE {relation.sql} AS {_SELECT} "
                    f"ORDER BY stock_id, trade_date")
        con.execute("COMMIT")
    finally:
        con.close()
    return _export(relation, warehouse, apply)


def append_scores(model: str, scores: pl.DataFrame, apply: bool = True,
                  warehouse: Path | None = None) -> WrittenScores:
    """Add `scores` to the model's warehouse table (created if missing) and re-export its
    Feast view. The rows of the days `scores` covers are replaced (a day re-scored keeps no
    stale stock); every other day's rows stay as they are. One transaction: a failure leaves
    the table as it was."""
    relation = _checked(model, scores)
    warehouse = warehouse or warehouse_path()
    frame = scores.select(COLUMNS).to_arrow()
    con = open_warehouse(warehouse, read_only=False)
    try:
        con.execute("BEGIN")
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {quote(SCHEMA)}")
        con.register("incoming", frame)
        con.execute(f"CREATE TABLE IF NOT EXISTS {relation.sql} AS {_SELECT} LIMIT 0")
        con.execute(f"DELETE FROM {relation.sql} WHERE trade_date IN "
                    f"(SELECT DISTINCT trade_date::DATE FROM incoming)")
        con.execute(f"INSERT INTO {relation.sql} {_SELECT} ORDER BY stock_id, trade_date")
        con.execute("COMMIT")
    finally:
        con.close()
    return _export(relation, warehouse, apply)


def scored_days(model: str, warehouse: Path | None = None) -> list[datetime.date]:
    """The days `scores.score_<model>` holds a score for, ascending ([] when there is no such
    table)."""
    return _distinct(model, "trade_date", warehouse)


def scored_runs(model: str, warehouse: Path | None = None) -> list[str]:
    """The runs whose scores `scores.score_<model>` holds, sorted ([] when there is none)."""
    return _distinct(model, "run_id", warehouse)


def _distinct(model: str, column: str, warehouse: Path | None) -> list:
    relation = score_table(model)
    con = connect(warehouse)
    try:
        if not columns(con, relation):
            return []
        rows = con.execute(f"SELECT DISTINCT {quote(column)} FROM {relation.sql} ORDER BY 1")
        return [row[0] for row in rows.fetchall()]
    finally:
        con.close()
