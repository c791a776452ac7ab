"""The enhanced-index optimiser: maximise the expected return under the seed report's constraints.

    max_w  mu'w
    s.t.   sum(w) = 1, w >= 0                                  fully invested, long only
           lo_i <= w_i <= hi_i                                 stock deviation and tradability
           |X_f'(w - b)| <= band_f                             value/size neutral, style bands
           |H_k'(w - b)| <= industry_band                      CITIC L1 industry neutral
           m'w >= min_constituent_weight                       constituent share (m: b > 0)
           sum|w - w_prev| <= 2 max_turnover                   one-way turnover

The stock bounds fold deviation and tradability into one pair per stock: [b - d, b + d] cut at
0; a stock that cannot be bought (limit-up, not in the universe, not listed) is capped at its
current weight, one that cannot be sold (limit-down) floored at it, a suspended one held at it.
An untradable stock's current weight wins over its deviation band (it cannot trade into it).

It is a linear programme, written around the previous portfolio: w = w_prev + p - m with p, m
the buys and sells. The stock bounds become column bounds on p and m, the turnover the single
row sum(p + m) <= 2 max_turnover, and exposures, industries, constituents and the budget F + K + 3
rows, so the textbook form's 2n bound rows and n |w - w_prev| rows never exist. `compact_lp`
builds it with numpy (CSC, a few milliseconds at 5000 stocks) and HiGHS's dual simplex solves it
through highspy in tens of milliseconds, with nothing to compile; a warm start from the previous
rebalance's basis was measured and saved nothing (new alphas leave the old basis far from
optimal). If HiGHS fails, the same model goes through cvxpy with CLARABEL: a DPP problem compiled
once per size and reused by every later rebalance.
`solve_plain` is the model written the obvious way with constants and solved with cvxpy's
defaults: the reference the tests and `zoo bench portfolio` compare against. Every solution is
checked against every constraint it claims (`violations`); an infeasible rebalance walks the
relaxation order of `constraints.py` and the result names the steps it took.
"""

from __future__ import annotations

import functools
import os
import sys
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from portfolios.constraints import NO_BOUND, PortfolioConstraints, relaxation_ladder

if TYPE_CHECKING:
    import cvxpy as cp

# a solution may miss a constraint by this much (weights, and exposures in s.d.) and still pass
TOLERANCE = 1e-6
SOLVERS = ("HIGHS", "CLARABEL")
# presolve only costs here: the programme has F + K + 3 rows and no redundancy to find
HIGHS_OPTIONS: dict[str, Any] = {"output_flag": False, "presolve": "off"}


@functools.cache
def _quiet_highs() -> None:
    """HiGHS prints its banner on the C stdout when a process makes its first solver, before
    any option (output_flag) can stop it: every backtest began with it. Make that first one
    here, with the stdout file descriptor pointed at /dev/null; later ones print nothing."""
    import highspy

    sys.stdout.flush()
    saved = os.dup(1)
    try:
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), 1)
            highspy.Highs()
    finally:
        os.dup2(saved, 1)
        os.close(saved)


class PortfolioError(RuntimeError):
    """A rebalance that no relaxation makes solvable, or a solution that breaks a constraint."""


