"""The orthogonal output layer of the two-stage model: factors uncorrelated across stocks."""

from __future__ import annotations

import torch
from torch import Tensor, nn


class OrthogonalFactorHead(nn.Module):
    r"""A linear layer followed by Cholesky whitening over the day's stocks, so the K output
    factors are mutually uncorrelated (and of unit variance) across the valid stocks of the
    batch, in training and in evaluation alike.

    With :math:`Z` the linear outputs, centred and scaled to unit variance over the valid
    stocks, :math:`R` their correlation matrix and :math:`LL^\top = R + \epsilon I`, the output
    is :math:`Z L^{-\top}`, whose covariance is :math:`I - \epsilon (R + \epsilon I)^{-1}`:
    uncorrelated up to :math:`\epsilon` when :math:`R` is well conditioned (it cannot be with
    fewer valid stocks than factors). Whitening (rather than a decorrelation penalty) makes
    the factors uncorrelated exactly on every day; Cholesky (rather than ZCA through an
    eigendecomposition) keeps the gradient finite when eigenvalues are close. The k-th factor
    is the part of the k-th linear output not explained by the ones before it (Gram-Schmidt).

    Args:
        in_channels: input representation size C.
        num_factors: number of factors K (32 in the report); at most `in_channels`, since K
            uncorrelated factors need a representation spanning K dimensions.
        eps: ridge added to the correlation matrix before the Cholesky factorisation: it
            caps the gain on near-degenerate directions at 1/sqrt(eps) (and leaves them
            correlated by about eps / their eigenvalue).

    Shapes:
        - x: [N, C]
        - mask: [N] bool (stocks the statistics are taken over), or None for all
        - output: [N, K]; rows outside `mask` are transformed with the same statistics
    """

    def __init__(self, in_channels: int, num_factors: int = 32, eps: float = 1e-6) -> None:
        super().__init__()
        if num_factors > in_channels:
            raise ValueError(f"{num_factors} uncorrelated factors need at least as many input "
                             f"channels, got {in_channels}")
        self.in_channels = in_channels
        self.num_factors = num_factors
        self.eps = eps
        self.lin = nn.Linear(in_channels, num_factors)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        self.lin.reset_parameters()

    def forward(self, x: Tensor, mask: Tensor | None = None) -> Tensor:
        z = self.lin(x)
        # The K x K statistics are cheap; float64 keeps the Cholesky factor accurate.
        zd = z.double()
        weight = (torch.ones(z.shape[0], dtype=zd.dtype, device=z.device) if mask is None
                  else mask.to(zd.dtype))
        count = weight.sum().clamp_min(2.0)
        mean = (zd * weight[:, None]).sum(0) / count
        centred = zd - mean
        valid = centred * weight[:, None]
        cov = valid.T @ valid / (count - 1)
        scale = torch.sqrt(cov.diagonal() + 1e-12)
        standard = centred / scale
        corr = cov / (scale[:, None] * scale[None, :])
        eye = torch.eye(self.num_factors, dtype=zd.dtype, device=z.device)
        chol = torch.linalg.cholesky(corr + self.eps * eye)
        # out = standard @ L^-T, i.e. solve L out^T = standard^T.
        white = torch.linalg.solve_triangular(chol, standard.T, upper=False).T
        return white.to(z.dtype)

    def extra_repr(self) -> str:
        return f"{self.in_channels}, num_factors={self.num_factors}, eps={self.eps}"
