"""Long-only Top10% / Top100 portfolios of a factor against the equal-weighted tradable universe.

At each rebalance date T (every h factor days, see inputs.py) the target is the top decile of
the universe by factor (the quantile rule of ic.py, so it is alphalens' top quantile) or the 100
highest factor values. Trades happen at T+1 VWAP and the period's return is the label
ret_vwap_h, so consecutive periods chain exactly.
- A target stock not held is bought only if it is buyable at T+1 (not suspended, not limit-up
  at the open); otherwise it is skipped until a later rebalance, not replaced.
- A held stock that left the target is sold only if it is sellable at T+1 (not suspended, not
  closing limit-down); otherwise it stays held. A held stock earns its holder's return
  (hold_vwap_h: the label, or through a suspension at T+1 its price path, see inputs.py); one
  with no label row (delisted) is dropped at zero return; one with a missing return earns zero.
- Holdings are equally weighted after each rebalance. Turnover is two-sided: sum |w_new -
  w_drift| over stocks, w_drift being last period's weights grown by their returns (the first
  period buys from cash: turnover 1). `fee` is the project's one cost convention
  (zoo.vocabulary.COST_RATE): a round-trip rate charged on one-way turnover (half the two-sided
  turnover), so a period's net return is exactly gross - turnover * fee / 2.
- The benchmark is the mean ret_vwap_h over the universe stocks buyable at T+1.
- Excess per period = portfolio - benchmark; the excess NAV compounds it. The annualised excess
  is NAV_end ** (periods_per_year / periods) - 1 with periods_per_year = 242 / h (242 A-share
  trading days a year); a calendar year's figure compounds the periods that start in it
  (a partial year is not annualised, as in the seed report's 2024 column).

The loop runs over rebalance dates (each step depends on the last holdings); within a date
everything is a numpy operation over all stocks.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from zoo.vocabulary import COST_RATE

if TYPE_CHECKING:
    import polars as pl

TRADING_DAYS_PER_YEAR = 242
DEFAULT_FEE = COST_RATE
PORTFOLIOS = ("top10pct", "top100")
PORTFOLIO_NAMES = {"top10pct": "Top10%", "top100": "Top100"}


@dataclass(frozen=True)
class Dense:
    """The panel on one horizon's rebalance dates as [dates, stocks] arrays."""

    dates: list
    stocks: list[str]
    present: object  # bool [D, S]: the stock has a label row that day
    ret: object  # float [D, S], NaN where missing: the label (a buyer's return)
    hold: object  # float [D, S], NaN where missing: a holder's return (hold_vwap_h)
    buyable: object
    sellable: object
    tradable_universe: object  # in the universe and buyable: the benchmark's stocks
    targets: dict  # portfolio -> bool [D, S]


def dense(panel: pl.DataFrame, horizon: int, top_n: int = 100,
          top_quantiles: int = 10) -> Dense:
    """Scatter the horizon's rebalance rows of `panel` into dense arrays and mark the targets."""
    import polars as pl

    from zoo.evaluate.ic import quantile_expr

    rows = panel.filter((pl.col("day_index") % horizon) == 0)
    # the factor where it ranks (in the universe, with a value) and null elsewhere: ranks and
    # counts within a date skip nulls, so the targets are marked in place, with no join back
    ranks = (pl.col("in_universe") & pl.col("factor").is_not_null()
             & pl.col("factor").is_not_nan())
    rows = rows.with_columns(pl.when(ranks).then(pl.col("factor")).alias("_ranked")).with_columns(
        pl.when(ranks).then(quantile_expr("_ranked", top_quantiles) == top_quantiles)
        .otherwise(False).alias("top10pct"),
        pl.when(ranks).then(pl.col("_ranked").rank("ordinal", descending=True)
                            .over("trade_date") <= top_n).otherwise(False).alias("top100"))
    dates = rows["trade_date"].unique().sort()
    stocks = rows["stock_id"].unique().sort()
    # positions in the sorted dates and stocks (an Enum's codes follow its categories' order)
    d = dates.search_sorted(rows["trade_date"]).to_numpy()
    s = rows["stock_id"].cast(pl.Enum(stocks)).to_physical().to_numpy()
    return scattered(rows, dates, stocks, d, s, horizon)


