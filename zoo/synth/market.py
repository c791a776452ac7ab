"""The day loop of the synthetic market: `_Simulation` draws the universe and the firms, then
steps through every trading day of the sample, writing the daily tables as it goes and the
period tables at the end.

All draws but the latent links' (`zoo.synth.links`, their own generator) come from one
`numpy.random.Generator(PCG64(seed))` in a fixed order: the universe,
the firms' fundamentals, the initial state, then each day's steps in the order of `_day`
(report periods, neighbours, listings, delistings, ST, reclassifications, index rebalancing,
the day's shocks, suspensions, announcements, ex-dates, prices, turnover, signals, indices).
The steps live with their concern: `zoo.synth.prices`, `zoo.synth.events`, `zoo.synth.signal`
and `zoo.synth.indices`, mixed into `_Simulation`.
"""

from __future__ import annotations

import typing
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from zoo.ingest import wind
from zoo.synth.arrow import _arrow_table, _DailyWriter, _write_parquet
from zoo.synth.calendar import _Calendar, _quarters
from zoo.synth.config import SynthConfig
from zoo.synth.events import _EventSteps
from zoo.synth.fundamentals import _Fundamentals
from zoo.synth.indices import _IndexSteps
from zoo.synth.links import LatentLinks
from zoo.synth.prices import ST_NEW, ST_SUSPENDED, STATUSES, _Bar, _PriceSteps
from zoo.synth.signal import _SignalSteps
from zoo.synth.universe import (
    BOARD_NAMES,
    INDUSTRIES,
    INDUSTRY_CHARS,
    INDUSTRY_ROOT,
    _draw_universe,
)


