"""Input normalisation over features that leaves masked stocks out of the statistics."""

from __future__ import annotations

from typing import Literal

import torch
from torch import Tensor, nn

InputNorm = Literal["batch", "layer", "rank", "none"]


class MaskedBatchNorm(nn.Module):
    r"""Batch normalisation over the last (feature) dimension, with statistics taken only over
    the stocks a mask marks valid.

    In training the mean and variance of each feature come from every valid stock and every
    leading position (e.g. all 40 days of all valid stocks); running estimates are kept for
    evaluation, as in `nn.BatchNorm1d`. A stock without a full window therefore changes
    neither the statistics nor any other stock's output.

    Args:
        num_features: size F of the last dimension.
        eps: added to the variance.
        momentum: weight of the current batch in the running statistics.
        affine: learn a per-feature scale and shift.

    Shapes:
        - x: [N, *, F]
        - mask: [N] bool, or None for all valid
        - output: [N, *, F]
    """

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float = 0.1,
                 affine: bool = True) -> None:
        super().__init__()
        self.num_features = num_features
        self.eps = eps
        self.momentum = momentum
        self.affine = affine
        self.weight = nn.Parameter(torch.empty(num_features)) if affine else None
        self.bias = nn.Parameter(torch.empty(num_features)) if affine else None
        self.register_buffer("running_mean", torch.zeros(num_features))
        self.register_buffer("running_var", torch.ones(num_features))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        self.running_mean.zero_()
        self.running_var.fill_(1.0)
        if self.affine:
            nn.init.ones_(self.weight)
            nn.init.zeros_(self.bias)

    def forward(self, x: Tensor, mask: Tensor | None = None) -> Tensor:
        valid = x if mask is None else x[mask]
        rows = valid.reshape(-1, self.num_features)
        # Fewer than two valid values give no variance: fall back on the running statistics.
        if self.training and rows.shape[0] > 1:
            mean = rows.mean(0)
            var = rows.var(0, unbiased=False)
            with torch.no_grad():
                unbiased = var * rows.shape[0] / (rows.shape[0] - 1)
                self.running_mean.lerp_(mean.detach(), self.momentum)
                self.running_var.lerp_(unbiased.detach(), self.momentum)
        else:
            mean, var = self.running_mean, self.running_var
        out = (x - mean) * torch.rsqrt(var + self.eps)
        if self.affine:
            out = out * self.weight + self.bias
        return out

    def extra_repr(self) -> str:
        return f"{self.num_features}, eps={self.eps}, momentum={self.momentum}"


class CrossSectionalRank(nn.Module):
    r"""Each input replaced by its rank across the day's valid stocks, as a normal score.

    For x [N, T, F] every (day of the window, feature) column is ranked over the stocks that
    `mask` marks valid, and the rank r (0 .. n-1) becomes :math:`\Phi^{-1}((r + 0.5) / n)`,
    so each column is standard normal across stocks whatever the market did that day. This is
    the normalisation of a cross-sectional model: a stock's price 5 days ago over its last
    close, ranked among the day's stocks, is its 5-day return relative to the market, and the
    volume ratio needs no log (ranks ignore monotone transforms and outliers). Ties share the
    mean of their ranks; masked stocks get 0 and enter no rank.

    Args:
        num_features: size F of the last dimension (for `extra_repr` and checks).
        affine: learn a per-feature scale and shift after the transform.

    Shapes:
        - x: [N, T, F]
        - mask: [N] bool, or None for all valid
        - output: [N, T, F]
    """

    def __init__(self, num_features: int, affine: bool = True) -> None:
        super().__init__()
        self.num_features = num_features
        self.affine = affine
        self.weight = nn.Parameter(torch.empty(num_features)) if affine else None
        self.bias = nn.Parameter(torch.empty(num_features)) if affine else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        if self.affine:
            nn.init.ones_(self.weight)
            nn.init.zeros_(self.bias)

    def forward(self, x: Tensor, mask: Tensor | None = None) -> Tensor:
        if x.shape[-1] != self.num_features:
            raise ValueError(f"expected {self.num_features} features, got {x.shape[-1]}")
        out = torch.zeros_like(x)
        valid = x if mask is None else x[mask]
        n = valid.shape[0]
        if n > 0:
            with torch.no_grad():
                scores = normal_scores(valid.float()).to(x.dtype)
            if mask is None:
                out = scores
            else:
                out[mask] = scores
        if self.affine:
            out = out * self.weight + self.bias
            if mask is not None:
                out = torch.where(mask[:, None, None], out, out.new_zeros(()))
        return out

    def extra_repr(self) -> str:
        return f"{self.num_features}, affine={self.affine}"


