"""What shapes a synthetic market: `SynthConfig` (the same config gives the same market) and
the weights that turn the planted drift state into expected returns (`er_weight`).
"""

from __future__ import annotations

import datetime as dt
import typing
from dataclasses import dataclass

import numpy as np

from zoo.dates import parse_date, wind_date
from zoo.overrides import cast, split, unknown_key
from zoo.vocabulary import HORIZONS

EFFECTS = ("reversal", "turnover", "earnings", "neighbour")  # the planted effects, in order
LINKS = ("ratios", "latent")  # how the market links neighbours (zoo.synth.links)
LATENT_KNOBS = ("latent_visibility", "hidden_link_share")  # links=latent only


@dataclass(frozen=True)


class SynthConfig:
    """Everything that shapes the synthetic market; same config, same data.

    Attributes:
        stocks: stocks that exist at some point (some IPO later, some delist); at most 6000.
        start, end: calendar bounds, 'YYYYMMDD' or 'YYYY-MM-DD', kept as 'YYYYMMDD'
            (start >= 19950101).
        seed: seed of the one random generator.
        signal_strength: scales all planted predictability; 0 => none (ER and SIG_* are 0).
        reversal, turnover, earnings, neighbour: relative strength of each planted effect.
        neighbours_k: size of the true fundamental neighbourhood.
        links: how the market draws the neighbourhoods (`zoo.synth.links`): "ratios", the
            nearest by the six ratios the statements publish (what the project's graph reads),
            or "latent", the nearest by link positions that the statements show only partly,
            some by hidden positions they do not show at all.
        latent_visibility: under links=latent, the share of the variance of a firm's link
            position that is its latent characteristics (what the statements show, with lag
            and noise): 1 = all of it, 0 = none (the published ratios then say nothing of its
            links).
        hidden_link_share: under links=latent, the share of each firm's links drawn by a hidden
            position with no trace in its statements: 0 = none, 1 = all.
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
            rule delists more).
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
    links: str = "ratios"
    latent_visibility: float = 0.9
    hidden_link_share: float = 0.2
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
        object.__setattr__(self, "start", wind_date(self.start))  # one spelling, YYYYMMDD
        object.__setattr__(self, "end", wind_date(self.end))
        start, end = parse_date(self.start), parse_date(self.end)
        if start < dt.date(1995, 1, 1) or (end - start).days < 120:
            raise ValueError(f"need 19950101 <= start and end - start >= 120 days: {self}")
        if not 0 <= self.fundamental_persistence < 1:
            raise ValueError("fundamental_persistence must be in [0, 1), got "
                             f"{self.fundamental_persistence}")
        if not 1 <= self.neighbours_k < self.stocks // 2:
            raise ValueError(f"neighbours_k must be in [1, stocks/2), got {self.neighbours_k}")
        self._check_links()
        if not 0.0 <= self.rho < 1.0:
            raise ValueError(f"rho must be in [0, 1), got {self.rho}")
        if not 0.0 < self.listed_fraction <= 1.0 or self.chunk_days < 1:
            raise ValueError("listed_fraction must be in (0, 1] and chunk_days >= 1")

    def _check_links(self) -> None:
        if self.links not in LINKS:
            raise ValueError(f"links must be one of {', '.join(LINKS)}, got {self.links!r}")
        for name in LATENT_KNOBS:
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be in [0, 1], got {getattr(self, name)}")
        # a knob of the latent links set on a market that does not use them would do nothing
        changed = [name for name in LATENT_KNOBS
                   if getattr(self, name) != SynthConfig.__dataclass_fields__[name].default]
        if self.links != "latent" and changed:
            raise ValueError(f"{', '.join(changed)} apply to links=latent only; this market has "
                             f"links={self.links} (add links=latent)")

    @classmethod
    def from_overrides(cls, values: dict, overrides: tuple[str, ...] = ()) -> SynthConfig:
        """Defaults, then `values` (None keeps the default), then "key=value" overrides.

        Override values are cast to the field's type; an unknown key raises ValueError naming
        the closest field names.
        """
        hints = typing.get_type_hints(cls)

        def known(key: str) -> str:
            if key not in hints:
                raise ValueError(unknown_key(key, hints, "SynthConfig field"))
            return key

        kwargs: dict[str, typing.Any] = {}
        for key, value in values.items():
            if value is not None:
                kwargs[known(key)] = value
        for item in overrides:
            key, raw = split(item)
            name = known(key)
            kwargs[name] = cast(raw, hints[name], name)
        return cls(**kwargs)

    def effect_coefs(self) -> np.ndarray:
        """Impulse coefficient of each effect in `EFFECTS` order, knobs and strength applied."""
        base = (self.reversal_coef, self.turnover_coef, self.earnings_coef, self.neighbour_coef)
        knobs = (self.reversal, self.turnover, self.earnings, self.neighbour)
        return np.array([b * k * self.signal_strength for b, k in zip(base, knobs, strict=True)])

    def er_weights(self) -> np.ndarray:
        """w_h with ER_hD = w_h x S: 0.5 + sum_{d=2..h} rho^(d-1) + 0.5 rho^h, per
        zoo.vocabulary.HORIZONS."""
        return np.array([er_weight(self.rho, h) for h in HORIZONS])


def er_weight(rho: float, horizon: int) -> float:
    """Expected VWAP-to-VWAP log return over `horizon` days per unit of drift state."""
    return 0.5 + sum(rho ** (d - 1) for d in range(2, horizon + 1)) + 0.5 * rho**horizon
