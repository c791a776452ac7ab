"""zoo.serving.coverage: which features a warehouse cannot serve, and why; and `zoo data
summary` printing it. (tests/transforms/test_real_exports.py checks it on a built warehouse.)"""

from __future__ import annotations

import duckdb
import pytest
from click.testing import CliRunner

from zoo.ingest import wind
from zoo.serving.coverage import NEEDS, coverage, coverage_report

DEFAULTS = {wind.STR: "x", wind.DATE: "20200102", wind.FLOAT: 1.0, wind.INT: 1}


def _insert(con, table: wind.Table, **values) -> None:
    row = {c.name: values.get(c.name, DEFAULTS[c.kind]) for c in table.columns}
    marks = ", ".join("?" * len(row))
    con.execute(f"INSERT INTO raw.{table.name} ({', '.join(row)}) VALUES ({marks})",
                list(row.values()))


@pytest.fixture
def home(tmp_path):
    """Raw tables as a source without a balance sheet or ST periods leaves them; features
    tables by hand: bp and the equity arrays NULL, sue mostly NULL, industries NULL although
    the CITIC table has rows."""
    with duckdb.connect(str(tmp_path / "warehouse.duckdb")) as con:
        con.execute("CREATE SCHEMA raw")
        for table in wind.RAW_TABLES:
            con.execute(table.create_sql())
        _insert(con, wind.ASHARE_INCOME)
        _insert(con, wind.ASHARE_DESCRIPTION)
        _insert(con, wind.ASHARE_INDUSTRIES_CLASS_CITICS)
        con.execute("CREATE SCHEMA features")
        con.execute("""CREATE TABLE features.stock_style_daily AS
            SELECT 'A' || i AS stock_id, DATE '2020-01-02' AS trade_date, TRUE AS in_universe,
              NULL::DOUBLE AS bp, i::DOUBLE AS ep, CASE WHEN i = 0 THEN 1.0 END AS sue,
              NULL::TEXT AS industry_l1_code
            FROM range(20) AS t(i)""")
        con.execute("""CREATE TABLE features.stock_fundamental_quarterly AS
            SELECT 'A' || i AS stock_id, DATE '2020-01-02' AS available_date,
              ['NaN'::DOUBLE, 'NaN'::DOUBLE] AS parent_equity_12q,
              ['NaN'::DOUBLE, i::DOUBLE] AS revenue_q_12q
            FROM range(20) AS t(i)""")
    return tmp_path


def test_each_null_feature_says_which_missing_input_explains_it(home):
    found = coverage(home / "warehouse.duckdb")
    empty = {g.name: g.why for g in found.empty}
    assert empty == {
        "features.stock_style_daily.bp": "needs AShareBalanceSheet, which is empty",
        "features.stock_fundamental_quarterly.parent_equity_12q":
            "needs AShareBalanceSheet, which is empty",
        # the CITIC table has rows: no missing input explains it
        "features.stock_style_daily.industry_l1_code": "",
    }
    assert [(g.name, g.null_share, g.why) for g in found.sparse] == [
        ("features.stock_style_daily.sue", 0.95, "")]
    assert {g.name: g.why for g in found.degraded} == {
        "features.stock_style_daily.in_universe": "without AShareST, which is empty"}
    report = coverage_report(home / "warehouse.duckdb")
    assert "features.stock_style_daily.bp: needs AShareBalanceSheet, which is empty" in report
    assert "features.stock_style_daily.sue (95%)" in report
    assert "ep" not in report and "revenue_q_12q" not in report


