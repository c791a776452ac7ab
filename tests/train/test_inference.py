"""Scoring new days with a trained run (zoo.train.inference, `zoo score NAME --through DATE`):
a day scored later equals the day scored in training, a day after the last test block goes to
the latest window, days without labels are scored, scored days are skipped unless re-scored,
and the scores are appended to the warehouse table and the Feast view."""

from __future__ import annotations

import datetime
import shutil

import duckdb
import numpy as np
import pandas as pd
import polars as pl
import pytest
from click.testing import CliRunner

import zoo.models  # noqa: F401  (registers the models)
from zoo.cli import main
from zoo.datasets.protocol import FakeDayBatches
from zoo.registry import list_models, model_contract
from zoo.train.config import TrainConfig
from zoo.train.inference import run_windows, score_days, score_new_days
from zoo.train.rolling import ensemble, run_rolling
from zoo.train.runs import load_run, runs_dir
from zoo.train.trainers import load_checkpoint, score_block

D = datetime.date
TOLERANCE = 1e-6
TINY = ["max_epochs=1", "days_per_epoch=10", "lr=5e-3", "train_years=1", "valid_years=1"]


def tiny_options(name: str) -> list[str]:
    """Small factory options for any registered model (its kind says which apply)."""
    contract = model_contract(name)
    if contract.tree_only:
        return ["model.xgb_n_estimators=10"]
    options = ["model.hidden_channels=4"]
    if contract.two_stage:
        options += ["model.num_factors=4", "model.xgb_n_estimators=10"]
    return options


def fake(end: D, **overrides) -> FakeDayBatches:
    """Fake cross-sections from 2014 to `end`; a day's features do not depend on `end`."""
    settings = dict(start=D(2014, 1, 1), end=end, n_stocks=16, sequence_days=8, quarters=4,
                    seed=3)
    return FakeDayBatches(**{**settings, **overrides})


def max_gap(expected: pl.DataFrame, got: pl.DataFrame) -> float:
    """The largest |difference| of two score frames, which must hold the same rows."""
    keys = ["stock_id", "trade_date"]
    assert expected.select(keys).sort(keys).equals(got.select(keys).sort(keys))
    joined = expected.join(got, on=keys, suffix="_got")
    return float((joined["score"] - joined["score_got"]).abs().max())


@pytest.fixture
def zoo_home(tmp_path, monkeypatch):
    monkeypatch.setenv("ZOO_HOME", str(tmp_path))
    return tmp_path


# ------------------------------------------------------------------ the model side, fake days
def test_days_scored_later_equal_training_and_new_days_go_to_the_latest_window(zoo_home):
    """Two windows (2016, 2017) of two seeds: any day scored alone, or a few days together,
    gets the score training gave it in its block (its window's seeds, combined by `ensemble`),
    and a day after the last block is scored by the latest window."""
    cfg = TrainConfig.from_overrides(["model=biagru", *tiny_options("biagru"), *TINY,
                                      "first_test_year=2016", "seeds=0,1"])
    data = fake(D(2017, 12, 31))
    trained = run_rolling(cfg, data, runs_dir("biagru") / "r1", progress=False).scores
    run = load_run("biagru", "r1")
    assert [w.first_scored for w in run_windows(run)] == [D(2016, 1, 1), D(2017, 1, 2)]

    for days in ([D(2016, 3, 1)], [D(2016, 12, 30), D(2017, 1, 2)], [D(2017, 12, 29)]):
        got, used = score_days(run, data, days, device="cpu")
        assert max_gap(trained.filter(pl.col("trade_date").is_in(days)), got) <= TOLERANCE
        assert [w.index for w in used] == sorted({0 if d.year == 2016 else 1 for d in days})
        assert set(got["run_id"]) == {"r1"}

    later = fake(D(2018, 2, 28))  # exported since: the same days, and two months more
    new_days = [d for d in later.dates if d.year == 2018]
    got, used = score_days(run, later, new_days, device="cpu")
    assert [w.index for w in used] == [1]
    latest = [load_checkpoint(path, "cpu").predict(later, new_days)
              for path in used[0].checkpoints]
    assert max_gap(ensemble(latest), got) <= TOLERANCE
    with pytest.raises(ValueError, match="precedes the first day"):
        score_days(run, data, [D(2015, 12, 31)])


