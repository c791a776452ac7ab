"""Prices (AShareEODPrices, AShareEODDerivativeIndicator): the day's shocks, suspensions,
ex-dates, price limits, the bar and the turnover.

Daily latent log return of stock i on day t:

    r*_it = beta_i m_t + gamma_i f_{I(i),t} + S_{i,t-1} + u_it + J_it,   u_it = sigma_i eps_it

m_t: market factor, Student-t(4) with GARCH(1,1) volatility (unconditional `MARKET_VOL`),
mean 0; f: 30 CITIC industry factors, t(4), `INDUSTRY_VOL`, mean 0; sigma_i: idiosyncratic vol
(`zoo.synth.universe`); eps: unit-variance t(4); S: the planted drift state
(`zoo.synth.signal`); J: jumps that are not predictable from data known the day before: the
earnings announcement reaction `earnings_jump x SUE`, and the IPO pop (on the main board beyond
the first-day cap, hence a streak of limit-up days).

The raw close is `round(preclose exp(carry + r*), 0.01)` clipped to the day's price limits
(+-10 % main board, +-5 % ST, +-20 % ChiNext from 2020-08-24 and STAR; first day +44 %/-36 % on
the main board and pre-reform ChiNext; no limit for the first five days of STAR and post-reform
ChiNext IPOs; limit prices rounded half up). What a limit or a suspension withheld stays in
`carry` and is released on the following trading days (limit-locked streaks, jumps on
resumption). Open, high and low are drawn around the path and rounded to 0.01; VWAP sits at
half the day's log return plus noise, inside [low, high]. Dividends and bonus shares
(`zoo.synth.events`) change S_DQ_PRECLOSE on the ex-date (status XD/XR/DR) and the
back-adjustment factor (factor_t = close_{t-1} / preclose_t x factor_{t-1}). Suspensions
(1-20 days, `suspension_rate` spells per stock per year) keep a row with volume 0, amount 0 and
open = high = low = close = preclose = VWAP.

Turnover (fraction of float shares): log tau = stock level (smaller caps trade more) + slow
AR(1) + 0.35 |eps| + market-volatility regime + N(0, 0.3) noise, lower on limit days.
S_DQ_VOLUME = tau x float shares / 100 lots; S_DQ_AMOUNT = volume x 100 x VWAP / 1000 thousand
yuan. Shares in 10 thousand: FREE <= FLOAT_A <= TOT; S_VAL_MV = close x TOT_SHR, S_DQ_MV =
close x FLOAT_A_SHR (10 thousand yuan); PE_TTM and PB_NEW use only statements announced before
the day.

Every day draws the same number of random values whatever the state (`_draw_shocks`), so the
same seed gives the same market.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from zoo.synth.calendar import TRADING_DAYS_PER_YEAR
from zoo.synth.universe import INDUSTRIES, IPO_CAP, IPO_FLOOR, LIMIT_MAIN, LIMIT_ST, LIMIT_WIDE

MARKET_VOL = 0.013  # unconditional daily vol of the market factor
INDUSTRY_VOL = 0.008  # daily vol of each industry factor

# S_DQ_TRADESTATUS values, indexed by the status codes used internally.
STATUSES = ("交易", "停牌", "XD", "XR", "DR", "N")
ST_TRADE, ST_SUSPENDED, ST_XD, ST_XR, ST_DR, ST_NEW = range(6)


@dataclass(frozen=True)


class _Bar:
    """One day's prices for all stocks (nan where not listed)."""

    preclose: np.ndarray
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    vwap: np.ndarray
    up: np.ndarray
    down: np.ndarray


