"""Traded (raw) prices and Wind's adjustment factor from baostock k-data of any `adjustflag`.

baostock's `open/high/low/close/preclose` are back-adjusted (adjustflag 1), forward-adjusted
(2) or raw (3); `volume` (shares) and `amount` (yuan) are never adjusted. Between two ex-rights
events an adjusted price is the traded price times one constant factor f, so:

1. On a traded day the raw VWAP is amount / volume, which lies within the day's raw [low, high]:
   f lies in [adj_low / vwap, adj_high / vwap] (widened by VWAP_TOL).
2. A-share prices are on the 0.01 yuan grid, and so is the exchange's ex-rights reference
   price (the raw preclose of an ex-date). The candidates are f = adj_close / (k x 0.01) for
   the integers k the bracket allows; a candidate is kept when all five adjusted prices divided
   by it land on the grid (within GRID_TOL ticks).
3. Days are walked in order: the current f is kept while it still puts the day on the grid with
   the VWAP inside [low, high]; otherwise (an ex-rights date) the candidates are searched anew.
   When several survive (limit-up/-down days, where the prices are 0.9/1.0/1.1 multiples of one
   price), the one that keeps fitting the most following traded days wins, then the one
   nearest adj_close / vwap.
4. raw = round(adj / f, 2). Untraded days (no volume) carry the last raw close as all prices
   (Wind: a suspended day repeats the previous close); a file that starts untraded takes the
   first traded day's raw preclose.
5. S_DQ_ADJFACTOR is rebuilt Wind's way from the raw prices: F_t = F_{t-1} x close_{t-1} /
   preclose_t. So it changes only where the raw preclose differs from the previous raw close,
   and baostock's own factor breaks that have no ex-rights reference price vanish. Its level:
   adjustflag 1 starts at baostock's back-adjustment factor of the first row (anchored at the
   listing like Wind's, so a later extract gives the same levels); 2 and 3 start at 1.

pctChg is not used to recover prices: on every day adj_close / adj_preclose equals the raw
ratio, so it carries no information the adjusted prices lack; it is used as a check instead.
On the 201-stock sample (2012-2023, adjustflag 1): every traded day is placed on the grid, the
VWAP lies in the recovered [low, high] on all but the README's known-defect rows, and the
rebuilt factor changes on about 1,600 days.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

KDATA_PRICE_COLUMNS = ("open", "high", "low", "close", "preclose")
TICK_PER_YUAN = 100  # A-share prices move in 0.01 yuan
GRID_TOL = 1e-3  # ticks: adjusted prices carry 8 decimals, so a right factor is far closer
VWAP_TOL = 5e-3  # amount is rounded and may hold odd-lot or block trades
LOOKAHEAD_DAYS = 10  # traded days used to choose between candidate factors
MAX_CANDIDATES = 1_000_000
OPEN, HIGH, LOW, CLOSE, PRECLOSE = range(5)


@dataclass(frozen=True)
class Recovered:
    """Raw prices of one stock, row for row with the input, and what the fit found."""

    prices: np.ndarray  # n x 5 (open, high, low, close, preclose), yuan, 0.01 grid
    factor: np.ndarray  # S_DQ_ADJFACTOR, Wind's way
    traded: np.ndarray  # bool: volume > 0 and amount > 0
    unfitted: np.ndarray  # bool: traded day no factor put on the grid (previous one used)
    vwap_outside: np.ndarray  # bool: traded day whose amount / volume is outside [low, high]
    no_price: np.ndarray  # bool: no traded day to take a price from (never traded)
    searches: int  # factor searches (ex-rights dates, plus the first traded day)


def _on_grid(values: np.ndarray, factors: np.ndarray) -> np.ndarray:
    """values: [5], factors: [m] -> [m] bool: every value / factor is on the 0.01 grid."""
    ticks = values[:, None] / factors[None, :] * TICK_PER_YUAN
    return (np.abs(ticks - np.round(ticks)) < GRID_TOL).all(axis=0)


def _fits(adj: np.ndarray, vwap: float, factors: np.ndarray) -> np.ndarray:
    """Candidates that put the day on the grid with the VWAP inside [low, high]."""
    inside = (adj[LOW] / factors * (1 - VWAP_TOL) <= vwap) & (
        vwap <= adj[HIGH] / factors * (1 + VWAP_TOL))
    return _on_grid(adj, factors) & inside


def _search(adj: np.ndarray, vwap: np.ndarray, traded: np.ndarray, t: int) -> float | None:
    """The factor of day t among the grid candidates that the VWAP bracket allows."""
    low, high, close = adj[t, LOW], adj[t, HIGH], adj[t, CLOSE]
    f_low, f_high = low / vwap[t] * (1 - VWAP_TOL), high / vwap[t] * (1 + VWAP_TOL)
    k_min = math.ceil(close * TICK_PER_YUAN / f_high)
    k_max = math.floor(close * TICK_PER_YUAN / f_low)
    if k_max < max(k_min, 1) or k_max - k_min > MAX_CANDIDATES:
        return None
    factors = close * TICK_PER_YUAN / np.arange(max(k_min, 1), k_max + 1)
    factors = factors[_on_grid(adj[t], factors)]
    if len(factors) == 0:
        return None
    if len(factors) > 1:
        later = np.flatnonzero(traded[t + 1:])[:LOOKAHEAD_DAYS] + t + 1
        alive = np.ones(len(factors), bool)
        score = np.zeros(len(factors))
        for u in later:
            alive &= _fits(adj[u], vwap[u], factors)
            score += alive
        factors = factors[score == score.max()]
    return float(factors[np.argmin(np.abs(factors - close / vwap[t]))])


def fit_factors(adj: np.ndarray, vwap: np.ndarray, traded: np.ndarray) -> tuple[np.ndarray, int]:
    """baostock's factor f per row (NaN where unknown) and the number of searches."""
    n = len(vwap)
    fitted = np.full(n, np.nan)
    current: float | None = None
    searches = 0
    for t in range(n):
        if not traded[t]:
            continue
        if current is not None and _fits(adj[t], vwap[t], np.array([current]))[0]:
            fitted[t] = current
            continue
        searches += 1
        found = _search(adj, vwap, traded, t)
        if found is not None:
            current = found
            fitted[t] = current
    return fitted, searches


