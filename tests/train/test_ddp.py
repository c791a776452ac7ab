"""Training on several devices: two gloo processes on CPU train the weights one process trains
with the same seed (up to the order of float sums), each on its own share of every step's
days, and score the same."""

import inspect
import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.multiprocessing as mp
from scipy.stats import spearmanr

import zoo.models  # noqa: F401  (registers the models)
from zoo import registry
from zoo.registry import list_models, model_contract
from zoo.train import distributed
from zoo.train.config import TrainConfig
from zoo.train.loop import _step_slots
from zoo.train.trainers import make_trainer

from .conftest import tiny_fake

# Dropout on: each day's dropout draws depend on (seed, epoch, the day's place) alone, so they
# are the same in whichever process trains the day. 13 days in steps of 3 deal the processes
# 2 and 1 days per step (unequal shares, weighted) and a last step of one day, where the
# second process trains a stand-in with weight 0.
CONFIG = TrainConfig.from_overrides([
    "lr=5e-3", "max_epochs=2", "patience=5", "days_per_epoch=13", "days_per_step=3",
    "model.hidden_channels=8", "model.head_channels=8", "model.dropout=0.2", "device=cpu"])
TRAIN, VALID, TEST = slice(0, 40), slice(50, 62), slice(100, 106)


class Recording:
    """A dataset that notes the days whose batches were asked for."""

    def __init__(self, data):
        self.data, self.asked = data, []
        self.dates, self.score_dates, self.stock_ids = data.dates, data.score_dates, data.stock_ids

    def batch(self, day, device="cpu"):
        self.asked.append(day)
        return self.data.batch(day, device)

    def label_end(self, day):
        return self.data.label_end(day)


def train_one(seed: int, data=None):
    """One process: (trainer, the dataset that noted its days)."""
    data = data or Recording(tiny_fake())
    days = data.dates
    trainer = make_trainer(CONFIG, seed, "cpu")
    trainer.fit(data, days[TRAIN], days[VALID])
    return trainer, data


# Every torch model of the zoo, small, a short epoch in steps of 3.
SIZES = {"hidden_channels": 4, "head_channels": 4, "fund_hidden_channels": 4, "heads": 2,
         "num_factors": 4, "fund_features": 5, "style_features": 3}
TORCH_MODELS = [name for name in list_models() if not model_contract(name).tree_only]


def train_model(name: str, data) -> torch.Tensor:
    """`name` trained 7 days in steps of 3; its outputs on the first test day."""
    params = inspect.signature(registry._entry(name).factory).parameters
    config = TrainConfig.from_overrides([
        f"model={name}", "max_epochs=1", "days_per_epoch=7", "days_per_step=3", "device=cpu",
        *(f"model.{k}={v}" for k, v in SIZES.items() if k in params)])
    trainer = make_trainer(config, 0, "cpu")
    trainer.fit(data, data.dates[TRAIN], data.dates[VALID])
    with torch.inference_mode():
        return trainer.model.eval()(data.batch(data.dates[TEST][0]))


def _rank(rank: int, size: int, port: int, folder: str, seed: int) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank),
                      WORLD_SIZE=str(size), LOCAL_RANK=str(rank), LOCAL_WORLD_SIZE=str(size))
    torch.set_num_threads(1)
    current = distributed.init_from_env("cpu")
    try:
        trainer, data = train_one(seed)
        scores = trainer.predict(data.data, data.dates[TEST])
        outputs = {name: train_model(name, data.data) for name in TORCH_MODELS}
        torch.save({"world": (current.rank, current.size), "asked": data.asked,
                    "state": trainer.model.state_dict(), "history": trainer.result.history,
                    "scores": scores["score"].to_numpy(), "outputs": outputs},
                   f"{folder}/rank{rank}.pt")
    finally:
        distributed.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def two_processes(tmp_path_factory):
    folder = tmp_path_factory.mktemp("ddp")
    mp.spawn(_rank, args=(2, _free_port(), str(folder), 0), nprocs=2, join=True)
    return [torch.load(folder / f"rank{r}.pt", weights_only=False) for r in (0, 1)]


@pytest.fixture(scope="module")
def one_process():
    return train_one(0)


