"""Diagnostics that read the synthetic market's truth (truth.*), for `zoo bench zoo`.

They judge what the models could learn, so they belong to the benchmark, not to the library
the models are built from:

- `PlantedNeighbours`: the planted neighbourhoods (truth.fundamental_neighbours) as edges over
  a dataset's stocks, day by day.
- `planted_recall(data, warehouse, days)`: the share of the planted (stock, neighbour) pairs
  that the day graphs of zoo.datasets.graph find, beside the chance level. The neighbour part
  of the oracle reaches biagru_gat only through those edges.
- `ridge_probe(data, warehouse, first_test)`: ridge regressions of the day-standardised label
  on features every model of the zoo could compute from its inputs, fitted on the days before
  `first_test` (labels purged as in the rolling trainer); the mean daily Rank IC of each out of
  sample:
  - `own`: the stock's last `lags` daily log returns and `volume_lags` log volumes over their
    40-day mean, each demeaned across the day's universe;
  - `own_graph`: plus the neighbours' returns net of their industry (each demeaned across the
    day's universe stocks of its CITIC level-1 industry, as the models' industry-neutral
    inputs allow) averaged over the stock's neighbours in the day's fundamental graph (what
    biagru_gat's GAT could learn to do);
  - `own_planted`: plus them averaged over the planted neighbours instead: what a perfect
    graph would allow.
  A model that learns less than `own` (or, for biagru_gat, `own_graph`) is under-trained, not
  short of information, and the gap between `own_graph` and `own_planted` is what the graph's
  recall costs.
- `graph_reach(first_year)`: both of the above on the market of $ZOO_HOME, for biagru_gat's
  dataset; run by the benchmark in a child process.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from zoo.datasets.day_batches import FeastDayBatches

class PlantedNeighbours:
    """The synthetic market's planted neighbourhoods (truth.fundamental_neighbours) as edges
    over a dataset's stocks: `edges(day)` gives those in force on a day, [2, E] global stock
    indices, source = neighbour, target = stock (the graph's convention).

    Raises:
        ValueError: the warehouse has no planted neighbours (not a synthetic market).
    """

    def __init__(self, stock_ids: Sequence[str], warehouse: str | Path) -> None:
        import duckdb

        with duckdb.connect(str(warehouse), read_only=True) as con:
            rows = con.execute("""
                SELECT VALID_FROM, S_INFO_WINDCODE, NEIGHBOUR_WINDCODE
                FROM truth.fundamental_neighbours ORDER BY VALID_FROM""").fetchall()
        if not rows:
            raise ValueError(f"{warehouse}: truth.fundamental_neighbours is empty")
        index = {code: i for i, code in enumerate(stock_ids)}
        grouped: dict[str, list[tuple[int, int]]] = {}
        for start, stock, neighbour in rows:
            if stock in index and neighbour in index:
                grouped.setdefault(start, []).append((index[neighbour], index[stock]))
        self.starts = [dt.datetime.strptime(s, "%Y%m%d").date() for s in grouped]
        self._edges = [np.asarray(pairs, dtype=np.int64).T.reshape(2, -1)
                       for pairs in grouped.values()]

    def edges(self, day: dt.date) -> np.ndarray:
        import bisect

        i = bisect.bisect_right(self.starts, day) - 1
        return self._edges[i] if i >= 0 else np.zeros((2, 0), dtype=np.int64)


def planted_recall(data: FeastDayBatches, warehouse: str | Path,
                   days: Sequence[dt.date] | None = None) -> dict[str, float]:
    """How much of the synthetic market's planted neighbourhoods the day graphs find.

    For each of `days` (default: every 20th training day) the share of the planted
    (stock, neighbour) pairs in force that day (`PlantedNeighbours`, among the day's stocks)
    that are edges of the day's graph; returns the mean and the chance level (k over the
    day's stocks). The neighbour part of the oracle reaches a model only through these
    edges, so this bounds what biagru_gat can learn of it.

    Raises:
        ValueError: the dataset has no graph, or the warehouse has no planted neighbours.
    """
    if data.graph is None:
        raise ValueError("planted_recall needs a dataset built with a graph (needs_graph)")
    graph = data.graph
    planted_by_day = PlantedNeighbours(data.stock_ids, warehouse)
    days = list(data.dates[::20] if days is None else days)
    recalls, chances = [], []
    for day in days:
        stocks = data.stocks_on(day)
        present = np.zeros(len(data.stock_ids), dtype=bool)
        present[stocks] = True
        planted = planted_by_day.edges(day)
        planted = {(int(s), int(n)) for n, s in planted.T if present[s] and present[n]}
        if not planted:
            continue
        edges = stocks[graph.edges(day, stocks)]
        ours = set(zip(edges[1].tolist(), edges[0].tolist(), strict=True))
        recalls.append(len(ours & planted) / len(planted))
        chances.append(graph.k / max(len(stocks) - 1, 1))
    if not recalls:
        raise ValueError("no day with planted neighbours among the dataset's days")
    return {"recall": float(np.mean(recalls)), "chance": float(np.mean(chances)),
            "days": len(recalls)}


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


def ridge_probe(data: FeastDayBatches, warehouse: str | Path, first_test: dt.date, *,
                lags: int = 10, volume_lags: int = 5, alpha: float = 10.0) -> dict[str, float]:
    """Out-of-sample mean daily Rank IC of the three ridge probes (see the module docstring),
    with the numbers of training and test days.

    Raises:
        ValueError: the dataset has no graph, or no training or test day.
    """
    from zoo.metrics import rank_ic

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
        ics = [rank_ic(np.clip(blocks[i] / scale, -5, 5) @ w, labels[i]) for i in test_days]
        out[name] = float(np.nanmean(ics))
    return out


def graph_reach(first_year: int, recall_every: int = 20) -> dict[str, Any]:
    """What the graph can carry on the market of $ZOO_HOME: the planted recall over every
    `recall_every`-th scored day (from 1 January of `first_year`) and the ridge probes fitted
    before that day and tested from it, on biagru_gat's dataset over every day."""
    import zoo.models  # noqa: F401  (registers the models)
    from zoo.datasets.day_batches import build_day_batches
    from zoo.paths import warehouse_path
    from zoo.registry import model_contract

    first = dt.date(first_year, 1, 1)
    data = build_day_batches(model_contract("biagru_gat"), dt.date(1990, 1, 1),
                             dt.date(2100, 1, 1), progress=False)
    scored = [d for d in data.dates if d >= first]
    return {"recall": planted_recall(data, warehouse_path(), scored[::recall_every]),
            "probe": ridge_probe(data, warehouse_path(), first)}