@pytest.mark.parametrize("name", list_models())
def test_every_model_scores_a_day_alone_as_training_scored_it(zoo_home, name):
    """Torch, graph, two-stage and tree models: the checkpoints (and trees) loaded back score
    the last day of the test block alone exactly as the block's pass did."""
    cfg = TrainConfig.from_overrides([f"model={name}", *tiny_options(name), *TINY,
                                      "first_test_year=2016", "last_test_year=2016"])
    data = fake(D(2016, 12, 31), fund_features=19)
    trained = run_rolling(cfg, data, runs_dir(name) / "r1", progress=False).scores
    last = [data.dates[-1]]
    got, _ = score_days(load_run(name, "r1"), data, last, device="cpu")
    assert got.height > 0
    assert max_gap(trained.filter(pl.col("trade_date").is_in(last)), got) <= TOLERANCE


# ------------------------------------------------------------ through Feast, the tiny market
@pytest.fixture(scope="module")
def gat_runs(tmp_path_factory):
    """A biagru_gat run of two seeds (one window, 2016) trained on fake cross-sections shaped
    like the feature store's (40-day windows, 12 quarters of 19 fields, the style slots), so
    its checkpoints score the tiny market's days (2019-2020, all after its window's first)."""
    root = tmp_path_factory.mktemp("gat_runs")
    cfg = TrainConfig.from_overrides(["model=biagru_gat", *tiny_options("biagru_gat"), *TINY,
                                      "first_test_year=2016", "last_test_year=2016",
                                      "seeds=0,1"])
    data = FakeDayBatches(start=D(2014, 1, 1), end=D(2016, 12, 31), n_stocks=16, seed=3)
    with pytest.MonkeyPatch.context() as env:
        env.setenv("ZOO_HOME", str(root))
        run_rolling(cfg, data, runs_dir("biagru_gat") / "r1", progress=False)
    return root / "runs"


@pytest.fixture
def home(feast_home, tmp_path, monkeypatch):
    """A writable copy of the exported tiny market, applied (see tests/serving/test_scores)."""
    from zoo.serving import feature_store

    shutil.copy(feast_home / "warehouse.duckdb", tmp_path / "warehouse.duckdb")
    shutil.copytree(feast_home / "offline", tmp_path / "offline")
    monkeypatch.setenv("ZOO_HOME", str(tmp_path))
    feature_store.apply()
    return tmp_path


def _table(home, model: str) -> pl.DataFrame:
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        return pl.from_arrow(con.execute(f"SELECT * FROM scores.score_{model} "
                                         "ORDER BY trade_date, stock_id").arrow())


def _unlabelled_days(home) -> list[D]:
    """Days of the tiny market with universe stocks and not one label (its last ones)."""
    from zoo.datasets.day_batches import universe_days

    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        rows = con.execute("SELECT DISTINCT trade_date FROM labels.stock_fwd_return_daily "
                           "WHERE fwd_excess_vwap_5d IS NOT NULL").fetchall()
    labelled = {row[0] for row in rows}
    return [d for d in universe_days(D(2018, 12, 31), D(2020, 12, 31)) if d not in labelled]


def test_new_days_without_labels_are_scored_as_training_would_and_appended(home, gat_runs):
    """The crux: the latest days have features and no label; they are scored, with the
    dataset code of training (graph and industries included), built over a short span, and
    their scores equal those of a dataset over the whole span, as training builds it."""
    from zoo.datasets.day_batches import build_day_batches
    from zoo.serving.feature_store import store

    shutil.copytree(gat_runs, home / "runs")
    run = load_run("biagru_gat", "r1")

    first = score_new_days("biagru_gat", D(2020, 11, 30), apply=False, device="cpu")
    assert first.run_rows_written == run.scores().height  # no table yet: the run's scores first
    assert first.days[0].year == 2019 and first.last == D(2020, 11, 30) and first.rows > 0
    assert first.checkpoints == ("checkpoints/split0_seed0.pt", "checkpoints/split0_seed1.pt")
    before = _table(home, "biagru_gat")

    second = score_new_days("biagru_gat", D(2020, 12, 31), device="cpu")  # applies Feast
    assert second.run_rows_written == 0 and second.other_runs == ()
    assert second.first == D(2020, 12, 1)
    assert second.skipped == tuple(sorted({d for d in before["trade_date"] if d.year >= 2019}))
    unlabelled = _unlabelled_days(home)
    assert len(unlabelled) >= 15 and set(unlabelled) <= set(second.days)
    after = _table(home, "biagru_gat")
    assert after.filter(pl.col("trade_date") <= D(2020, 11, 30)).equals(before)
    december = after.filter(pl.col("trade_date") >= D(2020, 12, 1))
    assert december.height == second.rows
    assert set(december["trade_date"]) == set(second.days)  # every unlabelled day too
    assert set(after["run_id"]) == {"r1"}
    assert "scored 23 days 2020-12-01..2020-12-31" in second.describe()

    # What training would have scored: its dataset over years, the window's seeds, ensemble.
    whole = build_day_batches(model_contract("biagru_gat"), D(2018, 1, 1), D(2020, 12, 31))
    days = [d for d in whole.score_dates if d >= D(2020, 11, 20) or d.month == 6]
    trainers = [load_checkpoint(path, "cpu") for path in run_windows(run)[0].checkpoints]
    expected = ensemble(score_block(trainers, whole, days)[0])
    got = after.filter(pl.col("trade_date").is_in(days)).drop("run_id")
    assert max_gap(expected, got) <= TOLERANCE
    assert set(unlabelled) <= set(expected["trade_date"])

    # The Feast view serves the new days point in time.
    stock = december.filter(pl.col("trade_date") == D(2020, 12, 31))["stock_id"][0]
    entities = pd.DataFrame({"stock_id": [stock], "event_timestamp": pd.to_datetime(
        ["2020-12-31 15:00"]).tz_localize("Asia/Shanghai")})
    served = store().get_historical_features(entity_df=entities,
                                             features=["score_biagru_gat:score"]).to_df()
    want = december.filter((pl.col("trade_date") == D(2020, 12, 31))
                           & (pl.col("stock_id") == stock))["score"][0]
    np.testing.assert_allclose(served["score"].to_numpy(), [want])


