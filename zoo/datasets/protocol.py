"""What the trainer reads: one trading day's cross-section at a time (`DayBatches`), and a
small seeded synthetic implementation of it (`FakeDayBatches`) for tests and `zoo train --fake`.

The real implementation, built from Feast point-in-time retrieval, is
`zoo.datasets.day_batches`.
"""

from __future__ import annotations

import bisect
import datetime
from typing import Protocol, runtime_checkable

import numpy as np
import torch

from zoo.vocabulary import BATCH_KEYS, STYLE_SLOTS

__all__ = ["BATCH_KEYS", "DayBatches", "FakeDayBatches", "business_days"]

@runtime_checkable
class DayBatches(Protocol):
    """A dataset of daily cross-sections: one batch is one trading day's stocks.

    Attributes:
        dates: trading days with at least one labelled stock, ascending: what trains.
        score_dates: trading days with at least one stock to score, ascending: `dates` plus
            the latest days whose labels have not arrived yet (what production scores).
        stock_ids: all stocks; `batch(day)["stock_index"]` indexes into this list.
    """

    dates: list[datetime.date]
    score_dates: list[datetime.date]
    stock_ids: list[str]

    def batch(self, day: datetime.date,
              device: torch.device | str = "cpu") -> dict[str, torch.Tensor]:
        """The day's cross-section (keys in `BATCH_KEYS`) on `device`."""
        ...

    def label_end(self, day: datetime.date) -> datetime.date:
        """The last trading day the label of `day` looks at (T+1+h for an h-day label)."""
        ...


def business_days(start: datetime.date, end: datetime.date) -> list[datetime.date]:
    """Monday to Friday from `start` to `end`, both included."""
    days = np.arange(np.datetime64(start, "D"), np.datetime64(end, "D") + 1)
    days = days[np.is_busday(days)]
    return [day.item() for day in days]


