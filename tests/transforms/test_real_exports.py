"""A real export must not stop the pipeline (issue 15): the tiny market made to look like what
real sources hold, then `sqlmesh plan` with every audit.

The raw tables are changed the way a real extract differs from the synthetic market (what the
ingest side now accepts, simulated here directly): listing dates, names, free-float shares and
company types unknown (NULL); balance sheet, cash flow, CITIC industries, index levels and ST
periods present but empty; no CSI 1000 at all; an extract without one CSI 300 member; a stock
whose first report is an H1 (no single quarter yet). The plan must pass, and what cannot be
computed must be NULL, with `zoo data summary`'s coverage saying why.
"""

from __future__ import annotations

import shutil
from datetime import date

import duckdb
import polars as pl
import pytest

from tests.transforms.test_project import sqlmesh
from zoo.ingest import wind

UNKNOWN_LISTING_IPO = "600029.SH"  # listed 2019-02-28, while the data runs
UNKNOWN_LISTING_OLD = "000002.SZ"  # listed before the data's first day
LEFT_OUT = "600013.SH"  # a CSI 300 member the extract does not cover
H1_FIRST = "600001.SH"  # its reports before 2019-06-30 are not in the extract
# as baostock: no parent net profit, no total operating revenue (only the figures including
# minorities, and operating revenue)
PROFIT_INCL_MINORITIES = "600004.SH"
EMPTIED = ("AShareBalanceSheet", "AShareCashFlow", "AShareIndustriesClassCITICS",
           "AShareIndustriesCode", "AIndexEODPrices", "AShareST")
NULLABLE = {"AShareDescription": ("S_INFO_NAME", "S_INFO_LISTDATE"),
            "AShareEODDerivativeIndicator": ("FREE_SHARES_TODAY", "S_DQ_FREETURNOVER"),
            "AShareIncome": ("COMP_TYPE_CODE",)}


def _make_real(warehouse) -> None:
    with duckdb.connect(str(warehouse)) as con:
        for table, columns in NULLABLE.items():
            for column in columns:
                con.execute(f"ALTER TABLE raw.{table} ALTER COLUMN {column} DROP NOT NULL")
        con.execute("UPDATE raw.AShareDescription SET S_INFO_LISTDATE = NULL, S_INFO_NAME = NULL "
                    f"WHERE S_INFO_WINDCODE IN ('{UNKNOWN_LISTING_IPO}', '{UNKNOWN_LISTING_OLD}')")
        con.execute("UPDATE raw.AShareEODDerivativeIndicator "
                    "SET FREE_SHARES_TODAY = NULL, S_DQ_FREETURNOVER = NULL")
        con.execute("UPDATE raw.AShareIncome SET COMP_TYPE_CODE = NULL")
        for table in EMPTIED:
            con.execute(f"DELETE FROM raw.{table}")
        for table in ("AIndexMembers", "AIndexFreeWeight"):
            con.execute(f"DELETE FROM raw.{table} WHERE S_INFO_WINDCODE = '{wind.CSI1000}'")
        for table in ("AShareEODPrices", "AShareEODDerivativeIndicator", "AShareDescription"):
            con.execute(f"DELETE FROM raw.{table} WHERE S_INFO_WINDCODE = '{LEFT_OUT}'")
        con.execute(f"DELETE FROM raw.AShareIncome WHERE S_INFO_WINDCODE = '{H1_FIRST}' "
                    "AND REPORT_PERIOD < '20190630'")
        con.execute("UPDATE raw.AShareIncome SET NET_PROFIT_EXCL_MIN_INT_INC = NULL, "
                    f"TOT_OPER_REV = NULL WHERE S_INFO_WINDCODE = '{PROFIT_INCL_MINORITIES}'")


@pytest.fixture(scope="module")
def real_home(tiny_warehouse, tmp_path_factory):
    home = tmp_path_factory.mktemp("real_export")
    shutil.copy(tiny_warehouse, home / "warehouse.duckdb")
    _make_real(home / "warehouse.duckdb")
    plan = sqlmesh(home, "plan", "--auto-apply", "--no-prompts", "--skip-tests")
    assert plan.returncode == 0, plan.stdout + plan.stderr
    assert "failed" not in plan.stdout.lower(), plan.stdout
    return home


