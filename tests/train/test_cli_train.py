"""`zoo list`, `zoo train NAME --fake` and `zoo score NAME` end to end through click."""

import json

import polars as pl
import pytest
from click.testing import CliRunner

from zoo.cli import main

TRAIN = ["train", "biagru", "--fake", "--fake-stocks", "12", "--quiet",
         "--set", "max_epochs=1", "--set", "days_per_epoch=5", "--set", "train_years=1",
         "--set", "first_test_year=2018", "--set", "model.hidden_channels=4",
         "--set", "model.head_channels=4"]


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("ZOO_HOME", str(tmp_path))
    return tmp_path


def test_help_lists_the_model_commands():
    result = CliRunner().invoke(main, ["--help"])
    assert result.exit_code == 0
    for command in ("list", "train", "score"):
        assert command in result.output


def test_list_shows_the_registered_models():
    result = CliRunner().invoke(main, ["list"])
    assert result.exit_code == 0, result.output
    for name in ("biagru", "fund_gru_mlp", "biagru_xgb"):
        assert name in result.output
    only = CliRunner().invoke(main, ["list", "fund*"])
    assert only.exit_code == 0 and "fund_gru_mlp" in only.output
    assert "biagru" not in only.output
    assert CliRunner().invoke(main, ["list", "nothing*"]).exit_code != 0


def test_train_fake_writes_the_run_folder_and_score_finds_it(home):
    result = CliRunner().invoke(main, TRAIN)
    assert result.exit_code == 0, result.output
    (run_dir,) = (home / "runs" / "biagru").iterdir()
    assert {p.name for p in run_dir.iterdir()} == {"config.json", "metrics.json",
                                                  "checkpoints", "scores.parquet"}
    assert (run_dir / "checkpoints" / "split0_seed0.pt").is_file()
    config = json.loads((run_dir / "config.json").read_text())
    assert config["model"] == "biagru" and config["max_epochs"] == 1
    assert config["model_overrides"] == {"hidden_channels": 4, "head_channels": 4}
    scores = pl.read_parquet(run_dir / "scores.parquet")
    assert scores["trade_date"].dt.year().unique().to_list() == [2018]
    assert set(scores["run_id"]) == {run_dir.name}
    assert str(run_dir / "scores.parquet") in result.output

    score = CliRunner().invoke(main, ["score", "biagru", "--no-write"])
    assert score.exit_code == 0, score.output
    assert str(run_dir / "scores.parquet") in score.output and "Rank IC" in score.output
    by_id = CliRunner().invoke(main, ["score", "biagru", "--run", run_dir.name, "--no-write"])
    assert by_id.output == score.output
    missing = CliRunner().invoke(main, ["score", "biagru", "--run", "nope"])
    assert missing.exit_code != 0 and "nope" in missing.output

    # Resuming the finished run loads its checkpoints: same scores, no new run folder.
    resumed = CliRunner().invoke(main, [*TRAIN, "--resume", run_dir.name])
    assert resumed.exit_code == 0, resumed.output
    assert pl.read_parquet(run_dir / "scores.parquet").equals(scores)
    assert len(list((home / "runs" / "biagru").iterdir())) == 1
    other = CliRunner().invoke(main, [*TRAIN, "--set", "lr=0.5", "--resume", run_dir.name])
    assert other.exit_code != 0 and "another config" in other.output


def test_train_rejects_unknown_keys_and_model_options(home):
    result = CliRunner().invoke(main, ["train", "biagru", "--fake", "--set", "lrr=0.1"])
    assert result.exit_code != 0 and "'lr'" in result.output
    result = CliRunner().invoke(main, ["train", "biagru", "--fake",
                                       "--set", "model.hiden_channels=4"])
    assert result.exit_code != 0 and "hidden_channels" in result.output
    result = CliRunner().invoke(main, ["train", "biagruu", "--fake"])
    assert result.exit_code != 0 and "did you mean" in result.output
    assert not (home / "runs").exists()


def test_score_without_a_run_is_a_clear_error(home):
    result = CliRunner().invoke(main, ["score", "biagru"])
    assert result.exit_code != 0 and "zoo train biagru" in result.output


def test_train_without_exported_features_says_how_to_get_them(home):
    # $ZOO_HOME is empty: no Feast dataset can be built (or its module does not exist yet).
    result = CliRunner().invoke(main, ["train", "biagru"])
    assert result.exit_code != 0 and "--fake" in result.output
    assert not list((home / "runs" / "biagru").glob("*/scores.parquet"))


def test_the_peers_are_listed_and_a_tree_model_trains_through_the_cli(home):
    listed = CliRunner().invoke(main, ["list"])
    for name in ("gats", "alstm", "xgb_window"):
        assert name in listed.output
    result = CliRunner().invoke(main, [
        "train", "xgb_window", "--fake", "--fake-stocks", "12", "--quiet",
        "--set", "train_years=1", "--set", "first_test_year=2018",
        "--set", "model.xgb_n_estimators=20"])
    assert result.exit_code == 0, result.output
    (run_dir,) = (home / "runs" / "xgb_window").iterdir()
    assert (run_dir / "checkpoints" / "split0_seed0.xgb.json").is_file()
    metrics = json.loads((run_dir / "metrics.json").read_text())
    (fit,) = metrics["splits"][0]["seeds"]
    assert fit["epochs_run"] == 1 and fit["cpu_seconds_per_epoch"] > 0
    assert pl.read_parquet(run_dir / "scores.parquet")["score"].is_finite().all()
