"""Backtest of an enhanced-index portfolio built from a model's scores, as the seed report does.

Conventions (each one a choice; the tests pin them):

- Schedule: a decision every `rebalance_days` trading days, counted from the first day that has
  both scores and benchmark members (so it never depends on later scores). A decision at T's
  close uses T's scores, benchmark weights, style exposures and industries, the portfolio's
  weights at T's close, and T+1's tradability (suspended; limit-up at the open or the close: no
  buys; limit-down at the close: no sells; the warehouse has no limit-down-at-open flag, and a
  stock that closes limit-down traded near the limit, so a VWAP sale is not realistic).
  Buying is open to the index's members and to `in_universe` stocks (listed 120 days, not ST);
  held stocks outside both may only be sold.
- Execution at T+1's VWAP, as a basket sized at T's close: the old weights earn
  close(T) -> vwap(T+1); the target, drifted with each price from close(T) to vwap(T+1), is what
  is bought; it earns vwap(T+1) -> close(T+1); then it drifts daily with adjusted closes. Trades
  the tradability forbids are not made (the rest of the basket is scaled to stay invested).
- Costs: `cost_rate` is the round-trip rate ("双边 3‰" = 0.003): each rebalance costs
  cost_rate x one-way turnover (one-way = sum|w_new - w_old| / 2) of NAV, taken at the VWAP.
  Building from cash is a one-way turnover of 0.5. The cost comes out of NAV pro rata.
- Benchmark: the index's daily weights (stock_universe_daily, percent -> fraction; a member with
  unknown weight counts 0); its return on day t is sum_i b_i(t-1) r_i(t) from adjusted closes,
  except on the first trade day, when it too is bought at the VWAP. A portfolio that holds the
  index's weights therefore earns exactly the index, drift included.
- Excess: the daily difference of returns, r_p - r_b, compounded into the excess NAV
  (the hedged excess of an enhanced-index fund). Gross figures are before costs.
- Missing data: a NULL style exposure is 0 (the market average); a NULL industry is its own
  group; a score missing on a decision day is 0 after the cross-sectional z-score (no view).
  A stock without a price row that day (not listed yet, or delisted) cannot trade; its last
  price is carried.

Inputs: the published serving schema only (zoo.serving.published): the trading calendar, the
price-volume, universe and style tables, and the model's score table.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from portfolios.constraints import PortfolioConstraints
from portfolios.optimiser import EnhancedIndexOptimiser, RebalanceProblem, RebalanceResult
from zoo.serving import published

if TYPE_CHECKING:
    import duckdb
    import polars as pl

INDEXES = ("csi300", "csi500", "csi1000")
UNIVERSES = {"all": 0.0, "constituents80": 0.8}
TABLES = {
    "calendar": published.CALENDAR,
    "prices": published.PRICE_VOLUME,
    "universe": published.UNIVERSE,
    "style": published.STYLE,
}


class BacktestError(RuntimeError):
    """Inputs a backtest cannot run on (no scores, no benchmark members, missing tables)."""


@dataclass(frozen=True)
class BacktestConfig:
    index: str = "csi500"
    universe: str = "all"                 # all | constituents80 (sets min_constituent_weight)
    rebalance_days: int = 5
    cost_rate: float = 0.003              # round trip: cost = rate x one-way turnover
    start: date | None = None
    end: date | None = None
    constraints: PortfolioConstraints = field(default_factory=PortfolioConstraints)

    def __post_init__(self) -> None:
        if self.index not in INDEXES:
            raise ValueError(f"index {self.index!r}: choose one of {INDEXES}")
        if self.universe not in UNIVERSES:
            raise ValueError(f"universe {self.universe!r}: choose one of {sorted(UNIVERSES)}")
        if self.rebalance_days < 1:
            raise ValueError(f"rebalance_days must be >= 1, got {self.rebalance_days}")
        if self.cost_rate < 0:
            raise ValueError(f"cost_rate must be >= 0, got {self.cost_rate}")

    @property
    def effective_constraints(self) -> PortfolioConstraints:
        """The constraints with the universe's constituent floor."""
        return dataclasses.replace(self.constraints,
                                   min_constituent_weight=UNIVERSES[self.universe])

    def as_dict(self) -> dict[str, object]:
        out = dataclasses.asdict(self)
        out["constraints"] = self.effective_constraints.as_dict()
        out["start"] = None if self.start is None else self.start.isoformat()
        out["end"] = None if self.end is None else self.end.isoformat()
        return out


