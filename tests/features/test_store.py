"""The Feast store end to end on the tiny market: apply, point-in-time retrieval, bad requests,
online serving, and retrieval while a refresh holds the warehouse."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from zoo.serving import feature_store as fstore

SHANGHAI = "Asia/Shanghai"


@pytest.fixture(scope="module")
def home(feast_home):
    """The exported, applied tiny market as $ZOO_HOME for this module (some tests write to it:
    the online store, a restatement)."""
    with pytest.MonkeyPatch.context() as env:
        env.setenv("ZOO_HOME", str(feast_home))
        yield feast_home


def _at_close(days: list[str]) -> pd.Series:
    return pd.to_datetime(pd.Series(days)).dt.tz_localize(SHANGHAI) + pd.Timedelta(hours=15)


def _query(home: Path, sql: str, *params):
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        return con.execute(sql, list(params)).fetchall()


def test_exports_and_apply_from_a_fresh_home(home):
    assert (home / "offline" / "stock_style_daily" / "2020-12.parquet").is_file()
    assert (home / "registry.db").is_file()


def test_second_apply_changes_nothing(home):
    again = fstore.apply()
    assert "No changes to registry" in again and "Created" not in again


def test_service_returns_the_rows_sqlmesh_built(home):
    (stock, day, size), = _query(home, "SELECT stock_id, trade_date, size FROM "
                                       "features.stock_style_daily WHERE in_universe "
                                       "ORDER BY trade_date DESC, stock_id LIMIT 1")
    entities = pd.DataFrame({"stock_id": [stock], "event_timestamp": _at_close([str(day)])})
    table = fstore.get_historical("style_v1", entities).to_pandas()
    assert table["size"].iloc[0] == pytest.approx(size)


def test_a_statement_is_not_visible_before_the_first_trading_day_after_it(home):
    """The fundamental row available from day A is returned at A's close, not the day before."""
    (stock, available, previous_day, equity), = _query(home, """
        SELECT f.stock_id, f.available_date, c.trading_day_on_or_before, f.parent_equity
        FROM features.stock_fundamental_quarterly AS f
        JOIN intermediate.int_calendar_days AS c ON c.calendar_date = f.available_date - 1
        WHERE f.available_date > DATE '2019-06-01'
        ORDER BY f.available_date, f.stock_id LIMIT 1
    """)
    (announced,), = _query(home, "SELECT last_announced_date FROM "
                                 "features.stock_fundamental_quarterly WHERE stock_id = ? "
                                 "AND available_date = ?", stock, available)
    assert previous_day >= announced  # the day before it became usable: on/after announcing
    entities = pd.DataFrame({"stock_id": [stock, stock],
                             "event_timestamp": _at_close([str(previous_day), str(available)])})
    table = fstore.get_historical("fundamentals_v1", entities).to_pandas()
    assert table["parent_equity"].iloc[1] == pytest.approx(equity)
    assert pd.isna(table["parent_equity"].iloc[0]) or table["parent_equity"].iloc[0] != equity


def test_bad_requests_get_clear_errors(home):
    good = pd.DataFrame({"stock_id": ["000001.SZ"], "event_timestamp": _at_close(["2020-06-30"])})
    with pytest.raises(fstore.FeatureStoreError, match="unknown feature service 'nope'.*style_v1"):
        fstore.get_historical("nope", good)
    with pytest.raises(ValueError, match="event_timestamp"):
        fstore.get_historical("style_v1", good.rename(columns={"event_timestamp": "ts"}))
    naive = good.assign(event_timestamp=good["event_timestamp"].dt.tz_localize(None))
    with pytest.raises(ValueError, match="timezone-aware"):
        fstore.get_historical("style_v1", naive)


def test_unknown_stocks_come_back_empty_and_are_reported(home):
    entities = pd.DataFrame({"stock_id": ["999999.SH"],
                             "event_timestamp": _at_close(["2020-06-30"])})
    table = fstore.get_historical("style_v1", entities).to_pandas()
    assert len(table) == 1 and table["size"].isna().all()
    assert fstore.unknown_stocks(entities) == ["999999.SH"]


