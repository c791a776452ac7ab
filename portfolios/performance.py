"""Risk and return of the excess over the benchmark, per calendar year and for the whole period.

The figures of the seed report's tables 8 and 9, from a backtest's daily frame:

- annualised excess: the excess NAV's growth over the period, to the power 252 / days, minus 1;
- maximum drawdown of the excess NAV (its largest fall from a running peak, the period's start
  counting as a peak);
- tracking error: the standard deviation of daily excess returns x sqrt(252);
- information ratio: annualised excess / tracking error;
- monthly win rate: the share of calendar months whose compounded excess is positive.

Excess is net of costs unless `gross=True`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import polars as pl

DAYS_PER_YEAR = 252
METRICS = ("annual_excess", "max_drawdown", "tracking_error", "information_ratio",
           "monthly_win_rate")
LABELS = {
    "annual_excess": "Excess return", "max_drawdown": "Excess max drawdown",
    "tracking_error": "Tracking error", "information_ratio": "Information ratio",
    "monthly_win_rate": "Monthly win rate",
}
FORMATS = {"annual_excess": ".1%", "max_drawdown": ".1%", "tracking_error": ".1%",
           "information_ratio": ".2f", "monthly_win_rate": ".0%"}
WHOLE = "Full period"


def max_drawdown(nav: np.ndarray) -> float:
    """Largest fall from a running peak; the start (1.0) counts as a peak."""
    peaks = np.maximum.accumulate(np.concatenate([[1.0], nav]))
    return float((1.0 - np.concatenate([[1.0], nav]) / peaks).max())


def excess_metrics(dates: list, excess: np.ndarray) -> dict[str, float]:
    """The five figures of one period's daily excess returns."""
    days = excess.size
    if days == 0:
        return {m: float("nan") for m in METRICS}
    nav = np.cumprod(1.0 + excess)
    annual = float(nav[-1] ** (DAYS_PER_YEAR / days) - 1.0)
    te = float(excess.std(ddof=1) * np.sqrt(DAYS_PER_YEAR)) if days > 1 else float("nan")
    months: dict[tuple[int, int], float] = {}
    for d, e in zip(dates, excess, strict=True):
        key = (d.year, d.month)
        months[key] = (1.0 + months.get(key, 0.0)) * (1.0 + e) - 1.0
    return {
        "annual_excess": annual,
        "max_drawdown": max_drawdown(nav),
        "tracking_error": te,
        "information_ratio": annual / te if te and te > 0 else float("nan"),
        "monthly_win_rate": float(np.mean([m > 0 for m in months.values()])),
    }


def yearly_table(daily: pl.DataFrame, gross: bool = False) -> pl.DataFrame:
    """One row per calendar year, then the whole period: period + the five METRICS."""
    import polars as pl

    column = "excess_gross" if gross else "excess"
    dates = daily["trade_date"].to_list()
    excess = daily[column].to_numpy()
    years = np.asarray([d.year for d in dates])
    rows = []
    for year in sorted(set(years.tolist())):
        inside = years == year
        rows.append({"period": str(year),
                     **excess_metrics([d for d, i in zip(dates, inside, strict=True) if i],
                                      excess[inside])})
    rows.append({"period": WHOLE, **excess_metrics(dates, excess)})
    return pl.DataFrame(rows)


def summary(daily: pl.DataFrame) -> dict[str, float]:
    """Whole-period figures net and gross of costs, with turnover and costs per year."""
    dates = daily["trade_date"].to_list()
    net = excess_metrics(dates, daily["excess"].to_numpy())
    gross = excess_metrics(dates, daily["excess_gross"].to_numpy())
    years = daily.height / DAYS_PER_YEAR
    return {
        **net,
        **{f"{k}_gross": v for k, v in gross.items()},
        "annual_return": float(daily["nav"][-1] ** (1 / years) - 1) if years else float("nan"),
        "bench_annual_return": (float(daily["bench_nav"][-1] ** (1 / years) - 1)
                                if years else float("nan")),
        "turnover_per_year": float(daily["turnover"].sum() / years) if years else float("nan"),
        "cost_per_year": float(daily["cost"].sum() / years) if years else float("nan"),
        "days": daily.height,
        "first_day": dates[0].isoformat(),
        "last_day": dates[-1].isoformat(),
    }


def side_by_side(tables: dict[str, pl.DataFrame],
                 labels: dict[str, str] = LABELS) -> pl.DataFrame:
    """Tables 8/9 layout: periods down; for each metric, one column per model, named
    `labels[metric] (model)`."""
    import polars as pl

    models = list(tables)
    periods = tables[models[0]]["period"].to_list()
    for table in tables.values():
        periods += [p for p in table["period"].to_list() if p not in periods]
    ordered = sorted([p for p in periods if p != WHOLE]) + [WHOLE]
    out: dict[str, list] = {"period": ordered}
    for metric in METRICS:
        for model in models:
            values = dict(zip(tables[model]["period"].to_list(),
                              tables[model][metric].to_list(), strict=True))
            out[f"{labels[metric]} ({model})"] = [values.get(p) for p in ordered]
    return pl.DataFrame(out, schema={"period": pl.String, **{
        k: pl.Float64 for k in out if k != "period"}})


def side_by_side_formats(frame: pl.DataFrame,
                         labels: dict[str, str] = LABELS) -> dict[str, str]:
    """Format specs for the columns of `side_by_side` (named with the same `labels`)."""
    out = {}
    for metric in METRICS:
        for column in frame.columns:
            if column.startswith(f"{labels[metric]} ("):
                out[column] = FORMATS[metric]
    return out
