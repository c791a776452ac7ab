"""`zoo bench refresh`: the plan-output parser, and a tiny end-to-end run."""

import json

import pytest

from zoo.bench.baselines import POLARS_PARTS
from zoo.bench.refresh import SAME_FEATURE_MODELS, parse_model_seconds, sql_parts, stored_models

# Captured from `sqlmesh plan` (a narrow console: the second model's line wraps, and a batched
# model prints one line per batch), with a signal check and a warning in between.
PLAN_OUTPUT = """\
Checking signals for intermediate.int_daily_prices
└── [1/1] raw_arrived 0.32s
    ├── Check: 2010-01-01 - 2026-11-23
    └── Some ready: 2010-01-01 - 2021-12-31

[1/1] staging.stg_eod_prices                 [recreate view, audits passed 1]      0.17s
[1/1] intermediate.int_daily_prices          [insert 2010-01-01 - 2021-12-31,
audits passed 4]                              1.26s
<string>:1: SyntaxWarning: "is not" with a literal. Did you mean "!="?
[1/2] labels.stock_fwd_return_daily          [insert 2010-01-01 - 2015-12-31, audits passed 4]  \
\x1b[32m1.50s\x1b[0m
[2/2] labels.stock_fwd_return_daily   [insert 2016-01-01 - 2021-12-31, audits passed 4]  0.25s
Executing model batches ━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━ 100.0% • 22/22 • 0:00:17
"""


def test_parse_model_seconds_sums_batches_and_survives_wrapping():
    assert parse_model_seconds(PLAN_OUTPUT) == {
        "staging.stg_eod_prices": 0.17,
        "intermediate.int_daily_prices": 1.26,
        "labels.stock_fwd_return_daily": 1.75,
    }
    assert parse_model_seconds("No changes to plan") == {}


def test_sql_parts_put_each_model_beside_the_polars_part_it_computes():
    seconds = {"labels.stock_fwd_return_daily": 2.0, "features.stock_style_daily": 3.0,
               "intermediate.int_daily_prices": 1.25, "staging.stg_eod_prices": 0.5,
               "features.stock_fundamental_quarterly": 9.0}
    compared = ["labels.stock_fwd_return_daily", "features.stock_style_daily",
                "intermediate.int_daily_prices", "staging.stg_eod_prices",
                "features.stock_universe_daily"]  # not run: no seconds, counted as 0
    parts = sql_parts(seconds, compared)
    assert tuple(parts) == POLARS_PARTS
    # the fundamental vectors are the style model's input, not a compared model
    assert parts == {"prices": 1.75, "labels": 2.0, "style": 3.0}


@pytest.mark.slow
def test_refresh_benchmark_at_a_tiny_size(tmp_path, monkeypatch):
    from zoo.bench.refresh import run

    monkeypatch.setenv("ZOO_HOME", str(tmp_path))
    returned = run(stocks=40, start="20200101", end="20201231")
    figures = json.loads((tmp_path / "bench" / "refresh.json").read_text())
    assert figures == json.loads(json.dumps(returned, default=str))
    for key in ("plan_seconds", "plan_peak_mib", "plan_maxrss_mib", "run_seconds",
                "run_peak_mib", "pandas_seconds", "pandas_peak_mib",
                "sql_seconds_same_features", "ratio", "raw_rows", "trading_days"):
        assert figures[key] > 0, key
    assert figures["stocks"] == 40 and figures["machine"]["cpu_count"] >= 1
    assert figures["plan_seconds"] >= figures["plan_model_seconds_total"] > 0
    assert "intermediate.int_daily_prices" in figures["sql_models_same_features"]
    assert set(figures["sql_models_same_features"]) <= set(SAME_FEATURE_MODELS)
    assert figures["run_new_day_rows_int_daily_prices"] > 0
    # the fixed cost: a run with nothing left to do computes no model
    assert 0 < figures["noop_run_seconds"] and figures["run_model_seconds"]
    # the write floor copies exactly the compared models' tables (a view stores none)
    assert set(figures["write_floor_seconds"]) == set(
        stored_models(figures["sql_models_same_features"]))
    assert figures["write_floor_seconds_same_features"] > 0
    assert set(figures["passed"]) == {"plan_seconds", "plan_peak_mib", "run_seconds", "ratio"}
    # the baselines compute the same features as the SQL models, the style model's included
    assert {"bp", "sue", "midcap", "industry_l1_code", "csi500_weight_pct",
            "csi1000_weight_pct"} <= figures["polars_vs_sql"].keys()
    for baseline in ("pandas_vs_sql", "polars_vs_sql"):
        assert figures[baseline].keys() == figures["pandas_vs_sql"].keys()
        for column, check in figures[baseline].items():
            assert check["rows"] > 0 and check["null_mismatches"] == 0, (baseline, column)
            assert check.get("mismatching_rows", 0) == 0, (baseline, column)
            assert (check.get("max_abs_diff") or 0) < 1e-9, (baseline, column)
    assert figures["polars_seconds"] > 0 and figures["sql_to_write_floor"] > 0
    assert isinstance(figures["sql_beats_polars"], bool)
    # the baselines write their tables as the SQL does; the computing alone is reported too
    assert 0 < figures["polars_write_seconds"] < figures["polars_seconds"]
    assert figures["polars_compute_seconds"] + figures["polars_write_seconds"] == pytest.approx(
        figures["polars_seconds"], abs=0.02)
    assert figures["sql_less_write_floor_seconds"] == pytest.approx(
        figures["sql_seconds_same_features"] - figures["write_floor_seconds_same_features"],
        abs=0.02)
    # per part: the parts of the SQL add up to the compared models' seconds
    assert tuple(figures["polars_part_seconds"]) == tuple(figures["sql_part_seconds"]) \
        == POLARS_PARTS
    assert sum(figures["sql_part_seconds"].values()) == pytest.approx(
        figures["sql_seconds_same_features"], abs=0.02)
    assert sum(figures["polars_part_seconds"].values()) <= figures["polars_seconds"] + 0.02
    assert sum(figures["write_floor_part_seconds"].values()) == pytest.approx(
        figures["write_floor_seconds_same_features"], abs=0.02)
    assert not [p for p in (tmp_path / "bench").iterdir() if p.name.startswith("refresh-")]


def test_write_floor_times_a_copy_and_leaves_nothing_behind(tmp_path):
    import duckdb

    from zoo.bench.refresh import write_floor

    warehouse = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(warehouse)) as con:
        con.execute("CREATE SCHEMA features")
        con.execute("CREATE TABLE features.t AS SELECT range AS x FROM range(1000)")
    seconds = write_floor(warehouse, ["features.t"])
    assert set(seconds) == {"features.t"} and seconds["features.t"] >= 0
    with duckdb.connect(str(warehouse), read_only=True) as con:
        schemas = {r[0] for r in con.execute(
            "SELECT schema_name FROM information_schema.schemata").fetchall()}
        assert "bench_floor" not in schemas
        assert con.execute("SELECT count(*) FROM features.t").fetchone()[0] == 1000