def test_two_processes_train_the_weights_of_one(two_processes, one_process):
    trainer, _ = one_process
    single = trainer.model.state_dict()
    for ranked in two_processes:
        assert ranked["state"].keys() == single.keys()
        for key, value in single.items():
            torch.testing.assert_close(ranked["state"][key], value, atol=1e-6, rtol=1e-5)
    # the epochs' training losses and validation ICs, summed over the processes, agree too
    for ranked in two_processes:
        for mine, theirs in zip(ranked["history"], trainer.result.history, strict=True):
            assert mine.train_loss == pytest.approx(theirs.train_loss, rel=1e-5)
            assert mine.valid_ic == pytest.approx(theirs.valid_ic, abs=1e-6)
            assert mine.train_samples == theirs.train_samples


def test_two_processes_score_as_one(two_processes, one_process):
    trainer, data = one_process
    single = trainer.predict(data.data, data.dates[TEST])["score"].to_numpy()
    ranked = two_processes[0]["scores"]
    assert ranked.shape == single.shape
    np.testing.assert_allclose(ranked, single, atol=1e-5)
    assert spearmanr(ranked, single).statistic > 0.9999


def test_each_process_trains_its_share_of_every_step(two_processes, one_process):
    _, data = one_process
    train = set(data.dates[TRAIN])
    # the one process's training days in its order, per epoch of 13
    order = [day for day in data.asked if day in train]
    assert len(order) == 2 * 13
    for rank, ranked in enumerate(two_processes):
        assert ranked["world"] == (rank, 2)
        asked = [day for day in ranked["asked"] if day in train]
        slots = _step_slots(13, 3, distributed.World(rank, 2))
        expected = [order[13 * epoch + slot.position] for epoch in (0, 1) for slot in slots]
        assert asked == expected
    first, second = ([d for d in r["asked"] if d in train] for r in two_processes)
    assert len(first) == 2 * 9 and len(second) == 2 * 5  # 4 days each epoch, and a stand-in
    for epoch in (0, 1):
        mine, theirs = first[9 * epoch:9 * epoch + 9], second[5 * epoch:5 * epoch + 5]
        assert set(mine) | set(theirs) == set(order[13 * epoch:13 * epoch + 13])
        assert set(mine) & set(theirs) == {order[13 * epoch + 12]}  # the stand-in
    # and the validation days were shared too: one in two each
    valid = data.dates[VALID]
    assert [d for d in two_processes[0]["asked"] if d in set(valid)] == valid[0::2] * 2
    assert [d for d in two_processes[1]["asked"] if d in set(valid)] == valid[1::2] * 2


@pytest.mark.parametrize("name", TORCH_MODELS)
def test_every_torch_model_trains_on_two_processes_as_on_one(name, two_processes):
    # outputs, not weights: a parameter without effect (the orthogonal head's bias, centred
    # away) has a gradient of rounding noise, which AdamW scales up to steps of lr
    single = train_model(name, tiny_fake())
    for ranked in two_processes:
        torch.testing.assert_close(ranked["outputs"][name], single, atol=1e-5, rtol=1e-4)


def test_another_seed_trains_other_weights(two_processes):
    other, _ = train_one(1)
    difference = max(float((value - two_processes[0]["state"][key]).abs().max())
                     for key, value in other.model.state_dict().items())
    assert difference > 1e-2


def test_steps_weigh_every_day_of_a_step_alike():
    # however a step's days divide among the processes, the weights of its days (averaged
    # over the processes, as DDP does) are 1 / days in the step, and each day is trained once
    for size in (1, 2, 3, 4):
        for days, per_step in ((13, 3), (7, 7), (5, 1), (9, 4)):
            weights: dict[int, float] = {}
            for rank in range(size):
                for slot in _step_slots(days, per_step, distributed.World(rank, size)):
                    if slot.weight:
                        assert slot.position not in weights
                        weights[slot.position] = slot.weight / size
            assert sorted(weights) == list(range(days))
            for start in range(0, days, per_step):
                step = range(start, min(start + per_step, days))
                assert sum(weights[p] for p in step) == pytest.approx(1.0)


def test_one_process_with_days_per_step_one_is_the_step_per_day_loop():
    # days_per_step=1 (the default) is the loop as it was: one step per day, weight 1
    slots = _step_slots(5, 1, distributed.World())
    assert [(s.position, s.weight, s.last) for s in slots] == [(p, 1.0, True) for p in range(5)]


