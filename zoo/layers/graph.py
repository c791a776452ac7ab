"""Graph correction: a stock's representation corrected by its fundamental neighbours'."""

from __future__ import annotations

from torch import Tensor, nn
from torch_geometric.nn import GATConv


class GATResidual(nn.Module):
    r"""Multi-head graph attention over the fundamental-similarity graph, added back to the
    input and layer-normalised:

    .. math::
        x_i' = \mathrm{LayerNorm}\Big(x_i + \big\Vert_{h=1}^{H}
               \sum_{j \in \mathcal{N}(i)} \alpha^h_{ij} W^h x_j\Big)

    The attention runs over neighbours only (no self loops, no bias), so the GAT term is the
    correction a stock gets from its neighbours' representations: a stock with no incoming
    edge (or an empty graph) keeps the residual path only, `LayerNorm(x_i)`.

    Args:
        channels: representation size C (divisible by `heads`).
        heads: attention heads; each produces C / heads channels, concatenated.
        dropout: dropout on the attention coefficients and on the correction.
        negative_slope: LeakyReLU slope of the attention scores.

    Shapes:
        - x: [N, C]
        - edge_index: [2, E] long, source -> target (messages flow from edge_index[0])
        - output: [N, C]
    """

    def __init__(self, channels: int, heads: int = 4, dropout: float = 0.0,
                 negative_slope: float = 0.2) -> None:
        super().__init__()
        if channels % heads:
            raise ValueError(f"channels ({channels}) must be divisible by heads ({heads})")
        self.channels = channels
        self.heads = heads
        self.conv = GATConv(channels, channels // heads, heads=heads, concat=True,
                            negative_slope=negative_slope, dropout=dropout,
                            add_self_loops=False, bias=False)
        self.dropout = nn.Dropout(dropout)
        self.norm = nn.LayerNorm(channels)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        self.conv.reset_parameters()
        self.norm.reset_parameters()

    def forward(self, x: Tensor, edge_index: Tensor) -> Tensor:
        return self.norm(x + self.dropout(self.conv(x, edge_index)))

    def extra_repr(self) -> str:
        return f"{self.channels}, heads={self.heads}"
