"""Exports older than the warehouse's raw data are not served: after a new market (`zoo data
synth --replace`) or any later load, `zoo features get` and `zoo eval` say to refresh instead
of answering from the old exports."""

from __future__ import annotations

import shutil
from datetime import datetime

import duckdb
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from zoo.cli import main
from zoo.serving.freshness import STAMP_KEY, export_stamp

GET = ["features", "get", "--service", "style_v1", "--sample", "2"]
REFRESH = ("older than the raw data", "sqlmesh plan", "zoo features apply")


@pytest.fixture
def home(feast_home, tmp_path, monkeypatch):
    """A copy of the exported, applied tiny market with the scores of a model `fake_good`."""
    import polars as pl

    from zoo.serving.scores import write_back

    home = tmp_path / "home"
    home.mkdir()
    shutil.copy(feast_home / "warehouse.duckdb", home / "warehouse.duckdb")
    shutil.copytree(feast_home / "offline", home / "offline")
    monkeypatch.setenv("ZOO_HOME", str(home))
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        scores = pl.from_arrow(con.execute(
            "SELECT stock_id, trade_date, momentum_20d AS score, 'r' AS run_id "
            "FROM features.stock_style_daily WHERE momentum_20d IS NOT NULL").to_arrow_table())
    write_back("fake_good", scores, warehouse=home / "warehouse.duckdb")  # and feast apply
    return home


def _refused(result, *says: str) -> None:
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    for text in says:
        assert text in result.output, result.output


def _latest_load(home) -> datetime:
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        return con.execute("SELECT max(loaded_at) FROM raw._loads").fetchone()[0]


def test_every_export_records_the_load_it_was_made_from(home):
    for name in ("stock_style_daily", "stock_fwd_return_daily", "score_fake_good"):
        assert export_stamp(home / "offline" / name) == _latest_load(home), name
        # and each month's file the load it was written at
        month = sorted((home / "offline" / name).glob("*.parquet"))[-1]
        metadata = pq.read_schema(month).metadata
        assert datetime.fromisoformat(metadata[STAMP_KEY.encode()].decode()) == \
            _latest_load(home), month


def test_current_exports_are_served(home):
    result = CliRunner().invoke(main, GET)
    assert result.exit_code == 0 and "(2 rows)" in result.output, result.output
    result = CliRunner().invoke(main, ["eval", "fake_good", "--horizon", "5", "--no-json"])
    assert result.exit_code == 0, result.output


def test_after_a_new_market_the_old_exports_are_refused(home, tiny_market):
    """What `zoo data synth --replace` does to the warehouse: drop everything, load anew."""
    from zoo.ingest.load import load_dir, reset_schemas

    warehouse = home / "warehouse.duckdb"
    reset_schemas(warehouse)
    load_dir(tiny_market, warehouse)
    load_dir(tiny_market / "truth", warehouse, schema="truth")
    _refused(CliRunner().invoke(main, GET), *REFRESH, "stock_style_daily")
    _refused(CliRunner().invoke(main, ["eval", "oracle"]), *REFRESH)
    # without exports, evaluation reads the warehouse alone: nothing is built from the new
    # market yet, and it says so (not that the labels lack horizons)
    shutil.rmtree(home / "offline")
    _refused(CliRunner().invoke(main, ["eval", "oracle"]), "has no labels."
             "stock_fwd_return_daily yet", "sqlmesh plan")


def test_after_a_later_load_the_exports_wait_for_the_refresh(home):
    """A later load (a new day, a correcting extract) makes the exports of every view and the
    scores older than the raw data until they are made again."""
    from zoo.serving.feature_store import export

    # exports in step with the warehouse first: another test of the session may have restated
    # a model in the shared feast_home without exporting it (tests/features/test_store.py)
    export()
    with duckdb.connect(str(home / "warehouse.duckdb")) as con:
        con.execute("INSERT INTO raw._loads (loaded_at, table_name, source_file, sha256, "
                    "rows_in_file, rows_inserted, rows_closed) SELECT now()::TIMESTAMP, "
                    "table_name, source_file, sha256, rows_in_file, 0, 0 FROM raw._loads LIMIT 1")
    _refused(CliRunner().invoke(main, GET), *REFRESH)
    _refused(CliRunner().invoke(main, ["features", "get", "--features",
                                       "score_fake_good:score", "--sample", "2"]),
             "zoo score fake_good")
    _refused(CliRunner().invoke(main, ["eval", "stock_style_daily.size", "--horizon", "5"]),
             *REFRESH)
    exported = export()  # zoo features apply (the views are already applied)
    # nothing but the load log changed: no month is rewritten, yet the exports are current
    assert all(not e.months_written and e.months_unchanged for e in exported), exported
    result = CliRunner().invoke(main, GET)
    assert result.exit_code == 0 and "(2 rows)" in result.output, result.output