def _fill(values: np.ndarray) -> np.ndarray:
    """Forward-fill NaN, then back-fill the leading NaN."""
    out = values.copy()
    valid = ~np.isnan(out)
    if not valid.any():
        return out
    idx = np.where(valid, np.arange(len(out)), 0)
    np.maximum.accumulate(idx, out=idx)
    out = out[idx]
    first = np.flatnonzero(valid)[0]
    out[:first] = values[first]
    return out


def recover(adj: np.ndarray, volume: np.ndarray, amount: np.ndarray,
            adjustflag: int) -> Recovered:
    """Raw prices and Wind's factor for one stock's rows (sorted by date).

    Args:
        adj: [n, 5] open, high, low, close, preclose as the file gives them.
        volume: [n] shares (NaN when empty). amount: [n] yuan (NaN when empty).
        adjustflag: 1 back-adjusted, 2 forward-adjusted, 3 raw.
    """
    n = len(volume)
    with np.errstate(invalid="ignore", divide="ignore"):
        traded = (np.nan_to_num(volume) > 0) & (np.nan_to_num(amount) > 0)
        vwap = np.where(traded, amount / np.where(traded, volume, 1.0), np.nan)
    if adjustflag == 3:
        fitted, searches = np.where(traded, 1.0, np.nan), 0
    else:
        fitted, searches = fit_factors(adj, vwap, traded)
    unfitted = traded & np.isnan(fitted)
    f = _fill(np.where(traded, fitted, np.nan))
    prices = np.full((n, 5), np.nan)
    if traded.any():
        prices[traded] = np.round(adj[traded] / f[traded, None], 2)
    # Untraded days repeat the last raw close (or the first traded day's raw preclose).
    last_close = np.where(traded, prices[:, CLOSE], np.nan)
    carried = _fill(last_close)
    first_traded = np.flatnonzero(traded)[0] if traded.any() else n
    carried[:first_traded] = prices[first_traded, PRECLOSE] if first_traded < n else np.nan
    prices[~traded] = carried[~traded, None]
    no_price = np.isnan(prices[:, CLOSE])
    with np.errstate(invalid="ignore"):
        vwap_outside = traded & ((vwap < prices[:, LOW] * (1 - VWAP_TOL))
                                 | (vwap > prices[:, HIGH] * (1 + VWAP_TOL)))
    return Recovered(prices, wind_factor(prices, f, adjustflag), traded, unfitted,
                     vwap_outside, no_price, searches)


def wind_factor(prices: np.ndarray, f: np.ndarray, adjustflag: int) -> np.ndarray:
    """F_t = F_{t-1} x close_{t-1} / preclose_t; F_0 = baostock's back factor (flag 1) or 1."""
    n = len(prices)
    if n == 0:
        return np.empty(0)
    ratio = np.ones(n)
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio[1:] = prices[:-1, CLOSE] / prices[1:, PRECLOSE]
    ratio = np.where(np.isfinite(ratio), ratio, 1.0)
    start = f[0] if adjustflag == 1 and np.isfinite(f[0]) else 1.0
    return start * np.cumprod(ratio)
