"""A synthetic A-share market in Wind's raw tables, with planted, documented predictability.

`generate(config, out_dir)` writes `<out_dir>/<Table>.parquet` for every table in
`wind.RAW_TABLES` and `<out_dir>/truth/<table>.parquet` for `wind.TRUTH_TABLES`. Columns, kinds
and units are exactly those of `zoo.ingest.wind` (dates 'YYYYMMDD' strings, floats float64, ints
int64). The same config gives the same values: every draw comes from one
`numpy.random.Generator(PCG64(seed))` in a fixed order.

Universe and calendar
---------------------
Trading days are weekdays minus approximate Chinese holidays (1 Jan, Spring Festival eve to
day 6 from a table of lunar new-year dates, Qingming 4 Apr, 1-5 May, Dragon Boat = new year
+ 122 days, Mid-Autumn = new year + 220 days, 1-7 Oct; single-day holidays on a weekend move to
the Monday). SSE and SZSE share the days. `listed_fraction` of the stocks are listed before
`start` (list dates back to 1991, skewed to recent years), the rest IPO during the sample.
Boards follow the list date: SSE main 600/601/603/605, SZSE main 000/001 and 002/003,
ChiNext 300/301 (from 2009-10-30), STAR 688 (from 2019-07-22). `delist_fraction` of the stocks
delist during the sample after an ST period of 150-350 trading days; in addition the par-value
rule delists a stock that closes below 1 yuan on 20 trading days in a row (ST from the next
day, delisted 15 trading days later), and its later statements are never published.

Prices (AShareEODPrices, AShareEODDerivativeIndicator)
-------------------------------------------------------
Daily latent log return of stock i on day t:

    r*_it = beta_i m_t + gamma_i f_{I(i),t} + S_{i,t-1} + u_it + J_it,   u_it = sigma_i eps_it

m_t: market factor, Student-t(4) with GARCH(1,1) volatility (unconditional 1.3 %/day), mean 0
(the median stock's log price has no drift; cap-weighted indices still rise ~5 %/year, the
diversification return); f: 30 CITIC industry factors, t(4), 0.8 %/day, mean 0; sigma_i:
idiosyncratic vol 1.5-3.5 %/day (median 2 %, higher for small caps); eps: unit-variance t(4);
J: jumps that are not predictable from data known the day before: the earnings announcement reaction
`earnings_jump x SUE`, and the IPO pop (on the main board 0.1 + Exp(0.5) log points beyond the
+44 % first-day cap, hence a streak of limit-up days). The raw close is
`round(preclose exp(carry + r*), 0.01)` clipped to the day's price limits (+-10 % main board,
+-5 % ST, +-20 % ChiNext from 2020-08-24 and STAR; first day +44 %/-36 % on the main board and
pre-reform ChiNext; no limit for the first five days of STAR and post-reform ChiNext IPOs).
What a limit or a suspension withheld stays in `carry` and is released on the following
trading days (limit-locked streaks, jumps on resumption). Open, high and low are drawn around
the path and rounded to 0.01; VWAP sits at half the day's log return plus noise, inside
[low, high]. Dividends (after the annual report, ex-dates mostly May-July) and bonus shares
(10 for 10 and the like, frequent for expensive stocks) change S_DQ_PRECLOSE on the ex-date
(status XD/XR/DR) and the back-adjustment factor (factor_t = close_{t-1} / preclose_t x
factor_{t-1}; stocks listed before `start` begin with a factor > 1). Suspensions (1-20 days,
`suspension_rate` spells per stock per year) keep a row with volume 0, amount 0 and
open = high = low = close = preclose = VWAP.

Turnover (fraction of float shares): log tau = stock level (smaller caps trade more) + slow
AR(1) + 0.35 |eps| + market-volatility regime + N(0, 0.3) noise, lower on limit days.
S_DQ_VOLUME = tau x float shares / 100 lots; S_DQ_AMOUNT = volume x 100 x VWAP / 1000 thousand
yuan. Shares in 10 thousand: FREE <= FLOAT_A <= TOT (IPO lock-ups expire after 250 and 750
trading days); S_VAL_MV = close x TOT_SHR, S_DQ_MV = close x FLOAT_A_SHR (10 thousand yuan);
PE_TTM and PB_NEW use only statements announced before the day (see below).

The planted predictability (truth.expected_return)
---------------------------------------------------
The drift state S_i = sum of four parts, each an AR(1) with the same decay `rho`:

    S^k_it = rho S^k_{i,t-1} + x^k_it,      S_it = sum_k S^k_it

with impulses known at t's close (c_k = coefficient x `signal_strength` x the effect's knob):
1. reversal:  x = -c_rev u_it (own idiosyncratic shock; 0 while suspended);
2. turnover:  x = -c_turn z_it, z = (log tau_it - EWMA_{0.9}(log tau)) / 0.4 clipped to +-4
   (0 while suspended and for the first 20 days after listing);
3. earnings:  x = +c_earn SUE on the first trading day after a statement's ANN_DT (the
   announcement is after the close, as in China; the same day the price jumps by
   `earnings_jump x SUE`). SUE = (Q_t - Q_{t-4} - mean(d)) / std(d) of single-quarter parent
   net profit as first reported, d = the 8 previous such differences, clipped to +-3;
4. neighbour: x = +c_nbr mean_{j in N_k(i)} u_jt (neighbours' idiosyncratic shocks, 0 for
   suspended neighbours). N_k(i) = the `neighbours_k` nearest listed stocks by six ratios
   that the statements publish (`published_ratios`: TTM net margin, TTM revenue growth,
   leverage, asset turnover, TTM cash conversion, seasonality of the last four quarters'
   revenue), each standardised across the listed stocks, each stock placed by its latest
   report period announced so far: investors link firms by what they have published, not by
   the latent characteristics below, which the statements show only with noise. A stock with
   no announced report has no neighbours and is nobody's. Recomputed on the first trading day
   of every month, valid from that day (truth.fundamental_neighbours).
At `signal_strength = 0` every S^k, SIG_* and ER_* is exactly 0. Expected log excess return
(excess of the zero-mean factor parts) from T+1 VWAP to T+1+h VWAP, with VWAP at half of its
day's log return:

    ER_hD = S_iT (0.5 + sum_{d=2..h} rho^(d-1) + 0.5 rho^h)

Written for trading (not suspended) stock-days. Not in ER: the mechanical release of carry
after a limit or suspension, and the IPO pop; both are real, rare, and observable.

Fundamentals (AShareIncome, AShareBalanceSheet, AShareCashFlow; yuan)
---------------------------------------------------------------------
Each stock has six latent characteristics (industry mean + stock mean + a quarterly AR
drift around it, coefficient `fundamental_persistence`, 0.97: margins, leverage and asset
turnover are sticky; the drift's spread, 0.34 in latent units, does not depend on it):
net margin m = 0.085 + 0.05 c0 (some loss makers), revenue growth g = 0.03 + 0.15 c1
(log, per year), leverage = sigmoid(0.8 c2 - 0.2), asset turnover = exp(0.45 c3) x 0.6 per
year, cash conversion (OCF/revenue - margin) = 0.03 + 0.05 c4, seasonality (Q4 vs Q1 revenue
weight) = 0.12 + 0.12 c5. The annual revenue run-rate starts at market cap / a drawn P/S
(median 2.5) and then grows at g with noise; it does not follow the share price, because a
surprise predictable from past returns would be predictability outside ER. P/S and P/E
therefore widen slowly as prices wander. Income and cash
flow are cumulative year to date, the balance sheet at period end; identities hold
(OPER_PROFIT = TOT_OPER_REV - TOT_OPER_COST, TOT_PROFIT = NET_PROFIT_INCL + INC_TAX,
NET_PROFIT_INCL = EXCL + MINORITY_INT_INC, TOT_ASSETS = TOT_LIAB + equity incl. minorities =
TOT_LIAB_SHRHLDR_EQY, equity incl. = excl. + MINORITY_INT, current + non-current = total,
cash flows sum to the change in period-end cash since the last year end). Equity grows with
net profit minus dividends and is pulled 8 %/quarter towards its latent target (capital
transactions). Statements start `PRE_YEARS` years before `start` (at most three years before
listing; pre-listing periods are announced in one batch with the prospectus, 10 trading days
before listing).
Announcements fall in the legal windows (Q1 by 30 Apr, H1 by 31 Aug, Q3 by 31 Oct, annual by
30 Apr next year) at stock-specific speeds; Q1 never precedes the annual report and often comes
the same day; `late_filing_rate` are late. `restatement_rate` of reports are corrected 30-365
days later: 408005000 = original figures at the original ANN_DT, 408004000 = corrected figures
at the correction's ANN_DT, 408001000 = corrected figures at the ORIGINAL ANN_DT (Wind's
look-ahead trap; its ACTUAL_ANN_DT is the correction date). COMP_TYPE_CODE is 2 for banks,
4 for non-bank financials, 1 otherwise.

Other tables
------------
AShareST: 'S' periods [ENTRY_DT, REMOVE_DT) after two consecutive annual losses (removed after
a profitable year), at random (`random_st_rate` a year), and before every delisting; ANN_DT a
few trading days before ENTRY_DT. CITIC industries: 30 level-1 codes 'b10x' + level-2/3
digits, from listing, `reclass_rate` reclassifications a year (the stock's industry factor
switches with its code). Indices: CSI 300 / 500 / 1000 = ranks 1-6 %, 6-16 %, 16-36 % of
`stocks` (300 / 500 / 1000 of a 5000-stock market) by free-float cap among stocks listed for
>= 60 trading days, not ST and not suspended, ranked on the last trading day of May/November
and rebalanced on the first trading day after the second Friday of June/December (members
that delist leave that day); levels are free-float-cap-weighted price returns of the members;
weights (percent, 4 decimals) on every month end and rebalance day.
"""

