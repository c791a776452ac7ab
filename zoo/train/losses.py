"""Training losses over one trading day's cross-section: MSE on the standardised label, and the
negative information coefficient (Pearson correlation of score and label across stocks)."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

Loss = Callable[[Tensor, Tensor, Tensor], Tensor]


def _valid(score: Tensor, label: Tensor, mask: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    # Labels outside the mask may be NaN, and NaN * 0 is NaN: replace them, then weight by 0/1.
    weight = mask.to(score.dtype)
    label = torch.where(mask, label, label.new_zeros(())).to(score.dtype)
    return score, label, weight


def mse_loss(score: Tensor, label: Tensor, mask: Tensor) -> Tensor:
    """Mean squared error over the stocks in `mask`; 0 (with a gradient) when none is.

    Shapes:
        - score, label: [N] float; mask: [N] bool
        - output: scalar
    """
    score, label, weight = _valid(score, label, mask)
    return ((score - label) ** 2 * weight).sum() / weight.sum().clamp_min(1.0)


def neg_ic_loss(score: Tensor, label: Tensor, mask: Tensor, eps: float = 1e-8) -> Tensor:
    """Minus the Pearson correlation of score and label over the stocks in `mask`.

    Safe for constant inputs: a constant score or label (or fewer than two stocks) gives 0 and
    a finite gradient, because `eps` is added to each variance before the square root.

    Shapes:
        - score, label: [N] float; mask: [N] bool
        - output: scalar in [-1, 1]
    """
    score, label, weight = _valid(score, label, mask)
    count = weight.sum().clamp_min(1.0)
    s = (score - (score * weight).sum() / count) * weight
    y = (label - (label * weight).sum() / count) * weight
    cov = (s * y).sum() / count
    var_s = (s * s).sum() / count
    var_y = (y * y).sum() / count
    return -cov / (torch.sqrt(var_s + eps) * torch.sqrt(var_y + eps))


LOSSES: dict[str, Loss] = {"mse": mse_loss, "neg_ic": neg_ic_loss}


def get_loss(name: str) -> Loss:
    """The loss called `name`: "mse" or "neg_ic"."""
    if name not in LOSSES:
        raise ValueError(f"unknown loss {name!r}; choose one of {', '.join(LOSSES)}")
    return LOSSES[name]