@dataclass
class Market:
    """Dense panels over `dates` x `stocks`; exposures and industries on decision days only.

    Shapes: close, vwap, listed, suspended, limit_up, limit_down, in_universe, bench: [T, N];
    exposures: [D, N, F]; industry: [D, N] (codes 0..K-1); scores: [D, N] (NaN: none).
    """

    dates: list[date]
    stocks: list[str]
    close: np.ndarray
    vwap: np.ndarray
    listed: np.ndarray
    suspended: np.ndarray
    limit_up: np.ndarray
    limit_down: np.ndarray
    in_universe: np.ndarray
    bench: np.ndarray
    decisions: list[int]                  # day indices of the decision days
    exposures: np.ndarray
    industry: np.ndarray
    n_industries: int
    scores: np.ndarray


@dataclass
class BacktestResult:
    config: BacktestConfig
    daily: pl.DataFrame        # one row per day from the first trade day
    weights: pl.DataFrame      # target weights per decision (non-zero, or in the benchmark)
    rebalances: pl.DataFrame   # one row per decision: status, solver, relaxed, turnover, time
    seconds: float = 0.0


def _open(warehouse: Path) -> duckdb.DuckDBPyConnection:
    try:
        return published.connect(warehouse)
    except (FileNotFoundError, published.WarehouseBusy) as err:
        raise BacktestError(str(err)) from None


def _check_tables(con: duckdb.DuckDBPyConnection, scores: published.Relation) -> None:
    have = {f"{s}.{t}" for s, t in con.execute(
        "SELECT schema_name, table_name FROM duckdb_tables()").fetchall()}
    have |= {f"{s}.{t}" for s, t in con.execute(
        "SELECT schema_name, view_name FROM duckdb_views()").fetchall()}
    missing = [t.name for t in (*TABLES.values(), scores) if t.name not in have]
    if missing:
        raise BacktestError(f"the warehouse lacks {missing}" + (
            " (no scores: run `zoo score` first)" if scores.name in missing else ""))


