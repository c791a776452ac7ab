"""Indices (AIndexEODPrices, AIndexMembers, AIndexFreeWeight): CSI 300 / 500 / 1000.

Members are ranks 1-6 %, 6-16 % and 16-36 % of `stocks` (300 / 500 / 1000 of a 5000-stock
market) by free-float cap among stocks listed for >= 60 trading days, not ST and not
suspended, ranked on the last trading day of May/November and rebalanced on the first trading
day after the second Friday of June/December (members that delist leave that day). Levels are
free-float-cap-weighted (yesterday's caps) price returns of the members; weights (percent,
4 decimals) are written on every month end and rebalance day.
"""

from __future__ import annotations

import typing

import numpy as np

from zoo.ingest import wind
from zoo.synth.calendar import _weekday
from zoo.synth.periods import _PeriodBook
from zoo.synth.prices import _Bar

INDEX_FRACTIONS = {wind.CSI300: 0.06, wind.CSI500: 0.10, wind.CSI1000: 0.20}
INDEX_BASE_LEVELS = {wind.CSI300: 3500.0, wind.CSI500: 6000.0, wind.CSI1000: 6500.0}


class _IndexSteps:
    """The index steps of the day loop; mixed into `zoo.synth.market._Simulation`, whose state
    they read and update."""

    def _init_indices(self) -> None:
        """The index books, base levels and the ranking, rebalancing and weight days."""
        uni, cal = self.uni, self.cal
        self.index = _PeriodBook(len(wind.INDEX_CODES), uni.n)
        self.index_sizes = [int(round(uni.n * INDEX_FRACTIONS[c])) for c in wind.INDEX_CODES]
        self.index_level = np.array([INDEX_BASE_LEVELS[c] for c in wind.INDEX_CODES])
        self.index_rows: list[dict[str, np.ndarray]] = []
        self.weight_rows: list[tuple[int, int, np.ndarray, np.ndarray]] = []
        self.rank_snapshot: np.ndarray | None = None
        self.rank_days = set(self._rank_days().tolist())
        self.rebalance_days = set(self._rebalance_days().tolist())
        self.weight_days = self.rebalance_days | {
            d for d in cal.month_ends().tolist() if cal.first <= d < cal.stop}

    def _rank_days(self) -> np.ndarray:
        """Last trading day of May and November."""
        ends = self.cal.month_ends()
        month = self.cal.days[ends].astype("datetime64[M]").astype(int) % 12 + 1
        return ends[np.isin(month, (5, 11)) & (ends >= self.cal.first) & (ends < self.cal.stop)]

    def _rebalance_days(self) -> np.ndarray:
        """First trading day after the second Friday of June and December."""
        cal, out = self.cal, []
        for year in range(int(self.cfg.start[:4]), int(self.cfg.end[:4]) + 1):
            for month in ("06", "12"):
                first = np.datetime64(f"{year}-{month}-01", "D")
                friday = first + (4 - int(_weekday(np.array([first]))[0])) % 7 + 7
                day = int(np.searchsorted(cal.days, friday, side="right"))
                if cal.first < day < cal.stop:
                    out.append(day)
        return np.array(out, dtype=np.int64)

    def _initial_rank_scores(self) -> np.ndarray:
        t = self.cal.first
        eligible = (self.uni.list_day <= t - 60) & (self.uni.delist_day > t) & ~self._is_st()
        return np.where(eligible, self.prev_free_cap, -np.inf)

    def _rank_scores(self, t: int, trading: np.ndarray) -> np.ndarray:
        eligible = trading & (self._age(t) >= 60) & ~self._is_st()
        return np.where(eligible, self.prev_free_cap, -np.inf)

    def _reconstitute(self, t: int, scores: np.ndarray) -> None:
        """Ranks 1..n300 -> CSI 300, the next n500 -> CSI 500, the next n1000 -> CSI 1000."""
        scores = np.where(self._active(t), scores, -np.inf)
        order = np.argsort(-scores, kind="stable")
        order = order[np.isfinite(scores[order])]
        bounds = np.cumsum([0, *self.index_sizes])
        for g in range(len(wind.INDEX_CODES)):
            new = np.zeros(self.uni.n, dtype=bool)
            new[order[bounds[g]:bounds[g + 1]]] = True
            old = self.index.is_open(g)
            self.index.close(g, np.nonzero(old & ~new)[0], t)
            self.index.open(g, np.nonzero(new & ~old)[0], t)

    def _index_day(self, t: int, bar: _Bar, volume: np.ndarray, active: np.ndarray) -> None:
        """Free-float-cap-weighted (yesterday's caps) price returns; weights on snapshot days."""
        with np.errstate(invalid="ignore", divide="ignore"):
            rel = {name: np.nan_to_num(getattr(bar, name) / bar.preclose - 1.0)
                   for name in ("open", "high", "low", "close")}
        amount = volume * 100 * bar.vwap / 1000
        for g in range(len(wind.INDEX_CODES)):
            member = self.index.is_open(g) & active
            w = np.where(member, self.prev_free_cap, 0.0)
            w = w / w.sum() if w.sum() > 0 else w
            pre = self.index_level[g]
            level = {name: pre * (1 + float(w @ r)) for name, r in rel.items()}
            close = level["close"]
            self.index_rows.append({
                "index": g, "day": t, "S_DQ_PRECLOSE": pre, "S_DQ_OPEN": level["open"],
                "S_DQ_HIGH": max(level["high"], level["open"], close),
                "S_DQ_LOW": min(level["low"], level["open"], close), "S_DQ_CLOSE": close,
                "S_DQ_CHANGE": close - pre, "S_DQ_PCTCHANGE": (close / pre - 1) * 100,
                "S_DQ_VOLUME": float(volume[member].sum()),
                "S_DQ_AMOUNT": float(np.nan_to_num(amount[member]).sum()),
            })
            self.index_level[g] = close
            if t in self.weight_days:
                who = np.nonzero(member)[0]
                cap = bar.close[who] * self._free_shares(t)[who]
                self.weight_rows.append((g, t, who, np.round(100 * cap / cap.sum(), 4)))

    # ---------------------------------------------------------------- tables
    def _index_prices_table(self) -> dict[str, typing.Any]:
        rows = self.index_rows
        data: dict[str, typing.Any] = {
            "S_INFO_WINDCODE": np.array(wind.INDEX_CODES)[[r["index"] for r in rows]],
            "TRADE_DT": self.cal.labels[[r["day"] for r in rows]],
            "CRNCY_CODE": np.full(len(rows), "CNY"),
        }
        for col in wind.AINDEX_EOD_PRICES.columns[3:]:
            data[col.name] = np.array([r[col.name] for r in rows])
        return data

    def _index_members_table(self) -> dict[str, typing.Any]:
        p = self.index.periods(self._open_until())
        return {"S_INFO_WINDCODE": np.array(wind.INDEX_CODES)[p["group"]],
                "S_CON_WINDCODE": self.uni.codes[p["stock"]],
                "S_CON_INDATE": self.cal.labels[p["entry"]],
                "S_CON_OUTDATE": self._dates_or_null(p["remove"]),
                "CUR_SIGN": np.where(p["remove"] < 0, "1", "0")}

    def _index_weight_table(self) -> dict[str, typing.Any]:
        rows = self.weight_rows
        sizes = [len(who) for _, _, who, _ in rows]
        return {"S_INFO_WINDCODE": np.repeat(np.array(wind.INDEX_CODES)[[r[0] for r in rows]],
                                             sizes),
                "S_CON_WINDCODE": self.uni.codes[np.concatenate([r[2] for r in rows])],
                "TRADE_DT": np.repeat(self.cal.labels[[r[1] for r in rows]], sizes),
                "I_WEIGHT": np.concatenate([r[3] for r in rows])}