def _built(home, sql: str, *params) -> pl.DataFrame:
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        return con.execute(sql, list(params)).pl()


def test_unknown_list_dates_count_from_the_first_price_row(real_home, built_warehouse):
    sql = ("SELECT trade_date, listed_trading_days, in_universe FROM "
           "features.stock_universe_daily WHERE stock_id = ? ORDER BY trade_date")
    # an IPO while the data runs: its first row is its listing day, as with the known date
    ipo = _built(real_home, sql, UNKNOWN_LISTING_IPO).drop("in_universe")
    assert ipo.height and ipo.equals(_built(built_warehouse, sql, UNKNOWN_LISTING_IPO)
                                     .drop("in_universe"))
    # listed before the data: never older than the data says (0 on its first day)
    old = _built(real_home, sql, UNKNOWN_LISTING_OLD)
    assert old["listed_trading_days"].to_list() == list(range(old.height))
    assert not old["in_universe"].head(120).any() and old["in_universe"].tail(100).any()


def test_missing_free_float_leaves_free_turnover_null(real_home):
    turnover = _built(real_home, "SELECT count(turnover_pct) AS turnover, "
                      "count(free_turnover_pct) AS free FROM features.stock_price_volume_daily")
    assert turnover["turnover"][0] > 0 and turnover["free"][0] == 0


def test_features_needing_an_empty_table_are_null(real_home):
    style = _built(real_home, "SELECT count(*) AS n, count(bp) AS bp, count(profitability) AS "
                   "roe, count(industry_l1_code) AS industry, count(ep) AS ep "
                   "FROM features.stock_style_daily")
    assert style["n"][0] > 0 and style["ep"][0] > 0  # the income statement is there
    assert style["bp"][0] == style["roe"][0] == style["industry"][0] == 0
    fundamentals = _built(real_home, "SELECT count(*) AS n, count(revenue_ttm) AS revenue, "
                          "count(parent_equity) AS equity, count(operating_cash_flow_ttm) AS "
                          "cash, count(comp_type) AS comp "
                          "FROM features.stock_fundamental_quarterly")
    assert fundamentals["n"][0] > 0 and fundamentals["revenue"][0] > 0
    assert fundamentals["equity"][0] == fundamentals["cash"][0] == fundamentals["comp"][0] == 0


def test_a_first_report_that_is_not_a_q1_passes_the_audits(real_home):
    first = _built(real_home, "SELECT latest_report_period, quarters_known FROM "
                   "features.stock_fundamental_quarterly WHERE stock_id = ? "
                   "ORDER BY available_date LIMIT 1", H1_FIRST)
    assert first.row(0) == (date(2019, 6, 30), 0)


def test_index_weights_of_a_partial_extract_are_its_share_not_inflated(real_home, tiny_market):
    universe = _built(real_home, "SELECT stock_id, trade_date, csi300_weight_pct, "
                      "csi500_weight_pct, csi1000_weight_pct FROM features.stock_universe_daily")
    # an index the source does not cover: unknown, not "no member"
    assert universe["csi1000_weight_pct"].null_count() == universe.height
    sums = universe.group_by("trade_date").agg(pl.col("csi300_weight_pct").sum().alias("s300"),
                                               pl.col("csi500_weight_pct").sum().alias("s500"))
    # the left-out stock is in some snapshots of each: below 100 then, never above, and a
    # whole index still sums to 100
    for total in (sums["s300"], sums["s500"]):
        assert (total < 100 + 1e-9).all()
        assert ((total - 100).abs() < 1e-9).any() and (total.is_between(1, 99)).any()
    snapshots = pl.read_parquet(tiny_market / "AIndexFreeWeight.parquet").select(
        pl.col("S_INFO_WINDCODE").alias("index_id"), pl.col("S_CON_WINDCODE").alias("stock_id"),
        pl.col("TRADE_DT").str.strptime(pl.Date, "%Y%m%d").alias("trade_date"),
        pl.col("I_WEIGHT").alias("snapshot_weight"))
    for index_id, column in ((wind.CSI300, "csi300_weight_pct"),
                             (wind.CSI500, "csi500_weight_pct")):
        on_snapshot = universe.join(snapshots.filter(pl.col("index_id") == index_id),
                                    on=["stock_id", "trade_date"])
        assert on_snapshot.height > 0
        # on a snapshot day a covered member weighs what the snapshot says (up to rounding)
        assert ((on_snapshot[column] - on_snapshot["snapshot_weight"]).abs() < 1e-3).all()


