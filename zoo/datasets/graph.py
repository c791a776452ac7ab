"""The fundamental-similarity graph of a trading day, for biagru_gat.

Each stock is linked to its k nearest stocks in a six-dimensional point-in-time fundamental
profile, the dimensions along which firms are alike as businesses: net margin, revenue growth,
leverage, asset turnover, cash conversion and revenue seasonality (see `profiles`), each over
the last year. Each dimension is standardised across the stocks of the day (mean and standard
deviation, clipped at +-5, unknown = the mean), and neighbours are the nearest by Euclidean
distance, so every dimension weighs the same. Edges point from a neighbour to the stock (PyG
source -> target), so a GAT layer lets each stock gather its neighbours' representations.

Why this profile: a few well-defined ratios beat many noisy ones, and seasonality needs the
quarter of year to carry its sign. How well it finds a synthetic market's planted
neighbourhoods is measured by `zoo bench zoo` (zoo.bench.diagnostics.planted_recall; README).

Fundamentals change only when a statement is announced, so many days share a fundamentals
state (every listed stock's vector in force) and with it the graph over all stocks with a known
profile; each day's batch takes the part of it among that day's stocks. A state's graph is built
once and kept (`FundamentalGraph`), so a shuffled epoch, which seldom visits two days of a state
in a row, builds none after the first.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from typing import TYPE_CHECKING, Protocol

import numpy as np

from zoo.vocabulary import FUNDAMENTAL_FIELDS, ZSCORE_CLIP

if TYPE_CHECKING:
    import datetime as dt


class FundamentalPanel(Protocol):
    """What the graph reads of a dataset (zoo.datasets.day_batches.FeastDayBatches has it):
    the distinct fundamental vectors [V, 12, G] with their latest quarter of year [V], each
    stock's vector in force per calendar day (`fund_index` [S, D], -1 none), whether it is
    listed (`present` [S, D]), the calendar and the stock ids."""

    fund_vectors: np.ndarray
    fund_quarter: np.ndarray
    fund_index: np.ndarray
    present: np.ndarray
    calendar: list[dt.date]
    stock_ids: list[str]


PROFILE = ("net_margin", "revenue_growth", "leverage_logit", "log_asset_turnover",
           "cash_conversion", "seasonality")
SEASON_QUARTERS = 4  # the quarters the latest TTM sums: their shares estimate the seasonal slope
_F = {name: i for i, name in enumerate(FUNDAMENTAL_FIELDS)}
CACHE_MIB = 1024  # graphs kept per dataset (FundamentalGraph)


def _amount(vectors: np.ndarray, name: str) -> np.ndarray:
    """A money field back in yuan from its signed log ([U, 12])."""
    x = vectors[:, :, _F[name]].astype(np.float64)
    return np.sign(x) * np.expm1(np.abs(x))


def profiles(vectors: np.ndarray, latest_quarter: np.ndarray) -> np.ndarray:
    """[U, 12, 19] fundamental vectors (money as signed logs, oldest quarter first) and the
    quarter of year (1-4) of each vector's latest report period -> [U, 6] profiles (NaN where
    unknown), in the order of `PROFILE`:

    - net margin: TTM parent net profit / TTM revenue;
    - revenue growth: log TTM revenue now over four quarters before;
    - leverage: logit of liabilities / assets, so it spreads like the others;
    - asset turnover: log TTM revenue / total assets;
    - cash conversion: TTM operating cash flow less TTM net profit, over TTM revenue;
    - seasonality: the slope of each of the last four quarters' revenue share (4 x quarter /
      their sum, the TTM) on the quarter of year (Q1 -1 ... Q4 +1): Q4-heavy firms positive.
    """
    with np.errstate(invalid="ignore", divide="ignore"):
        revenue = _amount(vectors, "revenue_ttm")
        positive = np.where(revenue > 0, revenue, np.nan)
        assets = _amount(vectors, "total_assets")
        margin = _amount(vectors, "net_profit_ttm")[:, -1] / positive[:, -1]
        growth = np.log(positive[:, -1]) - np.log(positive[:, -5])
        leverage = np.clip(vectors[:, -1, _F["leverage"]].astype(np.float64), 1e-4, 1 - 1e-4)
        turnover = np.log(positive[:, -1]) - np.log(np.where(assets[:, -1] > 0, assets[:, -1],
                                                             np.nan))
        ocf, profit = (_amount(vectors, f)[:, -1]
                       for f in ("operating_cash_flow_ttm", "net_profit_ttm"))
        cash = (ocf - profit) / positive[:, -1]
        quarters = SEASON_QUARTERS
        share = 4 * _amount(vectors, "revenue_q")[:, -quarters:] / positive[:, -1:]
        # quarter of year of each slot (0 = Q1): the latest is latest_quarter, one less per slot
        slot = (np.asarray(latest_quarter)[:, None] - 1
                - np.arange(quarters - 1, -1, -1)[None, :]) % 4
        x = np.where(np.asarray(latest_quarter)[:, None] >= 1, (slot - 1.5) / 1.5, np.nan)
        used = np.isfinite(share) & np.isfinite(x)
        slope = (np.where(used, (share - 1) * x, 0).sum(axis=1)
                 / np.where(used, x * x, 0).sum(axis=1))
        return np.stack([margin, growth, np.log(leverage / (1 - leverage)), turnover, cash,
                         slope], axis=1).astype(np.float32)


def standardise(profile: np.ndarray) -> np.ndarray:
    """Columns standardised by mean and standard deviation, clipped at +-ZSCORE_CLIP, NaN -> 0."""
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.nanmean(profile, axis=0, keepdims=True)
        std = np.nanstd(profile, axis=0, keepdims=True)
        z = np.clip((profile - mean) / np.where(std > 0, std, np.nan), -ZSCORE_CLIP, ZSCORE_CLIP)
    return np.nan_to_num(z, nan=0.0).astype(np.float32)


def knn_edges(profile: np.ndarray, k: int, max_distance: float | None = None,
              block: int = 2048) -> np.ndarray:
    """Edges [2, E] (source = neighbour, target = stock) to each row's k nearest other rows by
    Euclidean distance between the standardised rows (`standardise`), at most
    `max_distance` apart when given.

    Shapes: profile [N, P] -> edge_index [2, <= N k].
    """
    n = len(profile)
    if n < 2 or k <= 0:
        return np.zeros((2, 0), dtype=np.int64)
    z = standardise(profile).astype(np.float64)
    squared = (z * z).sum(axis=1)
    k = min(k, n - 1)
    sources, targets = [], []
    for lo in range(0, n, block):
        rows = np.arange(lo, min(lo + block, n))
        distance = squared[rows, None] + squared[None, :] - 2 * z[rows] @ z.T  # [b, N], squared
        distance[rows - lo, rows] = np.inf  # no self loops
        top = np.argpartition(distance, k - 1, axis=1)[:, :k]
        keep = np.ones(top.shape, dtype=bool) if max_distance is None else (
            np.take_along_axis(distance, top, axis=1) <= max_distance ** 2)
        targets.append(np.repeat(rows, k)[keep.ravel()])
        sources.append(top.ravel()[keep.ravel()])
    return np.stack([np.concatenate(sources), np.concatenate(targets)]).astype(np.int64)


class FundamentalGraph:
    """Day -> edge_index among the day's stocks; each fundamentals state's graph built once.

    A state is the vector in force of every stock listed that day: days with the same state
    have the same graph over all stocks, so graphs are kept by state (a digest of the state),
    the least recently used dropped once they hold more than `cache_mib` MiB (the last one
    used is always kept, so `cache_mib=0` rebuilds whenever the state changes from one call
    to the next, as before the cache). A state's edges are some tens of KB at 500 stocks
    with k = 10, 0.4 MB at 5000: the default holds a ten-year full market's states.

    Attributes:
        rebuilds: graphs built so far (kNN searches run).
    """

    def __init__(self, data: FundamentalPanel, k: int = 10,
                 max_distance: float | None = None, cache_mib: float = CACHE_MIB) -> None:
        self.data = data
        self.k = k
        self.max_distance = max_distance
        self.cache_bytes = int(cache_mib * 2**20)
        self._profiles = (profiles(data.fund_vectors, data.fund_quarter)
                          if len(data.fund_vectors) else None)
        self._day_index = {day: t for t, day in enumerate(data.calendar)}
        # state digest -> edges over all stocks (global indices), int32, least recent first
        self._graphs: OrderedDict[bytes, np.ndarray] = OrderedDict()
        self._cached_bytes = 0
        self.rebuilds = 0

    def state_key(self, t: int) -> bytes:
        """The digest of calendar day `t`'s fundamentals state: which vector is in force for
        each stock listed that day (-1 for the others)."""
        index = np.where(self.data.present[:, t], self.data.fund_index[:, t], -1)
        return hashlib.blake2b(index.tobytes(), digest_size=16).digest()

    def _build(self, t: int) -> np.ndarray:
        # nodes: stocks listed that day with a known vector (not only the day's universe, so a
        # suspension does not change the state; never stocks listed later)
        index = np.where(self.data.present[:, t], self.data.fund_index[:, t], -1)
        known = np.flatnonzero(index >= 0)
        local = knn_edges(self._profiles[index[known]], self.k, self.max_distance) \
            if self._profiles is not None and len(known) else np.zeros((2, 0), np.int64)
        self.rebuilds += 1
        return (known[local] if local.size else np.zeros((2, 0), np.int64)).astype(np.int32)

    def _global_edges(self, t: int) -> np.ndarray:
        key = self.state_key(t)
        edges = self._graphs.get(key)
        if edges is not None:
            self._graphs.move_to_end(key)
            return edges
        edges = self._graphs[key] = self._build(t)
        self._cached_bytes += edges.nbytes
        while self._cached_bytes > self.cache_bytes and len(self._graphs) > 1:
            _, dropped = self._graphs.popitem(last=False)
            self._cached_bytes -= dropped.nbytes
        return edges

    def edges(self, day: dt.date, stocks: np.ndarray) -> np.ndarray:
        """edge_index [2, E] in the day's batch numbering (position in `stocks`)."""
        edges = self._global_edges(self._day_index[day])
        position = np.full(len(self.data.stock_ids), -1, dtype=np.int64)
        position[stocks] = np.arange(len(stocks))
        mapped = position[edges]
        return mapped[:, (mapped >= 0).all(axis=0)]