TRAIN = ["train", "biagru", "--fake", "--fake-stocks", "12", "--quiet",
         "--set", "max_epochs=1", "--set", "days_per_epoch=5", "--set", "train_years=1",
         "--set", "first_test_year=2018", "--set", "model.hidden_channels=4",
         "--set", "model.head_channels=4"]


def test_score_through_skips_scored_days_and_rescores_on_request(home):
    """`zoo score NAME --through DATE` end to end, with a run trained by `zoo train --fake`
    (shaped like the feature store's days): new days appended, then nothing new (exit 0),
    then --rescore; the scored days' rows are left alone until then."""
    trained = CliRunner().invoke(main, TRAIN)
    assert trained.exit_code == 0, trained.output
    (run_dir,) = (home / "runs" / "biagru").iterdir()

    first = CliRunner().invoke(main, ["score", "biagru", "--through", "2020-12-15"])
    assert first.exit_code == 0, first.output
    assert "did not exist: wrote run" in first.output
    assert "2019-01-02..2020-12-15" in first.output
    assert "checkpoint checkpoints/split0_seed0.pt" in first.output
    table = _table(home, "biagru")
    assert table["trade_date"].max() == D(2020, 12, 15)
    assert set(table["run_id"]) == {run_dir.name}

    second = CliRunner().invoke(main, ["score", "biagru", "--through", "20201231"])
    assert second.exit_code == 0, second.output
    assert "2020-12-16..2020-12-31" in second.output
    assert "already scored" in second.output and "..2020-12-15)" in second.output
    assert _table(home, "biagru").filter(pl.col("trade_date") <= D(2020, 12, 15)).equals(table)

    again = CliRunner().invoke(main, ["score", "biagru", "--through", "2020-12-31"])
    assert again.exit_code == 0, again.output
    assert "no new day with features after 2020-12-31" in again.output
    assert "--rescore" in again.output
    unchanged = _table(home, "biagru")

    # Re-scored: every day after the run's own scores again, the same scores (same models).
    rescored = CliRunner().invoke(main, ["score", "biagru", "--through", "2020-12-31",
                                         "--rescore", "--run", run_dir.name])
    assert rescored.exit_code == 0, rescored.output
    assert "2019-01-02..2020-12-31" in rescored.output and "already scored" not in rescored.output
    after = _table(home, "biagru")
    assert max_gap(unchanged, after) <= TOLERANCE

    # A newer run scores the next days; the table says whose scores it holds besides.
    assert CliRunner().invoke(main, TRAIN).exit_code == 0
    newer = CliRunner().invoke(main, ["score", "biagru", "--through", "2020-12-31"])
    assert newer.exit_code == 0, newer.output
    assert f"also holds scores of run {run_dir.name}" in newer.output

    wrong = CliRunner().invoke(main, ["score", "biagru", "--rescore"])
    assert wrong.exit_code != 0 and "--through" in wrong.output
    wrong = CliRunner().invoke(main, ["score", "biagru", "--through", "2020-12-31",
                                      "--no-write"])
    assert wrong.exit_code != 0
    wrong = CliRunner().invoke(main, ["score", "biagru", "--through", "2020-13-01"])
    assert wrong.exit_code != 0 and "2020-13-01" in wrong.output
