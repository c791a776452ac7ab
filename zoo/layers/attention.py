"""Attention pooling over time steps (the "A" of BiAGRU and of Qlib's ALSTM), and attention
over every stock of the day (Qlib's GATs)."""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn


class AttentionPooling(nn.Module):
    r"""Additive attention over the time steps of a sequence of hidden states:

    .. math::
        e_t = v^\top \tanh(W h_t + b), \qquad
        \alpha_t = \frac{\exp e_t}{\sum_{s \in \text{valid}} \exp e_s}, \qquad
        \text{out} = \sum_t \alpha_t h_t

    Masked steps get zero weight; a sequence with no valid step pools to zeros.

    Args:
        in_channels: size C of each hidden state.
        hidden_channels: size of the scoring layer (default `in_channels`).
        dropout: dropout on :math:`W h_t + b` before the tanh (Qlib's ALSTM has it there).

    Shapes:
        - x: [N, T, C]
        - mask: [N, T] bool (True = valid step), or None for all valid
        - output: [N, C]; `attention(...)`: [N, T], each row summing to 1 (or all 0)
    """

    def __init__(self, in_channels: int, hidden_channels: int | None = None,
                 dropout: float = 0.0) -> None:
        super().__init__()
        self.in_channels = in_channels
        self.hidden_channels = hidden_channels or in_channels
        self.proj = nn.Linear(in_channels, self.hidden_channels)
        self.dropout = nn.Dropout(dropout)
        self.score = nn.Linear(self.hidden_channels, 1, bias=False)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        self.proj.reset_parameters()
        self.score.reset_parameters()

    def attention(self, x: Tensor, mask: Tensor | None = None) -> Tensor:
        """Attention weights over the time steps, [N, T]."""
        scores = self.score(torch.tanh(self.dropout(self.proj(x)))).squeeze(-1)
        if mask is None:
            return torch.softmax(scores, dim=-1)
        # A row with no valid step would be softmax over all -inf (NaN): score it 0, weight it 0.
        any_valid = mask.any(dim=-1, keepdim=True)
        scores = scores.masked_fill(~mask, float("-inf")).masked_fill(~any_valid, 0.0)
        return torch.softmax(scores, dim=-1) * any_valid

    def forward(self, x: Tensor, mask: Tensor | None = None) -> Tensor:
        weights = self.attention(x, mask)
        return torch.einsum("nt,ntc->nc", weights, x)

    def extra_repr(self) -> str:
        return f"{self.in_channels}, hidden_channels={self.hidden_channels}"


class DayAttention(nn.Module):
    r"""Attention of each stock over every stock of the day, itself included (a dense graph
    over the day's cross-section), added back to its own representation: the aggregation of
    Qlib's GATs (`qlib/contrib/model/pytorch_gats.py`, `GATModel.cal_attention` and
    `forward`):

    .. math::
        x'_i = W x_i + b, \qquad
        e_{ij} = \mathrm{LeakyReLU}\big(a^\top [x'_j \,\Vert\, x'_i]\big), \qquad
        \alpha_{ij} = \frac{\exp e_{ij}}{\sum_{k \in \text{valid}} \exp e_{ik}}, \qquad
        \text{out}_i = x_i + \sum_{j \in \text{valid}} \alpha_{ij} x_j

    The weighted sum is over the untransformed :math:`x_j`, as in Qlib. Qlib materialises
    every pair :math:`[x'_j \Vert x'_i]` ([N * N, 2C]); since :math:`a^\top [x'_j \Vert x'_i]
    = a_1^\top x'_j + a_2^\top x'_i`, the scores are computed here as an outer sum, the same
    numbers in [N, N] memory. Only stocks in `mask` are attended to (a stock without inputs
    lends nothing); every stock, masked or not, gets an output. With no valid stock the
    output is the input.

    Args:
        channels: representation size C.
        negative_slope: LeakyReLU slope of the scores (Qlib: `nn.LeakyReLU()`, 0.01).

    Shapes:
        - x: [N, C]
        - mask: [N] bool (stocks that may be attended to), or None for all
        - output: [N, C]; `attention(...)`: [N, N], row i the weights of stock i
    """

    def __init__(self, channels: int, negative_slope: float = 0.01) -> None:
        super().__init__()
        self.channels = channels
        self.negative_slope = negative_slope
        self.transform = nn.Linear(channels, channels)
        self.a = nn.Parameter(torch.empty(2 * channels))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        self.transform.reset_parameters()
        # Qlib draws `a` from N(0, 1); scaled like a linear layer's weights here, so the first
        # scores are not already saturated into one-hot weights.
        bound = 1.0 / math.sqrt(2 * self.channels)
        nn.init.uniform_(self.a, -bound, bound)

    def attention(self, x: Tensor, mask: Tensor | None = None) -> Tensor:
        """Weights [N, N]: row i sums to 1 over the valid stocks (0 elsewhere), or is all 0."""
        h = self.transform(x)
        source = h @ self.a[:self.channels]  # a_1 . x'_j, [N]
        target = h @ self.a[self.channels:]  # a_2 . x'_i, [N]
        scores = nn.functional.leaky_relu(target[:, None] + source[None, :],
                                          self.negative_slope)
        if mask is None:
            return torch.softmax(scores, dim=-1)
        if not bool(mask.any()):
            return scores.new_zeros(scores.shape)
        scores = scores.masked_fill(~mask[None, :], float("-inf"))
        return torch.softmax(scores, dim=-1)

    def forward(self, x: Tensor, mask: Tensor | None = None) -> Tensor:
        return x + self.attention(x, mask) @ x

    def extra_repr(self) -> str:
        return f"{self.channels}, negative_slope={self.negative_slope}"