def scattered(rows: pl.DataFrame, dates: pl.Series, stocks: pl.Series, d: Any, s: Any,
              horizon: int) -> Dense:
    """The Dense arrays of `rows` (the horizon's rebalance rows, targets marked), row i at
    date position d[i] and stock position s[i] of the sorted `dates` and `stocks`."""
    import numpy as np

    shape = (len(dates), len(stocks))
    ret = f"ret_vwap_{horizon}"

    def scatter(values, fill):
        out = np.full(shape, fill, dtype=type(fill) if isinstance(fill, bool) else float)
        out[d, s] = values
        return out

    return Dense(
        dates=dates.to_list(), stocks=stocks.to_list(), present=scatter(True, False),
        ret=scatter(rows[ret].fill_nan(None).to_numpy().astype(float), np.nan),
        hold=scatter(rows[f"hold_vwap_{horizon}"].fill_nan(None).to_numpy().astype(float),
                     np.nan),
        buyable=scatter(rows["buyable"].to_numpy(), False),
        sellable=scatter(rows["sellable"].to_numpy(), False),
        tradable_universe=scatter((rows["in_universe"] & rows["buyable"]).to_numpy(), False),
        targets={p: scatter(rows[p].to_numpy(), False) for p in PORTFOLIOS})


def simulate(data: Dense, portfolio: str, fee: float = DEFAULT_FEE) -> pl.DataFrame:
    """One portfolio's periods: trade_date, holdings, turnover, gross, net, benchmark, excess
    before and after fees (see the module docstring for the rules)."""
    import numpy as np
    import polars as pl

    target_all = data.targets[portfolio]
    n_stocks = len(data.stocks)
    held = np.zeros(n_stocks, dtype=bool)
    drift = np.zeros(n_stocks)
    out: dict[str, list] = {k: [] for k in ("holdings", "turnover", "gross", "benchmark")}
    for t in range(len(data.dates)):
        present, target = data.present[t], target_all[t]
        held &= present  # delisted: no row, dropped at zero return
        keep = held & (target | ~data.sellable[t])
        buy = target & ~held & data.buyable[t]
        new = keep | buy
        count = int(new.sum())
        weight = new / count if count else np.zeros(n_stocks)
        # what the new holdings earn: bought stocks are buyable, so their hold return is the
        # label; a kept one may be suspended at T+1 and earns its price path
        ret = np.nan_to_num(data.hold[t], nan=0.0)
        gross = float(weight @ ret)
        out["turnover"].append(float(np.abs(weight - drift).sum()))
        out["gross"].append(gross)
        out["holdings"].append(count)
        universe = data.tradable_universe[t] & ~np.isnan(data.ret[t])
        out["benchmark"].append(float(data.ret[t][universe].mean()) if universe.any()
                                else 0.0)
        drift = weight * (1.0 + ret) / (1.0 + gross) if count else np.zeros(n_stocks)
        held = new
    frame = pl.DataFrame({"trade_date": data.dates, **out})
    return frame.with_columns(
        (pl.col("gross") - pl.col("turnover") * fee / 2).alias("net")).with_columns(
        (pl.col("gross") - pl.col("benchmark")).alias("excess_gross"),
        (pl.col("net") - pl.col("benchmark")).alias("excess_net"))


def annualised(excess: pl.Series, horizon: int) -> float:
    """Compounded excess, annualised at 242 / horizon periods a year."""
    import numpy as np

    values = excess.to_numpy()
    if len(values) == 0:
        return float("nan")
    nav = float(np.prod(1.0 + values))
    return nav ** (TRADING_DAYS_PER_YEAR / horizon / len(values)) - 1.0 if nav > 0 else -1.0


def max_drawdown(nav: pl.Series) -> float:
    """Largest fall of a NAV series from its running peak (the start, 1, counts as a peak)."""
    import numpy as np

    values = np.concatenate([[1.0], nav.to_numpy()])
    peak = np.maximum.accumulate(values)
    return float((1.0 - values / peak).max())


def summarise(periods: pl.DataFrame, horizon: int) -> dict[str, object]:
    """Annualised excess before/after fees, per year, NAV drawdown and annual turnover."""
    import polars as pl

    years = (periods.group_by(pl.col("trade_date").dt.year().alias("year"))
             .agg(((1 + pl.col("excess_gross")).product() - 1).alias("gross"),
                  ((1 + pl.col("excess_net")).product() - 1).alias("net"))
             .sort("year"))
    year_list = years["year"].to_list()
    nav = (1 + periods["excess_gross"]).cum_prod()
    return {
        "excess_gross": annualised(periods["excess_gross"], horizon),
        "excess_net": annualised(periods["excess_net"], horizon),
        "by_year_gross": dict(zip(year_list, years["gross"].to_list(), strict=True)),
        "by_year_net": dict(zip(year_list, years["net"].to_list(), strict=True)),
        "max_drawdown_excess": max_drawdown(nav),
        "turnover_annual": float(periods["turnover"].mean()) * TRADING_DAYS_PER_YEAR / horizon
        if periods.height else float("nan"),
        "mean_holdings": float(periods["holdings"].mean()) if periods.height else 0.0,
        "periods": periods.height,
    }
