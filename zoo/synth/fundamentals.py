"""Fundamentals (AShareIncome, AShareBalanceSheet, AShareCashFlow; yuan): each firm's latent
characteristics, the statements they produce, and when the market learns of them.

Each stock has six latent characteristics: industry mean + stock mean + a quarterly AR drift
around it (coefficient `fundamental_persistence`: margins, leverage and asset turnover are
sticky; the drift's stationary spread, `LATENT_DRIFT_SPREAD` latent units, does not depend on
it). They imply net margin m = 0.085 + 0.05 c0 (some loss makers), revenue growth
g = 0.03 + 0.15 c1 (log, per year), leverage = sigmoid(0.8 c2 - 0.2), asset turnover =
exp(0.45 c3) x 0.6 per year, cash conversion (OCF/revenue - margin) = 0.03 + 0.05 c4 and
seasonality (Q4 vs Q1 revenue weight) = 0.12 + 0.12 c5. The annual revenue run-rate starts at
market cap / the drawn P/S and then grows at g with noise; it does not follow the share price,
because a surprise predictable from past returns would be predictability outside the planted
signal, so P/S and P/E widen slowly as prices wander. Equity grows with net profit minus
dividends and is pulled 8 %/quarter towards its latent target (capital transactions).
Statements (`zoo.synth.statements`) start `PRE_YEARS` years before `start`, at most three years
before listing; pre-listing periods are announced in one batch with the prospectus, 10 trading
days before listing.

Announcements fall in the legal windows (Q1 by 30 Apr, H1 by 31 Aug, Q3 by 31 Oct, annual by
30 Apr next year) at stock-specific speeds; Q1 never precedes the annual report and often comes
the same day; `late_filing_rate` are late. `restatement_rate` of reports are corrected 30-365
days later: 408005000 = original figures at the original ANN_DT, 408004000 = corrected figures
at the correction's ANN_DT, 408001000 = corrected figures at the ORIGINAL ANN_DT (Wind's
look-ahead trap; its ACTUAL_ANN_DT is the correction date). COMP_TYPE_CODE is 2 for banks, 4
for non-bank financials, 1 otherwise. A stock delisted early (par-value rule) loses what would
have been announced after it left.

SUE = (Q_t - Q_{t-4} - mean(d)) / std(d) of single-quarter parent net profit as first
reported, d = the 8 previous such differences, standardised across stocks per report period
and clipped to +-3. The market places a firm among its neighbours by the six ratios its
statements publish (`published_ratios`), not by the latent characteristics, which the
statements show only with noise.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from zoo.ingest import wind
from zoo.synth.arrow import _arrow_table
from zoo.synth.calendar import PRE_YEARS, _Calendar, _Quarter, as_day
from zoo.synth.config import SynthConfig
from zoo.synth.statements import (
    _FLOW_ITEMS,
    _accumulate,
    _balance_items,
    _cash_flow_items,
    _FirmConstants,
    _income_items,
)
from zoo.synth.universe import BANK, INDUSTRIES, NON_BANK, _Universe

LATENT_DRIFT_SPREAD = 0.34  # stationary std of a firm's characteristics around their mean
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
        first, last = as_day(f"{year}{opens}"), as_day(f"{year}{deadline}")
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