from __future__ import annotations

import difflib
import os
import shutil
import time
import typing
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from zoo.ingest import wind

PRE_YEARS = 4  # statements start this many years before `start` (SUE needs 13 quarters)
EFFECTS = ("reversal", "turnover", "earnings", "neighbour")
SIG_COLUMNS = ("SIG_REVERSAL", "SIG_TURNOVER", "SIG_EARNINGS", "SIG_NEIGHBOUR")
ER_HORIZONS = (5, 10, 15, 20)
INDEX_FRACTIONS = {wind.CSI300: 0.06, wind.CSI500: 0.10, wind.CSI1000: 0.20}
INDEX_BASE_LEVELS = {wind.CSI300: 3500.0, wind.CSI500: 6000.0, wind.CSI1000: 6500.0}
TRADING_DAYS_PER_YEAR = 244
MARKET_VOL = 0.013  # unconditional daily vol of the market factor
LATENT_DRIFT_SPREAD = 0.34  # stationary std of a firm's characteristics around their mean
INDUSTRY_VOL = 0.008  # daily vol of each industry factor
PAR_VALUE, PAR_VALUE_DAYS = 1.0, 20  # closes below 1 yuan on 20 trading days in a row ...
DELISTING_PERIOD = 15  # ... mean ST from the next day and delisting 15 trading days later

# Boards and their rules.
MAIN, CHINEXT, STAR = 0, 1, 2
BOARD_NAMES = ("主板", "创业板", "科创板")
CHINEXT_OPEN, STAR_OPEN, CHINEXT_REFORM = "20091030", "20190722", "20200824"
LIMIT_MAIN, LIMIT_ST, LIMIT_WIDE = 0.10, 0.05, 0.20
IPO_CAP, IPO_FLOOR = 0.44, -0.36

# S_DQ_TRADESTATUS values, indexed by the status codes used internally.
STATUSES = ("交易", "停牌", "XD", "XR", "DR", "N")
ST_TRADE, ST_SUSPENDED, ST_XD, ST_XR, ST_DR, ST_NEW = range(6)

# CITIC level-1 industries, in code order 'b101'..'b10u', with relative listing counts.
INDUSTRY_CHARS = "123456789abcdefghijklmnopqrstu"
INDUSTRIES = (
    ("石油石化", 1.0), ("煤炭", 0.8), ("有色金属", 2.5), ("电力及公用事业", 2.5), ("钢铁", 0.9),
    ("基础化工", 6.5), ("建筑", 2.0), ("建材", 1.5), ("轻工制造", 3.0), ("机械", 8.0),
    ("电力设备及新能源", 5.5), ("国防军工", 2.0), ("汽车", 4.5), ("商贸零售", 2.0),
    ("消费者服务", 1.0), ("家电", 1.8), ("纺织服装", 2.0), ("医药", 8.0), ("食品饮料", 2.5),
    ("农林牧渔", 2.0), ("银行", 0.8), ("非银行金融", 1.6), ("房地产", 2.2), ("交通运输", 2.4),
    ("电子", 7.5), ("通信", 2.5), ("计算机", 6.5), ("传媒", 3.0), ("综合", 0.6), ("综合金融", 0.3),
)
BANK, NON_BANK = 20, 21
INDUSTRY_ROOT = "b1" + "0" * 14

# Lunar new year (Spring Festival) dates; other years fall back to 1 Feb.
SPRING_FESTIVAL = {
    1990: "0127", 1991: "0215", 1992: "0204", 1993: "0123", 1994: "0210", 1995: "0131",
    1996: "0219", 1997: "0207", 1998: "0128", 1999: "0216", 2000: "0205", 2001: "0124",
    2002: "0212", 2003: "0201", 2004: "0122", 2005: "0209", 2006: "0129", 2007: "0218",
    2008: "0207", 2009: "0126", 2010: "0214", 2011: "0203", 2012: "0123", 2013: "0210",
    2014: "0131", 2015: "0219", 2016: "0208", 2017: "0128", 2018: "0216", 2019: "0205",
    2020: "0125", 2021: "0212", 2022: "0201", 2023: "0122", 2024: "0210", 2025: "0129",
    2026: "0217", 2027: "0206", 2028: "0126", 2029: "0213", 2030: "0203", 2031: "0123",
    2032: "0211", 2033: "0131", 2034: "0219", 2035: "0208",
}
CALENDAR_ORIGIN = "19901219"  # first SSE trading day; list dates are drawn after it


# =========================================================================== configuration
@dataclass(frozen=True)
class SynthConfig:
    """Everything that shapes the synthetic market; same config, same data.

    Attributes:
        stocks: stocks that exist at some point (some IPO later, some delist); at most 6000.
        start, end: calendar bounds, 'YYYYMMDD' (start >= 19950101).
        seed: seed of the one random generator.
        signal_strength: scales all planted predictability; 0 => none (ER and SIG_* are 0).
        reversal, turnover, earnings, neighbour: relative strength of each planted effect.
        neighbours_k: size of the true fundamental neighbourhood.
        rho: daily decay of the drift state (half-life log(0.5)/log(rho) days).
        reversal_coef: impulse per unit of the stock's own idiosyncratic log return.
        turnover_coef: impulse (log return) per unit of abnormal-turnover z.
        earnings_coef: impulse (log return) per unit of SUE.
        neighbour_coef: impulse per unit of the neighbours' mean idiosyncratic log return.
        fundamental_persistence: quarterly AR coefficient of each firm's latent
            characteristics around their mean (the shocks are scaled so that the spread of
            the drift stays 0.34 latent units).
        earnings_jump: announcement-day log return per unit of SUE (a jump, not a signal).
        listed_fraction: share of the stocks listed before `start`.
        delist_fraction: share of the stocks drawn to delist during the sample (the par-value
            rule delists more: ~5 % in all over 8 years at the defaults).
        suspension_rate: suspension spells per stock per year.
        restatement_rate: share of reports corrected later.
        late_filing_rate: share of reports announced after the legal deadline.
        reclass_rate: CITIC reclassifications per stock per year.
        random_st_rate: ST designations for other reasons per stock per year.
        chunk_days: trading days per row group of the daily tables (bounds memory).
    """

    stocks: int = 500
    start: str = "20160101"
    end: str = "20240630"
    seed: int = 7
    signal_strength: float = 1.0
    reversal: float = 1.0
    turnover: float = 1.0
    earnings: float = 1.0
    neighbour: float = 1.0
    neighbours_k: int = 10
    rho: float = 0.8
    reversal_coef: float = 0.022
    turnover_coef: float = 0.00055
    earnings_coef: float = 0.005
    neighbour_coef: float = 0.17
    fundamental_persistence: float = 0.97
    earnings_jump: float = 0.025
    listed_fraction: float = 0.8
    delist_fraction: float = 0.02
    suspension_rate: float = 0.05
    restatement_rate: float = 0.03
    late_filing_rate: float = 0.02
    reclass_rate: float = 0.01
    random_st_rate: float = 0.01
    chunk_days: int = 250

    def __post_init__(self) -> None:
        if not 20 <= self.stocks <= 6000:
            raise ValueError(f"stocks must be in [20, 6000], got {self.stocks}")
        start, end = _parse_date(self.start), _parse_date(self.end)
        if start < np.datetime64("1995-01-01") or end - start < 120:
            raise ValueError(f"need 19950101 <= start and end - start >= 120 days: {self}")
        if not 0 <= self.fundamental_persistence < 1:
            raise ValueError("fundamental_persistence must be in [0, 1), got "
                             f"{self.fundamental_persistence}")
        if not 1 <= self.neighbours_k < self.stocks // 2:
            raise ValueError(f"neighbours_k must be in [1, stocks/2), got {self.neighbours_k}")
        if not 0.0 <= self.rho < 1.0:
            raise ValueError(f"rho must be in [0, 1), got {self.rho}")
        if not 0.0 < self.listed_fraction <= 1.0 or self.chunk_days < 1:
            raise ValueError("listed_fraction must be in (0, 1] and chunk_days >= 1")

    @classmethod
    def from_overrides(cls, values: dict, overrides: tuple[str, ...] = ()) -> SynthConfig:
        """Defaults, then `values` (None keeps the default), then "key=value" overrides.

        Override values are cast to the field's type; an unknown key raises ValueError naming
        the closest field names.
        """
        hints = typing.get_type_hints(cls)
        kwargs: dict[str, typing.Any] = {}
        for key, value in values.items():
            if value is not None:
                kwargs[_known_field(key, hints)] = value
        for item in overrides:
            key, sep, raw = item.partition("=")
            if not sep:
                raise ValueError(f"override {item!r} is not KEY=VALUE")
            name = _known_field(key.strip().replace("-", "_"), hints)
            kwargs[name] = _cast(raw.strip(), hints[name], name)
        return cls(**kwargs)

    def effect_coefs(self) -> np.ndarray:
        """Impulse coefficient of each effect in `EFFECTS` order, knobs and strength applied."""
        base = (self.reversal_coef, self.turnover_coef, self.earnings_coef, self.neighbour_coef)
        knobs = (self.reversal, self.turnover, self.earnings, self.neighbour)
        return np.array([b * k * self.signal_strength for b, k in zip(base, knobs, strict=True)])

    def er_weights(self) -> np.ndarray:
        """w_h with ER_hD = w_h x S: 0.5 + sum_{d=2..h} rho^(d-1) + 0.5 rho^h, per ER_HORIZONS."""
        return np.array([er_weight(self.rho, h) for h in ER_HORIZONS])


