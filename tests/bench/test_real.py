"""zoo bench real: the factor table on the tiny synthetic market (fast), and the whole bench on
a subset of the real baostock sample (slow; skipped when the sample is absent)."""

import json
import math
import shutil
from pathlib import Path

import pytest

from zoo.bench import real

SAMPLE = Path(__file__).resolve().parents[2].parent / "shared" / "realdata" / "baostock"


def test_factor_table_reports_each_known_factor_with_its_expected_sign(built_warehouse):
    rows = real.factor_table(built_warehouse / "warehouse.duckdb")
    assert [r["factor"] for r in rows] == list(real.EXPECTED_SIGNS)
    for row in rows:
        assert math.isfinite(row["weekly_rank_ic"]), row
        assert 0 <= row["negative_years"] <= 1 and row["years"] >= 1
        assert row["sign_as_expected"] == (
            math.copysign(1, row["weekly_rank_ic"]) == real.EXPECTED_SIGNS[row["factor"]])


def test_a_missing_factor_is_an_error_not_a_row(built_warehouse):
    with pytest.raises(Exception, match="no_such_factor"):
        real.factor_table(built_warehouse / "warehouse.duckdb", {"no_such_factor": 1})


@pytest.mark.slow
@pytest.mark.skipif(not SAMPLE.is_dir(), reason="no real baostock sample beside the repo")
def test_bench_real_runs_on_a_subset_of_the_sample(tmp_path, monkeypatch):
    src = tmp_path / "src"
    (src / "stock_code").mkdir(parents=True)
    for path in sorted((SAMPLE / "stock_code").iterdir())[:30]:
        shutil.copy(path, src / "stock_code")
    for path in SAMPLE.iterdir():
        if path.is_file():
            shutil.copy(path, src)
    monkeypatch.setenv("ZOO_HOME", str(tmp_path / "home"))
    figures = real.run(src, models=("biagru",), settings=(
        "max_epochs=1", "days_per_epoch=20", "first_test_year=2021", "train_years=2"))
    assert set(figures["build"]) == {"import", "plan", "apply"}
    assert len(figures["factors"]) == len(real.EXPECTED_SIGNS)
    assert figures["runs"][0]["model"] == "biagru"
    written = json.loads((tmp_path / "home" / "bench" / "real.json").read_text())
    assert written["runs"][0]["first_date"].startswith("2021")
