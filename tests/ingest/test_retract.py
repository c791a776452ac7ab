"""`zoo data retract` (issue 17): the audited way to take a bad raw row out of the warehouse.
It removes exactly the rows its key filter names, keeps them in raw._retracted, records the
retraction in raw._loads, says how to rebuild what used them, and refuses anything else with
the warehouse unchanged."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
from click.testing import CliRunner

from tests.ingest.test_load import query, snapshot
from zoo.cli import main
from zoo.ingest.load import load_dir
from zoo.ingest.retract import RetractError, retract
from zoo.serving.freshness import latest_load


@pytest.fixture
def loaded(warehouse: Path, market_files: Path) -> Path:
    """The tiny conftest market loaded into a fresh warehouse."""
    load_dir(market_files, warehouse)
    return warehouse


def retract_cli(warehouse: Path, *args: str):
    return CliRunner().invoke(main, ["data", "retract", *args, "--warehouse", str(warehouse)])


def test_a_retraction_removes_the_row_keeps_it_and_records_it(loaded: Path) -> None:
    import duckdb

    with duckdb.connect(str(loaded), read_only=True) as con:
        before = latest_load(con)
    done = retract_cli(loaded, "AShareEODPrices", "--where", "S_INFO_WINDCODE=000001.SZ",
                       "--where", "TRADE_DT=2020-01-03", "--reason", "preclose wrong")
    assert done.exit_code == 0, done.output
    assert ("Retracted 1 row of raw.AShareEODPrices where S_INFO_WINDCODE = 000001.SZ AND "
            "TRADE_DT = 20200103; they are kept in raw._retracted") in done.output
    assert "  S_INFO_WINDCODE=000001.SZ TRADE_DT=20200103 CRNCY_CODE=CNY" in done.output
    # nothing was built from this warehouse yet: the change is recorded and marked done
    assert "Nothing was built from the raw data yet" in done.output
    assert query(loaded, "SELECT count(*) FROM raw.AShareEODPrices WHERE S_INFO_WINDCODE = "
                         "'000001.SZ'") == [(4,)]
    (at, table, command, reason, row), = query(loaded, "SELECT * FROM raw._retracted")
    assert (table, reason) == ("raw.AShareEODPrices", "preclose wrong")
    assert command == ("zoo data retract AShareEODPrices --where S_INFO_WINDCODE=000001.SZ "
                       "--where TRADE_DT=20200103")
    assert json.loads(row)["S_DQ_TRADESTATUSCODE"] == -1
    last = query(loaded, "SELECT loaded_at, table_name, source_file, rows_inserted, "
                         "rows_retracted, changed_from, cleared_at IS NOT NULL FROM raw._loads "
                         "ORDER BY loaded_at DESC LIMIT 1")
    assert last == [(at, "raw.AShareEODPrices", f"{command} (reason: preclose wrong)", 0, 1,
                     "20200103", True)]
    assert at > before  # the warehouse's latest change: the exports are stale now


def test_a_partial_key_retracts_every_row_it_names(loaded: Path) -> None:
    """A key column alone names all its rows; a statement changes what is built from the
    earliest announcement among them (not its report period, months before)."""
    found = retract(loaded, "ashareincome", [("S_INFO_WINDCODE", "600000.SH")], dry_run=True)
    assert found.rows.height == 3 and found.dry_run
    earliest = found.rows.select(pl.min_horizontal("ANN_DT", "ACTUAL_ANN_DT").min()).item()
    assert found.changed_from == earliest > found.rows["REPORT_PERIOD"].min()
    done = retract(loaded, "AShareIncome", [("S_INFO_WINDCODE", "600000.SH"),
                                            ("STATEMENT_TYPE", "408005000")])
    assert done.rows["STATEMENT_TYPE"].to_list() == ["408005000"]
    assert query(loaded, "SELECT count(*) FROM raw.AShareIncome") == [(5,)]


def test_a_dry_run_shows_the_rows_and_changes_nothing(loaded: Path) -> None:
    before = snapshot(loaded)
    done = retract_cli(loaded, "AShareEODPrices", "--where", "TRADE_DT=20200108", "--dry-run")
    assert done.exit_code == 0, done.output
    assert "Would retract 3 rows of raw.AShareEODPrices where TRADE_DT = 20200108 (dry run: " \
           "nothing was removed)" in done.output
    assert done.output.count("TRADE_DT=20200108") == 3
    assert snapshot(loaded) == before


REFUSED = {
    "no filter": ([], "say which rows: --where KEY=VALUE with key columns of AShareEODPrices "
                      "(S_INFO_WINDCODE, TRADE_DT)"),
    "a column that is not in the key": (
        ["--where", "S_DQ_CLOSE=9.9"],
        "S_DQ_CLOSE is a column but not a key column of AShareEODPrices"),
    "not a column": (["--where", "1=1"], "1 is not a column of AShareEODPrices"),
    "a key column twice": (["--where", "TRADE_DT=20200102", "--where", "trade_dt=20200103"],
                           "TRADE_DT is given twice"),
    "not KEY=VALUE": (["--where", "TRADE_DT"], "is not KEY=VALUE"),
    "a date that is no day": (["--where", "TRADE_DT=20200230"], "'20200230' is not a day"),
    "SQL in a value (bound: it matches nothing)": (
        ["--where", "S_INFO_WINDCODE=x' OR '1'='1"],
        "no row of raw.AShareEODPrices has S_INFO_WINDCODE = x' OR '1'='1: nothing to retract"),
    "nothing matches": (["--where", "TRADE_DT=20200109"], "nothing to retract"),
}


@pytest.mark.parametrize("case", REFUSED, ids=str)
def test_a_refused_retraction_changes_nothing(case: str, loaded: Path) -> None:
    arguments, says = REFUSED[case]
    before = snapshot(loaded)
    done = retract_cli(loaded, "AShareEODPrices", *arguments)
    assert done.exit_code in (1, 2), done.output
    assert isinstance(done.exception, SystemExit), repr(done.exception)
    assert says in " ".join(done.output.split())
    assert snapshot(loaded) == before


def test_unknown_and_alias_tables(loaded: Path) -> None:
    with pytest.raises(RetractError, match="did you mean AShareEODPrices"):
        retract(loaded, "AShareEODPrice", [("TRADE_DT", "20200102")])
    # a Wind alias names the table it loads into
    found = retract(loaded, "AIndexCSI500Weight", [("TRADE_DT", "20200102")], dry_run=True)
    assert found.table.name == "AIndexFreeWeight" and found.rows.height == 3


def test_rows_other_rows_need_are_not_retracted(loaded: Path) -> None:
    """The loader's cross-table rules hold afterwards: a stock with prices stays listed, a day
    with prices stays a trading day (of one exchange at least)."""
    before = snapshot(loaded)
    with pytest.raises(RetractError) as caught:
        retract(loaded, "AShareDescription", [("S_INFO_WINDCODE", "830799.BJ")])
    assert ("5 rows of AShareEODPrices would name a stock no longer in AShareDescription"
            in str(caught.value))
    with pytest.raises(RetractError, match="3 rows of AShareEODPrices would fall on a day no "
                                           "longer in AShareCalendar"):
        retract(loaded, "AShareCalendar", [("TRADE_DAYS", "20200103")])
    assert snapshot(loaded) == before
    # SZSE keeps the day: one exchange's row may go
    done = retract(loaded, "AShareCalendar", [("TRADE_DAYS", "20200103"),
                                              ("S_INFO_EXCHMARKET", "SSE")])
    assert done.rows.height == 1


def test_a_missing_warehouse_is_a_clean_error(tmp_path: Path) -> None:
    done = retract_cli(tmp_path / "none.duckdb", "AShareST", "--where",
                       "S_INFO_WINDCODE=000001.SZ")
    assert done.exit_code == 1 and "no warehouse at" in done.output
    assert not (tmp_path / "none.duckdb").exists()


def test_retracting_the_last_days_prices_says_what_stays_built(loaded: Path) -> None:
    """SQLMesh computes a day only once its prices are loaded, so a rebuild leaves the
    built rows of days after the new last price day as they were: the summary says so."""
    done = retract(loaded, "AShareEODPrices", [("TRADE_DT", "20200108")], dry_run=True)
    assert done.last_price_day == ("20200108", "20200107")
    assert ("The latest day with prices goes back from 20200108 to 20200107: the days after it "
            "keep what was built for them") in done.summary()
    assert retract(loaded, "AShareEODPrices", [("TRADE_DT", "20200107")],
                   dry_run=True).last_price_day is None
