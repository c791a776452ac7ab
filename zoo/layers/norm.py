"""Input normalisation over features that leaves masked stocks out of the statistics."""

from __future__ import annotations

import torch
from torch import Tensor, nn


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