def test_entities_from_csv_need_offsets(home, tmp_path):
    csv = tmp_path / "entities.csv"
    csv.write_text("stock_id,event_timestamp\n000001.SZ,2020-06-30T15:00:00+08:00\n")
    frame = fstore.read_entities(csv)
    assert frame["event_timestamp"].dt.tz is not None
    assert frame["event_timestamp"].iloc[0] == pd.Timestamp("2020-06-30 07:00", tz="UTC")
    missing = tmp_path / "bad.csv"
    missing.write_text("stock_id,day\n000001.SZ,2020-06-30\n")
    with pytest.raises(fstore.FeatureStoreError, match="missing \\['event_timestamp'\\]"):
        fstore.read_entities(missing)


def test_online_store_serves_the_latest_day(home):
    latest = fstore.materialize()
    (stock, size), = _query(home, "SELECT stock_id, size FROM features.stock_style_daily "
                                  "WHERE trade_date = (SELECT MAX(trade_date) FROM "
                                  "features.stock_style_daily) AND in_universe "
                                  "ORDER BY stock_id LIMIT 1")
    online = fstore.store().get_online_features(
        features=["stock_style_daily:size"], entity_rows=[{"stock_id": stock}]).to_dict()
    assert online["size"][0] == pytest.approx(size)
    assert latest.hour == 7  # 15:00 Shanghai


def test_retrieval_works_while_sqlmesh_holds_the_warehouse(home):
    """Feast reads the parquet exports, so a refresh writing the warehouse does not block it."""
    transforms = Path(__file__).resolve().parents[2] / "transforms"
    entities = pd.DataFrame({"stock_id": ["000001.SZ"] * 50,
                             "event_timestamp": _at_close(["2020-06-30"] * 50)})
    expected = fstore.get_historical("style_v1", entities).to_pandas()
    results, errors = [], []

    def retrieve_until(stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                got = fstore.get_historical("style_v1", entities).to_pandas()
                results.append(got.equals(expected))
            except Exception as err:  # noqa: BLE001 - any failure is the finding
                errors.append(err)

    # restating three months of style factors makes sqlmesh hold the warehouse for a while
    refresh = subprocess.Popen(
        [str(Path(sys.executable).with_name("sqlmesh")), "plan", "--auto-apply", "--no-prompts",
         "--skip-tests", "--restate-model", "features.stock_style_daily",
         "--start", "2020-10-01"],
        cwd=transforms, env={**os.environ}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True)
    stop = threading.Event()
    reader = threading.Thread(target=retrieve_until, args=(stop,))
    reader.start()
    output = refresh.communicate(timeout=300)[0]
    time.sleep(0.2)
    stop.set()
    reader.join()
    assert refresh.returncode == 0, output
    assert not errors, errors[:3]
    assert results and all(results)



def test_cli_get_writes_a_sample(home, tmp_path):
    from click.testing import CliRunner

    from zoo.cli import main

    out = tmp_path / "sample.parquet"
    result = CliRunner().invoke(main, ["features", "get", "--service", "style_v1",
                                       "--sample", "3", "--out", str(out)])
    assert result.exit_code == 0, result.output
    frame = pd.read_parquet(out)
    assert len(frame) == 3 and frame["size"].notna().all()
    # timestamps in Shanghai time: the close is 15:00+08:00, not 07:00+00:00
    assert str(frame["event_timestamp"].dt.tz) == SHANGHAI
    assert (frame["event_timestamp"].dt.hour == 15).all()
    shown = CliRunner().invoke(main, ["features", "get", "--service", "style_v1",
                                      "--sample", "2"])
    assert shown.exit_code == 0, shown.output
    assert "15:00:00+08:00" in shown.output and "+00:00" not in shown.output
    both = CliRunner().invoke(main, ["features", "get", "--service", "style_v1"])
    assert both.exit_code != 0 and "exactly one of --entities" in both.output
