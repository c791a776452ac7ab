"""Rolling retraining: split boundaries, the purge (a poisoned future changes nothing), each
test year scored once, the seed ensemble, and the run folder."""

import collections
import datetime
import json

import numpy as np
import polars as pl
import pytest
import torch

from zoo.datasets.protocol import FakeDayBatches, business_days
from zoo.train.config import TrainConfig
from zoo.train.loop import validation_days
from zoo.train.rolling import ensemble, purged_label_end, rolling_splits, run_rolling
from zoo.train.trainers import load_checkpoint, make_trainer

from .conftest import tiny_fake

D = datetime.date
DATES = business_days(D(2012, 1, 1), D(2019, 12, 31))
INDEX = {day: i for i, day in enumerate(DATES)}


def label_end(day: D) -> D:
    """A 5-day label: it looks at prices up to T+1+5."""
    return DATES[min(INDEX[day] + 6, len(DATES) - 1)]


def test_splits_train_on_the_preceding_years_and_validate_on_the_last():
    splits = rolling_splits(DATES, first_test_year=2016, train_years=2, valid_years=1,
                            label_end=label_end)
    assert [s.test_years for s in splits] == [(2016,), (2017,), (2018,), (2019,)]
    for k, s in enumerate(splits):
        year = 2016 + k
        first = s.first_scored
        assert s.index == k
        assert list(s.test_days) == [d for d in DATES if d.year == year]
        # Validation: the year before, purged at its end: 6 days with labels reaching `first`.
        previous = [d for d in DATES if d.year == year - 1]
        assert list(s.valid_days) == previous[:-6]
        assert label_end(s.valid_days[-1]) < first <= label_end(previous[-6])
        # Training: the two years before that, purged against the first validation day.
        before = [d for d in DATES if year - 3 <= d.year <= year - 2]
        assert list(s.train_days) == before[:-6]
        assert max(label_end(d) for d in s.train_days) < s.valid_days[0]


def test_every_two_years_and_last_test_year():
    splits = rolling_splits(DATES, first_test_year=2014, train_years=1, every_years=2,
                            last_test_year=2018, label_end=label_end)
    assert [s.test_years for s in splits] == [(2014, 2015), (2016, 2017), (2018,)]
    assert splits[1].valid_days[0].year == 2015 and splits[1].train_days[0].year == 2014
    scored = [d for s in splits for d in s.test_days]
    assert scored == [d for d in DATES if 2014 <= d.year <= 2018]  # each day once, in order


def test_too_little_history_is_an_error():
    with pytest.raises(ValueError, match="no training day"):
        rolling_splits(DATES, first_test_year=2013, train_years=1, label_end=label_end)
    with pytest.raises(ValueError, match="no validation day"):
        rolling_splits(DATES, first_test_year=2012, train_years=1, label_end=label_end)


def test_the_purge_uses_the_longer_of_the_data_and_config_horizons():
    short = tiny_fake(horizon=1)
    purge = purged_label_end(short, horizon_days=5)
    day = short.dates[10]
    assert short.label_end(day) == short.dates[12]
    assert purge(day) == short.dates[16]
    assert purged_label_end(short, horizon_days=0)(day) == short.dates[12]


def test_ensemble_is_the_mean_of_the_seeds_standardised_scores():
    day = D(2020, 1, 2)
    a = pl.DataFrame({"stock_id": ["x", "y", "z"], "trade_date": [day] * 3,
                      "score": [1.0, 2.0, 6.0]})
    b = a.with_columns(pl.Series("score", [30.0, 10.0, 20.0]))
    out = ensemble([a, b])

    def z(v):
        v = np.asarray(v)
        return (v - v.mean()) / v.std()

    expected = (z([1.0, 2.0, 6.0]) + z([30.0, 10.0, 20.0])) / 2
    assert out["stock_id"].to_list() == ["x", "y", "z"]
    np.testing.assert_allclose(out["score"].to_numpy(), expected)

    # Each day is standardised alone: another day in the frames (here one of a larger
    # scale, later) changes nothing of this day's scores.
    later = D(2020, 1, 3)
    more = [pl.concat([f, f.with_columns(pl.lit(later).alias("trade_date"),
                                         pl.col("score") * 100 + 7)]) for f in (a, b)]
    both = ensemble(more)
    np.testing.assert_allclose(both.filter(pl.col("trade_date") == day)["score"].to_numpy(),
                               expected)
    np.testing.assert_allclose(both.filter(pl.col("trade_date") == later)["score"].to_numpy(),
                               expected)


ROLLING = ["model.hidden_channels=4", "model.head_channels=4", "max_epochs=1",
           "days_per_epoch=10", "lr=5e-3", "train_years=1", "valid_years=1"]


