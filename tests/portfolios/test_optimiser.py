"""The optimiser keeps every constraint it claims, relaxes in the documented order, and agrees
with the plain cvxpy formulation."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from portfolios.constraints import RELAXATION_ORDER, PortfolioConstraints
from portfolios.optimiser import EnhancedIndexOptimiser, PortfolioError, solve_plain
from portfolios.synthetic import random_problem

TOL = 1e-6


def assert_satisfies(w: np.ndarray, problem, c: PortfolioConstraints) -> None:
    """Every constraint of `c`, checked from its definition (not with the optimiser's code)."""
    b, prev = problem.benchmark, problem.previous
    held = np.zeros_like(b) if prev is None else prev
    assert abs(w.sum() - 1) < TOL, "fully invested"
    assert w.min() > -TOL, "long only"
    free = problem.can_buy & problem.can_sell
    assert np.all(np.abs(w - b)[free] <= c.stock_deviation + TOL), "stock deviation"
    no_buy, no_sell = ~problem.can_buy, ~problem.can_sell
    assert np.all(w[no_buy] <= np.maximum(held[no_buy], 0) + TOL), "bought an unbuyable stock"
    if prev is not None:
        assert np.all(w[no_sell] >= held[no_sell] - TOL), "sold an unsellable stock"
        one_way = np.abs(w - prev).sum() / 2
        if c.max_turnover is not None:
            assert one_way <= c.max_turnover + TOL, f"turnover {one_way:.4f}"
    active = problem.exposures.T @ (w - b)
    for j, factor in enumerate(c.factors):
        band = c.neutral_band if factor in c.neutral_factors else c.style_band
        assert abs(active[j]) <= band + TOL, f"exposure to {factor}: {active[j]:.2e}"
    for k in range(problem.k):
        inside = problem.industry == k
        gap = w[inside].sum() - b[inside].sum()
        assert abs(gap) <= c.industry_band + TOL, f"industry {k}: {gap:.2e}"
    assert w[b > 0].sum() >= c.min_constituent_weight - TOL, "constituent share"


def names_in_order(relaxed: tuple[str, ...]) -> bool:
    order = [name for name, _, _ in RELAXATION_ORDER]
    return list(relaxed) == order[:len(relaxed)]


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("kind", ["default", "tight", "constituents80", "from_cash"])
def test_random_problems_satisfy_every_claimed_constraint(seed, kind):
    base = PortfolioConstraints()
    untradable = 0.05
    if kind == "tight":
        # near infeasibility: tiny bands, little turnover, many untradable stocks
        base = PortfolioConstraints(stock_deviation=0.001, style_band=0.05, max_turnover=0.05)
        untradable = 0.25
    elif kind == "constituents80":
        base = PortfolioConstraints(min_constituent_weight=0.8)
    problem = random_problem(n=400, members=80, industries=10, untradable=untradable,
                             seed=seed, previous=kind != "from_cash", constraints=base)
    result = EnhancedIndexOptimiser(base).solve(problem)
    assert names_in_order(result.relaxed)
    if not result.relaxed:
        assert result.constraints == base
    assert_satisfies(result.weights, problem, result.constraints)
    assert result.objective == pytest.approx(float(problem.mu @ result.weights))


def test_matches_the_plain_formulation():
    optimiser = EnhancedIndexOptimiser()
    for seed in range(3):
        problem = random_problem(n=300, members=60, industries=8, seed=seed)
        ours = optimiser.solve(problem)
        assert ours.relaxed == () and ours.solver == "HIGHS"
        status, plain = solve_plain(problem)
        assert status == "optimal"
        assert ours.objective == pytest.approx(float(problem.mu @ plain), rel=0, abs=1e-6)
        # these optima are unique vertices: the interior-point answer lands on them too
        np.testing.assert_allclose(ours.weights, plain, rtol=0, atol=1e-6)


def test_cvxpy_path_agrees_and_takes_over_when_highs_fails(monkeypatch):
    import portfolios.optimiser as optimiser

    problem = random_problem(n=300, members=60, industries=8, seed=4)
    highs = EnhancedIndexOptimiser().solve(problem)
    clarabel = EnhancedIndexOptimiser(solver="CLARABEL").solve(problem)
    assert clarabel.solver == "CLARABEL"
    assert clarabel.objective == pytest.approx(highs.objective, rel=0, abs=1e-7)
    np.testing.assert_allclose(clarabel.weights, highs.weights, rtol=0, atol=1e-7)
    monkeypatch.setattr(optimiser, "solve_highs", lambda lp: ("Solve error", None))
    fallback = EnhancedIndexOptimiser().solve(problem)
    assert fallback.solver == "CLARABEL" and fallback.relaxed == ()
    assert fallback.objective == pytest.approx(highs.objective, rel=0, abs=1e-7)


def test_zero_deviation_returns_the_benchmark():
    problem = random_problem(n=300, members=60, industries=8, seed=3, untradable=0.0)
    c = PortfolioConstraints(stock_deviation=0.0, max_turnover=None)
    result = EnhancedIndexOptimiser(c).solve(problem)
    assert result.relaxed == ()
    np.testing.assert_allclose(result.weights, problem.benchmark, atol=1e-9)


def _frozen_outside_index(problem, share: float):
    """`problem` with suspended non-members holding `share` of the previous portfolio."""
    outside = np.flatnonzero(problem.benchmark == 0)[:20]
    prev = problem.previous * (1 - share) / problem.previous[problem.benchmark > 0].sum()
    prev = np.where(problem.benchmark > 0, prev, 0.0)
    prev[outside] = share / outside.size
    can_buy, can_sell = problem.can_buy.copy(), problem.can_sell.copy()
    can_buy[outside] = can_sell[outside] = False
    return dataclasses.replace(problem, previous=prev / prev.sum(),
                               can_buy=can_buy, can_sell=can_sell)


def test_infeasible_constituent_floor_is_relaxed_last_and_reported():
    base = PortfolioConstraints(min_constituent_weight=0.8)
    problem = _frozen_outside_index(random_problem(n=300, members=60, industries=8, seed=5),
                                    share=0.4)
    result = EnhancedIndexOptimiser(base).solve(problem)
    assert result.relaxed == tuple(name for name, _, _ in RELAXATION_ORDER)
    assert result.constraints.min_constituent_weight == 0.0
    assert_satisfies(result.weights, problem, result.constraints)
    # the frozen names are held, not sold
    outside = (~problem.can_buy) & (~problem.can_sell)
    np.testing.assert_allclose(result.weights[outside], problem.previous[outside], atol=1e-9)
    with pytest.raises(PortfolioError, match="infeasible under every relaxation"):
        EnhancedIndexOptimiser(base, relax=False).solve(problem)


def test_turnover_cap_gives_way_first():
    # a portfolio far from its benchmark cannot become neutral within 1% turnover
    base = PortfolioConstraints(max_turnover=0.01)
    problem = random_problem(n=300, members=60, industries=8, seed=2, untradable=0.0)
    result = EnhancedIndexOptimiser(base).solve(problem)
    assert result.relaxed and result.relaxed[0] == "turnover_x2"
    assert names_in_order(result.relaxed)
    assert_satisfies(result.weights, problem, result.constraints)


def test_constraint_overrides():
    c = PortfolioConstraints.from_overrides(["style_band=1", "max_turnover=none",
                                             "neutral_factors=bp"])
    assert c.style_band == 1.0 and c.max_turnover is None and c.neutral_factors == ("bp",)
    with pytest.raises(ValueError, match="unknown constraint 'turnover'"):
        PortfolioConstraints.from_overrides(["turnover=0.2"])
    with pytest.raises(ValueError, match="both neutral and banded"):
        PortfolioConstraints(neutral_factors=("bp", "ep"))


def test_a_solve_prints_no_highs_banner():
    """HiGHS prints its banner on the C stdout at a process's first solver, whatever the
    options; a backtest's output should not start with it (issue 20)."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    code = ("from portfolios.optimiser import EnhancedIndexOptimiser\n"
            "from portfolios.synthetic import random_problem\n"
            "result = EnhancedIndexOptimiser().solve(random_problem(n=200, members=50))\n"
            "print('solved by', result.solver)\n")
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(root), *filter(None, [os.environ.get("PYTHONPATH")])])}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "solved by HIGHS" in done.stdout
    assert "HiGHS" not in done.stdout.replace("solved by HIGHS", "") + done.stderr