def er_weight(rho: float, horizon: int) -> float:
    """Expected VWAP-to-VWAP log return over `horizon` days per unit of drift state."""
    return 0.5 + sum(rho ** (d - 1) for d in range(2, horizon + 1)) + 0.5 * rho**horizon


def _known_field(key: str, hints: dict[str, typing.Any]) -> str:
    if key not in hints:
        close = difflib.get_close_matches(key, list(hints), n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise ValueError(f"unknown SynthConfig field {key!r}{hint}")
    return key


def _cast(raw: str, kind: typing.Any, name: str) -> typing.Any:
    try:
        if kind is bool:
            if raw.lower() not in {"1", "0", "true", "false", "yes", "no"}:
                raise ValueError(raw)
            return raw.lower() in {"1", "true", "yes"}
        return kind(raw)
    except ValueError as err:
        raise ValueError(f"{name}={raw!r} is not a valid {kind.__name__}") from err


def _parse_date(text: str) -> np.datetime64:
    if len(text) != 8 or not text.isdigit():
        raise ValueError(f"dates are YYYYMMDD, got {text!r}")
    return np.datetime64(f"{text[:4]}-{text[4:6]}-{text[6:]}", "D")


# =========================================================================== result
@dataclass(frozen=True)
class SynthResult:
    """What `generate` wrote: rows per table, seconds taken, file paths."""

    config: SynthConfig
    out_dir: Path
    rows: dict[str, int]
    paths: dict[str, Path]
    seconds: float
    trading_days: int

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())

    def summary(self) -> str:
        c = self.config
        big = ", ".join(
            f"{name} {self.rows[name]:,}"
            for name in ("AShareEODPrices", "AShareIncome", "AIndexFreeWeight", "expected_return")
        )
        return (
            f"synthetic market: {c.stocks} stocks, {c.start}-{c.end} ({self.trading_days} trading "
            f"days), seed {c.seed}, signal_strength {c.signal_strength}\n"
            f"  {self.total_rows:,} rows in {len(self.rows)} tables ({big})\n"
            f"  written to {self.out_dir} in {self.seconds:.1f} s"
        )


# =========================================================================== calendar
@dataclass(frozen=True)
class _Calendar:
    """Trading days from 1990-12-19 to two years past `end`; the sample is [first, stop)."""

    days: np.ndarray  # datetime64[D]
    labels: np.ndarray  # 'YYYYMMDD'
    first: int
    stop: int

    @classmethod
    def build(cls, start: str, end: str) -> _Calendar:
        days = trading_days(_parse_date(CALENDAR_ORIGIN), _parse_date(end) + 730)
        labels = np.char.replace(days.astype(str), "-", "")
        first = int(np.searchsorted(days, _parse_date(start)))
        stop = int(np.searchsorted(days, _parse_date(end), side="right"))
        return cls(days, labels, first, stop)

    def on_or_before(self, dates: np.ndarray) -> np.ndarray:
        return np.searchsorted(self.days, dates, side="right") - 1

    def on_or_after(self, dates: np.ndarray) -> np.ndarray:
        return np.minimum(np.searchsorted(self.days, dates), len(self.days) - 1)

    def month_ends(self) -> np.ndarray:
        """Indices of the last trading day of each month."""
        months = self.days.astype("datetime64[M]")
        return np.nonzero(months[:-1] != months[1:])[0]


def _weekday(days: np.ndarray) -> np.ndarray:
    """Monday = 0 (1970-01-01 was a Thursday)."""
    return (days.astype(np.int64) + 3) % 7


def _observed(day: np.datetime64) -> np.datetime64:
    """A one-day holiday on a weekend is taken on the Monday."""
    wd = int(_weekday(np.array([day]))[0])
    return day + (7 - wd if wd >= 5 else 0)


def _holidays(year: int) -> list[np.datetime64]:
    new_year = _parse_date(f"{year}{SPRING_FESTIVAL.get(year, '0201')}")
    jan1 = _parse_date(f"{year}0101")
    qingming = _parse_date(f"{year}0404")
    days = [_observed(d) for d in (jan1, qingming, new_year + 122, new_year + 220)]
    days += [new_year + i for i in range(-1, 7)]
    days += [np.datetime64(f"{year}-05-0{i}", "D") for i in range(1, 6)]
    days += [np.datetime64(f"{year}-10-0{i}", "D") for i in range(1, 8)]
    return days


def trading_days(first: np.datetime64, last: np.datetime64) -> np.ndarray:
    """Weekdays in [first, last] minus the approximate Chinese exchange holidays."""
    days = np.arange(first, last + 1, dtype="datetime64[D]")
    years = range(int(str(first)[:4]), int(str(last)[:4]) + 1)
    holidays = np.array([h for y in years for h in _holidays(y)], dtype="datetime64[D]")
    return days[(_weekday(days) < 5) & ~np.isin(days, holidays)]


@dataclass(frozen=True)
class _Quarter:
    index: int
    year: int
    k: int  # 0 = Q1 ... 3 = annual
    end: np.datetime64
    label: str


def _quarters(start: str, end: str) -> list[_Quarter]:
    """Report periods from Q1 of start-year minus PRE_YEARS to the last quarter end <= end."""
    first_year, last = int(start[:4]) - PRE_YEARS, _parse_date(end)
    out: list[_Quarter] = []
    for year in range(first_year, int(end[:4]) + 1):
        for k, mmdd in enumerate(("0331", "0630", "0930", "1231")):
            q_end = _parse_date(f"{year}{mmdd}")
            if q_end <= last:
                out.append(_Quarter(len(out), year, k, q_end, f"{year}{mmdd}"))
    return out


# =========================================================================== universe
# Code pools per segment: (prefix ranges as integers), in allocation order.
_SEGMENTS = (  # name, exchange, board, share of listings, first list date, code ranges
    ("sh_main", "SSE", MAIN, 0.40, "19901219", ((600000, 600999), (601000, 601999),
                                                (603000, 603999), (605000, 605999))),
    ("sz_main", "SZSE", MAIN, 0.13, "19901219", ((1, 999), (1201, 1999))),
    ("sz_sme", "SZSE", MAIN, 0.20, "20040625", ((2001, 2999), (3001, 3999))),
    ("chinext", "SZSE", CHINEXT, 0.20, CHINEXT_OPEN, ((300001, 301999),)),
    ("star", "SSE", STAR, 0.12, STAR_OPEN, ((688001, 688999),)),
)
_NAME_HEADS = "华中国东南西北新金天海长江山恒泰宏鑫盛信达安康瑞丰永隆光明大成通汇嘉德兴富远"
_NAME_TAILS = ("石化", "能源", "矿业", "电力", "钢铁", "化工", "建设", "建材", "家居", "机械",
               "电气", "航科", "汽车", "商业", "旅游", "电器", "服饰", "药业", "食品", "农业",
               "银行", "证券", "地产", "物流", "电子", "通信", "软件", "传媒", "股份", "控股")


@dataclass
class _Universe:
    """Static facts and parameters of each stock (index i = position in every array)."""

    codes: np.ndarray  # 'xxxxxx.SH'
    names: np.ndarray
    exchange: np.ndarray  # 'SSE' / 'SZSE'
    board: np.ndarray  # MAIN / CHINEXT / STAR
    list_day: np.ndarray  # calendar index of the first trading day
    # Calendar index of the first day no longer listed (huge if never) and of the ST entry
    # before it (-1 if none); the par-value rule can bring both forward during the simulation.
    delist_day: np.ndarray
    delist_st_day: np.ndarray
    ipo: np.ndarray  # listed during the sample
    industry: np.ndarray  # CITIC level-1 index at listing
    size: np.ndarray  # total market cap at `start` (listed) or at fair IPO value, yuan
    price: np.ndarray  # price at `start` (listed) or fair price after the IPO pop, yuan
    ps_ratio: np.ndarray  # market cap / annual revenue
    ipo_pop: np.ndarray  # log(fair price / issue price)
    beta: np.ndarray
    gamma: np.ndarray
    sigma: np.ndarray  # idiosyncratic daily vol
    log_tau: np.ndarray  # log of the stock's normal daily turnover (fraction of float)
    float_ratios: np.ndarray  # [3, n] float/total before 250, before 750, after (trading days)
    free_ratio: np.ndarray  # free float / float
    factor0: np.ndarray  # adjustment factor on the first day

    @property
    def n(self) -> int:
        return len(self.codes)

    def wide_limit_from(self, cal: _Calendar) -> np.ndarray:
        """Calendar index from which the stock's normal limit is 20 % (huge if never)."""
        reform = int(cal.on_or_after(_parse_date(CHINEXT_REFORM)))
        never = len(cal.days) + 1
        return np.where(self.board == STAR, 0, np.where(self.board == CHINEXT, reform, never))

    def unlimited_ipo(self, cal: _Calendar) -> np.ndarray:
        """IPOs with no price limit for five days (STAR; ChiNext after the reform)."""
        return self.wide_limit_from(cal) <= self.list_day