@dataclass(frozen=True)
class RebalanceProblem:
    """The numbers of one rebalance over n stocks.

    Shapes: mu, benchmark, industry, can_buy, can_sell, previous: [n];
    exposures: [n, F] in the order of `PortfolioConstraints.factors`.
    `benchmark` and `previous` are weights summing to 1; `previous` None means building from
    cash (no turnover cap). `industry` holds integer codes 0..K-1 (K = `n_industries`).
    """

    mu: np.ndarray
    benchmark: np.ndarray
    exposures: np.ndarray
    industry: np.ndarray
    can_buy: np.ndarray
    can_sell: np.ndarray
    previous: np.ndarray | None = None
    n_industries: int | None = None

    def __post_init__(self) -> None:
        n = self.mu.shape[0]
        for name in ("benchmark", "industry", "can_buy", "can_sell"):
            if getattr(self, name).shape != (n,):
                raise ValueError(f"{name}: shape {getattr(self, name).shape}, expected ({n},)")
        if self.exposures.ndim != 2 or self.exposures.shape[0] != n:
            raise ValueError(f"exposures: shape {self.exposures.shape}, expected ({n}, F)")
        if self.previous is not None and self.previous.shape != (n,):
            raise ValueError(f"previous: shape {self.previous.shape}, expected ({n},)")
        for name in ("mu", "benchmark", "exposures"):
            if not np.isfinite(getattr(self, name)).all():
                raise ValueError(f"{name}: {int((~np.isfinite(getattr(self, name))).sum())} "
                                 f"values are NaN or infinite (fill them before optimising)")
        if abs(self.benchmark.sum() - 1.0) > 1e-6 or (self.benchmark < 0).any():
            raise ValueError(f"benchmark weights must be >= 0 and sum to 1, "
                             f"got sum {self.benchmark.sum():.6f}")
        if self.previous is not None and (abs(self.previous.sum() - 1.0) > 1e-6
                                          or (self.previous < -1e-12).any()):
            raise ValueError(f"previous weights must be >= 0 and sum to 1, "
                             f"got sum {self.previous.sum():.6f}")

    @property
    def n(self) -> int:
        return int(self.mu.shape[0])

    @property
    def k(self) -> int:
        return self.n_industries or int(self.industry.max()) + 1

    @property
    def held(self) -> np.ndarray:
        return np.zeros(self.n) if self.previous is None else self.previous

    def bounds(self, c: PortfolioConstraints) -> tuple[np.ndarray, np.ndarray]:
        """Per-stock [lo, hi]: the deviation band, cut by what cannot be bought or sold."""
        b, held = self.benchmark, self.held
        lo = np.maximum(0.0, b - c.stock_deviation)
        hi = np.minimum(1.0, b + c.stock_deviation)
        hi = np.where(self.can_buy, hi, np.minimum(hi, held))
        lo = np.minimum(lo, hi)
        if self.previous is not None:
            lo = np.where(self.can_sell, lo, np.maximum(lo, held))
            hi = np.maximum(hi, lo)
        return lo, hi

    def industry_matrix(self) -> np.ndarray:
        """[K, n] one-hot of the industries."""
        onehot = np.zeros((self.k, self.n))
        onehot[self.industry, np.arange(self.n)] = 1.0
        return onehot

    def industry_weights(self, w: np.ndarray) -> np.ndarray:
        """[K] the weight of `w` in each industry (H @ w without the one-hot)."""
        return np.bincount(self.industry, weights=w, minlength=self.k)

    def row_bounds(self, c: PortfolioConstraints) -> tuple[np.ndarray, np.ndarray]:
        """Bounds of the F + K + 1 rows of `rows`: factors, industries, constituent share."""
        b = self.benchmark
        centre_f, centre_h = self.exposures.T @ b, self.industry_weights(b)
        bands = np.asarray(c.factor_bands(), dtype=float)
        a_lo = np.concatenate([centre_f - bands, centre_h - c.industry_band,
                               [c.min_constituent_weight]])
        a_hi = np.concatenate([centre_f + bands, centre_h + c.industry_band, [NO_BOUND]])
        return a_lo, a_hi

    def rows(self, c: PortfolioConstraints) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """A [F + K + 1, n] with its bounds: factor exposures, industries, constituent share."""
        member = (self.benchmark > 0).astype(float)[None, :]
        a = np.vstack([self.exposures.T, self.industry_matrix(), member])
        return (a, *self.row_bounds(c))

    def turnover_budget(self, c: PortfolioConstraints) -> float:
        """Cap on sum|w - w_prev| (twice the one-way turnover); 2 = no cap."""
        if self.previous is None or c.max_turnover is None:
            return 2.0
        return min(2.0, 2.0 * c.max_turnover)


@dataclass(frozen=True)
class RebalanceResult:
    weights: np.ndarray
    status: str
    solver: str
    relaxed: tuple[str, ...]                # steps of RELAXATION_ORDER taken, in order
    constraints: PortfolioConstraints       # what the weights satisfy (after relaxation)
    objective: float
    seconds: float
    violations: dict[str, float] = field(default_factory=dict)

    @property
    def turnover(self) -> float:
        return float(self.violations.get("_turnover", 0.0))


