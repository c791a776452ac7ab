"""Corporate events of the day loop: report periods closing and their announcements (what the
market knows for PE/PB, the earnings news), dividends and bonus shares, listings, delistings,
ST designations and CITIC reclassifications.

Dividends follow the annual report (payout 10-50 % of parent profit, ex-dates 20-60 trading
days after the announcement, so mostly May-July) and bonus shares (10 for 10 and the like) are
frequent for expensive stocks. IPOs list at an issue price below the fair price.

AShareST: 'S' periods [ENTRY_DT, REMOVE_DT) after two consecutive annual losses (removed after
a profitable year), at random (`random_st_rate` a year), and before every delisting; ANN_DT a
few trading days before ENTRY_DT. The par-value rule delists a stock that closes below 1 yuan
on 20 trading days in a row (ST from the next day, delisted 15 trading days later), and its
later statements are never published. CITIC industries: 30 level-1 codes 'b10x' + level-2/3
digits, from listing, `reclass_rate` reclassifications a year (the stock's industry factor
switches with its code).
"""

from __future__ import annotations

import typing

import numpy as np

from zoo.ingest import wind
from zoo.synth.calendar import TRADING_DAYS_PER_YEAR
from zoo.synth.fundamentals import _Report
from zoo.synth.periods import _PeriodBook
from zoo.synth.universe import INDUSTRIES, INDUSTRY_CHARS

PAR_VALUE, PAR_VALUE_DAYS = 1.0, 20  # closes below 1 yuan on 20 trading days in a row ...
DELISTING_PERIOD = 15  # ... mean ST from the next day and delisting 15 trading days later


