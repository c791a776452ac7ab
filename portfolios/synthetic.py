"""Random but realistic rebalance problems, for tests and `zoo bench portfolio`.

A benchmark of `members` stocks with log-normal (cap-like) weights; `industries` industries of
uneven size; z-scored style exposures with size tilted towards members, as in a real index;
a previous portfolio that sits near the benchmark (deviations within twice the stock band on a
few hundred names, then a week of price drift), and a share of untradable stocks: suspended,
limit-up (no buys), limit-down (no sells).
"""

from __future__ import annotations

import numpy as np

from portfolios.constraints import PortfolioConstraints
from portfolios.optimiser import RebalanceProblem


def random_problem(n: int = 5000, members: int = 1000, industries: int = 30,
                   untradable: float = 0.05, seed: int = 0, previous: bool = True,
                   constraints: PortfolioConstraints | None = None,
                   drift: float = 0.03) -> RebalanceProblem:
    """One rebalance over `n` stocks; `untradable` is the share that cannot trade freely."""
    rng = np.random.default_rng(seed)
    c = constraints or PortfolioConstraints()
    member = np.zeros(n, dtype=bool)
    member[rng.choice(n, size=min(members, n), replace=False)] = True
    bench = np.where(member, rng.lognormal(0.0, 0.8, n), 0.0)
    bench /= bench.sum()
    sizes = rng.dirichlet(np.full(industries, 2.0))
    industry = rng.choice(industries, size=n, p=sizes)
    exposures = rng.standard_normal((n, len(c.factors)))
    if "size" in c.factors:
        exposures[:, c.factors.index("size")] += np.where(member, 0.5, -0.1)
    mu = rng.standard_normal(n)
    prev = None
    if previous:
        prev = bench.copy()
        tilted = rng.choice(n, size=min(n, 400), replace=False)
        prev[tilted] += rng.uniform(-2, 2, tilted.size) * c.stock_deviation
        prev = np.maximum(prev, 0.0)
        prev *= np.exp(rng.normal(0.0, drift, n))
        prev /= prev.sum()
    draw = rng.random(n)
    suspended = draw < untradable * 0.5
    limit_up = (draw >= untradable * 0.5) & (draw < untradable * 0.8)
    limit_down = (draw >= untradable * 0.8) & (draw < untradable)
    return RebalanceProblem(
        mu=mu, benchmark=bench, exposures=exposures, industry=industry,
        can_buy=~(suspended | limit_up), can_sell=~(suspended | limit_down),
        previous=prev, n_industries=industries,
    )