class FakeDayBatches:
    """Seeded synthetic cross-sections with a planted, learnable signal.

    Every weekday from `start` to `end` is a trading day. A day's features are drawn from a
    generator seeded by (`seed`, the day), so they do not depend on which other days exist or
    on `poison_from`. The label is `signal` x a latent score plus unit noise, standardised over
    the day's labelled stocks; the latent score is minus the last day's close ratio
    (`price_volume[:, -1, 3]`, short-term reversal), plus the latest quarter's first
    fundamental field, plus the first style factor (each z-scored, weights 0.6 / 0.4 / 0.4),
    so a price-only model can reach a Rank IC of about 0.45 and a full model about 0.6.

    Args:
        start, end: the first and last calendar day.
        n_stocks: stocks in the universe; each day about 3 % of them are absent.
        sequence_days, quarters: window lengths (T, Q).
        fund_features, style_features: G fields per quarter, S style factors.
        horizon: label horizon h: the label of day T looks at prices up to T+1+h.
        signal: strength of the planted signal (0 = pure noise).
        seed: same seed, same data.
        neighbours: graph edges per stock (towards stocks of its industry).
        poison_from: if given, every day whose label looks at prices on or after this date
            gets a poisoned label and keeps its label mask. Features are unchanged.
        cache: keep each day's arrays once built (days are visited every epoch).
        poison: the poisoned label: a number (NaN by default, so training on it gives a NaN
            loss), or "reverse": minus 1000 times the true label, finite and learnable, so a
            model that saw it is both trained and validated differently.

    Shapes (per day, N stocks present):
        price_volume [N, T, 6]; price_mask [N]; fundamentals [N, Q, G]; fund_mask [N, Q];
        style [N, S]; edge_index [2, N * neighbours]; industry, label, label_mask,
        stock_index [N]
    """

    def __init__(self, *, start: datetime.date = datetime.date(2016, 1, 1),
                 end: datetime.date = datetime.date(2018, 12, 31), n_stocks: int = 64,
                 sequence_days: int = 40, quarters: int = 12, fund_features: int = 19,
                 style_features: int = STYLE_SLOTS, horizon: int = 5, signal: float = 1.0,
                 seed: int = 0, neighbours: int = 4, industries: int = 8,
                 poison_from: datetime.date | None = None,
                 poison: float | str = float("nan"), cache: bool = True) -> None:
        if n_stocks < 2 or horizon < 0 or end < start:
            raise ValueError("need n_stocks >= 2, horizon >= 0 and start <= end")
        if isinstance(poison, str) and poison != "reverse":
            raise ValueError(f"poison is a number or 'reverse', not {poison!r}")
        self.dates = business_days(start, end)
        self.score_dates = self.dates
        self.stock_ids = [f"FAKE{i:05d}" for i in range(n_stocks)]
        self.n_stocks = n_stocks
        self.sequence_days = sequence_days
        self.quarters = quarters
        self.fund_features = fund_features
        self.style_features = style_features
        self.horizon = horizon
        self.signal = signal
        self.seed = seed
        self.neighbours = min(neighbours, n_stocks - 1)
        self.industries = max(1, min(industries, n_stocks // 2))
        self.poison_from = poison_from
        self.poison = poison
        self._index = {day: i for i, day in enumerate(self.dates)}
        self._cache: dict[datetime.date, dict[str, np.ndarray]] | None = {} if cache else None

    def label_end(self, day: datetime.date) -> datetime.date:
        """The trading day 1 + `horizon` days after `day` (weekdays past the last date)."""
        i = self._index.get(day)
        if i is None:
            i = bisect.bisect_left(self.dates, day)
        ahead = i + 1 + self.horizon
        if ahead < len(self.dates):
            return self.dates[ahead]
        extra = ahead - (len(self.dates) - 1)
        last = np.datetime64(self.dates[-1], "D")
        return np.busday_offset(last, extra, roll="forward").item()

    def _arrays(self, day: datetime.date) -> dict[str, np.ndarray]:
        if self._cache is None:
            return self._make(day)
        if day not in self._cache:
            self._cache[day] = self._make(day)
        return self._cache[day]

    def _make(self, day: datetime.date) -> dict[str, np.ndarray]:
        if day not in self._index:
            raise KeyError(f"{day} is not a trading day of this dataset")
        rng = np.random.default_rng([self.seed, day.toordinal()])
        n, t, q = self.n_stocks, self.sequence_days, self.quarters
        present = np.flatnonzero(rng.random(n) >= 0.03)
        if present.size < 2:
            present = np.arange(n)
        m = present.size

        price_volume = np.empty((m, t, 6), dtype=np.float32)
        price_volume[..., :5] = 1.0 + 0.02 * rng.standard_normal((m, t, 5))
        price_volume[..., 5] = np.exp(0.3 * rng.standard_normal((m, t)))
        price_mask = rng.random(m) >= 0.05
        fundamentals = rng.standard_normal((m, q, self.fund_features)).astype(np.float32)
        known = np.where(rng.random(m) < 0.1, rng.integers(0, q + 1, m), q)
        # Quarters are oldest first: a stock with k known quarters knows the last k.
        fund_mask = np.arange(q)[None, :] >= (q - known)[:, None]
        fundamentals[~fund_mask] = 0.0
        style = rng.standard_normal((m, self.style_features)).astype(np.float32)
        noise = rng.standard_normal(m)
        label_mask = rng.random(m) >= 0.05
        industry = present % self.industries
        # Edges towards random other stocks of the same industry (itself if it is alone).
        order = np.argsort(industry, kind="stable")
        sizes = np.bincount(industry, minlength=self.industries)
        starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
        rank = np.empty(m, dtype=np.int64)
        rank[order] = np.arange(m) - starts[industry[order]]
        group = sizes[industry]
        targets = np.repeat(np.arange(m), self.neighbours)
        pick = np.floor(rng.random((m, self.neighbours)) * np.maximum(group - 1, 1)[:, None])
        pick = pick.astype(np.int64)
        pick += (pick >= rank[:, None]) & (group[:, None] > 1)
        sources = order[starts[industry][:, None] + pick].reshape(-1)
        def z(x: np.ndarray) -> np.ndarray:
            return (x - x.mean()) / (x.std() + 1e-12)

        latent = np.zeros(m)
        if self.sequence_days:
            latent -= 0.6 * z(price_volume[:, -1, 3].astype(np.float64))
        if self.fund_features:
            latent += 0.4 * z(np.where(fund_mask[:, -1], fundamentals[:, -1, 0], 0.0))
        if self.style_features:
            latent += 0.4 * z(style[:, 0].astype(np.float64))
        label = self.signal * latent + noise
        # The price-volume signal is only observable with a full window.
        label_mask &= price_mask | ~price_mask.any()
        label = np.where(label_mask, label, 0.0)
        if label_mask.sum() > 1:
            mean, std = label[label_mask].mean(), label[label_mask].std() + 1e-12
            label = np.where(label_mask, (label - mean) / std, 0.0)
        if self.poison_from is not None and self.label_end(day) >= self.poison_from:
            label = (-1000.0 * label if self.poison == "reverse"
                     else np.full(m, float(self.poison)))
        price_volume[~price_mask] = np.nan
        return {
            "price_volume": price_volume,
            "price_mask": price_mask,
            "fundamentals": fundamentals,
            "fund_mask": fund_mask,
            "style": style,
            "edge_index": np.stack([sources, targets]).astype(np.int64),
            "industry": industry.astype(np.int64),
            "label": label.astype(np.float32),
            "label_mask": label_mask,
            "stock_index": present.astype(np.int64),
        }

    def batch(self, day: datetime.date,
              device: torch.device | str = "cpu") -> dict[str, torch.Tensor]:
        """The day's cross-section on `device` (pinned host memory first when it is CUDA)."""
        device = torch.device(device)
        out = {}
        for key, value in self._arrays(day).items():
            if device.type == "cuda":
                out[key] = torch.from_numpy(value).pin_memory().to(device, non_blocking=True)
            else:
                out[key] = torch.from_numpy(value.copy())  # callers may not write the cache
        return out

    def __repr__(self) -> str:
        return (f"FakeDayBatches({len(self.dates)} days {self.dates[0]}..{self.dates[-1]}, "
                f"{self.n_stocks} stocks, seed={self.seed})")