def _draw_universe(cfg: SynthConfig, cal: _Calendar, rng: np.random.Generator) -> _Universe:
    n = cfg.stocks
    n_pre = int(round(n * cfg.listed_fraction))
    ipo = np.arange(n) >= n_pre
    list_day = _draw_list_days(cal, ipo, rng)
    segment = _draw_segments(cal, list_day, rng)
    codes = _assign_codes(segment, list_day, rng)
    industry = rng.choice(len(INDUSTRIES), size=n, p=_industry_weights())
    names = _draw_names(industry, rng)
    delist_day, delist_st_day = _draw_delistings(cfg, cal, list_day, ipo, rng)

    size = np.clip(np.exp(rng.normal(np.log(6e9), 0.95, n)), 1.5e9, 6e11)
    size_z = (np.log(size) - np.log(6e9)) / 0.95
    price = np.round(np.clip(np.exp(rng.normal(np.log(15.0), 0.6, n)), 5.0, 100.0), 2)
    board = np.array([_SEGMENTS[s][2] for s in segment], dtype=np.int8)
    new_rules = np.where(board == STAR, True, board == CHINEXT) & (
        list_day >= int(cal.on_or_after(_parse_date(CHINEXT_REFORM))))
    pop = np.where(new_rules, rng.normal(np.log(2.2), 0.4, n),
                   np.log1p(IPO_CAP) + 0.1 + rng.exponential(0.5, n))
    float_final = rng.uniform(0.6, 1.0, n)
    float_ratios = np.stack([np.where(ipo, rng.uniform(0.2, 0.3, n), float_final),
                             np.where(ipo, rng.uniform(0.45, 0.7, n), float_final),
                             np.where(ipo, rng.uniform(0.85, 1.0, n), float_final)])
    return _Universe(
        codes=codes,
        names=names,
        exchange=np.array([_SEGMENTS[s][1] for s in segment]),
        board=board,
        list_day=list_day,
        delist_day=delist_day,
        delist_st_day=delist_st_day,
        ipo=ipo,
        industry=industry,
        size=size,
        price=price,
        ps_ratio=np.exp(rng.normal(np.log(2.5), 0.5, n)),
        ipo_pop=pop,
        beta=np.clip(rng.normal(1.0, 0.25, n), 0.4, 1.6),
        gamma=rng.uniform(0.6, 1.4, n),
        sigma=np.clip(0.020 - 0.0045 * size_z + rng.normal(0, 0.003, n), 0.015, 0.035),
        log_tau=np.clip(np.log(0.02) - 0.4 * size_z + rng.normal(0, 0.4, n),
                        np.log(0.002), np.log(0.15)),
        float_ratios=float_ratios,
        free_ratio=rng.uniform(0.35, 0.9, n),
        factor0=np.where(ipo, 1.0, np.exp(rng.uniform(0.0, 1.5, n))),
    )


