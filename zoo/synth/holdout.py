"""A market as a first extract and the daily extracts that follow it: `zoo data synth
--hold-out-days N` and the daily-cycle benchmark.

`hold_out(market, days, out)` writes `out/load/` (every raw table as an extract taken after
the close of the last day before the held-out ones would hold it) and one folder per held-out
trading day, `out/extracts/<YYYYMMDD>/` (what that evening's extract adds). A row goes to the
extract of the first day it can affect (wind.Table.effective_dates: a price row its TRADE_DT,
a statement its announcement, a new listing its listing date); a period that closes on a
held-out day (an ST removal, an index exit, a delisting) is open in the first load and comes
closed in the extract of the day it closes, as Wind updates it in place. Truth tables stay
whole (they are not raw data). Loading `load/` and then every extract in order gives the
whole market, row for row.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import polars as pl

from zoo.ingest import wind
from zoo.ingest.changes import WHOLE_HISTORY

LOAD, EXTRACTS = "load", "extracts"
OPEN_SIGN = "1"  # Wind's CUR_SIGN of a period still open


@dataclass(frozen=True)
class HeldOut:
    first_load: Path
    extracts: tuple[Path, ...]  # in day order
    cut: str  # the last day of the first load (YYYYMMDD)

    def summary(self) -> str:
        days = ", ".join(p.name for p in self.extracts)
        return (f"Held out the last {len(self.extracts)} trading day(s) ({days}): the first "
                f"load ({self.first_load}) stops at {self.cut}; each day's extract is under "
                f"{self.first_load.parent / EXTRACTS} (load it with `zoo daily --extract DIR`).")


def _first_day(table: wind.Table) -> pl.Expr:
    columns = list(table.effective_dates)
    if not columns:
        return pl.lit(WHOLE_HISTORY)
    return pl.min_horizontal([pl.col(c) for c in columns]).fill_null(WHOLE_HISTORY)


def hold_out(market: Path, days: int, out: Path) -> HeldOut:
    """Split the raw tables of `market` into a first load and `days` daily extracts under
    `out` (see the module doc); files already there are replaced."""
    market, out = Path(market), Path(out)
    if days < 1:
        raise ValueError(f"hold out at least one day, not {days}")
    prices = pl.read_parquet(market / f"{wind.ASHARE_EOD_PRICES.name}.parquet",
                             columns=["TRADE_DT"])
    trading = sorted(prices["TRADE_DT"].unique().to_list())
    if len(trading) <= days:
        raise ValueError(f"{market} has {len(trading)} trading days: cannot hold out {days}")
    held, cut = trading[-days:], trading[-days - 1]
    parts: dict[str, dict[str, pl.DataFrame]] = {LOAD: {}, **{d: {} for d in held}}
    for table in wind.RAW_TABLES:
        path = market / f"{table.name}.parquet"
        if not path.is_file():
            continue
        frame = pl.read_parquet(path)
        first = frame.select(_first_day(table).alias("day"))["day"]
        early = frame.filter(first <= cut)
        ends = [c.name for c in table.columns if c.closes and c.kind == wind.DATE]
        if ends:
            closes_later = pl.any_horizontal([pl.col(c) > cut for c in ends]).fill_null(False)
            closing = early.filter(closes_later)
            reopened = [pl.when(pl.col(c) > cut).then(None).otherwise(pl.col(c)).alias(c)
                        for c in ends]
            if "CUR_SIGN" in table.column_names:
                reopened.append(pl.when(closes_later).then(pl.lit(OPEN_SIGN))
                                .otherwise(pl.col("CUR_SIGN")).alias("CUR_SIGN"))
            early = early.with_columns(reopened)
            for row in closing.iter_slices(1):
                day = min(d for c in ends if (d := row[c][0]) is not None and d > cut)
                _add(parts, _on_or_after(held, day), table.name, row)
        _add(parts, LOAD, table.name, early)
        # a day's extract: rows first affecting a day after the previous one, up to it; the
        # last also takes what is dated later (an announcement dated after the close)
        for i, (before, day) in enumerate(zip([cut, *held], held, strict=False)):
            mask = first > before
            if i < len(held) - 1:
                mask = mask & (first <= day)
            _add(parts, day, table.name, frame.filter(mask))
    first_load = _write(parts[LOAD], out / LOAD)
    extracts = tuple(_write(parts[d], out / EXTRACTS / d) for d in held)
    return HeldOut(first_load, extracts, cut)


def _on_or_after(held: list[str], day: str) -> str:
    return next((d for d in held if d >= day), held[-1])


def _add(parts: dict[str, dict[str, pl.DataFrame]], part: str, name: str,
         frame: pl.DataFrame) -> None:
    if frame.height == 0 and part != LOAD:
        return
    have = parts[part].get(name)
    parts[part][name] = frame if have is None else pl.concat([have, frame])


def _write(tables: dict[str, pl.DataFrame], folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.parquet"):
        old.unlink()
    for name, frame in tables.items():
        frame.write_parquet(folder / f"{name}.parquet")
    return folder
