"""`zoo bench eval` at a tiny size: the scratch warehouse has what evaluation reads."""

from __future__ import annotations

import json

from click.testing import CliRunner

from zoo.cli import main


def test_bench_eval_runs_and_finds_the_planted_signal(tmp_path, monkeypatch):
    monkeypatch.setenv("ZOO_HOME", str(tmp_path))
    result = CliRunner().invoke(main, ["bench", "eval", "--stocks", "60", "--years", "1",
                                       "--repeats", "1"])
    assert result.exit_code == 0, result.output
    figures = json.loads((tmp_path / "bench" / "eval.json").read_text())
    assert figures["rows_by_table"]["scores.score_bench"] == 60 * 242
    assert figures["median_seconds"] > 0 and figures["peak_rss_mib"] > 0
    # the baseline ran beside it, on the same warehouse, to the same figures
    assert figures["plain"]["median_seconds"] > 0 and figures["speedup"] > 0
    assert figures["max_figure_gap"] < 1e-12
    assert "plain steps" in result.output and "ratio" in result.output
    assert all(figures["summary"][h]["ic_vwap"] > 0.02 for h in ("5", "10", "15", "20"))
    assert [p.name for p in (tmp_path / "bench").iterdir()] == ["eval.json"]  # scratch gone
