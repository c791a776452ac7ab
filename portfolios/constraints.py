"""The risk constraints of an enhanced-index portfolio, and the order in which they give way.

Defaults are the seed report's (section 4): stock deviation 0.5% from the benchmark weight;
value (BP) and size neutral; the other style factors within [-0.5, 0.5] standard deviations of
the benchmark; CITIC level-1 industry neutral; the whole market or at least 80% of the weight in
index constituents; one-way turnover per rebalance at most 30%. Always, and never relaxed:
fully invested, long only, untradable stocks held (suspended: frozen; limit-up: no buys;
limit-down: no sells).

When a rebalance is infeasible the optimiser walks `RELAXATION_ORDER`, applying each step on top
of the previous ones, until a solution exists. The order puts first what costs least in risk:
trading a little more, then wider style bands, then industry tolerance, then wider stock bands;
neutrality is dropped only after everything else, and the constituent floor last of all (it is
the mandate). The last step leaves only the untouchable constraints, which are always feasible
for a portfolio that was fully invested before (hold it).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass

from zoo.overrides import split
from zoo.vocabulary import STYLE_FACTORS

# exposures in standard deviations and weights are at most a few units, so this stands in for
# "no bound" without handing a solver an infinity
NO_BOUND = 1e3


@dataclass(frozen=True)
class PortfolioConstraints:
    """One rebalance's risk limits; weights are fractions (0.005 = 0.5%)."""

    stock_deviation: float = 0.005        # |w_i - b_i| <= this, for every tradable stock
    neutral_factors: tuple[str, ...] = ("bp", "size")
    neutral_band: float = 0.0             # |active exposure| of the neutral factors, in s.d.
    style_factors: tuple[str, ...] = ("midcap", "ep", "momentum_20d", "liquidity_20d",
                                      "volatility_20d", "profitability", "growth", "sue")
    style_band: float = 0.5               # |active exposure| of the other style factors, s.d.
    industry_band: float = 0.0            # |w - b| summed within each CITIC L1 industry
    min_constituent_weight: float = 0.0   # 0 = whole market; 0.8 = the report's 80% universe
    max_turnover: float | None = 0.30     # one-way: sum|w - w_prev| / 2; None = no cap

    def __post_init__(self) -> None:
        if self.stock_deviation < 0:
            raise ValueError(f"stock_deviation must be >= 0, got {self.stock_deviation}")
        for name in ("neutral_band", "style_band", "industry_band"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}")
        if not 0.0 <= self.min_constituent_weight <= 1.0:
            raise ValueError(f"min_constituent_weight must be in [0, 1], "
                             f"got {self.min_constituent_weight}")
        if self.max_turnover is not None and self.max_turnover < 0:
            raise ValueError(f"max_turnover must be >= 0 or None, got {self.max_turnover}")
        unknown = [f for f in (*self.neutral_factors, *self.style_factors)
                   if f not in STYLE_FACTORS]
        if unknown:
            raise ValueError(f"unknown style factors {unknown}: stock_style_daily has "
                             f"{list(STYLE_FACTORS)}")
        both = set(self.neutral_factors) & set(self.style_factors)
        if both:
            raise ValueError(f"factors {sorted(both)} are both neutral and banded")

    @property
    def factors(self) -> tuple[str, ...]:
        """Every constrained factor, neutral ones first (the rows of the exposure matrix)."""
        return (*self.neutral_factors, *self.style_factors)

    def factor_bands(self) -> list[float]:
        return ([self.neutral_band] * len(self.neutral_factors)
                + [self.style_band] * len(self.style_factors))

    @classmethod
    def from_overrides(cls, overrides: dict[str, str] | list[str] | tuple[str, ...] = (),
                       **values: object) -> PortfolioConstraints:
        """Defaults, then `values`, then KEY=VALUE strings (`--set style_band=1`).

        An unknown key is an error naming the known ones; tuples are comma-separated
        (`--set neutral_factors=bp,size`), `max_turnover=none` lifts the cap.
        """
        fields = {f.name: f for f in dataclasses.fields(cls)}
        chosen: dict[str, object] = {k: v for k, v in values.items() if v is not None}
        pairs = overrides.items() if isinstance(overrides, dict) else (
            split(item) for item in overrides)
        for key, raw in pairs:
            if key not in fields:
                raise ValueError(f"unknown constraint {key!r}; known: {sorted(fields)}")
            chosen[key] = _parse(key, str(raw))
        unknown = set(chosen) - set(fields)
        if unknown:
            raise ValueError(f"unknown constraints {sorted(unknown)}; known: {sorted(fields)}")
        return cls(**chosen)  # type: ignore[arg-type]

    def as_dict(self) -> dict[str, object]:
        return dataclasses.asdict(self)


