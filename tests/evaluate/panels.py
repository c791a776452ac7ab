"""Hand-made panels (the frame zoo.evaluate.inputs.load_panel returns) for measure tests."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import polars as pl

HORIZONS = (5, 10, 15, 20)


def make_panel(stocks: int = 200, days: int = 100, seed: int = 0, signal: float = 0.0,
               step: int = 1) -> pl.DataFrame:
    """`days` rebalance days (day_index 0, step, 2*step...) of `stocks` stocks, all in the
    universe and tradable, with normal factors; returns = signal * factor + noise."""
    rng = np.random.default_rng(seed)
    n = stocks * days
    day = np.repeat(np.arange(days), stocks)
    factor = rng.standard_normal(n)
    frame = {
        "stock_id": [f"{i:06d}.SZ" for i in np.tile(np.arange(stocks), days)],
        "trade_date": [date(2019, 1, 1) + timedelta(days=int(d) * step) for d in day],
        "day_index": (day * step).astype(np.int32),
        "factor": factor,
        "in_universe": np.ones(n, dtype=bool),
    }
    for h in HORIZONS:
        for label in ("close", "vwap"):
            frame[f"ret_{label}_{h}"] = (signal * factor * 0.01
                                         + 0.02 * rng.standard_normal(n))
        frame[f"hold_vwap_{h}"] = frame[f"ret_vwap_{h}"]  # nothing suspended
    frame["buyable"] = np.ones(n, dtype=bool)
    frame["sellable"] = np.ones(n, dtype=bool)
    return pl.DataFrame(frame)
