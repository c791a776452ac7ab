"""After `zoo data retract`, `sqlmesh run` rebuilds what used the rows (issues 17 and 16): the
retraction marks it for rebuild, the exports are refused until the refresh, and afterwards
every built table equals a fresh build of the warehouse without those rows. SQLMesh alone would
not notice: rows that disappear change no model and fill no new interval."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner

from tests.transforms.test_incremental import _assert_same_tables, _tables
from tests.transforms.test_project import sqlmesh
from zoo.cli import main

GET = ["features", "get", "--service", "style_v1", "--sample", "2"]


def _first(warehouse: Path, sql: str) -> tuple:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute(sql).fetchone()


def _bad_rows(warehouse: Path) -> list[list[str]]:
    """`--where` arguments naming a price row, its derivative row and a quarter's income row
    in the middle of the tiny market."""
    code, day = _first(warehouse, "SELECT S_INFO_WINDCODE, TRADE_DT FROM raw.AShareEODPrices "
                                  "WHERE TRADE_DT >= '20200601' ORDER BY TRADE_DT, 1 LIMIT 1")
    daily = ["--where", f"S_INFO_WINDCODE={code}", "--where", f"TRADE_DT={day}"]
    income = _first(warehouse, "SELECT S_INFO_WINDCODE, REPORT_PERIOD, STATEMENT_TYPE, ANN_DT "
                               "FROM raw.AShareIncome WHERE REPORT_PERIOD = '20200331' "
                               "ORDER BY ALL LIMIT 1")
    keys = ("S_INFO_WINDCODE", "REPORT_PERIOD", "STATEMENT_TYPE", "ANN_DT")
    statement = [a for k, v in zip(keys, income, strict=True) for a in ("--where", f"{k}={v}")]
    return [["AShareEODPrices", *daily], ["AShareEODDerivativeIndicator", *daily],
            ["AShareIncome", *statement]]


@pytest.fixture
def home(feast_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the built, exported and applied tiny market."""
    home = tmp_path / "home"
    home.mkdir()
    for name in ("warehouse.duckdb", "registry.db"):
        shutil.copy(feast_home / name, home / name)
    shutil.copytree(feast_home / "offline", home / "offline")
    monkeypatch.setenv("ZOO_HOME", str(home))
    return home


def test_sqlmesh_run_after_a_retraction_rebuilds_what_a_fresh_build_gives(
        home: Path, tiny_warehouse: Path, tmp_path: Path) -> None:
    assert CliRunner().invoke(main, GET).exit_code == 0
    # the daily prices, turnover included, are stored once (int_daily_prices; the published
    # price-volume table is a view of it): what a price or derivative row changes is rebuilt there
    rebuilt = ("intermediate.int_daily_prices", "intermediate.int_daily_prices",
               "features.stock_fundamental_quarterly")
    for arguments, model in zip(_bad_rows(home / "warehouse.duckdb"), rebuilt, strict=True):
        done = CliRunner().invoke(main, ["data", "retract", *arguments, "--reason", "test"])
        assert done.exit_code == 0, done.output
        assert "marked for rebuild" in done.output, done.output
        assert re.search(rf"{model} from 20\d\d-\d\d-\d\d", done.output), done.output

    refused = CliRunner().invoke(main, GET)
    assert refused.exit_code == 1 and "older than the raw data" in refused.output

    done = sqlmesh(home, "run")
    assert done.returncode == 0, done.stdout + done.stderr

    fresh = tmp_path / "fresh"
    fresh.mkdir()
    shutil.copy(tiny_warehouse, fresh / "warehouse.duckdb")
    for arguments in _bad_rows(fresh / "warehouse.duckdb"):
        done = CliRunner().invoke(main, ["data", "retract", *arguments, "--warehouse",
                                         str(fresh / "warehouse.duckdb")])
        assert done.exit_code == 0, done.output
    built = sqlmesh(fresh, "plan", "--auto-apply", "--no-prompts")
    assert built.returncode == 0, built.stdout + built.stderr

    tables = _tables(fresh)
    assert {"features.stock_price_volume_daily", "features.stock_fundamental_quarterly",
            "labels.stock_fwd_return_daily"} <= set(tables)
    assert _tables(home) == tables
    _assert_same_tables(home, fresh, tables)

    from zoo.serving.feature_store import export

    export()  # what `zoo features apply` does to the exports
    served = CliRunner().invoke(main, GET)
    assert served.exit_code == 0, served.output