def rolling_fake(**overrides):
    return tiny_fake(start=D(2014, 1, 1), end=D(2016, 12, 31), n_stocks=16, **overrides)


def test_a_poisoned_future_changes_nothing(tmp_path):
    """Labels that look at prices on or after the first scored day are replaced by minus 1000
    times the truth: had any of them reached training or validation, the weights (and the
    chosen epoch) would differ. They are bit-identical."""
    cfg = TrainConfig.from_overrides([*ROLLING, "first_test_year=2016", "max_epochs=2"])
    clean = rolling_fake()
    first_scored = D(2016, 1, 1)
    poisoned = rolling_fake(poison_from=first_scored, poison="reverse")
    leaked = [d for d in clean.dates if d < first_scored and clean.label_end(d) >= first_scored]
    assert len(leaked) == 6  # the days the purge must drop

    runs = {}
    for name, data in (("clean", clean), ("poisoned", poisoned)):
        result = run_rolling(cfg, data, tmp_path / name, progress=False)
        assert len(result.splits) == 1
        runs[name] = torch.load(tmp_path / name / "checkpoints" / "split0_seed0.pt",
                                weights_only=False)
    split = result.splits[0]
    assert split.first_scored == first_scored
    used = [D.fromisoformat(d) for d in runs["poisoned"]["train_days"]
            + runs["poisoned"]["valid_days"]]
    assert used == list(split.train_days + split.valid_days)
    assert max(poisoned.label_end(d) for d in used) < first_scored
    assert not set(leaked) & set(used)
    for key, value in runs["clean"]["model"].items():
        assert torch.equal(value, runs["poisoned"]["model"][key]), key
    for clean_epoch, poisoned_epoch in zip(runs["clean"]["history"],
                                           runs["poisoned"]["history"], strict=True):
        assert clean_epoch["train_loss"] == poisoned_epoch["train_loss"]
        assert clean_epoch["valid_ic"] == poisoned_epoch["valid_ic"]

    # The test can fail: a fit that trains on the leaked days sees the poison.
    weights = {}
    for name, data in (("clean", clean), ("poisoned", poisoned)):
        trainer = make_trainer(cfg.replace(days_per_epoch=None), seed=0)
        trainer.fit(data, list(split.train_days[-10:]) + leaked, split.valid_days[-20:])
        weights[name] = trainer.model.state_dict()
    assert any(not torch.equal(value, weights["poisoned"][key])
               for key, value in weights["clean"].items())


def test_rolling_run_scores_each_test_year_once_with_the_seed_ensemble(tmp_path):
    cfg = TrainConfig.from_overrides([*ROLLING, "first_test_year=2016", "seeds=0,1"])
    data = tiny_fake(start=D(2014, 1, 1), end=D(2017, 12, 31), n_stocks=16)
    run_dir = tmp_path / "biagru" / "r1"
    result = run_rolling(cfg, data, run_dir, progress=False)

    assert {p.name for p in run_dir.iterdir()} == {"config.json", "metrics.json",
                                                  "checkpoints", "scores.parquet"}
    assert {p.name for p in (run_dir / "checkpoints").iterdir()} == {
        f"split{k}_seed{s}.pt" for k in (0, 1) for s in (0, 1)}
    assert TrainConfig.from_dict(json.loads((run_dir / "config.json").read_text())) == cfg

    scores = pl.read_parquet(run_dir / "scores.parquet")
    assert scores.columns == ["stock_id", "trade_date", "score", "run_id"]
    assert set(scores["run_id"]) == {"r1"}
    assert scores.select("stock_id", "trade_date").is_duplicated().sum() == 0
    scored_days = sorted(set(scores["trade_date"]))
    assert scored_days == [d for d in data.dates if d.year in (2016, 2017)]

    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert [s["test_years"] for s in metrics["splits"]] == [[2016], [2017]]
    for s, split in zip(metrics["splits"], result.splits, strict=True):
        assert s["train_days"] == len(split.train_days)
        assert s["test_days"] == s["test"]["days"] == len(split.test_days)
        assert [seed["seed"] for seed in s["seeds"]] == [0, 1]
        assert -1 <= s["test"]["rank_ic_mean"] <= 1
        for seed in s["seeds"]:  # the speed `zoo bench zoo` reports
            assert seed["train_samples_per_second"] > 0 and seed["seconds_per_epoch"] > 0
    assert metrics["test"]["days"] == len(scored_days) and metrics["rows"] == scores.height

    # The scores are the ensemble of the checkpoints' own predictions.
    for split in result.splits:
        per_seed = [load_checkpoint(run_dir / "checkpoints" / f"split{split.index}_seed{s}.pt")
                    .predict(data, split.test_days) for s in (0, 1)]
        expected = ensemble(per_seed)
        got = scores.filter(pl.col("trade_date").is_in(split.test_days)).drop("run_id")
        assert got.equals(expected)
        assert not per_seed[0]["score"].equals(per_seed[1]["score"])

    # Resuming a finished run loads the checkpoints instead of training, same scores.
    again = run_rolling(cfg, data, run_dir, progress=False, resume=True)
    assert again.scores.equals(result.scores)
    with pytest.raises(ValueError, match="another config"):
        run_rolling(cfg.replace(lr=1e-2), data, run_dir, progress=False, resume=True)


