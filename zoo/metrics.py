"""Rank IC, defined once: the Spearman correlation, across one day's stocks, of a score and a
forward return (ties share their average rank, as scipy.stats.spearmanr), and its summary over
days.

The same definition comes in the three forms its callers hold data in: polars frames (factor
evaluation, run scores, the synthetic market's oracle), numpy arrays (diagnostics) and torch
tensors on the training device (validation inside the training loop).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np
    import polars as pl
    import torch

__all__ = ["MIN_STOCKS", "daily_rank_ic", "ic_summary", "rank_ic", "rank_ic_tensor"]

MIN_STOCKS = 3  # fewer stocks than this make no day's IC


def daily_rank_ic(frame: pl.DataFrame | pl.LazyFrame, score: str = "score",
                  label: str = "label", by: str = "trade_date") -> pl.DataFrame:
    """Rank IC of `score` against `label` per `by` group (a day): columns `by`, ic, stocks.

    Rows where either value is null or NaN do not count; a day with fewer than `MIN_STOCKS`
    stocks is dropped; a day where one side is constant has a NaN ic (kept, for the caller to
    see). Sorted by `by`.
    """
    import polars as pl

    valid = (pl.col(score).is_not_null() & pl.col(label).is_not_null()
             & pl.col(score).is_not_nan() & pl.col(label).is_not_nan())
    out = (frame.lazy().filter(valid)
           .with_columns(pl.col(score).rank("average").over(by).alias("_rank_score"),
                         pl.col(label).rank("average").over(by).alias("_rank_label"))
           .group_by(by)
           .agg(pl.corr("_rank_score", "_rank_label").alias("ic"), pl.len().alias("stocks"))
           .filter(pl.col("stocks") >= MIN_STOCKS)
           .sort(by))
    return out.collect()


def ic_summary(ic: pl.DataFrame | pl.Series | Sequence[float]) -> dict[str, float | int]:
    """Mean, standard deviation (ddof 1), ICIR (mean / std, not annualised), win rate (share of
    periods with IC > 0) and the number of periods of an IC series; NaN ICs are dropped.

    `ic` is a frame with an `ic` column, a series, or a sequence of floats.
    """
    if hasattr(ic, "columns"):
        ic = ic["ic"]
    values = [float(v) for v in (ic.to_list() if hasattr(ic, "to_list") else ic)
              if v is not None and not math.isnan(float(v))]
    n = len(values)
    mean = sum(values) / n if n else math.nan
    std = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1)) if n > 1 else math.nan
    return {"mean": mean, "std": std,
            "icir": mean / std if n > 1 and std > 0 else math.nan,
            "win_rate": sum(v > 0 for v in values) / n if n else math.nan,
            "periods": n}


def rank_ic(score: np.ndarray, label: np.ndarray) -> float:
    """Rank IC of one day's arrays (NaN where either is NaN is dropped); NaN below
    `MIN_STOCKS` stocks or for a constant side."""
    import numpy as np
    from scipy.stats import rankdata

    score, label = np.asarray(score, dtype=np.float64), np.asarray(label, dtype=np.float64)
    keep = np.isfinite(score) & np.isfinite(label)
    if keep.sum() < MIN_STOCKS:
        return math.nan
    a, b = rankdata(score[keep]), rankdata(label[keep])
    a, b = a - a.mean(), b - b.mean()
    denominator = math.sqrt(float((a * a).sum() * (b * b).sum()))
    return float((a * b).sum() / denominator) if denominator > 0 else math.nan


def _average_rank(x: torch.Tensor) -> torch.Tensor:
    """Ranks 0..n-1 of a 1-d tensor, ties sharing their average rank (as Spearman's rho)."""
    import torch

    sorted_x, order = torch.sort(x)
    _, inverse, counts = torch.unique_consecutive(sorted_x, return_inverse=True,
                                                  return_counts=True)
    ends = counts.cumsum(0)
    average = (ends - counts + ends - 1).to(torch.float64) / 2
    ranks = torch.empty_like(average[inverse])
    ranks[order] = average[inverse]
    return ranks


def rank_ic_tensor(score: torch.Tensor, label: torch.Tensor,
                   mask: torch.Tensor) -> torch.Tensor:
    """Rank IC of one day's tensors over the stocks in `mask` (and finite), on their device.

    Returns a 0-d float64 tensor; NaN below `MIN_STOCKS` stocks or for a constant side.

    Shapes:
        - score, label: [N]; mask: [N] bool
    """
    import torch

    score, label = score.detach().to(torch.float64), label.detach().to(torch.float64)
    keep = mask & torch.isfinite(score) & torch.isfinite(label)
    if int(keep.sum()) < MIN_STOCKS:
        return torch.tensor(float("nan"), dtype=torch.float64, device=score.device)
    a, b = _average_rank(score[keep]), _average_rank(label[keep])
    a, b = a - a.mean(), b - b.mean()
    denominator = torch.sqrt((a * a).sum() * (b * b).sum())
    return (a * b).sum() / denominator  # 0 / 0 = NaN for a constant side
