"""`zoo backtest` end to end on the tiny built market with fake scores, and its report part."""

from __future__ import annotations

import json

import duckdb
import polars as pl
from click.testing import CliRunner

from zoo.cli import main


def _members(home, index: str) -> int:
    con = duckdb.connect(str(home / "warehouse.duckdb"), read_only=True)
    try:
        return con.execute(f"SELECT max(n) FROM (SELECT count(*) FILTER "
                           f"(WHERE {index}_weight_pct > 0) n FROM "
                           f"features.stock_universe_daily GROUP BY trade_date)").fetchone()[0]
    finally:
        con.close()


def test_backtest_saves_and_reports(scored_home):
    from portfolios.report import sections

    assert _members(scored_home, "csi500") >= 3      # the tiny market's index is small
    runner = CliRunner()
    for model in ("fake_a", "fake_b"):
        for args in (["--index", "csi500"], ["--index", "csi1000", "--universe",
                                              "constituents80"]):
            done = runner.invoke(main, ["backtest", model, *args, "--rebalance-days", "5"])
            assert done.exit_code == 0, done.output + repr(done.exception)
            assert "rebalances in" in done.output and "saved to" in done.output
    saved = scored_home / "backtests" / "fake_a" / "csi500_all"
    assert {p.name for p in saved.iterdir()} == {"daily.parquet", "weights.parquet",
                                                 "rebalances.parquet", "summary.json",
                                                 "config.json"}
    summary = json.loads((saved / "summary.json").read_text())
    assert summary["yearly"][-1]["period"] == "Full period"
    daily = pl.read_parquet(saved / "daily.parquet")
    assert daily["trade_date"].is_sorted() and daily["nav"].min() > 0
    weights = pl.read_parquet(saved / "weights.parquet")
    sums = weights.group_by("decision_date").agg(pl.col("weight").sum())["weight"]
    assert (sums - 1).abs().max() < 1e-6
    config = json.loads((saved / "config.json").read_text())
    assert config["constraints"]["min_constituent_weight"] == 0.0
    config80 = json.loads((scored_home / "backtests" / "fake_a" / "csi1000_constituents80"
                           / "config.json").read_text())
    assert config80["constraints"]["min_constituent_weight"] == 0.8

    [section] = sections(["fake_a", "fake_b", "never_run"])
    table7 = section.tables[0].frame
    assert table7["model"].to_list() == ["fake_a", "fake_b", "never_run"]
    assert table7["CSI 500 all market"][0] is not None
    assert table7["CSI 500 all market"][2] is None
    assert table7["CSI 1000 all market"][0] is None           # not run
    assert len(section.tables) == 2 and len(section.figures) == 1   # table 8, figure 11 only
    assert "Excess return (fake_b)" in section.tables[1].frame.columns
    assert sections(["never_run"]) == []


def test_backtest_rejects_bad_input(scored_home):
    runner = CliRunner()
    done = runner.invoke(main, ["backtest", "fake_a", "--set", "turnover=0.2"])
    assert done.exit_code != 0 and "unknown constraint 'turnover'" in done.output
    done = runner.invoke(main, ["backtest", "no_such_model"])
    assert done.exit_code != 0 and "scores.score_no_such_model" in done.output
