"""The fundamental-similarity graph of a trading day, for biagru_gat.

Each stock is linked to its k most similar stocks by the cosine similarity of a standardised
point-in-time fundamental profile (profitability, margins, growth, accruals, leverage, asset
turnover, cash conversion and revenue seasonality over the last 8 quarters, as known that day).
Edges point from a neighbour to the stock (PyG source -> target), so a GAT layer lets each stock
gather its neighbours' representations.

Fundamentals change only when a statement is announced, so the graph over all stocks with a
known profile is rebuilt only when some stock's vector in force changed, and each day's batch
takes the part of it among that day's stocks.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

import numpy as np

from zoo.data.datasets import CLIP, FUND_FIELDS

if TYPE_CHECKING:
    import datetime as dt

    from zoo.data.datasets import FeastDayBatches

RATIOS = ("roe_ttm", "roa_ttm", "gross_margin_q", "net_margin_q", "revenue_yoy",
          "net_profit_yoy", "accruals_ttm", "leverage")
QUARTERS = 8
_F = {name: i for i, name in enumerate(FUND_FIELDS)}


def profiles(vectors: np.ndarray) -> np.ndarray:
    """[U, 12, 19] fundamental vectors (amounts as signed logs) -> [U, P] profiles.

    Ratios as reported, plus log ratios from the amounts: asset turnover (revenue TTM / total
    assets), cash conversion (operating cash flow TTM / revenue TTM) and seasonality (the
    quarter's revenue / revenue TTM), over the last `QUARTERS` quarters.
    """
    recent = vectors[:, -QUARTERS:, :]
    parts = [recent[:, :, _F[name]] for name in RATIOS]
    parts.append(recent[:, :, _F["revenue_ttm"]] - recent[:, :, _F["total_assets"]])
    parts.append(recent[:, :, _F["operating_cash_flow_ttm"]] - recent[:, :, _F["revenue_ttm"]])
    parts.append(recent[:, :, _F["revenue_q"]] - recent[:, :, _F["revenue_ttm"]])
    return np.concatenate(parts, axis=1).astype(np.float32)


def knn_edges(profile: np.ndarray, k: int, min_similarity: float = 0.0,
              block: int = 2048) -> np.ndarray:
    """Edges [2, E] (source = neighbour, target = stock) to each row's k most cosine-similar
    other rows with similarity >= `min_similarity`. Columns are standardised first (NaN -> 0).

    Shapes: profile [N, P] -> edge_index [2, <= N k].
    """
    n = len(profile)
    if n < 2 or k <= 0:
        return np.zeros((2, 0), dtype=np.int64)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.nanmean(profile, axis=0, keepdims=True)
        std = np.nanstd(profile, axis=0, keepdims=True)
        z = np.clip((profile - mean) / np.where(std > 0, std, np.nan), -CLIP, CLIP)
    z = np.nan_to_num(z, nan=0.0)
    norm = np.linalg.norm(z, axis=1, keepdims=True)
    unit = z / np.where(norm > 0, norm, 1.0)
    k = min(k, n - 1)
    sources, targets = [], []
    for lo in range(0, n, block):
        sim = unit[lo:lo + block] @ unit.T  # [b, N]
        rows = np.arange(lo, min(lo + block, n))
        sim[rows - lo, rows] = -np.inf  # no self loops
        top = np.argpartition(-sim, k - 1, axis=1)[:, :k]
        keep = np.take_along_axis(sim, top, axis=1) >= min_similarity
        targets.append(np.repeat(rows, k)[keep.ravel()])
        sources.append(top.ravel()[keep.ravel()])
    return np.stack([np.concatenate(sources), np.concatenate(targets)]).astype(np.int64)


class FundamentalGraph:
    """Day -> edge_index among the day's stocks, rebuilt when the fundamentals in force change."""

    def __init__(self, data: FeastDayBatches, k: int = 10, min_similarity: float = 0.0) -> None:
        self.data = data
        self.k = k
        self.min_similarity = min_similarity
        self._profiles = profiles(data.fund_vectors) if len(data.fund_vectors) else None
        self._key: bytes | None = None
        self._edges = np.zeros((2, 0), dtype=np.int64)  # over all stocks (global indices)
        self.rebuilds = 0

    def _global_edges(self, t: int) -> np.ndarray:
        # nodes: stocks listed that day with a known vector (not only the day's universe, so a
        # suspension does not force a rebuild; never stocks listed later)
        index = np.where(self.data.present[:, t], self.data.fund_index[:, t], -1)
        key = hashlib.blake2b(index.tobytes(), digest_size=16).digest()
        if key != self._key:
            known = np.flatnonzero(index >= 0)
            local = knn_edges(self._profiles[index[known]], self.k, self.min_similarity) \
                if self._profiles is not None and len(known) else np.zeros((2, 0), np.int64)
            self._edges = known[local] if local.size else np.zeros((2, 0), dtype=np.int64)
            self._key = key
            self.rebuilds += 1
        return self._edges

    def edges(self, day: dt.date, stocks: np.ndarray) -> np.ndarray:
        """edge_index [2, E] in the day's batch numbering (position in `stocks`)."""
        t = self.data.calendar.index(day)
        edges = self._global_edges(t)
        position = np.full(len(self.data.stock_ids), -1, dtype=np.int64)
        position[stocks] = np.arange(len(stocks))
        mapped = position[edges]
        return mapped[:, (mapped >= 0).all(axis=0)]