def violations(w: np.ndarray, problem: RebalanceProblem,
               c: PortfolioConstraints) -> dict[str, float]:
    """How far `w` breaks each constraint (0 or less: satisfied), by name.

    `_turnover` is the one-way turnover itself, for information.
    """
    b = problem.benchmark
    lo, hi = problem.bounds(c)
    x = problem.exposures.T
    active_f = np.abs(x @ (w - b)) - np.asarray(c.factor_bands())
    active_h = np.abs(problem.industry_weights(w - b)) - c.industry_band
    one_way = 0.5 * float(np.abs(w - problem.held).sum()) if problem.previous is not None \
        else 0.5 * float(w.sum())
    out = {
        "fully_invested": abs(float(w.sum()) - 1.0),
        "long_only": float(max(0.0, -w.min())),
        "stock_bounds": float(max((lo - w).max(), (w - hi).max())),
        "factor_exposure": float(active_f.max()) if active_f.size else 0.0,
        "industry": float(active_h.max()),
        "constituents": c.min_constituent_weight - float(w[b > 0].sum()),
        "turnover": (one_way - 0.5 * problem.turnover_budget(c)
                     if problem.previous is not None else 0.0),
        "_turnover": one_way,
    }
    return out


def broken(found: dict[str, float]) -> dict[str, float]:
    return {k: v for k, v in found.items() if not k.startswith("_") and v > TOLERANCE}


@dataclass(frozen=True)
class CompactLP:
    """One rebalance as HiGHS takes it: maximise cost'x, col_lower <= x <= col_upper,
    row_lower <= A x <= row_upper, with x = [p, m] (buys, sells: w = w_prev + p - m).

    Shapes: cost, col_lower, col_upper: [2n]; row_lower, row_upper: [F + K + 3] (budget,
    factors, industries, constituent share, turnover); A in CSC: start [2n + 1], index and
    value [nnz]. An infinite row bound is np.inf (HiGHS's infinity).
    """

    cost: np.ndarray
    col_lower: np.ndarray
    col_upper: np.ndarray
    row_lower: np.ndarray
    row_upper: np.ndarray
    start: np.ndarray
    index: np.ndarray
    value: np.ndarray

    def weights(self, x: np.ndarray, previous: np.ndarray) -> np.ndarray:
        n = previous.shape[0]
        return previous + x[:n] - x[n:]


def compact_lp(problem: RebalanceProblem, c: PortfolioConstraints) -> CompactLP:
    """The rebalance in buys and sells around the previous weights (module docstring)."""
    n, held = problem.n, problem.held
    f, k = problem.exposures.shape[1], problem.k
    member = problem.benchmark > 0
    lo, hi = problem.bounds(c)
    # w in [lo, hi] for every p, m within these bounds, and every such w is reached
    buy = (np.maximum(0.0, lo - held), np.maximum(0.0, hi - held))
    sell = (np.maximum(0.0, held - hi), np.maximum(0.0, held - lo))
    # one column per stock, rows in increasing order: budget, factors, its industry,
    # the constituent row (members only), turnover; zero exposures are left out
    rows = np.empty((n, f + 4), dtype=np.int32)
    rows[:, 0] = 0
    rows[:, 1:f + 1] = np.arange(1, f + 1, dtype=np.int32)
    rows[:, f + 1] = f + 1 + problem.industry
    rows[:, f + 2] = f + k + 1
    rows[:, f + 3] = f + k + 2
    values = np.ones((n, f + 4))
    values[:, 1:f + 1] = problem.exposures
    keep = np.ones((n, f + 4), dtype=bool)
    keep[:, 1:f + 1] = problem.exposures != 0
    keep[:, f + 2] = member
    count = keep.sum(axis=1)
    index = rows[keep]
    buys = values[keep]
    # a sell column is its buy column negated, except in the turnover row
    sells = -buys
    sells[np.cumsum(count) - 1] = 1.0
    start = np.concatenate([[0], np.cumsum(np.concatenate([count, count]))])
    # the rows hold for w = held + p - m: shift their bounds by the rows of the held weights
    a_lo, a_hi = problem.row_bounds(c)
    a_held = np.concatenate([problem.exposures.T @ held, problem.industry_weights(held),
                             [held[member].sum()]])
    cash = 1.0 - held.sum()
    return CompactLP(
        cost=np.concatenate([problem.mu, -problem.mu]),
        col_lower=np.concatenate([buy[0], sell[0]]),
        col_upper=np.concatenate([buy[1], sell[1]]),
        row_lower=np.concatenate([[cash], a_lo - a_held, [-np.inf]]),
        row_upper=np.concatenate([[cash], a_hi - a_held, [problem.turnover_budget(c)]]),
        start=start.astype(np.int32), index=np.concatenate([index, index]),
        value=np.concatenate([buys, sells]),
    )