class _PriceSteps:
    """The price steps of the day loop; mixed into `zoo.synth.market._Simulation`, whose state
    they read and update."""

    def _init_prices(self) -> None:
        """Prices, shares and the turnover state on the first day of the sample."""
        uni, n = self.uni, self.uni.n
        listed = uni.list_day < self.cal.first
        self.close = np.where(listed, uni.price, np.nan)
        self.tot_shr = np.where(listed, uni.size / uni.price / 1e4, np.nan)
        self.factor = uni.factor0.copy()
        self.carry = np.zeros(n)
        self.turn_slow = self.rng.normal(0, 0.2, n)
        self.turn_ewma = uni.log_tau + self.turn_slow
        self.market_var = MARKET_VOL**2
        self.suspended_left = np.zeros(n, dtype=np.int64)
        self.issue_price = np.full(n, np.nan)
        self.wide_from = uni.wide_limit_from(self.cal)
        self.unlimited_ipo = uni.unlimited_ipo(self.cal)
        self.prev_free_cap = np.where(listed, self.close * self._free_shares(self.cal.first), 0.0)

    def _draw_shocks(self) -> dict[str, np.ndarray]:
        """All of today's random draws, a fixed number whatever the state (reproducible)."""
        rng, n = self.rng, self.uni.n
        t4 = 1.0 / np.sqrt(2.0)  # Student-t(4) has variance 2
        vol = np.sqrt(self.market_var)
        market = vol * rng.standard_t(4) * t4
        self.market_var = MARKET_VOL**2 * 0.02 + 0.08 * market**2 + 0.90 * self.market_var
        return {
            "market": np.float64(market),
            "market_vol": np.float64(vol),
            "industry": INDUSTRY_VOL * rng.standard_t(4, len(INDUSTRIES)) * t4,
            "eps": rng.standard_t(4, n) * t4,
            "bar": rng.standard_normal((4, n)),
            "turnover": rng.standard_normal((2, n)),
            "suspend": rng.random(n),
            "spell": rng.exponential(4.0, n),
        }

    def _suspend(self, t: int, active: np.ndarray, shocks: dict[str, np.ndarray]) -> np.ndarray:
        """Start spells of 1-20 trading days at `suspension_rate` a year; today's suspended."""
        rate = self.cfg.suspension_rate / TRADING_DAYS_PER_YEAR
        start = (active & (self._age(t) >= 5) & (self.suspended_left == 0)
                 & (shocks["suspend"] < rate))
        spell = 1 + np.minimum(np.floor(shocks["spell"]), 19).astype(np.int64)
        self.suspended_left = np.where(start, spell, self.suspended_left)
        suspended = active & (self.suspended_left > 0)
        self.suspended_left = np.maximum(self.suspended_left - 1, 0)
        return suspended

    def _corporate_actions(self, t: int, trading: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Ex-dates (postponed while suspended): adjusted preclose, shares, factor, status."""
        ex = np.nonzero(trading & (self.ex_day >= 0) & (self.ex_day <= t))[0]
        preclose = self.close.copy()
        status = np.full(self.uni.n, ST_TRADE)
        if len(ex):
            cash, bonus = self.ex_cash[ex], self.ex_bonus[ex]
            preclose[ex] = np.maximum(np.round((self.close[ex] - cash) / (1 + bonus), 2), 0.01)
            self.factor[ex] *= self.close[ex] / preclose[ex]
            self.dividends_paid[ex] += cash * self.tot_shr[ex] * 1e4
            self.tot_shr[ex] *= 1 + bonus
            status[ex] = np.where(bonus > 0, np.where(cash > 0, ST_DR, ST_XR), ST_XD)
            self.ex_day[ex] = -1
        return status, preclose

    def _limits(self, t: int, preclose: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Up/down limit prices (rounded to 0.01) for today, by board, ST, and IPO age."""
        def half_up(price: np.ndarray) -> np.ndarray:
            # The exchanges round limit prices half up (10.05 x 1.1 = 11.055 -> 11.06); np.round
            # rounds half to even on a binary float, and the epsilon absorbs 11.05499999...
            return np.floor(price * 100 + 0.5 + 1e-6) / 100

        age = self._age(t)
        wide = t >= self.wide_from
        pct = np.where(wide, LIMIT_WIDE, np.where(self._is_st(), LIMIT_ST, LIMIT_MAIN))
        up = half_up(preclose * (1 + pct))
        down = half_up(preclose * (1 - pct))
        first_day = (age == 0) & ~self.unlimited_ipo
        up = np.where(first_day, half_up(preclose * (1 + IPO_CAP)), up)
        down = np.where(first_day, half_up(preclose * (1 + IPO_FLOOR)), down)
        free = self.unlimited_ipo & (age >= 0) & (age < 5)
        return np.where(free, np.inf, up), np.maximum(np.where(free, 0.01, down), 0.01)

    def _prices(self, t: int, preclose: np.ndarray, latent: np.ndarray, trading: np.ndarray,
                active: np.ndarray, shocks: dict[str, np.ndarray]) -> _Bar:
        """Close within the limits (remainder carried), then open/high/low/VWAP around it."""
        up, down = self._limits(t, preclose)
        desired = self.carry + latent
        with np.errstate(invalid="ignore", over="ignore"):
            target = np.round(preclose * np.exp(np.minimum(desired, 5.0)), 2)
            close = np.where(trading, np.clip(target, down, up), preclose)
            ret = np.log(close / preclose)
        self.carry = np.where(active, desired - np.where(trading, ret, 0.0), 0.0)
        self.close = np.where(active, close, self.close)
        sigma, z = self.uni.sigma, shocks["bar"]
        with np.errstate(invalid="ignore", over="ignore"):
            open_ = np.clip(np.round(preclose * np.exp(0.3 * ret + 0.35 * sigma * z[0]), 2),
                            down, up)
            high = np.maximum(np.minimum(np.round(np.maximum(open_, close)
                                                  * np.exp(0.5 * sigma * np.abs(z[1])), 2), up),
                              np.maximum(open_, close))
            low = np.minimum(np.maximum(np.round(np.minimum(open_, close)
                                                 * np.exp(-0.5 * sigma * np.abs(z[2])), 2), down),
                             np.minimum(open_, close))
            vwap = np.clip(preclose * np.exp(0.5 * ret + 0.15 * sigma * z[3]), low, high)
        open_, high, low, vwap = (np.where(trading, x, preclose) for x in (open_, high, low, vwap))
        return _Bar(preclose, open_, high, low, close, vwap, up, down)

    def _turnover(self, t: int, bar: _Bar, trading: np.ndarray,
                  shocks: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """Volume in lots, and the abnormal-turnover z the turnover effect reacts to."""
        uni, age = self.uni, self._age(t)
        noise = shocks["turnover"]
        self.turn_slow = 0.98 * self.turn_slow + 0.04 * noise[1]
        at_limit = (bar.close >= bar.up) | (bar.close <= bar.down)
        log_tau = (uni.log_tau + self.turn_slow + 0.35 * np.abs(shocks["eps"])
                   + 0.5 * np.log(shocks["market_vol"] / MARKET_VOL) + 0.3 * noise[0]
                   + np.where(at_limit, np.log(0.35), 0.0))
        fresh = self.unlimited_ipo & (age >= 0) & (age < 5)
        log_tau = np.minimum(np.where(fresh, np.log(0.5) + age * np.log(0.6) + 0.2 * noise[0],
                                      log_tau), np.log(0.8))
        float_shares = self._float_shares(t) * 1e4
        with np.errstate(invalid="ignore", divide="ignore"):
            volume = np.where(trading, np.maximum(np.round(np.exp(log_tau) * float_shares / 100),
                                                  1.0), 0.0)
            realised = np.log(volume * 100 / float_shares)
        settled = trading & (age >= 20)
        z = np.where(settled, np.clip((realised - self.turn_ewma) / 0.4, -4, 4), 0.0)
        self.turn_ewma = np.where(trading & (age > 0), 0.9 * self.turn_ewma + 0.1 * realised,
                                  self.turn_ewma)
        return volume, z
