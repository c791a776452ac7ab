"""Building blocks of the zoo's models, written like PyTorch Geometric layers."""

from zoo.layers.attention import AttentionPooling, DayAttention
from zoo.layers.graph import GATResidual
from zoo.layers.gru import BiAGRUEncoder, FundamentalGRUEncoder
from zoo.layers.mlp import MLP
from zoo.layers.norm import MaskedBatchNorm
from zoo.layers.orthogonal import OrthogonalFactorHead

__all__ = [
    "MLP",
    "AttentionPooling",
    "DayAttention",
    "BiAGRUEncoder",
    "FundamentalGRUEncoder",
    "GATResidual",
    "MaskedBatchNorm",
    "OrthogonalFactorHead",
]