# =========================================================================== the command line
ARGS = ["train", "biagru", "--fake", "--fake-stocks", "12", "--quiet",
        "--set", "max_epochs=1", "--set", "days_per_epoch=6", "--set", "days_per_step=2",
        "--set", "train_years=1", "--set", "first_test_year=2018",
        "--set", "model.hidden_channels=4", "--set", "model.head_channels=4"]


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("ZOO_HOME", str(tmp_path))
    return tmp_path


def test_devices_relaunches_itself_under_torchrun(home, monkeypatch):
    from click.testing import CliRunner

    from zoo.cli import main

    calls = []
    monkeypatch.setattr(subprocess, "run", lambda command, **kw: calls.append((command, kw))
                        or subprocess.CompletedProcess(command, 0))
    result = CliRunner().invoke(main, [*ARGS, "--device", "cpu", "--devices", "2"])
    assert result.exit_code == 0, result.output
    ((command, options),) = calls
    assert command[:8] == [sys.executable, "-m", "torch.distributed.run", "--standalone",
                           "--nproc-per-node", "2", "-m", "zoo.cli"]
    assert command[8:] == ["train", "biagru", *ARGS[6:], "--device", "cpu", "--fake",
                           "--fake-stocks", "12", "--quiet", "--devices", "2"]
    # the processes run this code, wherever the package is installed from
    root = str(Path(zoo.__file__).resolve().parents[1])
    assert options["env"]["PYTHONPATH"].split(os.pathsep)[0] == root
    assert not (home / "runs").exists()  # the launcher itself trains nothing

    # a failure of the processes is the command's failure
    monkeypatch.setattr(subprocess, "run",
                        lambda command, **kw: subprocess.CompletedProcess(command, 3))
    failed = CliRunner().invoke(main, [*ARGS, "--device", "cpu", "--devices", "2"])
    assert failed.exit_code != 0 and "exit status 3" in failed.output


@pytest.mark.parametrize("extra, message", [
    (["--set", "days_per_step=1", "--devices", "2"], "days_per_step=2"),
    (["--device", "cuda", "--devices", "2"], "torch sees no GPU"),
])
def test_devices_that_cannot_work_are_refused_before_launching(home, monkeypatch, extra,
                                                               message):
    from click.testing import CliRunner

    from zoo.cli import main

    if "cuda" in extra and torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    monkeypatch.setattr(subprocess, "run", lambda *a, **kw: pytest.fail("launched"))
    result = CliRunner().invoke(main, [*ARGS, *extra])
    assert result.exit_code == 2 and message in result.output, result.output


def test_trees_alone_cannot_be_shared():
    with pytest.raises(ValueError, match="nothing to share"):
        distributed.check_config(TrainConfig(model="xgb_window", days_per_step=2), 2)
    distributed.check_config(TrainConfig(model="xgb_window"), 1)  # one process: fine


@pytest.mark.slow
def test_zoo_train_on_two_processes_writes_one_run_scored_as_one_process(home):
    # the whole path: launcher, torchrun, gloo, the run folder named by rank 0, rank 0 alone
    # writing; 20-25 s on this loaded 2-core machine, most of it three interpreters starting
    # (slow: with it this file's tests take over a minute here)
    import json

    import polars as pl
    from click.testing import CliRunner

    from zoo.cli import main

    assert CliRunner().invoke(main, [*ARGS, "--device", "cpu"]).exit_code == 0
    result = CliRunner().invoke(main, [*ARGS, "--device", "cpu", "--devices", "2"])
    assert result.exit_code == 0, result.output
    runs = sorted((home / "runs" / "biagru").iterdir())
    assert len(runs) == 2
    metrics = [json.loads((run / "metrics.json").read_text()) for run in runs]
    assert [m["devices"] for m in metrics] == [1, 2]
    one, two = (pl.read_parquet(run / "scores.parquet") for run in runs)
    assert one.select("stock_id", "trade_date").equals(two.select("stock_id", "trade_date"))
    np.testing.assert_allclose(two["score"].to_numpy(), one["score"].to_numpy(), atol=1e-5)
    weights = [torch.load(run / "checkpoints" / "split0_seed0.pt", weights_only=False)["model"]
               for run in runs]
    for key, value in weights[0].items():
        torch.testing.assert_close(weights[1][key], value, atol=1e-6, rtol=1e-5)