def load_market(warehouse: Path, model: str, config: BacktestConfig) -> Market:
    """Read everything the backtest needs, once, into numpy panels."""
    try:
        score_table = published.score_table(model)
    except ValueError as err:
        raise BacktestError(str(err)) from None
    con = _open(warehouse)
    try:
        _check_tables(con, score_table)
        weight = f"{config.index}_weight_pct"
        first_score, last_score = con.execute(
            f"SELECT min(trade_date), max(trade_date) FROM {score_table.sql} "
            f"WHERE score IS NOT NULL").fetchone()
        if first_score is None:
            raise BacktestError(f"{score_table.name} has no scores")
        calendar = [d for (d,) in con.execute(
            f"SELECT trade_date FROM {TABLES['calendar'].sql} ORDER BY 1").fetchall()]
        members = {d for (d,) in con.execute(
            f"SELECT DISTINCT trade_date FROM {TABLES['universe'].sql} WHERE {weight} > 0"
        ).fetchall()}
        begin = max(first_score, config.start or first_score)
        candidates = [i for i, d in enumerate(calendar) if d >= begin and d in members]
        if not candidates or candidates[0] + 1 >= len(calendar):
            raise BacktestError(f"no day from {begin} on has both {score_table.name} scores and "
                                f"{config.index} members ({TABLES['universe'].name}.{weight} > 0)")
        first = candidates[0]
        stop = min(len(calendar) - 1,
                   calendar.index(max(d for d in calendar if d <= last_score))
                   + config.rebalance_days)
        if config.end is not None:
            stop = min(stop, max(i for i, d in enumerate(calendar) if d <= config.end))
        decisions = [i for i in range(first, stop, config.rebalance_days)]
        dates = calendar[first:stop + 1]
        decisions = [i - first for i in decisions]
        decision_dates = [dates[i] for i in decisions]
        lo, hi = dates[0], dates[-1]

        daily = con.execute(
            f"""SELECT p.stock_id, p.trade_date, p.adj_close, p.adj_vwap, p.is_suspended,
                       p.is_limit_up_open OR p.is_limit_up_close AS limit_up,
                       p.is_limit_down_close AS limit_down,
                       coalesce(u.in_universe, false) AS in_universe,
                       coalesce(u.{weight}, 0) / 100 AS bench
                FROM {TABLES['prices'].sql} p
                LEFT JOIN {TABLES['universe'].sql} u USING (stock_id, trade_date)
                WHERE p.trade_date BETWEEN ? AND ?""", [lo, hi]).pl()
        stocks = sorted(daily["stock_id"].unique().to_list())
        col = {s: j for j, s in enumerate(stocks)}
        row = {d: i for i, d in enumerate(dates)}
        shape = (len(dates), len(stocks))
        r = np.fromiter((row[d] for d in daily["trade_date"].to_list()), int, daily.height)
        c = np.fromiter((col[s] for s in daily["stock_id"].to_list()), int, daily.height)

        def panel(name: str, fill: float | bool, dtype: type) -> np.ndarray:
            out = np.full(shape, fill, dtype=dtype)
            out[r, c] = daily[name].fill_null(fill).to_numpy()
            return out

        listed = np.zeros(shape, dtype=bool)
        listed[r, c] = True
        # before a stock's first price any positive number will do: it is never held then
        close = np.nan_to_num(_carry(panel("adj_close", np.nan, float)), nan=1.0)
        vwap = panel("adj_vwap", np.nan, float)
        vwap = np.where(np.isnan(vwap), close, vwap)
        bench = panel("bench", 0.0, float)
        totals = bench.sum(axis=1, keepdims=True)
        bench = np.divide(bench, totals, out=np.zeros_like(bench), where=totals > 0)

        factors = list(config.constraints.factors)
        style = con.execute(
            f"""SELECT stock_id, trade_date, coalesce(industry_l1_code, '?') AS industry,
                       {', '.join(f'coalesce({f}, 0) AS {f}' for f in factors) or '0 AS none'}
                FROM {TABLES['style'].sql} WHERE trade_date IN (SELECT unnest(?))""",
            [decision_dates]).pl()
        codes = sorted(style["industry"].unique().to_list()) or ["?"]
        code = {k: i for i, k in enumerate(codes)}
        drow = {d: i for i, d in enumerate(decision_dates)}
        sr = np.fromiter((drow[d] for d in style["trade_date"].to_list()), int, style.height)
        sc = np.fromiter((col.get(s, -1) for s in style["stock_id"].to_list()), int,
                         style.height)
        keep = sc >= 0
        exposures = np.zeros((len(decisions), len(stocks), len(factors)))
        if factors:
            exposures[sr[keep], sc[keep]] = style.select(factors).to_numpy()[keep]
        unknown = code.get("?", len(codes))
        industry = np.full((len(decisions), len(stocks)), unknown, dtype=int)
        industry[sr[keep], sc[keep]] = np.fromiter(
            (code[k] for k in style["industry"].to_list()), int, style.height)[keep]

        scored = con.execute(
            f"SELECT stock_id, trade_date, score FROM {score_table.sql} "
            f"WHERE trade_date IN (SELECT unnest(?)) AND score IS NOT NULL",
            [decision_dates]).pl()
        scores = np.full((len(decisions), len(stocks)), np.nan)
        qr = np.fromiter((drow[d] for d in scored["trade_date"].to_list()), int, scored.height)
        qc = np.fromiter((col.get(s, -1) for s in scored["stock_id"].to_list()), int,
                         scored.height)
        ok = qc >= 0
        scores[qr[ok], qc[ok]] = scored["score"].to_numpy()[ok]
    finally:
        con.close()
    return Market(
        dates=dates, stocks=stocks, close=close, vwap=vwap, listed=listed,
        suspended=panel_bool(daily, r, c, shape, "is_suspended"),
        limit_up=panel_bool(daily, r, c, shape, "limit_up"),
        limit_down=panel_bool(daily, r, c, shape, "limit_down"),
        in_universe=panel_bool(daily, r, c, shape, "in_universe"), bench=bench,
        decisions=decisions, exposures=exposures, industry=industry,
        n_industries=max(unknown + 1, len(codes)), scores=scores,
    )