def test_a_column_null_in_the_source_is_named(home):
    with duckdb.connect(str(home / "warehouse.duckdb")) as con:
        con.execute("ALTER TABLE raw.AShareDescription ALTER COLUMN S_INFO_LISTDATE "
                    "DROP NOT NULL")
        con.execute("UPDATE raw.AShareDescription SET S_INFO_LISTDATE = NULL")
        # no net profit at all: EP cannot be served
        con.execute("UPDATE raw.AShareIncome SET NET_PROFIT_EXCL_MIN_INT_INC = NULL, "
                    "NET_PROFIT_INCL_MIN_INT_INC = NULL")
        con.execute("UPDATE features.stock_style_daily SET ep = NULL")
        con.execute("CREATE TABLE features.stock_universe_daily AS SELECT 'A' AS stock_id, "
                    "DATE '2020-01-02' AS trade_date, 0 AS listed_trading_days, "
                    "NULL::DOUBLE AS csi1000_weight_pct")
    found = coverage(home / "warehouse.duckdb")
    assert {g.name: g.why for g in found.degraded}[
        "features.stock_universe_daily.listed_trading_days"] == (
        "without AShareDescription.S_INFO_LISTDATE, which is NULL in every row")
    empty = {g.name: g.why for g in found.empty}
    assert empty["features.stock_style_daily.ep"] == (
        "needs AShareIncome.NET_PROFIT_EXCL_MIN_INT_INC, which is NULL in every row and "
        "AShareIncome.NET_PROFIT_INCL_MIN_INT_INC, which is NULL in every row")
    assert empty["features.stock_universe_daily.csi1000_weight_pct"] == (
        f"needs AIndexMembers, which has no rows for {wind.CSI1000}; and AIndexFreeWeight, "
        f"which has no rows for {wind.CSI1000}")


def test_a_feature_served_through_a_substitute_says_so(home):
    """baostock's net profit includes minorities and its revenue is operating revenue: the
    transforms serve EP and revenue from them, and the summary says so."""
    with duckdb.connect(str(home / "warehouse.duckdb")) as con:
        con.execute("UPDATE raw.AShareIncome SET NET_PROFIT_EXCL_MIN_INT_INC = NULL, "
                    "TOT_OPER_REV = NULL")
    degraded = {g.name: g.why for g in coverage(home / "warehouse.duckdb").degraded}
    assert degraded["features.stock_style_daily.ep"] == (
        "AShareIncome.NET_PROFIT_EXCL_MIN_INT_INC taken from "
        "AShareIncome.NET_PROFIT_INCL_MIN_INT_INC (which includes minority interests) in "
        "every row")
    assert degraded["features.stock_fundamental_quarterly.revenue_q_12q"].startswith(
        "AShareIncome.TOT_OPER_REV taken from AShareIncome.OPER_REV")
    assert "features.stock_style_daily.bp" not in degraded  # NULL: reported as such


def test_no_features_no_report(tmp_path):
    assert coverage_report(tmp_path / "warehouse.duckdb") == ""
    duckdb.connect(str(tmp_path / "warehouse.duckdb")).close()
    assert coverage_report(tmp_path / "warehouse.duckdb") == ""


def test_the_map_names_real_feature_columns_and_raw_inputs(built_warehouse):
    with duckdb.connect(str(built_warehouse / "warehouse.duckdb"), read_only=True) as con:
        built = {(t, c) for t, c in con.execute(
            "SELECT table_name, column_name FROM information_schema.columns "
            "WHERE table_schema = 'features'").fetchall()}
    declared = {t.name: set(t.column_names) for t in wind.RAW_TABLES}
    for table, columns in NEEDS.items():
        for column, needs in columns.items():
            assert (table, column) in built, f"{table}.{column} is not a feature column"
            for need in (one for group in needs for one in group.split("|")):
                name, _, rest = need.partition("[")
                name, _, raw_column = name.partition(".")
                code, _, after = rest.partition("]")
                raw_column = raw_column or after.removeprefix(".")
                assert name in declared, need
                assert not raw_column or raw_column in declared[name], need
                assert not code or "S_INFO_WINDCODE" in declared[name], need
    # a clean warehouse has nothing to report
    assert coverage_report(built_warehouse / "warehouse.duckdb") == ""


def test_zoo_data_summary_prints_the_coverage(home, monkeypatch):
    from zoo.cli import main

    monkeypatch.setenv("ZOO_HOME", str(home))
    result = CliRunner().invoke(main, ["data", "summary"])
    assert result.exit_code == 0, result.output
    assert "features.stock_style_daily.bp: needs AShareBalanceSheet, which is empty" in (
        result.output)