def solve_highs(lp: CompactLP) -> tuple[str, np.ndarray | None]:
    """Solve `lp` with HiGHS through highspy: ("optimal", x), ("infeasible", None) or
    (HiGHS's status, None) for anything else."""
    import highspy

    _quiet_highs()
    highs = highspy.Highs()
    for name, value in HIGHS_OPTIONS.items():
        highs.setOptionValue(name, value)
    # the array form of passModel: the HighsLp fields would copy each array element by element
    loaded = highs.passModel(
        lp.cost.size, lp.row_lower.size, lp.value.size, int(highspy.MatrixFormat.kColwise),
        int(highspy.ObjSense.kMaximize), 0.0, lp.cost, lp.col_lower, lp.col_upper,
        lp.row_lower, lp.row_upper, lp.start, lp.index, lp.value,
        np.zeros(lp.cost.size, dtype=np.int32))  # integrality: all continuous
    if loaded == highspy.HighsStatus.kError:
        return "load_error", None
    highs.run()
    status = highs.getModelStatus()
    if status == highspy.HighsModelStatus.kOptimal:
        return "optimal", np.asarray(highs.getSolution().col_value)
    # every column is bounded, so "unbounded or infeasible" can only be infeasible
    if status in (highspy.HighsModelStatus.kInfeasible,
                  highspy.HighsModelStatus.kUnboundedOrInfeasible):
        return "infeasible", None
    return highs.modelStatusToString(status), None


