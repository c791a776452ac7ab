"""`zoo daily` on the tiny market held out two days: each evening's extract is loaded, the new
day is built, exported, served online and scored by a trained run; a second run of the same
evening does nothing."""

from __future__ import annotations

import re
import shutil
from datetime import date
from pathlib import Path

import duckdb
import polars as pl
import pytest
from click.testing import CliRunner

from tests.transforms.test_project import sqlmesh
from zoo.cli import main
from zoo.ingest.load import load_dir
from zoo.synth.holdout import hold_out

TRAIN = ["train", "biagru", "--fake", "--fake-stocks", "12", "--quiet",
         "--set", "max_epochs=1", "--set", "days_per_epoch=5", "--set", "train_years=1",
         "--set", "first_test_year=2018", "--set", "model.hidden_channels=4",
         "--set", "model.head_channels=4"]


def _invoke(*args: str) -> str:
    done = CliRunner().invoke(main, list(args), catch_exceptions=False)
    assert done.exit_code == 0, done.output
    return done.output


def _one(home: Path, sql: str) -> tuple:
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        return con.execute(sql).fetchone()


@pytest.fixture(scope="module")
def built_home(tiny_market: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny market without its last two days, built, exported and applied (read-only)."""
    home = tmp_path_factory.mktemp("daily") / "home"
    home.mkdir()
    held = hold_out(tiny_market, 2, home / "synth")
    load_dir(held.first_load, home / "warehouse.duckdb")
    built = sqlmesh(home, "plan", "--auto-apply", "--no-prompts")
    assert built.returncode == 0, built.stdout + built.stderr
    with pytest.MonkeyPatch.context() as env:
        env.setenv("ZOO_HOME", str(home))
        _invoke("features", "apply")
    return home


@pytest.fixture
def home(built_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of it of the test's own (a home can be copied: nothing in it names its place)."""
    home = tmp_path / "home"
    shutil.copytree(built_home, home, symlinks=True)
    monkeypatch.setenv("ZOO_HOME", str(home))
    return home


def test_each_evening_builds_serves_and_scores_the_new_day(home: Path) -> None:
    from zoo.serving.scores import append_scores

    _invoke(*TRAIN)
    # scores published through the first load's last day (scoring every day of the market
    # since the fake run's would take a minute): the evenings score only their new day
    stocks = _one(home, "SELECT list(stock_id) FROM features.stock_price_volume_daily "
                        "WHERE trade_date = DATE '2020-12-29'")[0]
    append_scores("biagru", pl.DataFrame({
        "stock_id": stocks, "trade_date": [date(2020, 12, 29)] * len(stocks),
        "score": [0.0] * len(stocks), "run_id": ["published"] * len(stocks)}), apply=False)
    extracts = sorted((home / "synth" / "extracts").iterdir())
    assert [p.name for p in extracts] == ["20201230", "20201231"]

    out = _invoke("daily", "--extract", str(extracts[0]))
    for step in ("load", "refresh", "export", "online", "score biagru"):
        assert f"\n  {step} " in out, out
    assert re.search(r"features.stock_price_volume_daily +2020-12-30 \(was 2020-12-29\)", out)
    assert "latest day 2020-12-30" in out and "Every export is up to date" in out, out
    assert "1 new day(s)" in out, out
    assert _one(home, "SELECT max(trade_date) FROM scores.score_biagru")[0] == date(2020, 12, 30)
    # the online store serves the new day's values
    from zoo.serving.feature_store import store

    stock, close = _one(home, "SELECT stock_id, adj_close FROM features.stock_price_volume_daily "
                              "WHERE trade_date = DATE '2020-12-30' ORDER BY 1 LIMIT 1")
    online = store().get_online_features(
        features=["stock_price_volume_daily:adj_close"],
        entity_rows=[{"stock_id": stock}]).to_dict()
    assert online["adj_close"] == [pytest.approx(close)]

    again = _invoke("daily", "--extract", str(extracts[0]))
    assert "0 new rows" in again and "0 new day(s)" in again, again

    last = _invoke("daily", "--extract", str(extracts[1]), "--models", "biagru")
    assert "latest day 2020-12-31" in last, last
    (n,) = _one(home, "SELECT count(*) FROM scores.score_biagru WHERE trade_date = "
                      "DATE '2020-12-31'")
    assert n > 0


def test_without_models_or_extract_it_refreshes_exports_and_registers(home: Path) -> None:
    """A home whose exports and Feast registry are gone gets them back."""
    shutil.rmtree(home / "offline")
    (home / "registry.db").unlink()
    out = _invoke("daily", "--models", "")
    assert "score" not in out.split("Built through")[0], out
    assert "latest day 2020-12-29" in out and "Feast repo applied (first time)" in out, out
    assert (home / "offline").is_dir() and (home / "registry.db").is_file()


def test_a_failed_step_says_which_and_what_came_before(home: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad"
    bad.mkdir()
    pl.DataFrame({"S_INFO_WINDCODE": ["X"]}).write_parquet(bad / "AShareEODPrices.parquet")
    done = CliRunner().invoke(main, ["daily", "--extract", str(bad)])
    assert done.exit_code == 1
    assert "zoo daily: load failed" in done.output and "FAILED" in done.output, done.output
