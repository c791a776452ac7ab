"""Incremental == full, whatever order the data arrives in (issue 16).

The same final raw data is loaded as several partitions (by date, by stock, rows that come
early, rows that come late, corrections and closed periods that come later) in random order,
with `zoo data refresh` (`sqlmesh run` after the loader marked what changed) after each load;
every intermediate, feature and label table must then equal the full build of the whole
market, value for value. The two sequences that once lost data without a word are here too.
"""

from __future__ import annotations

import random
from pathlib import Path

import polars as pl
import pytest

from tests.transforms.test_incremental import _assert_same_tables, _table, _tables
from zoo.daily.refresh import refresh
from zoo.ingest import wind
from zoo.ingest.load import load_dir

DAILY_STOCK = ("AShareEODPrices", "AShareEODDerivativeIndicator")
STATEMENTS = ("AShareIncome", "AShareBalanceSheet", "AShareCashFlow")
# Tables known in advance or slowly changing: in the first load (their closing dates later).
REFERENCE = ("AShareDescription", "AShareCalendar", "AShareIndustriesCode")


def _frames(market: Path) -> dict[str, pl.DataFrame]:
    return {p.stem: pl.read_parquet(p) for p in sorted(market.glob("*.parquet"))}


def _write(loads: list[dict[str, pl.DataFrame]], root: Path) -> list[Path]:
    folders = []
    for i, tables in enumerate(loads):
        folder = root / f"load_{i}"
        folder.mkdir(parents=True)
        for name, frame in tables.items():
            if frame.height:
                frame.write_parquet(folder / f"{name}.parquet")
        folders.append(folder)
    return folders


def _refresh_after_each(folders: list[Path], home: Path) -> None:
    for folder in folders:
        load_dir(folder, home / "warehouse.duckdb")
        refresh(home)


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("ZOO_HOME", str(home))
    return home


def _assert_as_full_build(home: Path, built_warehouse: Path) -> None:
    tables = _tables(built_warehouse)
    assert {"intermediate.int_daily_prices", "features.stock_fundamental_quarterly",
            "features.stock_style_daily", "labels.stock_fwd_return_daily"} <= set(tables)
    assert _tables(home) == tables
    _assert_same_tables(home, built_warehouse, tables)


# ------------------------------------------------------------------ the two sequences of issue 16
def test_an_early_row_then_the_full_extract(tiny_market, built_warehouse, home, tmp_path):
    """An extract cut at 2020-06-30 holding one stock's row of 2020-12-31 marked every day
    through December done; the full extract then came and `sqlmesh run` built nothing."""
    frames = _frames(tiny_market)
    early = {}
    for name, frame in frames.items():
        day = {"AShareEODPrices": "TRADE_DT", "AShareEODDerivativeIndicator": "TRADE_DT",
               "AIndexEODPrices": "TRADE_DT", "AIndexFreeWeight": "TRADE_DT"}.get(name)
        if day is None:
            early[name] = frame
            continue
        cut = frame.filter(pl.col(day) <= "20200630")
        if name == "AShareEODPrices":
            cut = pl.concat([cut, frame.filter(pl.col(day) == "20201231").head(1)])
        early[name] = cut
    _refresh_after_each(_write([early, frames], tmp_path / "loads"), home)
    prices = _table(home, "features.stock_price_volume_daily")
    assert prices.filter(pl.col("trade_date") > pl.date(2020, 6, 30)).height > 1000
    _assert_as_full_build(home, built_warehouse)


def test_a_backfill_of_stocks_for_days_already_built(tiny_market, built_warehouse, home,
                                                     tmp_path):
    """A later extract adds 40 stocks' daily rows over 2019-20 to days already built."""
    frames = _frames(tiny_market)
    codes = frames["AShareDescription"]["S_INFO_WINDCODE"].sort().to_list()
    later = pl.col("S_INFO_WINDCODE").is_in(codes[20:])
    first = {name: frame.filter(~later) if name in DAILY_STOCK else frame
             for name, frame in frames.items()}
    _refresh_after_each(_write([first, frames], tmp_path / "loads"), home)
    _assert_as_full_build(home, built_warehouse)


# ------------------------------------------------------------------ the property
def _date_of(name: str) -> str | None:
    table = wind.TABLES[name]
    return table.effective_dates[0] if table.effective_dates else None


