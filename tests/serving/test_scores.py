"""Scores written back are a warehouse table and a Feast view retrievable point in time."""

from __future__ import annotations

import shutil

import duckdb
import pandas as pd
import polars as pl
import pytest


@pytest.fixture()
def home(feast_home, tmp_path, monkeypatch):
    """A writable copy of the exported, applied tiny market."""
    shutil.copy(feast_home / "warehouse.duckdb", tmp_path / "warehouse.duckdb")
    shutil.copytree(feast_home / "offline", tmp_path / "offline")
    monkeypatch.setenv("ZOO_HOME", str(tmp_path))
    return tmp_path


def _scores(days: list[str], stocks: list[str], run_id: str) -> pl.DataFrame:
    rows = [(s, pd.Timestamp(d).date(), float(i * 10 + j), run_id)
            for i, d in enumerate(days) for j, s in enumerate(stocks)]
    return pl.DataFrame(rows, schema=["stock_id", "trade_date", "score", "run_id"], orient="row")


def test_written_scores_are_served_point_in_time(home):
    from zoo.serving.feature_store import store
    from zoo.serving.scores import write_back

    scores = _scores(["2020-06-29", "2020-06-30"], ["000001.SZ", "000002.SZ"], "run-1")
    written = write_back("toy", scores)
    assert written.view == "score_toy" and written.rows == 4
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        assert con.execute("SELECT COUNT(*) FROM scores.score_toy").fetchone()[0] == 4
    entities = pd.DataFrame({
        "stock_id": ["000001.SZ", "000001.SZ", "000002.SZ"],
        "event_timestamp": pd.to_datetime(["2020-06-30 14:59", "2020-06-30 15:00",
                                           "2020-06-30 15:00"]).tz_localize("Asia/Shanghai"),
    })
    got = store().get_historical_features(
        entity_df=entities, features=["score_toy:score", "score_toy:run_id"]).to_df()
    assert got["score"].tolist() == [0.0, 10.0, 11.0]  # before the close: yesterday's score
    assert set(got["run_id"]) == {"run-1"}


def test_a_new_run_replaces_the_scores(home):
    from zoo.serving.scores import write_back

    write_back("toy", _scores(["2020-06-30"], ["000001.SZ"], "run-1"), apply=False)
    write_back("toy", _scores(["2020-06-30"], ["000002.SZ"], "run-2"), apply=False)
    exported = pd.read_parquet(home / "offline" / "score_toy")
    assert exported["stock_id"].tolist() == ["000002.SZ"]
    assert exported["run_id"].tolist() == ["run-2"]


def test_duplicate_scores_are_refused(home):
    from zoo.serving.scores import write_back

    twice = pl.concat([_scores(["2020-06-30"], ["000001.SZ"], "r")] * 2)
    with pytest.raises(ValueError, match="more than one score"):
        write_back("toy", twice, apply=False)
    assert not (home / "offline" / "score_toy").exists()


def test_appended_scores_replace_only_their_days(home):
    from zoo.serving.scores import append_scores, scored_days, scored_runs

    assert scored_days("toy") == [] and scored_runs("toy") == []
    append_scores("toy", _scores(["2020-06-29", "2020-06-30"], ["000001.SZ", "000002.SZ"],
                                 "run-1"), apply=False)  # no table yet: made
    written = append_scores("toy", _scores(["2020-06-30", "2020-07-01"], ["000003.SZ"],
                                           "run-2"), apply=False)
    exported = pd.read_parquet(home / "offline" / "score_toy")  # monthly files
    assert written.rows == len(exported) == 4
    rows = set(zip(exported["trade_date"].astype(str), exported["stock_id"],
                   exported["run_id"], strict=True))
    assert rows == {("2020-06-29", "000001.SZ", "run-1"), ("2020-06-29", "000002.SZ", "run-1"),
                    ("2020-06-30", "000003.SZ", "run-2"), ("2020-07-01", "000003.SZ", "run-2")}
    assert [str(d) for d in scored_days("toy")] == ["2020-06-29", "2020-06-30", "2020-07-01"]
    assert scored_runs("toy") == ["run-1", "run-2"]
