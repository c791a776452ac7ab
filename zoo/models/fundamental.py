"""Fundamentals only: a GRU over the last 12 quarters, then an MLP (the report's
"深度学习基本面因子"; GRU + MLP because the quarterly sequence is short)."""

from __future__ import annotations

from torch import Tensor, nn

from zoo.layers import MLP, FundamentalGRUEncoder
from zoo.registry import DataContract, register_model
from zoo.vocabulary import FUNDAMENTAL_FIELDS


class FundGRUMLP(nn.Module):
    """`FundamentalGRUEncoder` over the quarters, then an MLP head.

    Args:
        fund_features: fields per quarter G.
        hidden_channels: GRU hidden size.
        num_layers: stacked GRU layers.
        head_channels: hidden width of the MLP head.
        dropout: dropout in the head (and between GRU layers).

    Shapes:
        - batch["fundamentals"]: [N, Q, G] (oldest quarter first); batch["fund_mask"]: [N, Q]
        - output: [N]
    """

    def __init__(self, fund_features: int, hidden_channels: int, num_layers: int,
                 head_channels: int, dropout: float) -> None:
        super().__init__()
        self.encoder = FundamentalGRUEncoder(fund_features, hidden_channels, num_layers, dropout)
        self.head = MLP([self.encoder.out_channels, head_channels, 1], dropout)

    def reset_parameters(self) -> None:
        self.encoder.reset_parameters()
        self.head.reset_parameters()

    def forward(self, batch: dict[str, Tensor]) -> Tensor:
        h = self.encoder(batch["fundamentals"], batch["fund_mask"])
        return self.head(h).squeeze(-1)


@register_model(contract=DataContract(
    inputs=("fundamentals", "fund_mask"),
    feature_services=("fundamentals_v1",),
))
def fund_gru_mlp(*, fund_features: int = len(FUNDAMENTAL_FIELDS), hidden_channels: int = 64,
                 num_layers: int = 1, head_channels: int = 64,
                 dropout: float = 0.1) -> FundGRUMLP:
    """Fundamentals only: GRU over 12 quarters of 19 standardised fields, then an MLP."""
    return FundGRUMLP(fund_features, hidden_channels, num_layers, head_channels, dropout)
