"""Torch's CPU threads: one per training process unless asked otherwise (a second thread
waits for the first at every operation, and on shared cores that wait is many times the
work: `zoo bench training`)."""

from __future__ import annotations

import json

import pytest
import torch

from zoo.train.config import TrainConfig
from zoo.train.loop import set_threads

from .conftest import tiny_fake


@pytest.fixture
def restore_threads():
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


@pytest.mark.parametrize(("setting", "threads", "expected"), [
    (None, None, 1), ("2", None, 2), ("2", 1, 1), (None, 3, 3), ("4,2", None, 1),
    ("zero", None, 1), ("0", None, 1),
])
def test_one_thread_unless_the_config_or_omp_num_threads_says(monkeypatch, restore_threads,
                                                              setting, threads, expected):
    if setting is None:
        monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    else:
        monkeypatch.setenv("OMP_NUM_THREADS", setting)
    assert set_threads(threads) == expected
    assert torch.get_num_threads() == expected


def test_threads_are_a_config_key_of_at_least_one():
    assert TrainConfig().threads is None
    assert TrainConfig.from_overrides(["threads=2"]).threads == 2
    with pytest.raises(ValueError, match="threads must be at least 1"):
        TrainConfig.from_overrides(["threads=0"])
    with pytest.raises(ValueError, match="at least 1"):
        set_threads(0)


def test_a_run_records_its_threads_and_resumes_on_other_threads(tmp_path, monkeypatch,
                                                                 restore_threads):
    import datetime

    from zoo.train.rolling import run_rolling

    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    config = TrainConfig.from_overrides([
        "model=biagru", "model.hidden_channels=4", "max_epochs=1", "patience=1",
        "first_test_year=2016", "last_test_year=2016", "train_years=1", "valid_years=1",
        "days_per_epoch=5", "device=cpu"])
    data = tiny_fake(start=datetime.date(2014, 1, 1), end=datetime.date(2016, 3, 31),
                     n_stocks=12)
    torch.set_num_threads(2)
    run_rolling(config, data, tmp_path / "run", progress=False)
    assert torch.get_num_threads() == 1
    assert json.loads((tmp_path / "run" / "metrics.json").read_text())["threads"] == 1
    again = run_rolling(config.replace(threads=2), data, tmp_path / "run", progress=False,
                        resume=True)
    assert torch.get_num_threads() == 2 and again.scores.height > 0