def _draw_list_days(cal: _Calendar, ipo: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Pre-sample list days skewed to recent years; IPOs uniform inside the sample."""
    n = len(ipo)
    before = np.floor((cal.first - 1) * rng.random(n) ** 0.35).astype(np.int64)
    inside = rng.integers(cal.first + 3, max(cal.stop - 3, cal.first + 4), n)
    return np.where(ipo, inside, before)


def _draw_segments(cal: _Calendar, list_day: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    opens = cal.on_or_after(np.array([_parse_date(s[4]) for s in _SEGMENTS]))
    allowed = list_day[:, None] >= opens[None, :]
    weights = allowed * np.array([s[3] for s in _SEGMENTS])[None, :]
    cum = np.cumsum(weights / weights.sum(axis=1, keepdims=True), axis=1)
    return np.minimum((rng.random(len(list_day))[:, None] > cum).sum(axis=1), len(_SEGMENTS) - 1)


def _assign_codes(segment: np.ndarray, list_day: np.ndarray,
                  rng: np.random.Generator) -> np.ndarray:
    """Sequential codes per segment in list-date order, with occasional gaps."""
    codes = np.empty(len(segment), dtype=object)
    for s, (name, exchange, _, _, _, ranges) in enumerate(_SEGMENTS):
        members = np.nonzero(segment == s)[0]
        members = members[np.argsort(list_day[members], kind="stable")]
        pool = np.concatenate([np.arange(lo, hi + 1) for lo, hi in ranges])
        picks = np.cumsum(1 + (rng.random(len(members)) < 0.15)) - 1
        if len(members) and picks[-1] >= len(pool):
            raise ValueError(f"too many stocks for the {name} code range")
        suffix = ".SH" if exchange == "SSE" else ".SZ"
        codes[members] = [f"{c:06d}{suffix}" for c in pool[picks]]
    return codes.astype(str)


def _industry_weights() -> np.ndarray:
    w = np.array([weight for _, weight in INDUSTRIES])
    return w / w.sum()


def _draw_names(industry: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    heads = rng.integers(0, len(_NAME_HEADS), (len(industry), 2))
    return np.array([f"{_NAME_HEADS[a]}{_NAME_HEADS[b]}{_NAME_TAILS[i]}"
                     for (a, b), i in zip(heads, industry, strict=True)])


def _draw_delistings(cfg: SynthConfig, cal: _Calendar, list_day: np.ndarray, ipo: np.ndarray,
                     rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Delist a few long-listed stocks inside the sample, each after a 150-350 day ST period."""
    n = len(list_day)
    never = np.full(n, len(cal.days) + 10, dtype=np.int64)
    st_day = np.full(n, -1, dtype=np.int64)
    candidates = np.nonzero(~ipo & (list_day <= cal.first - 250))[0]
    count = min(int(round(n * cfg.delist_fraction)), len(candidates))
    if count == 0 or cal.stop - cal.first < 130:
        return never, st_day
    chosen = np.sort(rng.choice(candidates, size=count, replace=False))
    never[chosen] = rng.integers(cal.first + 120, cal.stop, count)
    st_day[chosen] = never[chosen] - rng.integers(150, 350, count)
    return never, st_day


# =========================================================================== fundamentals
PUBLISHED_FIGURES = ("revenue", "profit", "operating_cash", "assets", "liabilities")


def published_ratios(figures: dict[str, np.ndarray], quarter_of_year: np.ndarray) -> np.ndarray:
    """The six ratios by which the market places a firm among its neighbours, from the last
    eight quarters of its published figures (`PUBLISHED_FIGURES`, [m, 8] each, oldest first,
    single-quarter flows and period-end stocks, NaN where unknown) and the quarter of year of
    the latest (0 = Q1 ... 3 = Q4) -> [m, 6], NaN where a ratio cannot be formed:

    net margin (TTM parent net profit / TTM revenue), revenue growth (log TTM revenue over the
    TTM a year before), leverage (logit of liabilities / assets), asset turnover (log TTM
    revenue / assets), cash conversion (TTM operating cash flow less TTM net profit, over TTM
    revenue) and seasonality (the slope of each of the last four quarters' revenue share,
    4 x quarter / TTM, on the quarter of year, Q1 -1 ... Q4 +1).
    """
    with np.errstate(invalid="ignore", divide="ignore"):
        revenue = figures["revenue"]
        ttm = revenue[:, -4:].sum(axis=1)
        ttm_before = revenue[:, -8:-4].sum(axis=1)
        positive = np.where(ttm > 0, ttm, np.nan)
        profit = figures["profit"][:, -4:].sum(axis=1)
        cash = figures["operating_cash"][:, -4:].sum(axis=1)
        assets, liabilities = figures["assets"][:, -1], figures["liabilities"][:, -1]
        leverage = np.clip(liabilities / assets, 1e-4, 1 - 1e-4)
        slot = (np.asarray(quarter_of_year)[:, None] - np.arange(3, -1, -1)[None, :]) % 4
        x = (slot - 1.5) / 1.5
        share = 4 * revenue[:, -4:] / positive[:, None]
        return np.stack([
            profit / positive,
            np.log(positive / np.where(ttm_before > 0, ttm_before, np.nan)),
            np.log(leverage / (1 - leverage)),
            np.log(positive / np.where(assets > 0, assets, np.nan)),
            (cash - profit) / positive,
            ((share - 1) * x).sum(axis=1) / (x * x).sum(axis=1),
        ], axis=1)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


@dataclass(frozen=True)
class _Ratios:
    """Economic ratios implied by the latent characteristics c [n, 6]."""

    margin: np.ndarray
    growth: np.ndarray
    leverage: np.ndarray
    asset_turnover: np.ndarray
    cash_conversion: np.ndarray
    seasonality: np.ndarray

    @classmethod
    def of(cls, c: np.ndarray) -> _Ratios:
        return cls(
            margin=np.clip(0.085 + 0.05 * c[:, 0], -0.5, 0.45),
            growth=0.03 + 0.15 * c[:, 1],
            leverage=_sigmoid(0.8 * c[:, 2] - 0.2),
            asset_turnover=0.6 * np.exp(0.45 * c[:, 3]),
            cash_conversion=0.03 + 0.05 * c[:, 4],
            seasonality=np.clip(0.12 + 0.12 * c[:, 5], -0.3, 0.6),
        )

    def season_weight(self, k: int) -> np.ndarray:
        """Share of annual revenue in quarter k, x 4 (weights sum to 4 over the year)."""
        return 1.0 + self.seasonality * (k - 1.5) / 1.5


def _income_items(rev: np.ndarray, margin: np.ndarray, p: _FirmConstants,
                  nonop: np.ndarray) -> dict[str, np.ndarray]:
    """Single-quarter income statement from revenue and net margin (identities hold)."""
    np_incl = rev * margin
    tot_profit = np.where(np_incl > 0, np_incl / (1 - p.tax_rate), np_incl)
    oper_profit = tot_profit - nonop
    tot_oper_cost = rev - oper_profit
    other = 0.01 * rev
    expenses = rev * (p.selling + p.admin + p.finance) + other
    shrink = np.minimum(1.0, np.maximum(tot_oper_cost - 0.05 * rev, 0.0) / expenses)
    selling, admin, finance = (rev * r * shrink for r in (p.selling, p.admin, p.finance))
    minority = np_incl * p.minority
    return {
        "TOT_OPER_REV": rev,
        "OPER_REV": rev,
        "TOT_OPER_COST": tot_oper_cost,
        "LESS_OPER_COST": tot_oper_cost - selling - admin - finance - other * shrink,
        "LESS_SELLING_DIST_EXP": selling,
        "LESS_GERL_ADMIN_EXP": admin,
        "LESS_FIN_EXP": finance,
        "OPER_PROFIT": oper_profit,
        "TOT_PROFIT": tot_profit,
        "INC_TAX": tot_profit - np_incl,
        "NET_PROFIT_INCL_MIN_INT_INC": np_incl,
        "NET_PROFIT_EXCL_MIN_INT_INC": np_incl - minority,
        "MINORITY_INT_INC": minority,
    }


def _balance_items(assets: np.ndarray, equity: np.ndarray,
                   p: _FirmConstants) -> dict[str, np.ndarray]:
    """Period-end balance sheet from total assets and total equity (identities hold)."""
    liab = assets - equity
    cur_assets = assets * p.current_assets
    cur_liab = liab * p.current_liab
    minority = equity * p.minority
    return {
        "MONETARY_CAP": cur_assets * p.cash_share,
        "ACCT_RCV": cur_assets * p.receivable_share,
        "INVENTORIES": cur_assets * p.inventory_share,
        "TOT_CUR_ASSETS": cur_assets,
        "TOT_NON_CUR_ASSETS": assets - cur_assets,
        "TOT_ASSETS": assets,
        "TOT_CUR_LIAB": cur_liab,
        "TOT_NON_CUR_LIAB": liab - cur_liab,
        "TOT_LIAB": liab,
        "TOT_SHRHLDR_EQY_EXCL_MIN_INT": equity - minority,
        "MINORITY_INT": minority,
        "TOT_SHRHLDR_EQY_INCL_MIN_INT": equity,
        "TOT_LIAB_SHRHLDR_EQY": assets,
    }


def _cash_flow_items(rev: np.ndarray, margin: np.ndarray, cash_conversion: np.ndarray,
                     investing: np.ndarray, cash_end: np.ndarray, cash_before: np.ndarray,
                     noise: np.ndarray) -> dict[str, np.ndarray]:
    """Single-quarter cash flows; financing is what reconciles the change in cash."""
    operating = rev * (margin + cash_conversion + noise)
    return {
        "NET_CASH_FLOWS_OPER_ACT": operating,
        "NET_CASH_FLOWS_INV_ACT": investing,
        "NET_CASH_FLOWS_FNC_ACT": cash_end - cash_before - operating - investing,
        "CASH_CASH_EQU_END_PERIOD": cash_end,
    }


_FLOW_ITEMS = ("NET_CASH_FLOWS_OPER_ACT", "NET_CASH_FLOWS_INV_ACT", "NET_CASH_FLOWS_FNC_ACT")


@dataclass(frozen=True)
class _FirmConstants:
    """Per-stock accounting constants (shares of totals, rates)."""

    tax_rate: np.ndarray
    minority: np.ndarray
    selling: np.ndarray
    admin: np.ndarray
    finance: np.ndarray
    current_assets: np.ndarray
    cash_share: np.ndarray
    receivable_share: np.ndarray
    inventory_share: np.ndarray
    current_liab: np.ndarray
    capex: np.ndarray

    @classmethod
    def draw(cls, n: int, leverage: np.ndarray, rng: np.random.Generator) -> _FirmConstants:
        shares = rng.dirichlet([3.0, 2.5, 2.0, 1.5], n)  # cash, receivables, inventory, other
        return cls(
            tax_rate=np.where(rng.random(n) < 0.4, 0.15, 0.25),
            minority=rng.uniform(0.0, 0.15, n) * (rng.random(n) < 0.8),
            selling=rng.uniform(0.01, 0.12, n),
            admin=rng.uniform(0.02, 0.08, n),
            finance=0.003 + 0.03 * leverage,
            current_assets=rng.uniform(0.3, 0.8, n),
            cash_share=shares[:, 0],
            receivable_share=shares[:, 1],
            inventory_share=shares[:, 2],
            current_liab=rng.uniform(0.5, 0.9, n),
            capex=rng.uniform(0.02, 0.12, n),
        )


@dataclass(frozen=True)
class _Report:
    """One report period's announcements: who publishes, when, and the surprise."""

    quarter: _Quarter
    stocks: np.ndarray  # publishing stocks
    ann_day: np.ndarray  # calendar index of ANN_DT, per publishing stock
    corr_day: np.ndarray  # calendar index of the correction's ANN_DT, -1 if none
    fy_loss: np.ndarray  # [n] annual parent net profit as first reported < 0 (annual only)


STATEMENT_TABLES = (wind.ASHARE_INCOME, wind.ASHARE_BALANCE_SHEET, wind.ASHARE_CASH_FLOW)


@dataclass(frozen=True)
class _StoredReport:
    """One period's published figures, per publishing stock, kept until the end (a stock
    delisted by the par-value rule later loses what would be announced after it left)."""

    quarter: _Quarter
    stocks: np.ndarray
    ann_day: np.ndarray
    corr_day: np.ndarray  # -1 if never corrected
    comp_type: np.ndarray
    final: dict[str, np.ndarray]  # corrected (= first where never corrected)
    first_fixed: dict[str, np.ndarray]  # first figures of the corrected reports only


class _Fundamentals:
    """Latent characteristics, accounting state and the statements they produce."""

    def __init__(self, cfg: SynthConfig, cal: _Calendar, uni: _Universe,
                 quarters: list[_Quarter], rng: np.random.Generator) -> None:
        self.cfg, self.cal, self.uni, self.quarters, self.rng = cfg, cal, uni, quarters, rng
        n, nq = uni.n, len(quarters)
        industry_mean = rng.normal(0.0, 0.6, (len(INDUSTRIES), 6))
        industry_mean[BANK] = (2.0, -0.5, 3.0, -4.0, 0.5, 0.0)
        industry_mean[NON_BANK] = (1.5, 0.0, 2.0, -2.5, 0.0, 0.0)
        self.mean = industry_mean[uni.industry] + rng.normal(0.0, 0.8, (n, 6))
        self.latent = self.mean + rng.normal(0.0, LATENT_DRIFT_SPREAD, (n, 6))
        # single-quarter figures of every period (true, i.e. as corrected), [nq, n] each: the
        # ratios a firm publishes, which place it among its neighbours
        self.figures = {name: np.full((nq, n), np.nan) for name in PUBLISHED_FIGURES}
        ratios = _Ratios.of(self.latent)
        self.firm = _FirmConstants.draw(n, ratios.leverage, rng)
        self.speed = rng.beta(2.5, 1.2, n)
        self.same_day = rng.random(n) < 0.35
        self.revenue = uni.size / uni.ps_ratio * np.exp(-PRE_YEARS * ratios.growth)
        self.equity = self._equity_target(ratios)
        self.cash_end = self._cash(self.equity / (1 - ratios.leverage))
        self.ytd: dict[str, np.ndarray] = {}
        self.last_fy_ann = np.full(n, -1, dtype=np.int64)
        # Histories [n, quarters]: single-quarter parent profit as first reported (for SUE),
        # YTD parent profit and parent equity as first reported and as corrected (for PE/PB).
        self.np_single_first = np.zeros((n, nq))
        self.np_ytd = {v: np.full((n, nq), np.nan) for v in ("first", "final")}
        self.equity_parent = {v: np.full((n, nq), np.nan) for v in ("first", "final")}
        self.sue = np.zeros((n, nq))
        self.reports: list[_StoredReport] = []

    def _equity_target(self, ratios: _Ratios) -> np.ndarray:
        return self.revenue / ratios.asset_turnover * (1 - ratios.leverage)

    def _cash(self, assets: np.ndarray) -> np.ndarray:
        return 0.95 * assets * self.firm.current_assets * self.firm.cash_share

    def characteristics(self, stocks: np.ndarray, quarter: np.ndarray) -> np.ndarray:
        """The six ratios [m, 6] that place `stocks` [m] in the neighbour space, as their
        statements for report period `quarter` [m] (index into the quarters) publish them
        (see `published_ratios`)."""
        window = np.arange(-7, 1)
        rows = np.clip(quarter[:, None] + window[None, :], 0, None)  # [m, 8], oldest first
        ok = (quarter[:, None] + window[None, :]) >= 0
        figures = {k: np.where(ok, v[rows, stocks[:, None]], np.nan)
                   for k, v in self.figures.items()}
        return published_ratios(figures, self.quarters_of_year(quarter))

    def quarters_of_year(self, quarter: np.ndarray) -> np.ndarray:
        """Quarter of year (0 = Q1 ... 3 = Q4) of each quarter index."""
        return np.array([q.k for q in self.quarters])[quarter]

    def close_quarter(self, q: _Quarter, dividends: np.ndarray, industry: np.ndarray) -> _Report:
        """Advance the latent state one quarter, write the statements, schedule announcements.

        Args:
            dividends: cash dividends paid during the quarter, yuan.
            industry: current CITIC level-1 index (sets COMP_TYPE_CODE).
        """
        rng, n, firm = self.rng, self.uni.n, self.firm
        a = self.cfg.fundamental_persistence
        self.latent = (self.mean + a * (self.latent - self.mean)
                       + rng.normal(0, LATENT_DRIFT_SPREAD * np.sqrt(1 - a * a), (n, 6)))
        ratios = _Ratios.of(self.latent)
        self.revenue = self.revenue * np.exp(ratios.growth / 4 + rng.normal(0, 0.02, n))
        rev = self.revenue / 4 * ratios.season_weight(q.k) * np.exp(rng.normal(0, 0.02, n))
        margin = np.clip(ratios.margin + rng.normal(0, 0.012, n), -0.6, 0.45)
        nonop = rev * rng.normal(0, 0.002, n)
        cf_noise = rng.normal(0, 0.02, n)
        investing = -rev * firm.capex * np.exp(rng.normal(0, 0.3, n))
        # The figures first announced where the report is later corrected.
        wrong_rev = rev * np.exp(rng.normal(0, 0.03, n))
        wrong_margin = np.clip(margin + rng.choice([-1.0, 1.0], n) * rng.uniform(0.005, 0.03, n),
                               -0.6, 0.45)

        income = _income_items(rev, margin, firm, nonop)
        target = self._equity_target(ratios)
        equity = self.equity + income["NET_PROFIT_INCL_MIN_INT_INC"] - dividends
        equity = np.maximum(equity + 0.08 * (target - equity), 0.25 * target)
        assets = equity / (1 - ratios.leverage)
        balance = _balance_items(assets, equity, firm)
        cash_end = self._cash(assets)
        cash = _cash_flow_items(rev, margin, ratios.cash_conversion, investing, cash_end,
                                self.cash_end, cf_noise)
        for name, values in (("revenue", rev), ("profit", income["NET_PROFIT_EXCL_MIN_INT_INC"]),
                             ("operating_cash", cash["NET_CASH_FLOWS_OPER_ACT"]),
                             ("assets", assets), ("liabilities", balance["TOT_LIAB"])):
            self.figures[name][q.index] = values

        wrong_income = _income_items(wrong_rev, wrong_margin, firm, nonop)
        delta = (wrong_income["NET_PROFIT_INCL_MIN_INT_INC"]
                 - income["NET_PROFIT_INCL_MIN_INT_INC"])
        wrong_balance = _balance_items(assets + delta, equity + delta, firm)
        wrong_cash = _cash_flow_items(wrong_rev, wrong_margin, ratios.cash_conversion, investing,
                                      self._cash(assets + delta), self.cash_end, cf_noise)

        ann_day = self._announcement_days(q)
        published = self._published(q, ann_day)
        corr_day = self._correction_days(ann_day, published)
        corrected = corr_day >= 0

        ytd_before = self.ytd if q.k > 0 else {}
        final = {**_accumulate(ytd_before, income), **balance, **_accumulate(ytd_before, cash)}
        wrong = {**_accumulate(ytd_before, wrong_income), **wrong_balance,
                 **_accumulate(ytd_before, wrong_cash)}
        first = {k: np.where(corrected, wrong[k], v) for k, v in final.items()}
        self._remember(q, first, final)

        self.ytd = {k: final[k] for k in (*income, *_FLOW_ITEMS)}
        self.equity, self.cash_end = equity, cash_end
        if q.k == 3:
            self.last_fy_ann = np.where(published, ann_day, self.last_fy_ann)
        stocks = np.nonzero(published)[0]
        comp_type = np.where(industry == BANK, 2, np.where(industry == NON_BANK, 4, 1))
        fixed = np.nonzero(corrected[stocks])[0]
        self.reports.append(_StoredReport(
            q, stocks, ann_day[stocks], corr_day[stocks], comp_type[stocks],
            final={k: v[stocks] for k, v in final.items()},
            first_fixed={k: v[stocks[fixed]] for k, v in first.items()}))
        fy_loss = (first["NET_PROFIT_EXCL_MIN_INT_INC"] < 0) if q.k == 3 else np.zeros(n, bool)
        return _Report(q, stocks, ann_day[stocks], corr_day[stocks], fy_loss)

    def _remember(self, q: _Quarter, first: dict[str, np.ndarray],
                  final: dict[str, np.ndarray]) -> None:
        """Keep parent profit and equity (both versions) and this period's SUE."""
        j = q.index
        for version, figures in (("first", first), ("final", final)):
            self.np_ytd[version][:, j] = figures["NET_PROFIT_EXCL_MIN_INT_INC"]
            self.equity_parent[version][:, j] = figures["TOT_SHRHLDR_EQY_EXCL_MIN_INT"]
        ytd = self.np_ytd["first"]
        self.np_single_first[:, j] = ytd[:, j] - (ytd[:, j - 1] if q.k > 0 else 0.0)
        if j >= 12:
            x = self.np_single_first
            diff = x[:, j] - x[:, j - 4]
            history = x[:, j - 8:j] - x[:, j - 12:j - 4]
            scale = np.maximum(history.std(axis=1), 0.003 * self.revenue / 4)
            raw = np.clip((diff - history.mean(axis=1)) / scale, -5.0, 5.0)
            # Growth makes raw SUE positive on average; standardising across stocks per report
            # period keeps the earnings effect from drifting the whole market.
            self.sue[:, j] = np.clip((raw - raw.mean()) / raw.std(), -3.0, 3.0)

    def _announcement_days(self, q: _Quarter) -> np.ndarray:
        """ANN_DT (calendar index) per stock: inside the legal window at the stock's speed."""
        rng, n, cal = self.rng, self.uni.n, self.cal
        year = q.year + (q.k == 3)
        opens, deadline = {0: ("0408", "0430"), 1: ("0710", "0831"), 2: ("1010", "1031"),
                           3: ("0115", "0430")}[q.k]
        first, last = _parse_date(f"{year}{opens}"), _parse_date(f"{year}{deadline}")
        frac = np.clip(self.speed + rng.normal(0, 0.12, n), 0.0, 1.0)
        on_time = cal.on_or_before(first + np.round(frac * (last - first).astype(int))
                                   .astype("timedelta64[D]"))
        late = cal.on_or_after(last + rng.integers(1, 46, n).astype("timedelta64[D]"))
        day = np.where(rng.random(n) < self.cfg.late_filing_rate, late, on_time)
        if q.k == 0:  # Q1 never before the annual report, often the same day
            day = np.maximum(day, self.last_fy_ann)
            window = int(cal.on_or_after(first))
            day = np.where(self.same_day & (self.last_fy_ann >= window), self.last_fy_ann, day)
        # Before listing, history comes in one batch with the prospectus (10 days before).
        list_day = self.uni.list_day
        prospectus = np.maximum(list_day - 10, 0)
        in_prospectus = (day < list_day) & (cal.days[prospectus] > q.end)
        return np.where(in_prospectus, prospectus, np.maximum(day, list_day))

    def _published(self, q: _Quarter, ann_day: np.ndarray) -> np.ndarray:
        """Reports that exist: at most 3 years before listing, announced in the sample, listed."""
        listed = self.cal.days[self.uni.list_day]
        return ((q.end >= listed - 1095) & (ann_day < self.cal.stop)
                & (ann_day < self.uni.delist_day))

    def _correction_days(self, ann_day: np.ndarray, published: np.ndarray) -> np.ndarray:
        n, cal = self.uni.n, self.cal
        delay = self.rng.integers(30, 366, n).astype("timedelta64[D]")
        day = cal.on_or_after(cal.days[ann_day] + delay)
        chosen = self.rng.random(n) < self.cfg.restatement_rate
        ok = chosen & published & (day < cal.stop) & (day < self.uni.delist_day)
        return np.where(ok, day, -1)

    def statement_tables(self, delist_day: np.ndarray) -> dict[str, pa.Table]:
        """The three statement tables; reports and corrections due after a delisting vanish."""
        parts: dict[str, list[pa.Table]] = {t.name: [] for t in STATEMENT_TABLES}
        for report in self.reports:
            for name, table in self._report_rows(report, delist_day).items():
                parts[name].append(table)
        return {name: pa.concat_tables(tables) for name, tables in parts.items()}

    def _report_rows(self, r: _StoredReport, delist_day: np.ndarray) -> dict[str, pa.Table]:
        """408001000 for every report (latest figures, original ANN_DT), and for corrected
        reports 408005000 (first figures, original ANN_DT) + 408004000 (final, correction)."""
        gone = delist_day[r.stocks]
        alive = r.ann_day < gone
        fixed = (r.corr_day >= 0) & (r.corr_day < gone)
        first = {k: v.copy() for k, v in r.final.items()}
        for k, v in r.first_fixed.items():
            first[k][r.corr_day >= 0] = v
        latest = {k: np.where(fixed, v, first[k]) for k, v in r.final.items()}
        versions = (
            (alive, wind.STATEMENT_CONSOLIDATED, r.ann_day, np.where(fixed, r.corr_day, r.ann_day),
             latest),
            (fixed, wind.STATEMENT_BEFORE_RESTATEMENT, r.ann_day, r.ann_day, first),
            (fixed, wind.STATEMENT_RESTATED, r.corr_day, r.corr_day, r.final),
        )
        labels, out = self.cal.labels, {}
        for table in STATEMENT_TABLES:
            pieces = []
            for mask, stype, ann, actual, figures in versions:
                rows = np.nonzero(mask)[0]
                data = {
                    "S_INFO_WINDCODE": self.uni.codes[r.stocks[rows]],
                    "ANN_DT": labels[ann[rows]],
                    "ACTUAL_ANN_DT": labels[actual[rows]],
                    "REPORT_PERIOD": np.full(len(rows), r.quarter.label),
                    "STATEMENT_TYPE": np.full(len(rows), stype),
                    "CRNCY_CODE": np.full(len(rows), "CNY"),
                    "COMP_TYPE_CODE": r.comp_type[rows],
                }
                for col in table.columns[len(data):]:
                    data[col.name] = figures[col.name][rows]
                pieces.append(_arrow_table(table, data))
            out[table.name] = pa.concat_tables(pieces)
        return out


def _accumulate(before: dict[str, np.ndarray],
                single: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Year-to-date flows: previous YTD + this quarter (period-end items pass through)."""
    flows = {k for k in single if k != "CASH_CASH_EQU_END_PERIOD"}
    return {k: (before[k] + v if k in flows and k in before else v) for k, v in single.items()}


def _nearest_neighbours(x: np.ndarray, k: int, block: int = 1024) -> np.ndarray:
    """Indices [m, k] of the k nearest other rows of x (Euclidean), ties by index."""
    m = len(x)
    k = min(k, m - 1)
    sq = (x**2).sum(axis=1)
    out = np.empty((m, k), dtype=np.int64)
    for lo in range(0, m, block):
        rows = np.arange(lo, min(lo + block, m))
        d2 = sq[rows, None] + sq[None, :] - 2.0 * x[rows] @ x.T
        d2[np.arange(len(rows)), rows] = np.inf
        part = np.argpartition(d2, k - 1, axis=1)[:, :k]
        dist = np.take_along_axis(d2, part, axis=1)
        order = np.lexsort((part, dist), axis=1)
        out[rows] = np.take_along_axis(part, order, axis=1)
    return out


# =========================================================================== arrow helpers
_ARROW_TYPES = {wind.STR: pa.string(), wind.DATE: pa.string(), wind.FLOAT: pa.float64(),
                wind.INT: pa.int64()}


def _arrow_schema(table: wind.Table) -> pa.Schema:
    return pa.schema([pa.field(c.name, _ARROW_TYPES[c.kind], nullable=c.nullable)
                      for c in table.columns])


def _arrow_column(col: wind.Column, values: typing.Any) -> pa.Array:
    if isinstance(values, pa.Array):
        arr = values
    elif col.kind == wind.FLOAT:
        v = np.asarray(values, dtype=np.float64)
        arr = pa.array(v, mask=~np.isfinite(v)) if col.nullable else pa.array(v)
    elif col.kind == wind.INT:
        arr = pa.array(np.asarray(values, dtype=np.int64))
    else:
        arr = pa.array(np.asarray(values, dtype=object), type=pa.string())
    if not col.nullable and (arr.null_count or (col.kind == wind.FLOAT
                                                and not np.isfinite(arr.to_numpy()).all())):
        raise RuntimeError(f"synth bug: non-nullable {col.name} has missing values")
    return arr


def _arrow_table(table: wind.Table, data: dict[str, typing.Any]) -> pa.Table:
    """A table with exactly `table`'s columns, order and kinds."""
    if list(data) != table.column_names:
        raise RuntimeError(f"synth bug: {table.name} columns {list(data)}")
    arrays = [_arrow_column(c, data[c.name]) for c in table.columns]
    return pa.Table.from_arrays(arrays, schema=_arrow_schema(table))


def _labels(index: np.ndarray, labels: Sequence[str]) -> pa.Array:
    """Strings by index through a dictionary (fast for millions of rows)."""
    dictionary = pa.array(list(labels), type=pa.string())
    return pa.DictionaryArray.from_arrays(pa.array(index, type=pa.int32()), dictionary).cast(
        pa.string())


def _write_parquet(path: Path, table: pa.Table) -> int:
    pq.write_table(table, path, compression="zstd")
    return table.num_rows


class _DailyWriter:
    """Buffers a daily stock table for `chunk_days` days, then writes one row group."""

    def __init__(self, table: wind.Table, path: Path, n: int, chunk_days: int,
                 codes: np.ndarray, day_labels: np.ndarray,
                 categories: dict[str, Sequence[str]] | None = None) -> None:
        self.table, self.codes, self.day_labels = table, list(codes), day_labels
        self.categories = categories or {}
        self.values = [c.name for c in table.columns
                       if c.kind in (wind.FLOAT, wind.INT) or c.name in self.categories]
        self.buffers = {name: np.zeros((chunk_days, n)) for name in self.values}
        self.mask = np.zeros((chunk_days, n), dtype=bool)
        self.days = np.zeros(chunk_days, dtype=np.int64)
        self.fill = 0
        self.rows = 0
        self.writer = pq.ParquetWriter(path, _arrow_schema(table), compression="zstd")

    def add(self, day: int, mask: np.ndarray, values: dict[str, np.ndarray]) -> None:
        i = self.fill
        self.days[i], self.mask[i] = day, mask
        for name in self.values:
            self.buffers[name][i] = values[name]
        self.fill += 1
        if self.fill == len(self.days):
            self.flush()

    def flush(self) -> None:
        if self.fill == 0:
            return
        mask = self.mask[: self.fill]
        day_pos, stock = np.nonzero(mask)
        data: dict[str, typing.Any] = {}
        for col in self.table.columns:
            if col.name == "S_INFO_WINDCODE":
                data[col.name] = _labels(stock, self.codes)
            elif col.name == "TRADE_DT":
                data[col.name] = _labels(day_pos, self.day_labels[self.days[: self.fill]])
            elif col.name == "CRNCY_CODE":
                data[col.name] = _labels(np.zeros(len(stock), np.int32), ["CNY"])
            elif col.name in self.categories:
                codes = self.buffers[col.name][: self.fill][mask].astype(np.int32)
                data[col.name] = _labels(codes, self.categories[col.name])
            else:
                data[col.name] = self.buffers[col.name][: self.fill][mask]
        self.writer.write_table(_arrow_table(self.table, data))
        self.rows += len(stock)
        self.fill = 0

    def close(self) -> int:
        self.flush()
        self.writer.close()
        return self.rows


# =========================================================================== books
class _PeriodBook:
    """Half-open [entry, remove) periods, one open period per (group, stock) at a time."""

    def __init__(self, groups: int, n: int) -> None:
        self.entry = np.full((groups, n), -1, dtype=np.int64)
        self.tag = np.zeros((groups, n), dtype=np.int64)
        self.extra = np.zeros((groups, n), dtype=np.int64)
        self.closed: list[tuple[np.ndarray, ...]] = []  # group, stock, entry, remove, tag, extra

    def is_open(self, group: int) -> np.ndarray:
        return self.entry[group] >= 0

    def open(self, group: int, stocks: np.ndarray, day: np.ndarray | int,
             tag: np.ndarray | int = 0, extra: np.ndarray | int = 0) -> None:
        self.entry[group, stocks] = day
        self.tag[group, stocks] = tag
        self.extra[group, stocks] = extra

    def close(self, group: int, stocks: np.ndarray, day: int) -> None:
        stocks = stocks[self.entry[group, stocks] >= 0]
        self.closed.append((np.full(len(stocks), group), stocks, self.entry[group, stocks],
                            np.full(len(stocks), day), self.tag[group, stocks],
                            self.extra[group, stocks]))
        self.entry[group, stocks] = -1

    def periods(self, remove_open: np.ndarray) -> dict[str, np.ndarray]:
        """All periods; open ones end at `remove_open[stock]` (-1 = still open)."""
        group, stock = np.nonzero(self.entry >= 0)
        parts = self.closed + [(group, stock, self.entry[group, stock], remove_open[stock],
                                self.tag[group, stock], self.extra[group, stock])]
        cols = [np.concatenate([p[i] for p in parts]).astype(np.int64) for i in range(6)]
        order = np.lexsort((cols[2], cols[1], cols[0]))
        return dict(zip(("group", "stock", "entry", "remove", "tag", "extra"),
                        (c[order] for c in cols), strict=True))


# =========================================================================== the market
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


class _Simulation:
    """The day loop: prices, corporate actions, signals, indices, and the tables they fill."""

    ST_LOSS, ST_RANDOM, ST_DELIST = 1, 2, 3

    def __init__(self, cfg: SynthConfig, out: Path, progress: bool) -> None:
        self.cfg, self.out, self.progress = cfg, out, progress
        self.rng = np.random.Generator(np.random.PCG64(cfg.seed))
        self.cal = _Calendar.build(cfg.start, cfg.end)
        self.uni = _draw_universe(cfg, self.cal, self.rng)
        self.quarters = _quarters(cfg.start, cfg.end)
        self.fund = _Fundamentals(cfg, self.cal, self.uni, self.quarters, self.rng)
        self.coefs = cfg.effect_coefs()
        self.er_weights = cfg.er_weights()
        self.wide_from = self.uni.wide_limit_from(self.cal)
        self.unlimited_ipo = self.uni.unlimited_ipo(self.cal)
        self._init_state()
        self._init_books()

    # ------------------------------------------------------------------ state
    def _init_state(self) -> None:
        uni, n = self.uni, self.uni.n
        listed = uni.list_day < self.cal.first
        self.close = np.where(listed, uni.price, np.nan)
        self.tot_shr = np.where(listed, uni.size / uni.price / 1e4, np.nan)
        self.factor = uni.factor0.copy()
        self.carry = np.zeros(n)
        self.signal = np.zeros((len(EFFECTS), n))
        self.turn_slow = self.rng.normal(0, 0.2, n)
        self.turn_ewma = uni.log_tau + self.turn_slow
        self.market_var = MARKET_VOL**2
        self.suspended_left = np.zeros(n, dtype=np.int64)
        self.issue_price = np.full(n, np.nan)
        self.dividends_paid = np.zeros(n)
        self.ex_day = np.full(n, -1, dtype=np.int64)
        self.ex_cash = np.zeros(n)
        self.ex_bonus = np.zeros(n)
        self.neighbours = np.full((n, self.cfg.neighbours_k), -1, dtype=np.int64)
        self.ttm_profit = np.full(n, np.nan)
        self.book_equity = np.full(n, np.nan)
        self.latest_quarter = np.full(n, -1, dtype=np.int64)
        self.below_par_days = np.zeros(n, dtype=np.int64)
        self.known_np = np.full((n, len(self.quarters)), np.nan)
        self.known_equity = np.full((n, len(self.quarters)), np.nan)
        self.next_quarter = 0
        self.prev_free_cap = np.where(listed, self.close * self._free_shares(self.cal.first), 0.0)

    def _init_books(self) -> None:
        uni, n, cal = self.uni, self.uni.n, self.cal
        self.st = _PeriodBook(1, n)  # tag = reason, extra = ANN_DT day
        self.st_pending_entry = np.full(n, -1, dtype=np.int64)
        self.st_pending_ann = np.full(n, -1, dtype=np.int64)
        self.st_pending_remove = np.full(n, -1, dtype=np.int64)
        self.industry = uni.industry.copy()
        self.industries = _PeriodBook(1, n)  # tag = 16-char code index into self.ind_codes
        self.ind_codes: list[str] = []
        self.industries.open(0, np.arange(n), uni.list_day, self._industry_codes(self.industry))
        self.index = _PeriodBook(len(wind.INDEX_CODES), n)
        self.index_sizes = [int(round(uni.n * INDEX_FRACTIONS[c])) for c in wind.INDEX_CODES]
        self.index_level = np.array([INDEX_BASE_LEVELS[c] for c in wind.INDEX_CODES])
        self.index_rows: list[dict[str, np.ndarray]] = []
        self.weight_rows: list[tuple[int, int, np.ndarray, np.ndarray]] = []
        self.rank_snapshot: np.ndarray | None = None
        self.rank_days = set(self._rank_days().tolist())
        self.rebalance_days = set(self._rebalance_days().tolist())
        self.weight_days = self.rebalance_days | {
            d for d in cal.month_ends().tolist() if cal.first <= d < cal.stop}
        self.neighbour_rows: list[tuple[int, np.ndarray, np.ndarray]] = []
        self.month_starts = {cal.first} | {
            d + 1 for d in cal.month_ends().tolist() if cal.first <= d + 1 < cal.stop}
        self.announcements: dict[int, list[tuple[np.ndarray, int]]] = {}
        self.corrections: dict[int, list[tuple[np.ndarray, int]]] = {}
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
        for t in tqdm(range(cal.first, cal.stop), disable=not self.progress, unit="day",
                      desc="synth"):
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

    def _refresh_neighbours(self, t: int) -> None:
        """N_k from the characteristics of each listed stock's latest announced report period
        (what the statements published before day t's open describe)."""
        listed = np.nonzero(self._active(t) & (self.latest_quarter >= 0))[0]
        self.neighbours[:] = -1
        if len(listed) <= self.cfg.neighbours_k:
            return
        x = self.fund.characteristics(listed, self.latest_quarter[listed])
        x = (x - np.nanmean(x, axis=0)) / np.nanstd(x, axis=0)
        x = np.nan_to_num(np.clip(x, -5.0, 5.0))  # a ratio it cannot form: the average
        nbr = listed[_nearest_neighbours(x, self.cfg.neighbours_k)]
        self.neighbours[listed] = nbr
        self.neighbour_rows.append((t, listed, nbr))

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

    # ------------------------------------------------------------------ prices
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

    def _update_signals(self, active: np.ndarray, trading: np.ndarray, u: np.ndarray,
                        z: np.ndarray, sue: np.ndarray) -> None:
        """S^k <- rho S^k + impulse^k (see the module docstring)."""
        seen = np.where(trading, u, 0.0)
        valid = self.neighbours >= 0
        nbr_mean = (seen[np.maximum(self.neighbours, 0)] * valid).sum(axis=1) / np.maximum(
            valid.sum(axis=1), 1)
        impulses = np.stack([-seen, -z, sue, nbr_mean]) * self.coefs[:, None]
        self.signal = np.where(active, self.cfg.rho * self.signal + impulses, 0.0)

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
        state = self.signal.sum(axis=0)
        truth = {f"ER_{h}D": w * state for h, w in zip(ER_HORIZONS, self.er_weights,
                                                       strict=True)}
        truth.update(dict(zip(SIG_COLUMNS, self.signal, strict=True)))
        self.eod.add(t, active, eod)
        self.deriv.add(t, active, deriv)
        self.truth.add(t, trading, truth)

    # ------------------------------------------------------------------ indices
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

    def _industry_code_table(self) -> dict[str, typing.Any]:
        codes = [INDUSTRY_ROOT] + [f"b10{ch}" + "0" * 12 for ch in INDUSTRY_CHARS]
        return {"INDUSTRIESCODE": np.array(codes),
                "INDUSTRIESNAME": np.array(["中信一级行业"] + [name for name, _ in INDUSTRIES]),
                "LEVELNUM": np.array([1] + [2] * len(INDUSTRIES)),
                "USED": np.ones(len(codes), dtype=np.int64)}

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

    def _neighbour_table(self) -> dict[str, typing.Any]:
        rows = self.neighbour_rows
        k = rows[0][2].shape[1] if rows else 0
        stock = np.concatenate([np.repeat(listed, k) for _, listed, _ in rows])
        return {"S_INFO_WINDCODE": self.uni.codes[stock],
                "NEIGHBOUR_WINDCODE": self.uni.codes[np.concatenate([nbr.ravel()
                                                                     for *_, nbr in rows])],
                "VALID_FROM": np.concatenate([np.full(len(listed) * k, self.cal.labels[t])
                                              for t, listed, _ in rows]),
                "RANK": np.tile(np.arange(1, k + 1), len(stock) // max(k, 1))}


def _group_by_day(days: np.ndarray, stocks: np.ndarray) -> list[tuple[int, np.ndarray]]:
    """(day, stocks) pairs in day order."""
    order = np.argsort(days, kind="stable")
    days, stocks = days[order], stocks[order]
    cuts = np.nonzero(np.diff(days))[0] + 1
    return [(int(d[0]), s) for d, s in zip(np.split(days, cuts), np.split(stocks, cuts),
                                           strict=True) if len(d)]


# =========================================================================== entry points
def generate(config: SynthConfig, out_dir: Path, progress: bool = False) -> SynthResult:
    """Write the synthetic market to `out_dir` (replaced as a whole, atomically).

    Everything is written to a sibling temporary folder first and swapped in at the end, so a
    crash leaves either the previous set or nothing, never half a set.
    """
    started = time.perf_counter()
    out_dir = Path(out_dir).resolve()
    _check_replaceable(out_dir)
    tmp = out_dir.parent / f".{out_dir.name}.partial-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    (tmp / "truth").mkdir(parents=True)
    try:
        sim = _Simulation(config, tmp, progress)
        rows = sim.run()
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    _swap_in(tmp, out_dir)
    paths = {t.name: out_dir / f"{t.name}.parquet" for t in wind.RAW_TABLES}
    paths.update({t.name: out_dir / "truth" / f"{t.name}.parquet" for t in wind.TRUTH_TABLES})
    return SynthResult(config, out_dir, rows, paths, time.perf_counter() - started,
                       sim.cal.stop - sim.cal.first)


def _check_replaceable(out_dir: Path) -> None:
    """Refuse to replace a folder holding anything but a previous synthetic market."""
    if not out_dir.exists():
        return
    ours = {f"{t.name}.parquet" for t in wind.RAW_TABLES} | {"truth"}
    foreign = sorted(p.name for p in out_dir.iterdir() if p.name not in ours)
    if foreign:
        raise ValueError(f"{out_dir} holds files that are not a synthetic market: {foreign[:5]}")


def _swap_in(tmp: Path, out_dir: Path) -> None:
    old = out_dir.parent / f".{out_dir.name}.old-{os.getpid()}"
    if out_dir.exists():
        out_dir.rename(old)
    tmp.rename(out_dir)
    shutil.rmtree(old, ignore_errors=True)


def oracle_ic(out_dir: Path, column: str = "ER_5D", horizon: int = 5) -> float:
    """Mean daily Rank IC of a truth column against the realised forward VWAP return.

    The realised return runs from T+1 VWAP to T+1+horizon VWAP on back-adjusted prices
    (S_DQ_AVGPRICE x S_DQ_ADJFACTOR); Spearman across stocks per day, averaged over days.
    """
    import polars as pl

    code, day = "S_INFO_WINDCODE", "TRADE_DT"
    log_vwap = (pl.col("S_DQ_AVGPRICE") * pl.col("S_DQ_ADJFACTOR")).log()
    prices = (pl.scan_parquet(Path(out_dir) / "AShareEODPrices.parquet")
              .select(code, day, log_vwap.alias("lv")).sort(code, day)
              .with_columns((pl.col("lv").shift(-1 - horizon) - pl.col("lv").shift(-1))
                            .over(code).alias("fwd")))
    truth = pl.scan_parquet(Path(out_dir) / "truth" / "expected_return.parquet").select(
        code, day, column)
    daily = (truth.join(prices, on=[code, day]).drop_nulls("fwd").group_by(day)
             .agg(pl.corr(column, "fwd", method="spearman").alias("ic")).collect())
    return float(daily["ic"].fill_nan(None).mean())
