"""A failed audit shows its first failing rows and the raw rows they came from, in the output
of `sqlmesh plan` itself (issue 17): "'in_range' audit error: 1 row failed" alone names
neither the row nor its cause."""

from __future__ import annotations

import shutil
from pathlib import Path

import polars as pl

from tests.transforms.test_project import sqlmesh
from zoo.ingest.load import load_dir


def test_a_failed_audit_shows_the_row_and_its_raw_rows(tiny_market: Path,
                                                        tmp_path: Path) -> None:
    """A previous close of 0.5 yuan keeps every contract (it is positive) but makes a 6,800 %
    day, which the in_range audit on ret_1d refuses."""
    folder = tmp_path / "market"
    shutil.copytree(tiny_market, folder)
    prices = pl.read_parquet(folder / "AShareEODPrices.parquet")
    code, day = prices.filter(pl.col("TRADE_DT") >= "20200601").sort("TRADE_DT",
                                                                     "S_INFO_WINDCODE").row(0)[:2]
    hit = (pl.col("S_INFO_WINDCODE") == code) & (pl.col("TRADE_DT") == day)
    prices.with_columns(S_DQ_PRECLOSE=pl.when(hit).then(0.5).otherwise("S_DQ_PRECLOSE")
                        ).write_parquet(folder / "AShareEODPrices.parquet")
    home = tmp_path / "home"
    load_dir(folder, home / "warehouse.duckdb")

    plan = sqlmesh(home, "plan", "--auto-apply", "--no-prompts")
    assert plan.returncode == 1
    out = " ".join(plan.stdout.split())  # the console wraps long lines
    assert ("Audit 'in_range' failed on intermediate.int_daily_prices (column := ret_1d, "
            "low := -0.9, high := 10): 1 row; the first 1, with the raw rows they came "
            "from:") in out, plan.stdout
    iso = f"{day[:4]}-{day[4:6]}-{day[6:]}"
    assert f"stock_id={code} trade_date={iso} ret_1d=" in out
    assert (f"from raw.AShareEODPrices: S_INFO_WINDCODE={code} TRADE_DT={day} CRNCY_CODE=CNY "
            "S_DQ_PRECLOSE=0.5 ") in out
    assert f"from raw.AShareDescription: S_INFO_WINDCODE={code} S_INFO_CODE={code[:6]}" in out
    assert "'in_range' audit error: 1 row failed" in out  # SQLMesh's own report stays