def test_coverage_says_what_cannot_be_served_and_why(real_home):
    from zoo.serving.coverage import coverage, coverage_report

    found = coverage(real_home / "warehouse.duckdb")
    empty = {g.name: g.why for g in found.empty}
    assert empty["features.stock_style_daily.bp"] == "needs AShareBalanceSheet, which is empty"
    assert "AShareIndustriesClassCITICS, which is empty" in empty[
        "features.stock_style_daily.industry_l1_code"]
    assert empty["features.stock_universe_daily.csi1000_weight_pct"].startswith(
        f"needs AIndexMembers, which has no rows for {wind.CSI1000}")
    assert "S_DQ_FREETURNOVER, which is NULL in every row" in empty[
        "features.stock_price_volume_daily.free_turnover_pct"]
    assert "AShareCashFlow, which is empty" in empty[
        "features.stock_fundamental_quarterly.operating_cash_flow_ttm_12q"]
    assert "features.stock_style_daily.ep" not in empty  # the income statement is there
    degraded = {g.name: g.why for g in found.degraded}
    assert degraded["features.stock_universe_daily.is_st"] == "without AShareST, which is empty"
    assert "S_INFO_LISTDATE, which is NULL in" in degraded[
        "features.stock_universe_daily.listed_trading_days"]
    report = coverage_report(real_home / "warehouse.duckdb")
    assert ("features.stock_style_daily.{bp, profitability}: needs AShareBalanceSheet, which is "
            "empty") in report


def test_a_source_without_parent_profit_or_total_revenue_is_served_their_substitutes(
        real_home, tiny_warehouse):
    """Net profit including minorities stands in for the parent's, operating revenue for
    total operating revenue (transforms/models/staging/stg_income.sql): the TTM figures are
    those of the substitutes, computed from the raw rows independently here."""
    got = _built(real_home, "SELECT available_date, net_profit_ttm, revenue_ttm FROM "
                 "features.stock_fundamental_quarterly WHERE stock_id = ? AND "
                 "net_profit_ttm IS NOT NULL ORDER BY available_date DESC LIMIT 1",
                 PROFIT_INCL_MINORITIES)
    assert got.height == 1
    with duckdb.connect(str(tiny_warehouse), read_only=True) as con:
        rows = con.execute(
            "SELECT REPORT_PERIOD, NET_PROFIT_INCL_MIN_INT_INC AS np, OPER_REV AS rev, "
            "NET_PROFIT_EXCL_MIN_INT_INC AS parent FROM raw.AShareIncome "
            "WHERE S_INFO_WINDCODE = ? AND STATEMENT_TYPE = '408001000' AND ANN_DT < ?",
            [PROFIT_INCL_MINORITIES, got["available_date"][0].strftime("%Y%m%d")]).pl()
    latest = rows["REPORT_PERIOD"].max()
    year, md = int(latest[:4]), latest[4:]

    def value(column: str, period: str) -> float:
        return rows.filter(pl.col("REPORT_PERIOD") == period)[column][0]

    def ttm(column: str) -> float:
        if md == "1231":
            return value(column, latest)
        return (value(column, latest) + value(column, f"{year - 1}1231")
                - value(column, f"{year - 1}{md}"))

    assert got["net_profit_ttm"][0] == pytest.approx(ttm("np"), rel=1e-9)
    assert got["revenue_ttm"][0] == pytest.approx(ttm("rev"), rel=1e-9)
    assert ttm("np") != pytest.approx(ttm("parent"), rel=1e-6)  # the substitute shows