class _EventSteps:
    """The corporate-event steps of the day loop; mixed into `zoo.synth.market._Simulation`,
    whose state they read and update."""

    ST_LOSS, ST_RANDOM, ST_DELIST = 1, 2, 3

    def _init_events(self) -> None:
        """What is known and planned on the first day: statements, ex-dates, ST, industries."""
        uni, n = self.uni, self.uni.n
        self.dividends_paid = np.zeros(n)
        self.ex_day = np.full(n, -1, dtype=np.int64)
        self.ex_cash = np.zeros(n)
        self.ex_bonus = np.zeros(n)
        self.ttm_profit = np.full(n, np.nan)
        self.book_equity = np.full(n, np.nan)
        self.latest_quarter = np.full(n, -1, dtype=np.int64)
        self.below_par_days = np.zeros(n, dtype=np.int64)
        self.known_np = np.full((n, len(self.quarters)), np.nan)
        self.known_equity = np.full((n, len(self.quarters)), np.nan)
        self.next_quarter = 0
        self.announcements: dict[int, list[tuple[np.ndarray, int]]] = {}
        self.corrections: dict[int, list[tuple[np.ndarray, int]]] = {}
        self.st = _PeriodBook(1, n)  # tag = reason, extra = ANN_DT day
        self.st_pending_entry = np.full(n, -1, dtype=np.int64)
        self.st_pending_ann = np.full(n, -1, dtype=np.int64)
        self.st_pending_remove = np.full(n, -1, dtype=np.int64)
        self.industry = uni.industry.copy()
        self.industries = _PeriodBook(1, n)  # tag = 16-char code index into self.ind_codes
        self.ind_codes: list[str] = []
        self.industries.open(0, np.arange(n), uni.list_day, self._industry_codes(self.industry))
        self._initial_st()

    def _industry_codes(self, industry: np.ndarray) -> np.ndarray:
        """A fresh 16-char CITIC code (level-2/3 digits drawn) per stock; returns code indices."""
        sub = self.rng.integers(1, 4, (len(industry), 2))
        codes = [f"b10{INDUSTRY_CHARS[i]}{a:02d}{b:02d}" + "0" * 8
                 for i, (a, b) in zip(industry, sub, strict=True)]
        start = len(self.ind_codes)
        self.ind_codes.extend(codes)
        return np.arange(start, start + len(codes))

    def _initial_st(self) -> None:
        """Stocks already ST on the first day: a few at random, and delisting-bound ones."""
        uni, n, cal, rng = self.uni, self.uni.n, self.cal, self.rng
        listed = uni.list_day < cal.first - 300
        random_st = listed & (rng.random(n) < 0.02) & (uni.delist_st_day < 0)
        entry = cal.first - rng.integers(20, 250, n)
        stocks = np.nonzero(random_st)[0]
        self.st.open(0, stocks, entry[stocks], self.ST_RANDOM, entry[stocks] - 2)
        self.st_pending_remove[stocks] = cal.first + rng.integers(20, 400, len(stocks))
        early = np.nonzero((uni.delist_st_day >= 0) & (uni.delist_st_day < cal.first))[0]
        days = np.maximum(uni.delist_st_day[early], uni.list_day[early] + 60)
        self.st.open(0, early, days, self.ST_DELIST, days - 2)

    # ------------------------------------------------------------------ quarters and events
    def _close_quarters(self, t: int) -> None:
        """Process every report period that ended before day t."""
        while (self.next_quarter < len(self.quarters)
               and self.quarters[self.next_quarter].end < self.cal.days[t]):
            q = self.quarters[self.next_quarter]
            report = self.fund.close_quarter(q, self.dividends_paid, self.industry)
            self.dividends_paid[:] = 0.0
            self._schedule(report, t)
            self.next_quarter += 1

    def _schedule(self, report: _Report, t: int) -> None:
        """Queue the announcements and corrections; after an annual report, dividends and ST."""
        q = report.quarter.index
        for day, who in _group_by_day(report.ann_day + 1, report.stocks):
            self.announcements.setdefault(day, []).append((who, q))
        fixed = report.corr_day >= 0
        for day, who in _group_by_day(report.corr_day[fixed] + 1, report.stocks[fixed]):
            self.corrections.setdefault(day, []).append((who, q))
        if report.quarter.k == 3:
            self._plan_dividends(report, t)
            self._plan_loss_st(report)

    def _plan_dividends(self, report: _Report, t: int) -> None:
        """Cash dividend (10-50 % payout) and sometimes bonus shares, ex-date 20-60 days on."""
        rng, n = self.rng, self.uni.n
        profit = self.fund.np_ytd["first"][:, report.quarter.index]
        payout = rng.uniform(0.1, 0.5, n) * (rng.random(n) < 0.75)
        price = np.nan_to_num(self.close, nan=0.0)
        bonus = np.where(rng.random(n) < 0.03 + 0.3 * (price > 40) + 0.4 * (price > 80),
                         rng.choice([0.2, 0.3, 0.5, 0.8, 1.0], n) * (1 + (price > 80)), 0.0)
        delay = rng.integers(20, 61, n)
        stocks, ann = report.stocks, report.ann_day
        ex = ann + 1 + delay[stocks]
        shares = self.tot_shr[stocks] * 1e4
        cash = np.round(np.maximum(profit[stocks], 0) * payout[stocks] / shares, 3)
        cash = np.where(cash >= 0.01, np.minimum(cash, 0.2 * price[stocks]), 0.0)
        ok = ((cash > 0) | (bonus[stocks] > 0)) & (ex >= max(t, self.cal.first)) & (
            ex < self.uni.delist_day[stocks]) & np.isfinite(shares)
        who = stocks[ok]
        self.ex_day[who], self.ex_cash[who], self.ex_bonus[who] = ex[ok], cash[ok], bonus[who]

    def _plan_loss_st(self, report: _Report) -> None:
        """ST after a second consecutive annual loss; lifted after a profitable year."""
        j = report.quarter.index
        if j < 4:
            return
        stocks, ann = report.stocks, report.ann_day
        loss_now = report.fy_loss[stocks]
        loss_before = self.fund.np_ytd["first"][stocks, j - 4] < 0
        delay = self.rng.integers(1, 4, len(stocks))
        enter = loss_now & loss_before
        self.st_pending_entry[stocks[enter]] = ann[enter] + 1 + delay[enter]
        self.st_pending_ann[stocks[enter]] = ann[enter]
        leave = ~loss_now & (self.st.tag[0, stocks] == self.ST_LOSS) & self.st.is_open(0)[stocks]
        self.st_pending_remove[stocks[leave]] = ann[leave] + 3 + 4 * delay[leave]

    def _apply_known_before(self, t: int) -> None:
        """Statements effective before the sample: knowledge only (PE/PB), no price effect."""
        for day in sorted(d for d in (*self.announcements, *self.corrections) if d < t):
            self._learn(day)

    def _learn(self, day: int) -> list[tuple[np.ndarray, int]]:
        """Record what becomes known on `day`; returns that day's first announcements."""
        news = self.announcements.pop(day, [])
        fixes = self.corrections.pop(day, [])
        for items, version in ((news, "first"), (fixes, "final")):
            for who, q in items:
                self.known_np[who, q] = self.fund.np_ytd[version][who, q]
                self.known_equity[who, q] = self.fund.equity_parent[version][who, q]
                self.latest_quarter[who] = np.maximum(self.latest_quarter[who], q)
        touched = [who for who, _ in news + fixes]
        if touched:
            self._refresh_valuation(np.unique(np.concatenate(touched)))
        return news

    def _refresh_valuation(self, who: np.ndarray) -> None:
        """TTM parent profit = YTD + last annual - YTD a year ago; book = latest equity."""
        q = self.latest_quarter[who]
        k = q % 4
        ytd = self.known_np[who, q]
        last_fy = self.known_np[who, np.maximum(q - k - 1, 0)]
        year_ago = self.known_np[who, np.maximum(q - 4, 0)]
        ttm = np.where(k == 3, ytd, np.where(q >= 4, ytd + last_fy - year_ago, np.nan))
        self.ttm_profit[who] = ttm
        self.book_equity[who] = self.known_equity[who, q]

    def _announce(self, t: int, active: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Statements announced yesterday after the close: price jump and SUE impulse today."""
        sue_today = np.zeros(self.uni.n)
        for who, q in self._learn(t):
            sue_today[who] += self.fund.sue[who, q]
        sue_today *= active & (self.uni.list_day < t)
        return self.cfg.earnings_jump * sue_today, sue_today

    # ------------------------------------------------------------------ listing, ST, industry
    def _list_new(self, t: int) -> None:
        """IPO day: shares from the fundamental value, issue price below the fair price."""
        new = np.nonzero(self.uni.list_day == t)[0]
        if len(new) == 0:
            return
        uni = self.uni
        fair_cap = self.fund.revenue[new] * uni.ps_ratio[new]
        self.tot_shr[new] = fair_cap / uni.price[new] / 1e4
        self.issue_price[new] = np.maximum(np.round(uni.price[new] / np.exp(uni.ipo_pop[new]), 2),
                                           1.0)
        self.close[new] = self.issue_price[new]
        self.carry[new] = 0.0
        self.turn_ewma[new] = uni.log_tau[new] + self.turn_slow[new]

    def _delist(self, t: int) -> None:
        gone = np.nonzero(self.uni.delist_day == t)[0]
        if len(gone) == 0:
            return
        for g in range(len(wind.INDEX_CODES)):
            self.index.close(g, gone[self.index.is_open(g)[gone]], t)
        self.signal[:, gone] = 0.0

    def _update_st(self, t: int, active: np.ndarray) -> None:
        rng, n, st = self.rng, self.uni.n, self.st
        is_st = st.is_open(0)
        leave = np.nonzero((self.st_pending_remove == t) & is_st
                           & (st.tag[0] != self.ST_DELIST))[0]
        st.close(0, leave, t)
        delist = np.nonzero(self.uni.delist_st_day == t)[0]
        already = delist[st.is_open(0)[delist]]
        st.tag[0, already] = self.ST_DELIST
        fresh = delist[~st.is_open(0)[delist]]
        st.open(0, fresh, t, self.ST_DELIST, t - rng.integers(1, 5, len(fresh)))
        loss = np.nonzero((self.st_pending_entry == t) & active & ~st.is_open(0))[0]
        st.open(0, loss, t, self.ST_LOSS, self.st_pending_ann[loss])
        draw = rng.random(n) < self.cfg.random_st_rate / TRADING_DAYS_PER_YEAR
        span = rng.integers(120, 500, n)
        random_st = np.nonzero(draw & active & ~st.is_open(0) & (self._age(t) > 120))[0]
        st.open(0, random_st, t, self.ST_RANDOM, t - rng.integers(1, 5, len(random_st)))
        self.st_pending_remove[random_st] = t + span[random_st]

    def _par_value_rule(self, t: int, trading: np.ndarray) -> None:
        """Closing below par (1 yuan) 20 trading days in a row: ST, then delisted."""
        below = trading & (self.close < PAR_VALUE)
        self.below_par_days = np.where(trading, np.where(below, self.below_par_days + 1, 0),
                                       self.below_par_days)
        leaving = t + 1 + DELISTING_PERIOD
        hit = np.nonzero((self.below_par_days == PAR_VALUE_DAYS)
                         & (self.uni.delist_day > leaving))[0]
        self.uni.delist_st_day[hit] = t + 1
        self.uni.delist_day[hit] = leaving

    def _reclassify(self, t: int, active: np.ndarray) -> None:
        n = self.uni.n
        draw = self.rng.random(n) < self.cfg.reclass_rate / TRADING_DAYS_PER_YEAR
        shift = self.rng.integers(1, len(INDUSTRIES), n)
        moved = np.nonzero(draw & active & (self._age(t) > 0))[0]
        if len(moved) == 0:
            return
        self.industry[moved] = (self.industry[moved] + shift[moved]) % len(INDUSTRIES)
        self.industries.close(0, moved, t)
        self.industries.open(0, moved, t, self._industry_codes(self.industry[moved]))

    # ------------------------------------------------------------------ tables
    def _st_table(self) -> dict[str, typing.Any]:
        p = self.st.periods(self._open_until())
        return {"S_INFO_WINDCODE": self.uni.codes[p["stock"]],
                "S_TYPE_ST": np.full(len(p["stock"]), "S"),
                "ENTRY_DT": self.cal.labels[p["entry"]],
                "REMOVE_DT": self._dates_or_null(p["remove"]),
                "ANN_DT": self.cal.labels[p["extra"]]}

    def _citics_table(self) -> dict[str, typing.Any]:
        p = self.industries.periods(self._open_until())
        return {"S_INFO_WINDCODE": self.uni.codes[p["stock"]],
                "CITICS_IND_CODE": np.array(self.ind_codes)[p["tag"]],
                "ENTRY_DT": self.cal.labels[p["entry"]],
                "REMOVE_DT": self._dates_or_null(p["remove"]),
                "CUR_SIGN": np.where(p["remove"] < 0, "1", "0")}


def _group_by_day(days: np.ndarray, stocks: np.ndarray) -> list[tuple[int, np.ndarray]]:
    """(day, stocks) pairs in day order."""
    order = np.argsort(days, kind="stable")
    days, stocks = days[order], stocks[order]
    cuts = np.nonzero(np.diff(days))[0] + 1
    return [(int(d[0]), s) for d, s in zip(np.split(days, cuts), np.split(stocks, cuts),
                                           strict=True) if len(d)]
