"""Sequence encoders: BiAGRU over the daily price-volume window, a GRU over quarters."""

from __future__ import annotations

import warnings

import torch
from torch import Tensor, nn

from zoo.layers.attention import AttentionPooling
from zoo.layers.norm import InputNorm, group_demeaned, make_input_norm, normalise_window

__all__ = ["BiAGRUEncoder", "FundamentalGRUEncoder", "InputNorm"]

NO_INDUSTRIES = (
    "industry_neutral is on, but no stock of the batch has a known industry: the warehouse has "
    "no industries (AShareIndustriesClassCITICS empty, or its codes NULL), so the price-volume "
    "inputs are not industry-neutralised (the encoder reads them relative to the market only)")


class BiAGRUEncoder(nn.Module):
    r"""BiAGRU: input normalisation, a bidirectional GRU, attention pooling over the days.

    Each stock's window of daily price-volume features becomes one representation. Stocks
    outside `mask` (no full window) are read as zeros and left out of the batch statistics,
    so their inputs change no other stock's representation.

    Args:
        in_channels: daily features F (6: open, high, low, close, VWAP over the last close;
            volume over its window mean).
        hidden_channels: GRU hidden size per direction; the output has twice this.
        num_layers: stacked GRU layers.
        dropout: dropout between GRU layers (only when `num_layers > 1`).
        input_norm: "batch" (per feature, over the day's valid stocks and all days of the
            window; running statistics at evaluation), "layer" (per day, over the F features),
            "rank" (`CrossSectionalRank`: each day and feature ranked across the day's valid
            stocks, so market moves drop out and the scale is the same at every lag) or
            "none".
        attention_channels: size of the attention scoring layer (default the output size).
        industry_neutral: also feed the GRU the normalised inputs minus their mean over the
            day's valid stocks of the same industry (`group_demeaned`), so it reads each day
            both relative to the market and relative to the industry; the GRU then takes 2F
            features. With no industry known in a batch (a warehouse without CITIC
            industries) that second half equals the first; the encoder warns once.

    Shapes:
        - x: [N, T, F]
        - mask: [N] bool (True = full window), or None for all valid
        - group: [N] long industry of each stock (-1 unknown), or None for one industry
        - output: [N, 2 * hidden_channels]
    """

    def __init__(self, in_channels: int, hidden_channels: int = 64, num_layers: int = 1,
                 dropout: float = 0.0, input_norm: InputNorm = "batch",
                 attention_channels: int | None = None,
                 industry_neutral: bool = False) -> None:
        super().__init__()
        self.in_channels = in_channels
        self.hidden_channels = hidden_channels
        self.out_channels = 2 * hidden_channels
        self.input_norm = input_norm
        self.industry_neutral = industry_neutral
        self._warned_no_industries = False
        self.norm = make_input_norm(input_norm, in_channels)
        gru_in = 2 * in_channels if industry_neutral else in_channels
        self.gru = nn.GRU(gru_in, hidden_channels, num_layers=num_layers, batch_first=True,
                          bidirectional=True, dropout=dropout if num_layers > 1 else 0.0)
        self.pool = AttentionPooling(self.out_channels, attention_channels)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        if self.norm is not None:
            self.norm.reset_parameters()
        self.gru.reset_parameters()
        self.pool.reset_parameters()

    def forward(self, x: Tensor, mask: Tensor | None = None,
                group: Tensor | None = None) -> Tensor:
        x = normalise_window(self.norm, x, mask)
        if self.industry_neutral:
            # Without industries the demeaning silently does nothing: say so, once.
            if (group is not None and not self._warned_no_industries
                    and not bool((group >= 0).any())):
                warnings.warn(NO_INDUSTRIES, stacklevel=2)
                self._warned_no_industries = True
            x = torch.cat([x, group_demeaned(x, group, mask)], dim=-1)
        hidden, _ = self.gru(x)
        return self.pool(hidden)


class FundamentalGRUEncoder(nn.Module):
    r"""GRU over a stock's last quarters of (standardised) fundamentals; the last hidden state
    is the representation.

    Unknown quarters are read as zeros and the quarter mask is appended as one more input
    feature, so the GRU can tell "unknown" from "average" and the values stored in unknown
    quarters never matter.

    Args:
        in_channels: fundamental fields F per quarter (19).
        hidden_channels: GRU hidden size H.
        num_layers: stacked GRU layers.
        dropout: dropout between GRU layers (only when `num_layers > 1`).

    Shapes:
        - x: [N, Q, F], oldest quarter first
        - mask: [N, Q] bool (True = known quarter), or None for all known
        - output: [N, H]
    """

    def __init__(self, in_channels: int, hidden_channels: int = 64, num_layers: int = 1,
                 dropout: float = 0.0) -> None:
        super().__init__()
        self.in_channels = in_channels
        self.hidden_channels = hidden_channels
        self.out_channels = hidden_channels
        self.gru = nn.GRU(in_channels + 1, hidden_channels, num_layers=num_layers,
                          batch_first=True, dropout=dropout if num_layers > 1 else 0.0)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        self.gru.reset_parameters()

    def forward(self, x: Tensor, mask: Tensor | None = None) -> Tensor:
        if mask is None:
            mask = torch.ones(x.shape[:2], dtype=torch.bool, device=x.device)
        x = torch.where(mask[..., None], x, x.new_zeros(()))
        x = torch.cat([x, mask[..., None].to(x.dtype)], dim=-1)
        _, last = self.gru(x)
        return last[-1]