@pytest.mark.slow
def test_default_size_models_learn_out_of_sample(tmp_path):
    """At their default sizes on the default fake (40-day windows, 19 fields, 11 style
    factors), BiAGRU finds the planted price signal out of sample, and the two-stage model,
    whose XGBoost stage also sees fundamentals and style, finds more."""
    data = FakeDayBatches(start=D(2015, 1, 1), end=D(2017, 12, 31), n_stocks=100)
    results = {}
    for name in ("biagru", "biagru_xgb"):
        cfg = TrainConfig.from_overrides([f"model={name}", "first_test_year=2017",
                                          "train_years=1", "max_epochs=3",
                                          "days_per_epoch=80", "lr=2e-3"])
        results[name] = run_rolling(cfg, data, tmp_path / name, progress=False)
    biagru = results["biagru"].metrics["test"]["rank_ic_mean"]
    two_stage = results["biagru_xgb"].metrics["test"]["rank_ic_mean"]
    assert biagru > 0.3
    assert two_stage > biagru + 0.05


def test_test_blocks_run_past_the_last_label_when_score_dates_do():
    """Production scores the latest days before their labels exist: test days come from
    score_dates; training and validation only from the labelled dates."""
    labelled = [d for d in DATES if d < D(2019, 12, 1)]
    splits = rolling_splits(labelled, first_test_year=2018, train_years=1, label_end=label_end,
                            score_dates=DATES)
    assert splits[-1].test_days[-1] == DATES[-1]
    assert [d for d in DATES if d.year == 2019] == list(splits[-1].test_days)
    for s in splits:
        assert set(s.train_days) | set(s.valid_days) <= set(labelled)


def test_a_quiet_run_prints_one_line_per_epoch_and_per_split_with_the_time_left(tmp_path,
                                                                                capsys):
    cfg = TrainConfig.from_overrides([*ROLLING, "first_test_year=2016", "seeds=0"])
    data = tiny_fake(start=D(2014, 1, 1), end=D(2017, 12, 31), n_stocks=16)
    result = run_rolling(cfg, data, tmp_path / "run", progress=False)
    lines = capsys.readouterr().out.splitlines()
    epochs = [line for line in lines if " epoch " in line]
    ran = sum(s["epochs_run"] for split in result.metrics["splits"] for s in split["seeds"])
    assert len(epochs) == ran
    assert all("valid IC" in line and "left" in line for line in epochs)
    assert epochs[0].startswith("split 0 (2016) seed 0 epoch 1/")
    assert "fit 1/2" in epochs[0] and "fit 2/2" in epochs[-1]
    assert epochs[-1].endswith("0 s left")  # the last epoch of the last fit: nothing left
    assert sum(line.startswith("split ") and "test Rank IC" in line for line in lines) == 2


def test_the_test_block_is_built_once_after_every_seed_and_validation_is_subsampled(tmp_path):
    """Two seeds, two epochs each: each test day's batch is built once (scores of both seeds
    and the labels come from it), and validation builds only its subsample, once per epoch
    and seed."""
    from .test_loop import CountingBatches

    cfg = TrainConfig.from_overrides([*ROLLING, "first_test_year=2016", "last_test_year=2016",
                                      "seeds=0,1", "max_epochs=2", "patience=5"])
    data = CountingBatches(rolling_fake())
    result = run_rolling(cfg, data, tmp_path / "run", progress=False)
    (split,) = result.splits
    assert {data.calls[day] for day in split.test_days} == {1}
    # days_per_epoch=10 of a year's training days: the floor of 20 validation days, drawn
    # with each seed
    per_seed = [validation_days(split.valid_days, len(split.train_days), cfg, seed)
                for seed in (0, 1)]
    assert [len(days) for days in per_seed] == [20, 20] and per_seed[0] != per_seed[1]
    expected = collections.Counter(day for days in per_seed for day in days * 2)  # 2 epochs
    assert {day: data.calls[day] for day in split.valid_days if data.calls[day]} == expected
    seeds = result.metrics["splits"][0]["seeds"]
    assert [s["valid_days_scored"] for s in seeds] == [20, 20]
    # each seed's test IC is its own scores' (not the ensemble's)
    assert seeds[0]["test_rank_ic_mean"] != seeds[1]["test_rank_ic_mean"]