def panel_bool(frame: pl.DataFrame, r: np.ndarray, c: np.ndarray, shape: tuple[int, int],
               name: str) -> np.ndarray:
    out = np.zeros(shape, dtype=bool)
    out[r, c] = frame[name].fill_null(False).to_numpy()
    return out


def _carry(values: np.ndarray) -> np.ndarray:
    """Forward-fill NaNs down each column (a stock's last price carries over missing days)."""
    mask = np.isnan(values)
    idx = np.where(~mask, np.arange(values.shape[0])[:, None], 0)
    np.maximum.accumulate(idx, axis=0, out=idx)
    return values[idx, np.arange(values.shape[1])]


def expected_returns(scores: np.ndarray) -> np.ndarray:
    """Cross-sectional z-score, clipped at +-3; a missing score is 0 (no view)."""
    ok = np.isfinite(scores)
    mu = np.zeros_like(scores, dtype=float)
    if ok.sum() < 2:
        return mu
    values = scores[ok]
    spread = values.std()
    if spread > 0:
        mu[ok] = np.clip((values - values.mean()) / spread, -3.0, 3.0)
    return mu


def _execute(target: np.ndarray, old: np.ndarray, can_buy: np.ndarray,
             can_sell: np.ndarray) -> np.ndarray:
    """The target as traded: no buys where forbidden, no sells where forbidden, fully invested."""
    done = target.copy()
    done = np.where(can_buy, done, np.minimum(done, old))
    done = np.where(can_sell, done, np.maximum(done, old))
    fixed = ~(can_buy & can_sell)
    free_total = done[~fixed].sum()
    room = 1.0 - done[fixed].sum()
    if free_total > 0 and room >= 0:
        done[~fixed] *= room / free_total
    return done / done.sum()


