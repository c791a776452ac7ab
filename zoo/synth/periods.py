"""Books of half-open [entry, remove) periods per stock: ST designations, CITIC industry
codes and index memberships are all kept this way, and written as Wind's period tables."""

from __future__ import annotations

import numpy as np


class _PeriodBook:
    """Half-open [entry, remove) periods, one open period per (group, stock) at a time."""

    def __init__(self, groups: int, n: int) -> None:
        self.entry = np.full((groups, n), -1, dtype=np.int64)
        self.tag = np.zeros((groups, n), dtype=np.int64)
        self.extra = np.zeros((groups, n), dtype=np.int64)
        self.closed: list[tuple[np.ndarray, ...]] = []  # group, stock, entry, remove, tag, extra

    def is_open(self, group: int) -> np.ndarray:
        return self.entry[group] >= 0

    def open(self, group: int, stocks: np.ndarray, day: np.ndarray | int,
             tag: np.ndarray | int = 0, extra: np.ndarray | int = 0) -> None:
        self.entry[group, stocks] = day
        self.tag[group, stocks] = tag
        self.extra[group, stocks] = extra

    def close(self, group: int, stocks: np.ndarray, day: int) -> None:
        stocks = stocks[self.entry[group, stocks] >= 0]
        self.closed.append((np.full(len(stocks), group), stocks, self.entry[group, stocks],
                            np.full(len(stocks), day), self.tag[group, stocks],
                            self.extra[group, stocks]))
        self.entry[group, stocks] = -1

    def periods(self, remove_open: np.ndarray) -> dict[str, np.ndarray]:
        """All periods; open ones end at `remove_open[stock]` (-1 = still open)."""
        group, stock = np.nonzero(self.entry >= 0)
        parts = self.closed + [(group, stock, self.entry[group, stock], remove_open[stock],
                                self.tag[group, stock], self.extra[group, stock])]
        cols = [np.concatenate([p[i] for p in parts]).astype(np.int64) for i in range(6)]
        order = np.lexsort((cols[2], cols[1], cols[0]))
        return dict(zip(("group", "stock", "entry", "remove", "tag", "extra"),
                        (c[order] for c in cols), strict=True))
