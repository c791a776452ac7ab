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
            # output to a file or a pipe: no progress redraws, tables not folded at 80 columns
            assert "\r" not in done.output and "Information ratio" in done.output
            assert "Full period" in done.output
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
    assert table7["模型"].to_list() == ["fake_a", "fake_b", "never_run"]
    assert table7["中证500 全市场选股"][0] is not None
    assert table7["中证500 全市场选股"][2] is None
    assert table7["中证1000 全市场选股"][0] is None           # not run
    assert table7["中证1000 成分股权重≥80%"][0] is not None
    # table 8 (CSI 500, whole market), table 9 (CSI 1000, 80% constituents), a figure each
    titles = [t.title for t in section.tables]
    assert titles[0].startswith("表 7") and titles[1].startswith("表 8")
    assert titles[2].startswith("表 9") and len(titles) == 3
    assert [f.title[:4] for f in section.figures] == ["图 11", "图 12"]
    assert "成分股权重≥80%" in section.figures[1].title
    table9 = section.tables[2].frame
    assert set(table9["选股范围"]) == {"成分股权重≥80%"} and table9["区间"][-1] == "全区间"
    assert "年化超额 (fake_b)" in section.tables[1].frame.columns
    for text in (section.title, section.intro, *titles):  # the report's language throughout
        assert not any(word in text for word in ("Table", "Figure", "excess", "market"))
    # two universes the same day for day (the 80% constraint never bound): the notes say so
    import shutil

    shutil.copytree(saved, saved.parent / "csi500_constituents80")
    [section] = sections(["fake_a"])
    assert "fake_a 的全市场选股与成分股权重≥80% 逐日相同" in section.tables[0].note
    assert "逐日相同" in section.tables[1].note and "逐日相同" not in section.tables[2].note
    assert sections(["never_run"]) == []


def test_backtest_rejects_bad_input(scored_home):
    runner = CliRunner()
    done = runner.invoke(main, ["backtest", "fake_a", "--set", "turnover=0.2"])
    assert done.exit_code != 0 and "unknown constraint 'turnover'" in done.output
    done = runner.invoke(main, ["backtest", "no_such_model"])
    assert done.exit_code != 0 and "scores.score_no_such_model" in done.output