def normal_scores(x: Tensor) -> Tensor:
    """Normal scores of the ranks along dim 0 (ties: mean rank); [n, ...] -> [n, ...]."""
    n = x.shape[0]
    flat = x.reshape(n, -1)
    order = flat.argsort(dim=0, stable=True)
    sorted_values = flat.gather(0, order)
    position = torch.arange(n, device=x.device, dtype=flat.dtype)[:, None].expand_as(flat)
    # mean rank of each run of equal values: first and last position of the run
    new_run = torch.ones_like(sorted_values, dtype=torch.bool)
    new_run[1:] = sorted_values[1:] != sorted_values[:-1]
    run_id = new_run.cumsum(0) - 1
    first = torch.zeros_like(flat).scatter_reduce(0, run_id, position, "amin", include_self=False)
    last = torch.zeros_like(flat).scatter_reduce(0, run_id, position, "amax", include_self=False)
    mean_rank = ((first + last) / 2).gather(0, run_id)
    ranks = torch.empty_like(flat).scatter_(0, order, mean_rank)
    p = (ranks + 0.5) / n
    return (torch.special.ndtri(p)).reshape(x.shape)


def group_demeaned(x: Tensor, group: Tensor | None, mask: Tensor | None = None) -> Tensor:
    r"""Each stock's values minus the mean over the valid stocks of its group (its industry).

    Every (day of the window, feature) column of x is demeaned within each group, the mean
    taken over the stocks that `mask` marks valid. A stock of group -1 (unknown) or outside
    `mask` keeps its values. `group=None` puts every stock in one group, so the output is the
    cross-sectional demeaning.

    On ranked price-volume windows this turns "relative to the market" into "relative to the
    industry": the industry factor that every member's return carries drops out, and what is
    left is closer to the stock's own (idiosyncratic) move.

    Shapes:
        - x: [N, *]
        - group: [N] long, -1 = unknown; or None
        - mask: [N] bool, or None for all valid
        - output: same as x
    """
    n = x.shape[0]
    if group is None:
        group = torch.zeros(n, dtype=torch.long, device=x.device)
    valid = group >= 0
    if mask is not None:
        valid = valid & mask
    if n == 0 or not bool(valid.any()):
        return x
    flat = x.reshape(n, -1)
    ids = torch.where(valid, group, torch.zeros_like(group))
    groups = int(ids.max()) + 1
    sums = flat.new_zeros(groups, flat.shape[1]).index_add_(0, ids[valid], flat[valid])
    counts = torch.bincount(ids[valid], minlength=groups).to(flat.dtype)
    mean = sums / counts.clamp(min=1)[:, None]
    out = torch.where(valid[:, None], flat - mean[ids], flat)
    return out.reshape(x.shape)


def make_input_norm(input_norm: InputNorm, channels: int) -> nn.Module | None:
    """The normalisation a window encoder applies to its [N, T, F] input: "batch"
    (`MaskedBatchNorm`), "layer" (`nn.LayerNorm` over the F features), "rank"
    (`CrossSectionalRank`) or "none" (None)."""
    if input_norm == "batch":
        return MaskedBatchNorm(channels)
    if input_norm == "layer":
        return nn.LayerNorm(channels)
    if input_norm == "rank":
        return CrossSectionalRank(channels)
    if input_norm == "none":
        return None
    raise ValueError("input_norm must be 'batch', 'layer', 'rank' or 'none', "
                     f"not {input_norm!r}")


def normalise_window(norm: nn.Module | None, x: Tensor, mask: Tensor | None) -> Tensor:
    """`x` [N, T, F] with the rows outside `mask` [N] zeroed, then through `norm` (from
    `make_input_norm`; the masked-aware ones take the mask). Zeroed, not only ignored: a
    masked window may hold NaN, and NaN * 0 is NaN."""
    if mask is not None:
        x = torch.where(mask[:, None, None], x, x.new_zeros(()))
    if isinstance(norm, MaskedBatchNorm | CrossSectionalRank):
        return norm(x, mask)
    if norm is not None:
        return norm(x)
    return x
