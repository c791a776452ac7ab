"""The published serving schema (zoo.serving.published): the calendar model, the relations it
lists, the validated score-table names, and that no consumer names a private relation."""

from __future__ import annotations

import re
from pathlib import Path

import duckdb
import polars as pl
import pytest

from portfolios.backtest import BacktestConfig, BacktestError, load_market
from zoo.evaluate.inputs import UnknownFactor, resolve
from zoo.serving import published
from zoo.serving.feature_store import FeatureStoreError, export
from zoo.serving.scores import write_back

ROOT = Path(__file__).resolve().parents[2]
HOSTILE = "x; DROP TABLE raw.AShareST"
# a private relation of transforms/: `staging.` or `intermediate.` followed by an identifier
PRIVATE = re.compile(r"(staging|intermediate)\.[A-Za-z_]")


def test_the_calendar_is_the_distinct_sse_szse_trading_days_of_the_raw_calendar(
        built_warehouse):
    with duckdb.connect(str(built_warehouse / "warehouse.duckdb"), read_only=True) as con:
        published_days = con.execute(
            f"SELECT trade_date FROM {published.CALENDAR.sql} ORDER BY 1").fetchall()
        raw_days = con.execute(
            "SELECT DISTINCT strptime(TRADE_DAYS, '%Y%m%d')::DATE FROM raw.AShareCalendar "
            "WHERE S_INFO_EXCHMARKET IN ('SSE', 'SZSE') ORDER BY 1").fetchall()
        (kind,) = con.execute(
            "SELECT data_type FROM information_schema.columns "
            "WHERE table_schema = ? AND table_name = ?",
            [published.CALENDAR.schema, published.CALENDAR.table]).fetchall()
    assert published_days == raw_days and len(raw_days) > 400
    assert kind == ("DATE",)


def test_every_published_relation_is_in_the_built_warehouse_with_its_grain(built_warehouse):
    with duckdb.connect(str(built_warehouse / "warehouse.duckdb"), read_only=True) as con:
        for relation in published.RELATIONS:
            frame = con.execute(f"SELECT * FROM {relation.sql} LIMIT 0").pl()
            assert set(relation.grain) <= set(frame.columns), relation.name
            grain = ", ".join(map(published.quote, relation.grain))
            (duplicated,) = con.execute(
                f"SELECT count(*) FROM (SELECT {grain} FROM {relation.sql} "
                f"GROUP BY ALL HAVING count(*) > 1)").fetchone()
            assert duplicated == 0, relation.name


def test_the_calendar_is_not_exported_to_feast(built_warehouse, tmp_path, monkeypatch):
    monkeypatch.setenv("ZOO_HOME", str(tmp_path))
    with pytest.raises(FeatureStoreError, match="not SQLMesh features/labels models"):
        export(built_warehouse / "warehouse.duckdb", names=[published.CALENDAR.table])
    assert not (tmp_path / "offline").exists()


def test_score_table_accepts_a_model_name_and_quotes_it():
    table = published.score_table("biagru_gat")
    assert table.name == "scores.score_biagru_gat"
    assert table.sql == '"scores"."score_biagru_gat"'
    assert table.grain == ("stock_id", "trade_date")


@pytest.mark.parametrize("model", [HOSTILE, "", "a.b", "a-b", 'a"b', "x y", "模型", None])
def test_score_table_refuses_anything_but_identifier_characters(model):
    with pytest.raises(ValueError, match="identifier characters"):
        published.score_table(model)


def test_consumers_refuse_a_hostile_model_name_before_reading_or_writing(tmp_path):
    warehouse = tmp_path / "warehouse.duckdb"
    with pytest.raises(BacktestError, match="identifier characters"):
        load_market(warehouse, HOSTILE, BacktestConfig())
    frame = pl.DataFrame({"stock_id": ["600000.SH"], "trade_date": [None], "score": [1.0],
                          "run_id": ["r"]})
    with pytest.raises(ValueError, match="identifier characters"):
        write_back(HOSTILE, frame, apply=False, warehouse=warehouse)
    assert not warehouse.exists()


def test_evaluation_names_tables_of_published_schemas_only(built_warehouse):
    con = published.connect(built_warehouse / "warehouse.duckdb")
    try:
        with pytest.raises(UnknownFactor, match="not a published schema"):
            resolve(con, "intermediate.int_daily_prices.ret_1d")
        source = resolve(con, "features.stock_style_daily.size")
        assert source.table == published.STYLE.name
        assert resolve(con, "stock_style_daily.size").sql == source.sql
    finally:
        con.close()


def test_connect_is_read_only_and_needs_a_warehouse(built_warehouse, tmp_path):
    with pytest.raises(FileNotFoundError, match="no warehouse"):
        published.connect(tmp_path / "missing.duckdb")
    con = published.connect(built_warehouse / "warehouse.duckdb")
    try:
        with pytest.raises(duckdb.Error):
            con.execute("CREATE TABLE scores.nope AS SELECT 1")
    finally:
        con.close()


def test_no_module_outside_transforms_names_a_staging_or_intermediate_relation():
    """Only transforms/ may name its private steps; consumers read the published surface.
    (Checks zoo/ and portfolios/, benchmarks included.)"""
    offending = [f"{path.relative_to(ROOT)}:{n}: {line.strip()}"
                 for folder in ("zoo", "portfolios")
                 for path in sorted((ROOT / folder).rglob("*.py"))
                 for n, line in enumerate(path.read_text().splitlines(), 1)
                 if PRIVATE.search(line)]
    assert not offending, "\n".join(offending)