class EnhancedIndexOptimiser:
    """Solves rebalances of one constraint set: HiGHS on the compact programme, then cvxpy.

    Args:
        constraints: the limits to satisfy; relaxed (and reported) only when infeasible.
        solver: the first solver to try; the others of SOLVERS are the fallbacks. "HIGHS" is
            highspy on `compact_lp`; any other name is a cvxpy solver on the DPP problem.
        relax: walk RELAXATION_ORDER when infeasible (False: raise PortfolioError instead).
    """

    def __init__(self, constraints: PortfolioConstraints | None = None,
                 solver: str = "HIGHS", relax: bool = True) -> None:
        self.constraints = constraints or PortfolioConstraints()
        self.solvers = (solver, *[s for s in SOLVERS if s != solver])
        self.relax = relax
        self._compiled: dict[tuple[int, int], tuple[Any, dict[str, Any]]] = {}

    def _problem(self, n: int, rows: int) -> tuple[cp.Problem, dict[str, cp.Parameter]]:
        import cvxpy as cp

        key = (n, rows)
        if key not in self._compiled:
            p = {
                "mu": cp.Parameter(n), "lo": cp.Parameter(n), "hi": cp.Parameter(n),
                "prev": cp.Parameter(n), "a": cp.Parameter((rows, n)),
                "a_lo": cp.Parameter(rows), "a_hi": cp.Parameter(rows),
                "budget": cp.Parameter(nonneg=True),
            }
            w = cp.Variable(n, name="w")
            # u >= |w - prev| elementwise: the turnover as a linear constraint
            u = cp.Variable(n, name="u")
            a_w = p["a"] @ w
            problem = cp.Problem(cp.Maximize(p["mu"] @ w), [
                cp.sum(w) == 1, w >= p["lo"], w <= p["hi"],
                a_w >= p["a_lo"], a_w <= p["a_hi"],
                u >= w - p["prev"], u >= p["prev"] - w, cp.sum(u) <= p["budget"],
            ])
            assert problem.is_dpp(), "the parametrised problem must be DPP to be reused"
            p["_w"] = w
            self._compiled[key] = (problem, p)
        return self._compiled[key]

    def _solve_cvxpy(self, problem: RebalanceProblem, c: PortfolioConstraints,
                     solver: str) -> tuple[str, np.ndarray | None]:
        """The model through cvxpy's compiled DPP problem: (cvxpy's status, weights or None)."""
        import cvxpy as cp

        a, a_lo, a_hi = problem.rows(c)
        lo, hi = problem.bounds(c)
        compiled, p = self._problem(problem.n, a.shape[0])
        p["mu"].value = problem.mu
        p["lo"].value, p["hi"].value = lo, hi
        p["prev"].value = problem.held
        p["a"].value, p["a_lo"].value, p["a_hi"].value = a, a_lo, a_hi
        p["budget"].value = problem.turnover_budget(c)
        try:
            compiled.solve(solver=solver, warm_start=False)
        except cp.error.SolverError:
            return "solver_error", None
        if compiled.status in (cp.INFEASIBLE, cp.INFEASIBLE_INACCURATE):
            return "infeasible", None
        if compiled.status in (cp.OPTIMAL, cp.OPTIMAL_INACCURATE):
            return compiled.status, np.asarray(p["_w"].value, dtype=float)
        return compiled.status, None

    def _attempt(self, problem: RebalanceProblem, c: PortfolioConstraints
                 ) -> tuple[str, str, np.ndarray | None]:
        """Solve once under `c`: (status, solver, weights or None)."""
        lo, hi = problem.bounds(c)
        status, used = "not solved", self.solvers[0]
        for solver in self.solvers:
            used = solver
            if solver == "HIGHS":
                lp = compact_lp(problem, c)
                status, x = solve_highs(lp)
                w = None if x is None else lp.weights(x, problem.held)
            else:
                status, w = self._solve_cvxpy(problem, c, solver)
            if status == "infeasible":
                return status, solver, None
            if w is not None:
                w = np.clip(w, lo, hi)
                if not broken(violations(w, problem, c)):
                    return status, solver, w
                status = "violates_constraints"
        return status, used, None

    def solve(self, problem: RebalanceProblem) -> RebalanceResult:
        """The optimal weights under the constraints, relaxed in the documented order if needed.

        Raises PortfolioError if even the last relaxation fails, or a solver's answer breaks a
        constraint under every solver.
        """
        start = time.perf_counter()
        ladder = relaxation_ladder(self.constraints)
        if not self.relax:
            ladder = ladder[:1]
        if problem.previous is None and not problem.can_buy.any():
            raise PortfolioError("no stock can be bought and nothing is held: "
                                 "no portfolio to build")
        tried: list[str] = []
        for relaxed, c in ladder:
            status, solver, w = self._attempt(problem, c)
            tried.append(f"{'+'.join(relaxed) or 'as given'}: {status} ({solver})")
            if w is not None:
                return RebalanceResult(
                    weights=w, status=status, solver=solver, relaxed=relaxed, constraints=c,
                    objective=float(problem.mu @ w), seconds=time.perf_counter() - start,
                    violations=violations(w, problem, c))
            if status != "infeasible":
                raise PortfolioError(f"rebalance of {problem.n} stocks: no solver gave a valid "
                                     f"solution ({'; '.join(tried)})")
        raise PortfolioError(f"rebalance of {problem.n} stocks is infeasible under every "
                             f"relaxation: {'; '.join(tried)}")


def solve_plain(problem: RebalanceProblem,
                constraints: PortfolioConstraints | None = None) -> tuple[str, np.ndarray | None]:
    """The same model written plainly (constants, cp.abs, default solver): the bench baseline.

    No relaxation and no checks; returns (status, weights or None).
    """
    import cvxpy as cp

    c = constraints or PortfolioConstraints()
    b, held = problem.benchmark, problem.held
    lo, hi = problem.bounds(c)
    w = cp.Variable(problem.n)
    cons = [cp.sum(w) == 1, w >= 0, w >= lo, w <= hi]
    bands = c.factor_bands()
    for j in range(problem.exposures.shape[1]):
        cons.append(cp.abs(problem.exposures[:, j] @ (w - b)) <= bands[j])
    onehot = problem.industry_matrix()
    cons.append(cp.abs(onehot @ (w - b)) <= c.industry_band)
    if c.min_constituent_weight > 0:
        cons.append(cp.sum(w[b > 0]) >= c.min_constituent_weight)
    if problem.previous is not None and c.max_turnover is not None:
        cons.append(cp.sum(cp.abs(w - held)) <= 2 * c.max_turnover)
    plain = cp.Problem(cp.Maximize(problem.mu @ w), cons)
    plain.solve()
    return plain.status, (None if w.value is None else np.asarray(w.value))