def _parse(key: str, raw: str) -> object:
    if key in ("neutral_factors", "style_factors"):
        return tuple(p.strip() for p in raw.split(",") if p.strip())
    if key == "max_turnover" and raw.lower() in ("none", "off", "inf"):
        return None
    try:
        return float(raw)
    except ValueError as err:
        raise ValueError(f"constraint {key}: expected a number, got {raw!r}") from err


def _wider_turnover(c: PortfolioConstraints) -> PortfolioConstraints:
    cap = None if c.max_turnover is None else min(1.0, 2 * c.max_turnover)
    return dataclasses.replace(c, max_turnover=cap)


def _wider_style(c: PortfolioConstraints) -> PortfolioConstraints:
    return dataclasses.replace(c, style_band=max(2 * c.style_band, 1.0),
                               neutral_band=max(c.neutral_band, 0.1))


def _industry_tolerance(c: PortfolioConstraints) -> PortfolioConstraints:
    return dataclasses.replace(c, industry_band=max(c.industry_band, 0.01))


def _wider_stocks(c: PortfolioConstraints) -> PortfolioConstraints:
    return dataclasses.replace(c, stock_deviation=max(2 * c.stock_deviation, 0.01))


def _no_turnover(c: PortfolioConstraints) -> PortfolioConstraints:
    return dataclasses.replace(c, max_turnover=None)


def _no_factors(c: PortfolioConstraints) -> PortfolioConstraints:
    return dataclasses.replace(c, neutral_band=NO_BOUND, style_band=NO_BOUND,
                               industry_band=NO_BOUND)


def _no_stock_bands(c: PortfolioConstraints) -> PortfolioConstraints:
    return dataclasses.replace(c, stock_deviation=NO_BOUND)


def _no_constituents(c: PortfolioConstraints) -> PortfolioConstraints:
    return dataclasses.replace(c, min_constituent_weight=0.0)


# (name, what it does, how); applied cumulatively, in this order, until a rebalance is feasible
RELAXATION_ORDER: tuple[tuple[str, str, Callable[[PortfolioConstraints],
                                                 PortfolioConstraints]], ...] = (
    ("turnover_x2", "turnover cap doubled (at most 100%)", _wider_turnover),
    ("style_bands", "style bands doubled (at least +-1 s.d.), value/size neutral within "
                    "+-0.1 s.d.", _wider_style),
    ("industry_band", "industry weights within +-1% of the benchmark's", _industry_tolerance),
    ("stock_deviation_x2", "stock deviation doubled (at least 1%)", _wider_stocks),
    ("turnover_off", "no turnover cap", _no_turnover),
    ("factors_off", "no style, value/size or industry constraint", _no_factors),
    ("stock_deviation_off", "no stock deviation bound", _no_stock_bands),
    ("constituents_off", "no constituent weight floor", _no_constituents),
)


def relaxation_ladder(base: PortfolioConstraints
                      ) -> list[tuple[tuple[str, ...], PortfolioConstraints]]:
    """The constraints to try in turn: `base`, then each step of RELAXATION_ORDER on top."""
    ladder = [((), base)]
    names: tuple[str, ...] = ()
    current = base
    for name, _, relax in RELAXATION_ORDER:
        current = relax(current)
        names = (*names, name)
        ladder.append((names, current))
    return ladder
