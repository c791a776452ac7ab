"""`zoo eval` and `zoo report` through click's CliRunner on the tiny market."""

from __future__ import annotations

import json
import re

from click.testing import CliRunner

from zoo.cli import main


def test_zoo_eval_prints_tables_and_writes_json(eval_home, monkeypatch):
    monkeypatch.setenv("ZOO_HOME", str(eval_home))
    result = CliRunner().invoke(main, ["eval", "fake_good", "oracle", "--horizon", "5,20",
                                       "--fee", "0.002"])
    assert result.exit_code == 0, result.output
    assert "Rank IC" in result.output and "fake_good" in result.output
    written = json.loads((eval_home / "reports" / "eval" / "fake_good.json").read_text())
    assert written["fee"] == 0.002 and written["horizons"] == [5, 20]
    assert written["summary"]["5"]["ic_vwap"] > 0.05
    oracle = json.loads((eval_home / "reports" / "eval" / "oracle.json").read_text())
    assert oracle["source"] == "truth.expected_return.ER_5D"


def test_zoo_eval_refuses_unknown_names_and_horizons(eval_home, monkeypatch):
    monkeypatch.setenv("ZOO_HOME", str(eval_home))
    result = CliRunner().invoke(main, ["eval", "nope"])
    assert result.exit_code != 0
    assert "unknown factor 'nope'" in result.output and "fake_good" in result.output
    result = CliRunner().invoke(main, ["eval", "fake_good", "--horizon", "7"])
    assert result.exit_code == 2 and "5, 10, 15 and 20" in result.output


def test_zoo_report_writes_html_and_markdown(eval_home, tmp_path, monkeypatch):
    import shutil

    home = tmp_path / "home"
    home.mkdir()
    shutil.copy(eval_home / "warehouse.duckdb", home / "warehouse.duckdb")
    monkeypatch.setenv("ZOO_HOME", str(home))
    result = CliRunner().invoke(main, ["report", "--horizon", "5,10"])
    assert result.exit_code == 0, result.output
    page = (home / "reports" / "report.html").read_text()
    markdown = (home / "reports" / "report.md").read_text()
    # every scored model, the seed report's tables, embedded figures, nothing left over
    for text in ("fake_good", "fake_noise", "表 1 因子选股能力", "年化双边换手", "全区间",
                 "截面相关性"):
        assert text in page and text in markdown
    assert len(re.findall(r"data:image/png;base64,", page)) >= 7
    assert not list((home / "reports").glob(".*tmp*"))


def test_zoo_report_without_scores_says_what_to_do(built_warehouse, tmp_path, monkeypatch):
    import shutil

    shutil.copy(built_warehouse / "warehouse.duckdb", tmp_path / "warehouse.duckdb")
    monkeypatch.setenv("ZOO_HOME", str(tmp_path))
    result = CliRunner().invoke(main, ["report"])
    assert result.exit_code != 0 and "zoo report oracle" in result.output
