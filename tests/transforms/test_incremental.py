"""Incremental equals full: days whose raw rows arrive later are filled by `sqlmesh run`."""

import shutil

import duckdb
import polars as pl

from tests.transforms.test_project import sqlmesh
from zoo.data.load import load_dir

CUT = "20200630"
DAILY = {"AShareEODPrices": "TRADE_DT", "AShareEODDerivativeIndicator": "TRADE_DT",
         "AIndexEODPrices": "TRADE_DT", "AIndexFreeWeight": "TRADE_DT"}


def _extract_until(market, out, cut: str):
    """The market as an extract taken at `cut`: the daily tables stop there."""
    out.mkdir()
    for path in market.glob("*.parquet"):
        frame = pl.read_parquet(path)
        if path.stem in DAILY:
            frame = frame.filter(pl.col(DAILY[path.stem]) <= cut)
        frame.write_parquet(out / path.name)
    return out


def _table(home, name: str) -> pl.DataFrame:
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        return con.execute(f"SELECT * FROM {name} ORDER BY stock_id, trade_date").pl()


def test_plan_then_run_on_a_later_extract_equals_one_full_build(tiny_market, tmp_path):
    full, incremental = tmp_path / "full", tmp_path / "incremental"
    full.mkdir()
    incremental.mkdir()
    load_dir(tiny_market, full / "warehouse.duckdb")
    assert sqlmesh(full, "plan", "--auto-apply", "--no-prompts").returncode == 0

    early = _extract_until(tiny_market, tmp_path / "early", CUT)
    load_dir(early, incremental / "warehouse.duckdb")
    plan = sqlmesh(incremental, "plan", "--auto-apply", "--no-prompts")
    assert plan.returncode == 0, plan.stdout + plan.stderr
    first = _table(incremental, "intermediate.int_daily_prices")
    assert str(first["trade_date"].max()).replace("-", "") <= CUT

    load_dir(tiny_market, incremental / "warehouse.duckdb")
    run = sqlmesh(incremental, "run")
    assert run.returncode == 0, run.stdout + run.stderr
    assert _table(incremental, "intermediate.int_daily_prices").equals(
        _table(full, "intermediate.int_daily_prices")
    )
    again = sqlmesh(incremental, "run")  # nothing new arrived: a no-op
    assert again.returncode == 0, again.stdout + again.stderr
    assert "None ready" in again.stdout and "insert" not in again.stdout
    shutil.rmtree(tmp_path / "early")
