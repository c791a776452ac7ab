"""A linear probe of what the price-volume inputs and the fundamental graph can carry.

`ridge_probe(data, warehouse, first_test)` fits ridge regressions of the day-standardised label
on features every model of the zoo could compute from its inputs, on the days before
`first_test` (labels purged as in the rolling trainer), and reports the mean daily Rank IC of
each out of sample:

- `own`: the stock's last `lags` daily log returns and `volume_lags` log volumes over their
  40-day mean, each demeaned across the day's universe;
- `own_graph`: plus the neighbours' returns net of their industry (each demeaned across the
  day's universe stocks of its CITIC level-1 industry, as the models' industry-neutral inputs
  allow) averaged over the stock's neighbours in the day's fundamental graph (what
  biagru_gat's GAT could learn to do);
- `own_planted`: plus them averaged over the planted neighbours (truth.fundamental_neighbours)
  instead: what a perfect graph would allow.

On the synthetic market these bracket the models: a model that learns less than `own` (or,
for biagru_gat, `own_graph`) is under-trained, not short of information, and the gap between
`own_graph` and `own_planted` is what the graph's recall costs.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from zoo.datasets.day_batches import FeastDayBatches

VOLUME_WINDOW = 40


def _demeaned(x: np.ndarray, universe: np.ndarray) -> np.ndarray:
    """[S, D] minus each day's mean over the universe; NaN -> 0."""
    with np.errstate(invalid="ignore"):
        counts = universe.sum(axis=0, keepdims=True)
        sums = np.where(universe & np.isfinite(x), x, 0.0).sum(axis=0, keepdims=True)
        mean = sums / np.maximum(counts, 1)
    return np.nan_to_num(x - mean)


def _industry_demeaned(x: np.ndarray, industry: np.ndarray | None,
                       universe: np.ndarray) -> np.ndarray:
    """[S, D] (already market-demeaned, NaN -> 0) minus each day's mean over the universe
    stocks of the same industry; stocks of unknown industry (-1) keep their values."""
    if industry is None:
        return x
    out = x.copy()
    for group in np.unique(industry[industry >= 0]):
        members = industry == group
        inside = members & universe
        mean = np.where(inside, x, 0.0).sum(axis=0) / np.maximum(inside.sum(axis=0), 1)
        out = np.where(members, x - mean[None, :], out)
    return out


def _neighbour_mean(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """values [S, L] averaged over each stock's in-neighbours (edges [2, E], global)."""
    total = np.zeros_like(values)
    count = np.zeros(len(values))
    np.add.at(total, edges[1], values[edges[0]])
    np.add.at(count, edges[1], 1.0)
    return total / np.maximum(count, 1.0)[:, None]


def _rank_ic(score: np.ndarray, label: np.ndarray) -> float:
    from scipy.stats import spearmanr

    return float(spearmanr(score, label).statistic)


def ridge_probe(data: FeastDayBatches, warehouse: str | Path, first_test: dt.date, *,
                lags: int = 10, volume_lags: int = 5, alpha: float = 10.0) -> dict[str, float]:
    """Out-of-sample mean daily Rank IC of the three ridge probes (see the module docstring),
    with the numbers of training and test days.

    Raises:
        ValueError: the dataset has no graph, or no training or test day.
    """
    from zoo.datasets.graph import PlantedNeighbours

    if data.graph is None:
        raise ValueError("ridge_probe needs a dataset built with a graph (needs_graph)")
    planted = PlantedNeighbours(data.stock_ids, warehouse)
    close, volume = data.prices[:, :, 3].astype(np.float64), data.prices[:, :, 5]
    with np.errstate(invalid="ignore", divide="ignore"):
        returns = np.log(close[:, 1:] / close[:, :-1])
        log_volume = np.log(np.where(volume > 0, volume, np.nan)).astype(np.float64)
    returns = _demeaned(np.pad(returns, ((0, 0), (1, 0)), constant_values=np.nan),
                        data.universe)
    net_returns = _industry_demeaned(returns, data.industry, data.universe)
    # log volume over its 40-day mean (the window the models see)
    filled = np.nan_to_num(log_volume)
    seen = np.isfinite(log_volume).astype(np.float64)
    csum = np.pad(np.cumsum(filled, axis=1), ((0, 0), (1, 0)))
    ccount = np.pad(np.cumsum(seen, axis=1), ((0, 0), (1, 0)))
    width = VOLUME_WINDOW
    window_sum = csum[:, width:] - csum[:, :-width]
    window_count = ccount[:, width:] - ccount[:, :-width]
    relative = np.full_like(log_volume, np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        relative[:, width - 1:] = log_volume[:, width - 1:] - window_sum / window_count
    relative = _demeaned(relative, data.universe)

    rows: dict[str, list[np.ndarray]] = {"own": [], "own_graph": [], "own_planted": []}
    labels, is_test = [], []
    for day in data.dates:
        t = data.calendar.index(day)
        if t < max(lags, VOLUME_WINDOW):
            continue
        test = day >= first_test
        if not test and data.label_end(day) >= first_test:
            continue  # the trainer's purge: a training label ends before the first test day
        stocks = data.stocks_on(day)
        raw = data.label[stocks, t]
        keep = np.isfinite(raw) & data.buyable[stocks, t] & np.isfinite(
            close[stocks, t - lags:t + 1]).all(axis=1)
        if keep.sum() < 20:
            continue
        own_returns = returns[:, t - lags + 1:t + 1][:, ::-1]  # [S, lags], latest first
        own = np.concatenate([own_returns, relative[:, t - volume_lags + 1:t + 1][:, ::-1]],
                             axis=1)
        graph_edges = stocks[data.graph.edges(day, stocks)]
        neighbour_returns = net_returns[:, t - lags + 1:t + 1][:, ::-1]
        by_graph = _neighbour_mean(neighbour_returns, graph_edges)
        by_planted = _neighbour_mean(neighbour_returns, planted.edges(day))
        chosen = stocks[keep]
        rows["own"].append(own[chosen])
        rows["own_graph"].append(np.concatenate([own, by_graph], axis=1)[chosen])
        rows["own_planted"].append(np.concatenate([own, by_planted], axis=1)[chosen])
        y = raw[keep]
        labels.append((y - y.mean()) / max(y.std(), 1e-12))
        is_test.append(test)
    test_days = [i for i, test in enumerate(is_test) if test]
    train_days = [i for i, test in enumerate(is_test) if not test]
    if not test_days or not train_days:
        raise ValueError(f"ridge_probe: {len(train_days)} training and {len(test_days)} test "
                         f"days around {first_test}; need both")
    out: dict[str, float] = {"train_days": len(train_days), "test_days": len(test_days)}
    for name, blocks in rows.items():
        x = np.concatenate([blocks[i] for i in train_days])
        y = np.concatenate([labels[i] for i in train_days])
        scale = np.where(x.std(axis=0) > 0, x.std(axis=0), 1.0)
        x = np.clip(x / scale, -5, 5)
        w = np.linalg.solve(x.T @ x + alpha * np.eye(x.shape[1]), x.T @ y)
        ics = [_rank_ic(np.clip(blocks[i] / scale, -5, 5) @ w, labels[i]) for i in test_days]
        out[name] = float(np.nanmean(ics))
    return out