def _partition(frames: dict[str, pl.DataFrame], rng: random.Random,
               n_loads: int) -> tuple[list[dict[str, pl.DataFrame]], dict[str, pl.DataFrame]]:
    """The market as `n_loads` loads, the first holding the reference tables (see the module
    doc), and the lone restatements, which must come with the last load applied. Every row of
    the market is in exactly one load (a closed period: open in the first load, closed in a
    later one)."""
    days = sorted(frames["AShareEODPrices"]["TRADE_DT"].unique().to_list())
    cuts = sorted(rng.sample(days[40:-40], n_loads - 2))
    late_stocks = set(rng.sample(sorted(frames["AShareDescription"]["S_INFO_WINDCODE"]
                                        .to_list()), 12))
    loads: list[dict[str, pl.DataFrame]] = [{} for _ in range(n_loads)]
    lone: dict[str, pl.DataFrame] = {}

    def add(k: int, name: str, part: pl.DataFrame) -> None:
        loads[k][name] = pl.concat([loads[k][name], part]) if name in loads[k] else part

    for name, frame in frames.items():
        table = wind.TABLES[name]
        if name in REFERENCE or _date_of(name) is None:
            where = [0] * frame.height
        else:
            dates = frame[_date_of(name)].fill_null("19000101").to_list()
            # by date: the load after the last cut before the row's date (1 .. n_loads - 1)
            where = [1 + sum(d > c for c in cuts) for d in dates]
            codes = frame["S_INFO_WINDCODE"].to_list()
            for i, code in enumerate(codes):
                roll = rng.random()
                if name in DAILY_STOCK and code in late_stocks:
                    where[i] = rng.randrange(where[i], n_loads)  # by stock: a backfill
                elif roll < 0.01:
                    where[i] = rng.randrange(where[i], n_loads)  # a late row
                elif roll < 0.015 and name in DAILY_STOCK:
                    where[i] = rng.randrange(1, where[i] + 1)  # an early row
            if name in STATEMENTS:
                where = _corrections_later(frame, where, rng, n_loads)
        loads_of = pl.Series("load", where)
        lone_rows = frame.filter(loads_of == -1)
        if lone_rows.height:
            lone[name] = lone_rows
        ends = [c.name for c in table.columns if c.closes and c.kind == wind.DATE]
        for k in range(n_loads):
            part = frame.filter(loads_of == k)
            if k == 0 and ends:
                # periods close later: open in the first load, closed in a random later one
                closed = part.filter(pl.any_horizontal(pl.col(ends).is_not_null()))
                part = part.with_columns(pl.lit(None, dtype=part.schema[c]).alias(c)
                                         for c in ends)
                for row in closed.iter_slices(1):
                    add(rng.randrange(1, n_loads), name, row)
            add(k, name, part)
    return loads, lone


def _corrections_later(frame: pl.DataFrame, where: list[int], rng: random.Random,
                       n_loads: int) -> list[int]:
    """A correction (408004000 with its 408005000 original) arrives together, in a load at or
    after both rows' loads by date; a lone restatement (restated comparatives) is marked -1:
    it comes with the last load applied, so it is never announced past the prices loaded so
    far (the loader refuses that)."""
    kinds = frame["STATEMENT_TYPE"].to_list()
    keys = list(zip(frame["S_INFO_WINDCODE"].to_list(), frame["REPORT_PERIOD"].to_list(),
                    strict=True))
    correction = (wind.STATEMENT_RESTATED, wind.STATEMENT_BEFORE_RESTATEMENT)
    paired = {key for key, kind in zip(keys, kinds, strict=True)
              if kind == wind.STATEMENT_BEFORE_RESTATEMENT}
    earliest: dict[tuple[str, str], int] = {}
    for i, (key, kind) in enumerate(zip(keys, kinds, strict=True)):
        if kind in correction and key in paired:
            earliest[key] = max(earliest.get(key, 1), where[i])
    chosen = {key: rng.randrange(k, n_loads) for key, k in sorted(earliest.items())}
    out = list(where)
    for i, (key, kind) in enumerate(zip(keys, kinds, strict=True)):
        if kind == wind.STATEMENT_RESTATED and key not in paired:
            out[i] = -1
        elif kind in correction:
            out[i] = chosen[key]
    return out


# one seed in the default suite (a minute); more with `pytest -m slow`
@pytest.mark.parametrize("seed", [1, *(pytest.param(s, marks=pytest.mark.slow)
                                       for s in range(2, 7))])
def test_any_arrival_order_ends_as_a_full_build(tiny_market, built_warehouse, home, tmp_path,
                                                seed):
    rng = random.Random(seed)
    loads, lone = _partition(_frames(tiny_market), rng, n_loads=4)
    later = loads[1:]
    rng.shuffle(later)  # the loads after the first come in any order
    for name, rows in lone.items():  # see _corrections_later
        later[-1][name] = pl.concat([later[-1][name], rows]) if name in later[-1] else rows
    folders = _write([loads[0], *later], tmp_path / "loads")
    _refresh_after_each(folders, home)
    _assert_as_full_build(home, built_warehouse)
