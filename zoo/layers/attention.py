"""Attention pooling over time steps (the "A" of BiAGRU)."""

from __future__ import annotations

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

    Shapes:
        - x: [N, T, C]
        - mask: [N, T] bool (True = valid step), or None for all valid
        - output: [N, C]; `attention(...)`: [N, T], each row summing to 1 (or all 0)
    """

    def __init__(self, in_channels: int, hidden_channels: int | None = None) -> None:
        super().__init__()
        self.in_channels = in_channels
        self.hidden_channels = hidden_channels or in_channels
        self.proj = nn.Linear(in_channels, self.hidden_channels)
        self.score = nn.Linear(self.hidden_channels, 1, bias=False)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        self.proj.reset_parameters()
        self.score.reset_parameters()

    def attention(self, x: Tensor, mask: Tensor | None = None) -> Tensor:
        """Attention weights over the time steps, [N, T]."""
        scores = self.score(torch.tanh(self.proj(x))).squeeze(-1)
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
