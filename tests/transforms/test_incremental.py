"""Incremental equals full: days whose raw rows arrive later are filled by `sqlmesh run`."""

import shutil

import duckdb
import polars as pl
from polars.testing import assert_frame_equal

from tests.transforms.test_project import sqlmesh
from zoo.ingest.load import load_dir

CUT = "20200630"
DAILY = {"AShareEODPrices": "TRADE_DT", "AShareEODDerivativeIndicator": "TRADE_DT",
         "AIndexEODPrices": "TRADE_DT", "AIndexFreeWeight": "TRADE_DT"}
BUILT_SCHEMAS = ("intermediate", "features", "labels")


def _extract_until(market, out, cut: str, calendar: bool = False):
    """The market as an extract taken at `cut`: the daily tables stop there (with `calendar`,
    the trade calendar too)."""
    out.mkdir()
    cut_tables = {**DAILY, **({"AShareCalendar": "TRADE_DAYS"} if calendar else {})}
    for path in market.glob("*.parquet"):
        frame = pl.read_parquet(path)
        if path.stem in cut_tables:
            frame = frame.filter(pl.col(cut_tables[path.stem]) <= cut)
        frame.write_parquet(out / path.name)
    return out


def _load_and_plan(src, home) -> None:
    """A new home holding the tables of `src`, every model built by `sqlmesh plan`."""
    home.mkdir()
    load_dir(src, home / "warehouse.duckdb")
    plan = sqlmesh(home, "plan", "--auto-apply", "--no-prompts")
    assert plan.returncode == 0, plan.stdout + plan.stderr


def _tables(home) -> list[str]:
    """Every table the models build (the views of the schemas SQLMesh writes to)."""
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        rows = con.execute(
            "SELECT table_schema || '.' || table_name FROM information_schema.tables "
            f"WHERE table_schema IN {BUILT_SCHEMAS} ORDER BY 1").fetchall()
    return [r[0] for r in rows]


def _table(home, name: str) -> pl.DataFrame:
    """The table in a canonical row order (every column sorts, whatever the grain)."""
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        return con.execute(f"SELECT * FROM {name} ORDER BY ALL").pl()


def test_plan_then_run_on_a_later_extract_equals_one_full_build(tiny_market, tmp_path,
                                                                 monkeypatch):
    full, incremental = tmp_path / "full", tmp_path / "incremental"
    _load_and_plan(tiny_market, full)
    early = _extract_until(tiny_market, tmp_path / "early", CUT)
    _load_and_plan(early, incremental)
    prices = _table(incremental, "intermediate.int_daily_prices")
    assert str(prices["trade_date"].max()).replace("-", "") <= CUT
    # labels wait until their 21 trading days have arrived, and are then written complete
    days = sorted(prices["trade_date"].unique())
    labels = _table(incremental, "labels.stock_fwd_return_daily")
    assert labels["trade_date"].max() == days[-22]
    last = labels.filter(pl.col("trade_date") == days[-22])
    assert last["fwd_ret_vwap_20d"].is_not_null().mean() > 0.9

    load_dir(tiny_market, incremental / "warehouse.duckdb")
    run = sqlmesh(incremental, "run")
    assert run.returncode == 0, run.stdout + run.stderr
    tables = _tables(full)
    assert {"intermediate.int_daily_prices", "features.stock_price_volume_daily",
            "features.stock_universe_daily", "labels.stock_fwd_return_daily"} <= set(tables)
    assert _tables(incremental) == tables
    _assert_same_tables(incremental, full, tables)

    # nothing new arrived: a second run does nothing
    again = sqlmesh(incremental, "run")
    assert again.returncode == 0, again.stdout + again.stderr
    assert "insert" not in again.stdout, again.stdout
    _assert_same_tables(incremental, full, tables)
    shutil.rmtree(tmp_path / "early")


def test_a_statement_announced_on_the_last_loaded_day_is_used_from_the_next_day(
        tiny_market, tmp_path):
    """An extract taken on an announcement day: its calendar ends that day too, so the day a
    version becomes usable (the next trading day) is not known yet. Once the next day is
    loaded, `sqlmesh run` must give what one full build gives, that version included."""
    calendar = pl.read_parquet(tiny_market / "AShareCalendar.parquet")
    days = sorted(calendar["TRADE_DAYS"].unique())
    income = pl.read_parquet(tiny_market / "AShareIncome.parquet")
    announced = set(income.filter(pl.col("STATEMENT_TYPE") == "408001000")["ANN_DT"])
    day = next(d for d in reversed(days[len(days) // 4: -30]) if d in announced)

    full, incremental = tmp_path / "full", tmp_path / "incremental"
    _load_and_plan(tiny_market, full)
    _load_and_plan(_extract_until(tiny_market, tmp_path / "early", day, calendar=True),
                   incremental)
    load_dir(tiny_market, incremental / "warehouse.duckdb")
    run = sqlmesh(incremental, "run")
    assert run.returncode == 0, run.stdout + run.stderr

    history = _table(incremental, "intermediate.int_statement_history")
    next_day = days[days.index(day) + 1]
    as_of = {str(d).replace("-", "") for d in history["as_of_date"].unique()}
    assert next_day in as_of  # the versions of `day` are in force from the next trading day
    _assert_same_tables(incremental, full, _tables(full))


def _assert_same_tables(incremental, full, tables: list[str]) -> None:
    differ = []
    for name in tables:
        try:
            assert_frame_equal(_table(incremental, name), _table(full, name),
                               rel_tol=1e-12, abs_tol=1e-12)
        except AssertionError as error:
            differ.append(f"{name}: {error}")
    assert not differ, "\n".join(differ)
