"""The training loop: it learns, it is deterministic for a seed, it resumes exactly, and the
uniform trainer handles every registered model (the two-stage one included)."""

import collections
import datetime
import math

import numpy as np
import polars as pl
import pytest
import torch
from scipy.stats import spearmanr

import zoo.models  # noqa: F401  (registers the models)
from zoo.datasets.protocol import business_days
from zoo.metrics import rank_ic_tensor as daily_rank_ic
from zoo.registry import create_model, list_models
from zoo.train.config import TrainConfig
from zoo.train.loop import (
    FitResult,
    evaluate,
    fit,
    predict,
    resolve_device,
    training_target,
    validation_days,
)
from zoo.train.trainers import (
    Trainer,
    TreeTrainer,
    TwoStageTrainer,
    load_checkpoint,
    make_trainer,
)

from .conftest import tiny_fake

TINY = ["model.hidden_channels=8", "model.head_channels=8", "model.dropout=0"]


def config(*overrides: str) -> TrainConfig:
    return TrainConfig.from_overrides(["lr=5e-3", "max_epochs=3", "patience=3", *TINY,
                                       *overrides])


def split(fake):
    return fake.dates[:40], fake.dates[50:70]


def state(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def same_state(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_daily_rank_ic_is_spearman_with_ties():
    rng = np.random.default_rng(0)
    score = rng.integers(0, 5, 50).astype(float)  # many ties
    label = score + rng.normal(size=50)
    mask = rng.random(50) > 0.2
    label[~mask] = np.nan  # masked rows may hold anything
    ic = daily_rank_ic(torch.tensor(score), torch.tensor(label), torch.tensor(mask))
    assert float(ic) == pytest.approx(spearmanr(score[mask], label[mask]).statistic)
    constant = daily_rank_ic(torch.ones(10), torch.arange(10.0), torch.ones(10, dtype=bool))
    assert math.isnan(float(constant))


def test_resolve_device():
    assert resolve_device("cpu") == torch.device("cpu")
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert resolve_device("auto").type == expected
    if not torch.cuda.is_available():
        with pytest.raises(RuntimeError, match="no GPU"):
            resolve_device("cuda")


def test_fit_learns_the_planted_signal(fake):
    train_days, valid_days = split(fake)
    torch.manual_seed(0)
    model = create_model("biagru", hidden_channels=8, head_channels=8, dropout=0.0)
    before = evaluate(model, fake, valid_days)
    result = fit(model, fake, valid_days, config(), seed=0, train_days=train_days)
    assert isinstance(result, FitResult)
    assert result.epochs_run == 3 and len(result.history) == 3
    assert result.best_valid_ic > 0.3 > before + 0.1
    # The model holds the best epoch's weights.
    assert evaluate(model, fake, valid_days) == pytest.approx(result.best_valid_ic, abs=1e-9)
    assert result.best_valid_ic == max(e.valid_ic for e in result.history)


def test_rank_target_is_the_normal_scores_of_the_days_ranks():
    label = torch.tensor([0.5, -3.0, 9.0, 0.1, float("nan"), 2.0])
    mask = torch.tensor([True, True, True, True, True, False])
    assert training_target(label, mask, "zscore") is label
    ranked = training_target(label, mask, "rank")
    # the outlier (9.0) weighs as the top rank, no more; unmasked stocks get 0, and a NaN
    # inside the mask stays NaN (the trainer's loss rejects it)
    expected = torch.distributions.Normal(0.0, 1.0).icdf(
        (torch.tensor([2.0, 0.0, 3.0, 1.0]) + 0.5) / 4)
    torch.testing.assert_close(ranked[:4], expected)
    assert torch.isnan(ranked[4]) and ranked[5] == 0
    # a monotone transform of the label changes nothing
    torch.testing.assert_close(training_target(label ** 3, mask, "rank"), ranked, equal_nan=True)


def test_fit_learns_with_the_rank_target(fake):
    train_days, valid_days = split(fake)
    torch.manual_seed(0)
    model = create_model("biagru", hidden_channels=8, head_channels=8, dropout=0.0)
    result = fit(model, fake, valid_days, config("target=rank"), seed=0,
                 train_days=train_days)
    assert result.best_valid_ic > 0.3


def test_early_stopping_keeps_the_best_epoch(fake):
    train_days, valid_days = split(fake)
    # With this (large) learning rate the validation IC peaks within a few epochs.
    cfg = config("lr=0.05", "max_epochs=8", "patience=1", "grad_clip=0")
    trainer = make_trainer(cfg, seed=0)
    result = trainer.fit(fake, train_days, valid_days)
    ics = [e.valid_ic for e in result.history]
    assert result.stopped_early and result.epochs_run < 8
    assert result.best_epoch == int(np.nanargmax(ics))
    assert result.epochs_run == result.best_epoch + 2  # patience 1: one worse epoch, then stop
    assert evaluate(trainer.model, fake, valid_days) == pytest.approx(max(ics), abs=1e-9)


def test_fit_is_deterministic_for_a_seed(fake):
    train_days, valid_days = split(fake)
    cfg = config("max_epochs=2", "days_per_epoch=15", "model.dropout=0.2")
    runs = []
    for seed in (0, 0, 1):
        trainer = make_trainer(cfg, seed)
        result = trainer.fit(fake, train_days, valid_days)
        runs.append((state(trainer.model), [e.valid_ic for e in result.history]))
    assert same_state(runs[0][0], runs[1][0]) and runs[0][1] == runs[1][1]
    assert not same_state(runs[0][0], runs[2][0])


class Interrupt(Exception):
    pass


def test_resume_continues_exactly(fake, tmp_path):
    train_days, valid_days = split(fake)
    cfg = config("max_epochs=4", "patience=10", "days_per_epoch=12", "model.dropout=0.3")
    straight = make_trainer(cfg, seed=5)
    result = straight.fit(fake, train_days, valid_days)

    path = tmp_path / "ckpt.pt"
    interrupted = make_trainer(cfg, seed=5)

    def stop_after_two(stats):
        if stats.epoch == 1:
            raise Interrupt

    with pytest.raises(Interrupt):
        interrupted.fit(fake, train_days, valid_days, checkpoint=path, on_epoch=stop_after_two)
    saved = torch.load(path, weights_only=False)
    assert saved["epoch"] == 2 and not saved["finished"]
    assert saved["config"] == cfg.to_dict() and saved["seed"] == 5

    resumed = make_trainer(cfg, seed=5)  # fresh weights: everything must come from the file
    epochs = []
    again = resumed.fit(fake, train_days, valid_days, checkpoint=path, resume=True,
                        on_epoch=lambda stats: epochs.append(stats.epoch))
    assert epochs == [2, 3]
    assert same_state(state(straight.model), state(resumed.model))
    assert [e.valid_ic for e in again.history] == [e.valid_ic for e in result.history]

    # A finished checkpoint is loaded, not retrained; another config is refused.
    loaded = make_trainer(cfg, seed=5)
    loaded.fit(fake, train_days, valid_days, checkpoint=path, resume=True,
               on_epoch=lambda stats: pytest.fail("retrained a finished checkpoint"))
    assert same_state(state(loaded.model), state(straight.model))
    with pytest.raises(ValueError, match="another config"):
        make_trainer(cfg.replace(lr=1e-4), seed=5).fit(fake, train_days, valid_days,
                                                        checkpoint=path, resume=True)


def test_checkpoint_stores_its_config_and_loads_back(fake, tmp_path):
    train_days, valid_days = split(fake)
    cfg = config("max_epochs=1")
    trainer = make_trainer(cfg, seed=0)
    trainer.fit(fake, train_days, valid_days, checkpoint=tmp_path / "m.pt")
    saved = torch.load(tmp_path / "m.pt", weights_only=False)
    assert saved["finished"] and saved["model_name"] == "biagru"
    assert TrainConfig.from_dict(saved["config"]) == cfg
    assert saved["model_config"]["hidden_channels"] == 8
    loaded = load_checkpoint(tmp_path / "m.pt")
    assert type(loaded) is Trainer and loaded.result.best_epoch == 0
    days = fake.dates[100:105]
    assert trainer.predict(fake, days).equals(loaded.predict(fake, days))


def test_predict_scores_the_stocks_with_a_price_window(fake):
    torch.manual_seed(0)
    model = create_model("biagru", hidden_channels=4, head_channels=4)
    days = fake.dates[:3]
    scores = predict(model, fake, days)
    assert scores.schema == pl.Schema({"stock_id": pl.String, "trade_date": pl.Date,
                                       "score": pl.Float64})
    for day in days:
        batch = fake.batch(day)
        expected = {fake.stock_ids[i] for i in batch["stock_index"][batch["price_mask"]]}
        got = scores.filter(pl.col("trade_date") == day)
        assert set(got["stock_id"]) == expected and got.height == len(expected)
    assert scores["score"].is_finite().all()


def test_a_nan_label_in_training_is_an_error():
    poisoned = tiny_fake(poison_from=tiny_fake().dates[30])
    with pytest.raises(FloatingPointError, match="not finite"):
        make_trainer(config("max_epochs=1"), 0).fit(poisoned, poisoned.dates[20:40],
                                                     poisoned.dates[:10])


SIZES = {
    "hidden_channels": 4, "head_channels": 4, "fund_hidden_channels": 4, "heads": 2,
    "num_factors": 4, "xgb_n_estimators": 20, "fund_features": 5, "style_features": 3,
}


@pytest.mark.parametrize("name", list_models())
def test_every_model_trains_and_scores(name, fake):
    import inspect

    from zoo import registry

    params = inspect.signature(registry._entry(name).factory).parameters
    overrides = [f"model.{k}={v}" for k, v in SIZES.items() if k in params]
    cfg = TrainConfig.from_overrides([f"model={name}", "max_epochs=1", "days_per_epoch=5",
                                      *overrides])
    trainer = make_trainer(cfg, seed=0)
    result = trainer.fit(fake, fake.dates[:10], fake.dates[20:25])
    assert result.epochs_run == 1 and math.isfinite(result.best_valid_ic)
    # 5 days of the fake universe (a tree model's one fit: all 10), less the absent stocks
    # and those without full inputs
    epoch = result.history[0]
    days = 10 if registry.model_contract(name).tree_only else 5
    assert 0.5 * days * fake.n_stocks <= epoch.train_samples <= days * fake.n_stocks
    assert 0 < epoch.train_seconds <= epoch.seconds
    scores = trainer.predict(fake, fake.dates[30:32])
    assert scores.height > 0 and scores["score"].is_finite().all()


def test_two_stage_model_scores_with_its_xgboost_stage(fake, tmp_path):
    cfg = TrainConfig.from_overrides([
        "model=biagru_xgb", "max_epochs=2", "lr=5e-3", "model.hidden_channels=8",
        "model.num_factors=4", "model.xgb_n_estimators=40", "model.fund_features=5",
        "model.style_features=3"])
    train_days, valid_days = split(fake)
    trainer = make_trainer(cfg, seed=1)
    assert isinstance(trainer, TwoStageTrainer)
    result = trainer.fit(fake, train_days, valid_days, checkpoint=tmp_path / "x.pt")
    # The second stage sees fundamentals and style, which carry planted signal the
    # price-only torch stage cannot: it must beat the torch stage on the validation days.
    assert result.extra["stage_valid_ic"] > result.extra["torch_valid_ic"] + 0.05
    assert (tmp_path / "x.xgb.json").exists()
    days = fake.dates[100:104]
    scores = trainer.predict(fake, days)
    torch_scores = predict(trainer.model, fake, days)
    assert scores.select("stock_id", "trade_date").equals(
        torch_scores.select("stock_id", "trade_date"))
    assert not np.allclose(scores["score"].to_numpy(), torch_scores["score"].to_numpy())
    loaded = load_checkpoint(tmp_path / "x.pt")
    assert isinstance(loaded, TwoStageTrainer)
    assert loaded.predict(fake, days).equals(scores)


def test_a_checkpoint_keeps_its_options_when_defaults_change(fake, tmp_path):
    """Loading rebuilds the model from every option it was built with, not from today's
    defaults; weights that fit no model of this version are refused with the reason."""
    train_days, valid_days = split(fake)
    cfg = config("max_epochs=1", "model.industry_neutral=false")
    trainer = make_trainer(cfg, seed=0)
    trainer.fit(fake, train_days, valid_days, checkpoint=tmp_path / "m.pt")
    saved = torch.load(tmp_path / "m.pt", weights_only=False)
    # as if trained before `industry_neutral` was a setting, when it was off
    saved["config"]["model_overrides"].pop("industry_neutral")
    torch.save(saved, tmp_path / "old.pt")
    days = fake.dates[100:105]
    assert load_checkpoint(tmp_path / "old.pt").predict(fake, days).equals(
        trainer.predict(fake, days))
    del saved["model_config"]["industry_neutral"]  # and before the option existed at all
    torch.save(saved, tmp_path / "older.pt")
    with pytest.raises(ValueError, match="older.pt: its weights do not fit biagru.*retrain"):
        load_checkpoint(tmp_path / "older.pt")


def test_tree_model_learns_deterministically_and_loads_back(fake, tmp_path):
    cfg = TrainConfig.from_overrides(["model=xgb_window", "model.style_features=3",
                                      "model.xgb_n_estimators=60"])
    train_days, valid_days = split(fake)
    trainer = make_trainer(cfg, seed=0)
    assert isinstance(trainer, TreeTrainer)
    epochs = []
    result = trainer.fit(fake, train_days, valid_days, checkpoint=tmp_path / "t.pt",
                         on_epoch=epochs.append)
    # the fake's planted signal (minus the last close ratio, plus the first style factor) is
    # in the trees' input
    assert result.best_valid_ic > 0.3
    assert result.history == epochs and len(epochs) == 1 and result.epochs_run == 1
    assert epochs[0].cpu_seconds > 0 and math.isfinite(epochs[0].train_loss)
    assert result.valid_days_scored == len(valid_days)
    assert (tmp_path / "t.xgb.json").is_file()
    days = fake.dates[100:104]
    scores = trainer.predict(fake, days)
    assert scores["score"].is_finite().all()

    again, other = make_trainer(cfg, seed=0), make_trainer(cfg, seed=1)
    again.fit(fake, train_days, valid_days)
    other.fit(fake, train_days, valid_days)
    assert again.predict(fake, days).equals(scores)
    assert not other.predict(fake, days)["score"].equals(scores["score"])

    loaded = load_checkpoint(tmp_path / "t.pt")
    assert isinstance(loaded, TreeTrainer)
    assert loaded.predict(fake, days).equals(scores)
    assert loaded.result.best_valid_ic == result.best_valid_ic
    resumed = make_trainer(cfg, seed=0)
    resumed.fit(fake, train_days, valid_days, checkpoint=tmp_path / "t.pt", resume=True,
                on_epoch=lambda stats: pytest.fail("refitted a finished tree model"))
    assert resumed.predict(fake, days).equals(scores)
    with pytest.raises(ValueError, match="other days"):
        make_trainer(cfg, seed=0).fit(fake, train_days[1:], valid_days,
                                      checkpoint=tmp_path / "t.pt", resume=True)


class CountingBatches:
    """A dataset that counts the batches built of each day."""

    def __init__(self, data):
        self.data = data
        self.dates, self.score_dates, self.stock_ids = data.dates, data.score_dates, data.stock_ids
        self.calls = collections.Counter()

    def batch(self, day, device="cpu"):
        self.calls[day] += 1
        return self.data.batch(day, device)

    def label_end(self, day):
        return self.data.label_end(day)


def test_validation_days_are_a_like_share_spread_over_the_period_and_drawn_with_the_seed():
    days = business_days(datetime.date(2019, 1, 1), datetime.date(2019, 12, 31))  # 261
    assert validation_days(days, 500, TrainConfig(), seed=0) == days  # every training day
    share = TrainConfig(days_per_epoch=100)
    picked = validation_days(days, 500, share, seed=0)
    assert len(picked) == math.ceil(261 * 100 / 500) == 53
    positions = [days.index(day) for day in picked]
    assert positions == sorted(set(positions))
    spacing = 261 / 53
    assert min(np.diff(positions)) >= math.floor(spacing)  # no adjacent days
    assert positions[0] < spacing and positions[-1] >= 261 - spacing  # the whole period
    assert validation_days(days, 500, share, seed=0) == picked
    assert validation_days(days, 500, share, seed=1) != picked
    assert len(validation_days(days, 500, TrainConfig(days_per_epoch=5), seed=0)) == 20
    assert validation_days(days, 500, TrainConfig(days_per_epoch=600), seed=0) == days
    explicit = TrainConfig(valid_days_per_epoch=30)  # whatever days_per_epoch is
    assert len(validation_days(days, 500, explicit, seed=0)) == 30
    assert validation_days(days, 500, TrainConfig(valid_days_per_epoch=400), seed=0) == days
    with pytest.raises(ValueError, match="valid_days_per_epoch"):
        TrainConfig(valid_days_per_epoch=0)


def test_every_epoch_scores_the_same_validation_subsample(fake):
    train_days, valid_days = split(fake)
    data = CountingBatches(fake)
    cfg = config("max_epochs=3", "patience=5", "days_per_epoch=8", "valid_days_per_epoch=6")
    trainer = make_trainer(cfg, seed=2)
    result = trainer.fit(data, train_days, valid_days)
    scored = validation_days(valid_days, len(train_days), cfg, seed=2)
    assert result.valid_days_scored == len(scored) == 6 and result.valid_days == 20
    # each of the 6 days once per epoch, no other validation day ever
    assert {day: data.calls[day] for day in valid_days if data.calls[day]} == {
        day: 3 for day in scored}
    assert evaluate(trainer.model, fake, scored) == pytest.approx(result.best_valid_ic,
                                                                  abs=1e-9)
