"""What `make demo` ends with (zoo.evaluate.guide): the report's path, the key numbers with
their ranges, and why they are not the benchmark's; and the Makefile runs the configuration
the ranges were measured for."""

from __future__ import annotations

import re
from pathlib import Path

from click.testing import CliRunner

from zoo.cli import main
from zoo.evaluate.guide import DEMO_EXPECTED, DEMO_MARKET, DEMO_TRAIN, demo_guide

ROOT = Path(__file__).resolve().parents[2]


def _make_variable(name: str) -> str:
    text = (ROOT / "Makefile").read_text().replace("\\\n", " ")
    [value] = re.findall(rf"^{name} \?= (.*)$", text, re.M)
    return " ".join(value.split())


def test_the_makefile_runs_the_configuration_the_ranges_are_for():
    assert _make_variable("DEMO_MARKET") == DEMO_MARKET
    assert _make_variable("DEMO_TRAIN") == DEMO_TRAIN
    makefile = (ROOT / "Makefile").read_text()
    assert "zoo data synth $(DEMO_MARKET)" in makefile
    assert "OMP_NUM_THREADS=1" in makefile           # one thread per training process
    assert re.search(r"zoo report .*--demo", makefile)


def test_the_guide_names_each_number_its_range_and_flags_outliers():
    values = {e.key: (e.low + e.high) / 2 for e in DEMO_EXPECTED}
    values["ic_biagru"] = 0.5                                   # outside
    del values["csi1000_biagru_gat"]                            # not measured
    text = demo_guide(Path("/somewhere/report.html"), values)
    assert "/somewhere/report.html" in text
    for e in DEMO_EXPECTED:
        assert e.label in text and format(e.low, e.spec) in text
    flagged = [line for line in text.splitlines() if "outside the range" in line]
    assert len(flagged) == 1 and "biagru Rank IC" in flagged[0]
    assert "0.117" in text and "400 stocks" in text         # why not the benchmark


def test_zoo_report_demo_prints_the_guide(eval_home, tmp_path, monkeypatch):
    import shutil

    shutil.copy(eval_home / "warehouse.duckdb", tmp_path / "warehouse.duckdb")
    monkeypatch.setenv("ZOO_HOME", str(tmp_path))
    done = CliRunner().invoke(main, ["report", "fake_good", "oracle", "--horizon", "5",
                                     "--demo"])
    assert done.exit_code == 0, done.output
    assert f"What to look at: the report is {tmp_path / 'reports' / 'report.html'}" in done.output
    oracle = [line for line in done.output.splitlines() if "oracle Rank IC" in line]
    assert oracle and re.search(r"\d\.\d{3}", oracle[0])
    plain = CliRunner().invoke(main, ["report", "fake_good", "--horizon", "5"])
    assert plain.exit_code == 0 and "What to look at" not in plain.output