class _Simulation(_PriceSteps, _EventSteps, _SignalSteps, _IndexSteps):
    """The day loop: prices, corporate actions, signals, indices, and the tables they fill."""

    def __init__(self, cfg: SynthConfig, out: Path, progress: bool) -> None:
        self.cfg, self.out, self.progress = cfg, out, progress
        self.rng = np.random.Generator(np.random.PCG64(cfg.seed))
        self.cal = _Calendar.build(cfg.start, cfg.end)
        self.uni = _draw_universe(cfg, self.cal, self.rng)
        self.quarters = _quarters(cfg.start, cfg.end)
        # the latent links draw from their own generator: the market's draws stay the same
        self.links = LatentLinks.draw(cfg, self.uni.n) if cfg.links == "latent" else None
        self.fund = _Fundamentals(cfg, self.cal, self.uni, self.quarters, self.rng)
        # the order of the draws: the turnover state, then industry codes and initial ST
        self._init_prices()
        self._init_signal()
        self._init_events()
        self._init_indices()

    # ------------------------------------------------------------------ helpers
    def _age(self, t: int) -> np.ndarray:
        return t - self.uni.list_day

    def _active(self, t: int) -> np.ndarray:
        return (self.uni.list_day <= t) & (t < self.uni.delist_day)

    def _is_st(self) -> np.ndarray:
        return self.st.is_open(0)

    def _float_shares(self, t: int) -> np.ndarray:
        age = self._age(t)
        stage = np.where(age < 250, 0, np.where(age < 750, 1, 2))
        return self.tot_shr * np.take_along_axis(self.uni.float_ratios, stage[None, :], 0)[0]

    def _free_shares(self, t: int) -> np.ndarray:
        return self._float_shares(t) * self.uni.free_ratio

    # ------------------------------------------------------------------ run
    def _daily_writer(self, table: wind.Table,
                      categories: dict[str, Sequence[str]] | None = None) -> _DailyWriter:
        folder = self.out / "truth" if table.schema == "truth" else self.out
        return _DailyWriter(table, folder / f"{table.name}.parquet", self.uni.n,
                            self.cfg.chunk_days, self.uni.codes, self.cal.labels, categories)

    def run(self) -> dict[str, int]:
        """Simulate every trading day of the sample, writing as it goes; rows per table."""
        from tqdm import tqdm

        cal = self.cal
        self.eod = self._daily_writer(wind.ASHARE_EOD_PRICES, {"S_DQ_TRADESTATUS": STATUSES})
        self.deriv = self._daily_writer(wind.ASHARE_EOD_DERIVATIVE)
        self.truth = self._daily_writer(wind.TRUTH_EXPECTED_RETURN)
        self._close_quarters(cal.first)
        self._apply_known_before(cal.first)
        self._reconstitute(cal.first, self._initial_rank_scores())
        # disable=None: no bar where stderr is a file or a pipe (its redraws run together)
        for t in tqdm(range(cal.first, cal.stop), disable=None if self.progress else True,
                      unit="day", desc="synth"):
            self._day(t)
        rows = {w.table.name: w.close() for w in (self.eod, self.deriv, self.truth)}
        rows.update(self._write_small_tables())
        return rows

    def _day(self, t: int) -> None:
        self._close_quarters(t)
        active = self._active(t)
        if t in self.month_starts:
            self._refresh_neighbours(t)
        self._list_new(t)
        self._delist(t)
        self._update_st(t, active)
        self._reclassify(t, active)
        if t in self.rebalance_days and self.rank_snapshot is not None:
            self._reconstitute(t, self.rank_snapshot)
        shocks = self._draw_shocks()
        suspended = self._suspend(t, active, shocks)
        trading = active & ~suspended
        jump, sue_today = self._announce(t, active)
        status, preclose = self._corporate_actions(t, trading)
        ipo_today = self.uni.list_day == t
        preclose = np.where(ipo_today, self.issue_price, preclose)
        status = np.where(ipo_today, ST_NEW, np.where(suspended, ST_SUSPENDED, status))
        u = self.uni.sigma * shocks["eps"]
        latent = (self.uni.beta * shocks["market"] + self.uni.gamma * shocks["industry"]
                  [self.industry] + self.signal.sum(axis=0) + u + jump
                  + np.where(ipo_today, self.uni.ipo_pop, 0.0))
        bar = self._prices(t, preclose, latent, trading, active, shocks)
        volume, z = self._turnover(t, bar, trading, shocks)
        self._update_signals(active, trading, u, z, sue_today)
        self._record(t, active, trading, status, bar, volume)
        self._index_day(t, bar, volume, active)
        self.prev_free_cap = np.where(active, bar.close * self._free_shares(t), 0.0)
        self._par_value_rule(t, trading)
        if t in self.rank_days:
            self.rank_snapshot = self._rank_scores(t, trading)

    # ------------------------------------------------------------------ recording
    def _record(self, t: int, active: np.ndarray, trading: np.ndarray, status: np.ndarray,
                bar: _Bar, volume: np.ndarray) -> None:
        float_shr = self._float_shares(t)
        mv = bar.close * self.tot_shr
        with np.errstate(invalid="ignore", divide="ignore"):
            eod = {
                "S_DQ_PRECLOSE": bar.preclose, "S_DQ_OPEN": bar.open, "S_DQ_HIGH": bar.high,
                "S_DQ_LOW": bar.low, "S_DQ_CLOSE": bar.close,
                "S_DQ_CHANGE": np.round(bar.close - bar.preclose, 2),
                "S_DQ_PCTCHANGE": (bar.close / bar.preclose - 1) * 100,
                "S_DQ_VOLUME": volume, "S_DQ_AMOUNT": volume * 100 * bar.vwap / 1000,
                "S_DQ_ADJFACTOR": self.factor, "S_DQ_AVGPRICE": bar.vwap,
                "S_DQ_TRADESTATUS": status,
                "S_DQ_TRADESTATUSCODE": np.where(trading, wind.TRADESTATUS_NORMAL,
                                                 wind.TRADESTATUS_SUSPENDED),
            }
            limited = trading & np.isfinite(bar.up)
            deriv = {
                "S_VAL_MV": mv, "S_DQ_MV": bar.close * float_shr, "TOT_SHR_TODAY": self.tot_shr,
                "FLOAT_A_SHR_TODAY": float_shr, "FREE_SHARES_TODAY": self._free_shares(t),
                "S_DQ_TURN": volume * 100 / (float_shr * 1e4) * 100,
                "S_DQ_FREETURNOVER": volume * 100 / (self._free_shares(t) * 1e4) * 100,
                "S_VAL_PE_TTM": mv * 1e4 / self.ttm_profit,
                "S_VAL_PB_NEW": mv * 1e4 / self.book_equity,
                "S_DQ_CLOSE_TODAY": bar.close,
                "UP_DOWN_LIMIT_STATUS": np.where(limited & (bar.close >= bar.up), 1,
                                                 np.where(limited & (bar.close <= bar.down), -1,
                                                          0)),
            }
        truth = self._truth()
        self.eod.add(t, active, eod)
        self.deriv.add(t, active, deriv)
        self.truth.add(t, trading, truth)

    # ------------------------------------------------------------------ small tables
    def _write_small_tables(self) -> dict[str, int]:
        builders = {
            wind.ASHARE_DESCRIPTION: self._description,
            wind.ASHARE_CALENDAR: self._calendar_table,
            wind.ASHARE_ST: self._st_table,
            wind.ASHARE_INDUSTRIES_CLASS_CITICS: self._citics_table,
            wind.ASHARE_INDUSTRIES_CODE: self._industry_code_table,
            wind.AINDEX_EOD_PRICES: self._index_prices_table,
            wind.AINDEX_MEMBERS: self._index_members_table,
            wind.AINDEX_FREE_WEIGHT: self._index_weight_table,
            wind.TRUTH_NEIGHBOURS: self._neighbour_table,
        }
        rows = {}
        for table, build in builders.items():
            folder = self.out / "truth" if table.schema == "truth" else self.out
            rows[table.name] = _write_parquet(folder / f"{table.name}.parquet",
                                              _arrow_table(table, build()))
        for name, table in self.fund.statement_tables(self.uni.delist_day).items():
            rows[name] = _write_parquet(self.out / f"{name}.parquet", table)
        return rows

    def _description(self) -> dict[str, typing.Any]:
        uni, labels = self.uni, self.cal.labels
        delisted = uni.delist_day < self.cal.stop
        return {
            "S_INFO_WINDCODE": uni.codes,
            "S_INFO_CODE": np.array([c[:6] for c in uni.codes]),
            "S_INFO_NAME": uni.names,
            "S_INFO_LISTDATE": labels[uni.list_day],
            "S_INFO_DELISTDATE": np.where(delisted, labels[np.where(delisted, uni.delist_day, 0)],
                                          None),
            "S_INFO_EXCHMARKET": uni.exchange,
            "S_INFO_LISTBOARDNAME": np.array(BOARD_NAMES)[uni.board],
        }

    def _calendar_table(self) -> dict[str, typing.Any]:
        days = self.cal.labels[self.cal.first:self.cal.stop]
        return {"TRADE_DAYS": np.concatenate([days, days]),
                "S_INFO_EXCHMARKET": np.repeat(["SSE", "SZSE"], len(days))}

    def _open_until(self) -> np.ndarray:
        """Where open periods end: the delisting day if inside the sample, else open (-1)."""
        d = self.uni.delist_day
        return np.where(d < self.cal.stop, d, -1)

    def _dates_or_null(self, days: np.ndarray) -> np.ndarray:
        return np.where(days >= 0, self.cal.labels[np.maximum(days, 0)], None)

    def _industry_code_table(self) -> dict[str, typing.Any]:
        codes = [INDUSTRY_ROOT] + [f"b10{ch}" + "0" * 12 for ch in INDUSTRY_CHARS]
        return {"INDUSTRIESCODE": np.array(codes),
                "INDUSTRIESNAME": np.array(["中信一级行业"] + [name for name, _ in INDUSTRIES]),
                "LEVELNUM": np.array([1] + [2] * len(INDUSTRIES)),
                "USED": np.ones(len(codes), dtype=np.int64)}