def run_backtest(market: Market, config: BacktestConfig,
                 progress: Callable[[int, int], None] | None = None) -> BacktestResult:
    """Walk the days: decide on decision days, trade at the next VWAP, drift in between."""
    import polars as pl

    started = time.perf_counter()
    optimiser = EnhancedIndexOptimiser(config.effective_constraints)
    n_days, n = market.close.shape
    decision_at = {day: k for k, day in enumerate(market.decisions)}
    weights = np.zeros(n)
    invested = False
    pending: np.ndarray | None = None
    rows: list[tuple] = []
    targets: list[pl.DataFrame] = []
    log: list[dict] = []
    for t in range(n_days):
        turnover = cost = 0.0
        if t == 0 or not invested and pending is None:
            ret = gross = bench_ret = 0.0
        else:
            grow = market.close[t] / market.close[t - 1]
            if pending is not None:
                to_vwap = market.vwap[t] / market.close[t - 1]
                r_old = float(weights @ (to_vwap - 1)) if invested else 0.0
                at_vwap = weights * to_vwap / (1 + r_old) if invested else np.zeros(n)
                basket = pending * to_vwap
                basket /= basket.sum()
                can_buy = market.listed[t] & ~market.suspended[t] & ~market.limit_up[t]
                can_sell = market.listed[t] & ~market.suspended[t] & ~market.limit_down[t]
                new = _execute(basket, at_vwap, can_buy, can_sell) if invested else basket
                turnover = 0.5 * float(np.abs(new - at_vwap).sum())
                cost = config.cost_rate * turnover
                to_close = market.close[t] / market.vwap[t]
                r_new = float(new @ (to_close - 1))
                gross = (1 + r_old) * (1 + r_new) - 1
                ret = (1 + r_old) * (1 - cost) * (1 + r_new) - 1
                weights = new * to_close / (1 + r_new)
                if invested:
                    bench_ret = float(market.bench[t - 1] @ (grow - 1))
                else:
                    bench_vwap = market.bench[t - 1] * to_vwap
                    bench_ret = float(bench_vwap @ (to_close - 1)) / bench_vwap.sum()
                invested, pending = True, None
            else:
                gross = ret = float(weights @ (grow - 1))
                weights = weights * grow / (1 + ret)
                bench_ret = float(market.bench[t - 1] @ (grow - 1))
        if invested:
            rows.append((market.dates[t], ret, gross, bench_ret, turnover, cost,
                         int((weights > 1e-6).sum())))
        if t in decision_at and t + 1 < n_days:
            k = decision_at[t]
            result = _decide(market, config, optimiser, t, k, weights if invested else None)
            if result is not None:
                pending = result.weights
                held = (pending > 1e-9) | (market.bench[t] > 0)
                targets.append(pl.DataFrame({
                    "decision_date": [market.dates[t]] * int(held.sum()),
                    "trade_date": [market.dates[t + 1]] * int(held.sum()),
                    "stock_id": np.asarray(market.stocks)[held],
                    "weight": pending[held], "bench_weight": market.bench[t][held],
                }))
                log.append({"decision_date": market.dates[t], "status": result.status,
                            "solver": result.solver, "relaxed": ",".join(result.relaxed),
                            "planned_turnover": result.turnover,
                            "seconds": result.seconds})
        if progress is not None:
            progress(t + 1, n_days)
    if not rows:
        raise BacktestError("the backtest never traded (no decision day had scores)")
    daily = pl.DataFrame(rows, schema=["trade_date", "ret", "ret_gross", "bench_ret",
                                       "turnover", "cost", "holdings"], orient="row")
    daily = daily.with_columns(
        excess=pl.col("ret") - pl.col("bench_ret"),
        excess_gross=pl.col("ret_gross") - pl.col("bench_ret"),
    ).with_columns(
        nav=(1 + pl.col("ret")).cum_prod(),
        bench_nav=(1 + pl.col("bench_ret")).cum_prod(),
        excess_nav=(1 + pl.col("excess")).cum_prod(),
        excess_nav_gross=(1 + pl.col("excess_gross")).cum_prod(),
    )
    return BacktestResult(config=config, daily=daily, weights=pl.concat(targets),
                          rebalances=pl.DataFrame(log),
                          seconds=time.perf_counter() - started)


def _decide(market: Market, config: BacktestConfig, optimiser: EnhancedIndexOptimiser,
            t: int, k: int, held: np.ndarray | None) -> RebalanceResult | None:
    """The target weights decided at day t's close (None: no scores that day, hold)."""
    scores = market.scores[k]
    if not np.isfinite(scores).any() or market.bench[t].sum() <= 0:
        return None
    nxt = t + 1
    tradable = market.listed[nxt] & ~market.suspended[nxt]
    eligible = market.in_universe[t] | (market.bench[t] > 0)
    problem = RebalanceProblem(
        mu=expected_returns(scores), benchmark=market.bench[t],
        exposures=market.exposures[k], industry=market.industry[k],
        can_buy=tradable & eligible & ~market.limit_up[nxt],
        can_sell=tradable & ~market.limit_down[nxt],
        previous=None if held is None else held / held.sum(),
        n_industries=market.n_industries,
    )
    return optimiser.solve(problem)


def backtest(model: str, config: BacktestConfig, warehouse: Path | None = None,
             progress: Callable[[int, int], None] | None = None) -> BacktestResult:
    """Load the warehouse's inputs for `model` and run the backtest."""
    from zoo.paths import warehouse_path

    market = load_market(warehouse or warehouse_path(), model, config)
    return run_backtest(market, config, progress)
