"""The BiAGRU family: the price-volume baseline and its three ways of adding fundamentals.

- `biagru`: bidirectional GRU over the 40-day window, attention over days, MLP head.
- `biagru_composite`: price-volume and fundamentals fed to one model (the report's
  "深度学习复合因子", which learns little fundamental information).
- `biagru_xgb`: BiAGRU with an orthogonal layer giving 32 uncorrelated factors, then XGBoost on
  those factors plus fundamental and style factors ("二次加权").
- `biagru_gat`: BiAGRU representations corrected by a GAT over the fundamental-similarity
  graph, with a residual connection, then an MLP head.

The encoders rank each input across the day's stocks (`input_norm="rank"`, see
`CrossSectionalRank`) by default: a stock's window then reads relative to the market, which a
per-stock GRU cannot otherwise do (`input_norm="batch"` is still there to compare).

They also read each window relative to the stock's industry (`industry_neutral=True`, the
default: the ranked inputs minus their mean over the day's stocks of the same CITIC level-1
industry, fed beside the ranks). A neighbour's move then tells its own news rather than its
industry's, which is what the graph passes on. The batch's "industry" holds the industry in
force that day. What each default gains is measured by `zoo bench zoo` (README).

Every `forward(batch)` reads one trading day's cross-section and returns a score per stock [N].
Stocks outside `price_mask` get a (finite) score computed from zeros; train and evaluate on
`label_mask & price_mask`.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from zoo.layers import (
    MLP,
    BiAGRUEncoder,
    FundamentalGRUEncoder,
    GATResidual,
    OrthogonalFactorHead,
)
from zoo.layers.gru import InputNorm
from zoo.models.two_stage import XGBoostConfig, XGBoostStage
from zoo.registry import DataContract, register_model
from zoo.vocabulary import FUNDAMENTAL_FIELDS, STYLE_SLOTS

PRICE_VOLUME_FEATURES = 6  # open, high, low, close, VWAP (over the last close), volume ratio
INDUSTRY_NEUTRAL = True


class BiAGRU(nn.Module):
    """The price-volume baseline: `BiAGRUEncoder` then an MLP head.

    Args:
        price_features: daily features F.
        hidden_channels: GRU hidden size per direction.
        num_layers: stacked GRU layers.
        head_channels: hidden width of the MLP head.
        dropout: dropout in the head (and between GRU layers).
        input_norm: input normalisation of the encoder.

    Shapes:
        - batch["price_volume"]: [N, T, F]; batch["price_mask"]: [N]
        - output: [N]
    """

    def __init__(self, price_features: int, hidden_channels: int, num_layers: int,
                 head_channels: int, dropout: float, input_norm: InputNorm,
                 industry_neutral: bool = False) -> None:
        super().__init__()
        self.encoder = BiAGRUEncoder(price_features, hidden_channels, num_layers, dropout,
                                     input_norm, industry_neutral=industry_neutral)
        self.head = MLP([self.encoder.out_channels, head_channels, 1], dropout)

    def reset_parameters(self) -> None:
        self.encoder.reset_parameters()
        self.head.reset_parameters()

    def forward(self, batch: dict[str, Tensor]) -> Tensor:
        h = self.encoder(batch["price_volume"], batch["price_mask"], batch.get("industry"))
        return self.head(h).squeeze(-1)


class BiAGRUComposite(nn.Module):
    """Price-volume and fundamentals in one model: a BiAGRU encoder and a fundamental GRU
    encoder, concatenated, then one MLP head, all trained together.

    Shapes:
        - batch["price_volume"]: [N, T, F]; batch["price_mask"]: [N]
        - batch["fundamentals"]: [N, Q, G]; batch["fund_mask"]: [N, Q]
        - output: [N]
    """

    def __init__(self, price_features: int, fund_features: int, hidden_channels: int,
                 fund_hidden_channels: int, num_layers: int, head_channels: int,
                 dropout: float, input_norm: InputNorm,
                 industry_neutral: bool = False) -> None:
        super().__init__()
        self.price_encoder = BiAGRUEncoder(price_features, hidden_channels, num_layers,
                                           dropout, input_norm,
                                           industry_neutral=industry_neutral)
        self.fund_encoder = FundamentalGRUEncoder(fund_features, fund_hidden_channels,
                                                  num_layers, dropout)
        width = self.price_encoder.out_channels + self.fund_encoder.out_channels
        self.head = MLP([width, head_channels, 1], dropout)

    def reset_parameters(self) -> None:
        self.price_encoder.reset_parameters()
        self.fund_encoder.reset_parameters()
        self.head.reset_parameters()

    def forward(self, batch: dict[str, Tensor]) -> Tensor:
        price = self.price_encoder(batch["price_volume"], batch["price_mask"],
                                   batch.get("industry"))
        fund = self.fund_encoder(batch["fundamentals"], batch["fund_mask"])
        return self.head(torch.cat([price, fund], dim=-1)).squeeze(-1)


class BiAGRUXGB(nn.Module):
    """The torch stage of the two-stage model: BiAGRU, an orthogonal layer of K factors kept
    uncorrelated across the day's valid stocks, and a linear score on them to train with.

    `factors(batch)` gives the K factors and `stage_features(batch)` the second stage's input
    (factors, latest-quarter fundamentals, style factors); `make_second_stage()` the XGBoost
    stage to fit on it.

    Shapes:
        - batch["price_volume"]: [N, T, F]; batch["price_mask"]: [N]
        - for `stage_features`: batch["fundamentals"]: [N, Q, G], batch["fund_mask"]: [N, Q],
          batch["style"]: [N, S]
        - output: [N]; factors: [N, K]; stage_features: [N, K + G + S]
    """

    def __init__(self, price_features: int, fund_features: int, style_features: int,
                 hidden_channels: int, num_layers: int, num_factors: int, dropout: float,
                 input_norm: InputNorm, xgb: XGBoostConfig,
                 industry_neutral: bool = False) -> None:
        super().__init__()
        self.fund_features = fund_features
        self.style_features = style_features
        self.xgb = xgb
        self.encoder = BiAGRUEncoder(price_features, hidden_channels, num_layers, dropout,
                                     input_norm, industry_neutral=industry_neutral)
        self.dropout = nn.Dropout(dropout)
        self.orthogonal = OrthogonalFactorHead(self.encoder.out_channels, num_factors)
        self.score = nn.Linear(num_factors, 1)

    def reset_parameters(self) -> None:
        self.encoder.reset_parameters()
        self.orthogonal.reset_parameters()
        self.score.reset_parameters()

    def factors(self, batch: dict[str, Tensor]) -> Tensor:
        """The K orthogonal price-volume factors, [N, K]."""
        h = self.encoder(batch["price_volume"], batch["price_mask"], batch.get("industry"))
        return self.orthogonal(self.dropout(h), batch["price_mask"])

    def forward(self, batch: dict[str, Tensor]) -> Tensor:
        return self.score(self.factors(batch)).squeeze(-1)

    @torch.no_grad()
    def stage_features(self, batch: dict[str, Tensor]) -> Tensor:
        """The XGBoost stage's features, [N, K + G + S]: the factors (NaN outside
        `price_mask`), the latest quarter's fundamentals (NaN where unknown) and the style
        factors. NaN is what XGBoost reads as missing."""
        nan = batch["price_volume"].new_tensor(float("nan"))
        factors = torch.where(batch["price_mask"][:, None], self.factors(batch), nan)
        fund = batch["fundamentals"][:, -1, :]
        fund = torch.where(batch["fund_mask"][:, -1, None], fund, nan)
        style = batch["style"]
        if fund.shape[1] != self.fund_features or style.shape[1] != self.style_features:
            raise ValueError(f"expected {self.fund_features} fundamental fields and "
                             f"{self.style_features} style factors, got {fund.shape[1]} "
                             f"and {style.shape[1]}")
        return torch.cat([factors, fund.to(factors.dtype), style.to(factors.dtype)], dim=-1)

    def make_second_stage(self) -> XGBoostStage:
        """An unfitted XGBoost stage with this model's settings."""
        return XGBoostStage(self.xgb)


class BiAGRUGAT(nn.Module):
    """BiAGRU representations corrected by graph attention over the day's fundamental
    neighbours (`GATResidual`, residual + LayerNorm), then an MLP head.

    Edges from stocks outside `price_mask` are dropped: a stock without a price window has no
    price-volume representation to lend its neighbours.

    Shapes:
        - batch["price_volume"]: [N, T, F]; batch["price_mask"]: [N]
        - batch["edge_index"]: [2, E], source -> target
        - output: [N]
    """

    def __init__(self, price_features: int, hidden_channels: int, num_layers: int,
                 heads: int, gat_layers: int, head_channels: int, dropout: float,
                 input_norm: InputNorm, industry_neutral: bool = False) -> None:
        super().__init__()
        self.encoder = BiAGRUEncoder(price_features, hidden_channels, num_layers, dropout,
                                     input_norm, industry_neutral=industry_neutral)
        width = self.encoder.out_channels
        self.gats = nn.ModuleList([GATResidual(width, heads, dropout) for _ in range(gat_layers)])
        self.head = MLP([width, head_channels, 1], dropout)

    def reset_parameters(self) -> None:
        self.encoder.reset_parameters()
        for gat in self.gats:
            gat.reset_parameters()
        self.head.reset_parameters()

    def forward(self, batch: dict[str, Tensor]) -> Tensor:
        mask = batch["price_mask"]
        edge_index = batch["edge_index"]
        edge_index = edge_index[:, mask[edge_index[0]]]
        h = self.encoder(batch["price_volume"], mask, batch.get("industry"))
        for gat in self.gats:
            h = gat(h, edge_index)
        return self.head(h).squeeze(-1)


# The price-volume models read the day's industries too (style_v1 serves them) when their
# encoder is industry-neutral.
PRICE_VOLUME_ONLY = DataContract(
    inputs=("price_volume", "price_mask", "industry"),
    feature_services=("price_volume_v1", "style_v1"),
)


@register_model(contract=PRICE_VOLUME_ONLY)
def biagru(*, price_features: int = PRICE_VOLUME_FEATURES, hidden_channels: int = 64,
           num_layers: int = 1, head_channels: int = 64, dropout: float = 0.1,
           input_norm: InputNorm = "rank", industry_neutral: bool = INDUSTRY_NEUTRAL) -> BiAGRU:
    """The baseline: BiAGRU over 40 days of daily price-volume features, MLP head."""
    return BiAGRU(price_features, hidden_channels, num_layers, head_channels, dropout,
                  input_norm, industry_neutral)


@register_model(contract=DataContract(
    inputs=("price_volume", "price_mask", "industry", "fundamentals", "fund_mask"),
    feature_services=("price_volume_v1", "style_v1", "fundamentals_v1"),
))
def biagru_composite(*, price_features: int = PRICE_VOLUME_FEATURES,
                     fund_features: int = len(FUNDAMENTAL_FIELDS), hidden_channels: int = 64,
                     fund_hidden_channels: int = 64, num_layers: int = 1,
                     head_channels: int = 64, dropout: float = 0.1,
                     input_norm: InputNorm = "rank",
                     industry_neutral: bool = INDUSTRY_NEUTRAL) -> BiAGRUComposite:
    """Price-volume window and 12 quarters of fundamentals fed to one model."""
    return BiAGRUComposite(price_features, fund_features, hidden_channels, fund_hidden_channels,
                           num_layers, head_channels, dropout, input_norm, industry_neutral)


@register_model(contract=DataContract(
    inputs=("price_volume", "price_mask", "industry", "fundamentals", "fund_mask", "style"),
    feature_services=("price_volume_v1", "fundamentals_v1", "style_v1"),
    two_stage=True,
))
def biagru_xgb(*, price_features: int = PRICE_VOLUME_FEATURES,
               fund_features: int = len(FUNDAMENTAL_FIELDS), style_features: int = STYLE_SLOTS,
               hidden_channels: int = 64, num_layers: int = 1, num_factors: int = 32,
               dropout: float = 0.1, input_norm: InputNorm = "rank",
               xgb_n_estimators: int = 500, xgb_n_jobs: int = 1,
               xgb_seed: int = 0, industry_neutral: bool = INDUSTRY_NEUTRAL) -> BiAGRUXGB:
    """Two stages: BiAGRU with an orthogonal layer of 32 factors, then XGBoost on the factors,
    the latest fundamentals and the style factors."""
    xgb = XGBoostConfig(n_estimators=xgb_n_estimators, n_jobs=xgb_n_jobs, seed=xgb_seed)
    return BiAGRUXGB(price_features, fund_features, style_features, hidden_channels, num_layers,
                     num_factors, dropout, input_norm, xgb, industry_neutral)


@register_model(contract=DataContract(
    inputs=("price_volume", "price_mask", "industry", "edge_index"),
    # The graph is built from fundamentals; the model itself reads only price-volume.
    feature_services=("price_volume_v1", "style_v1", "fundamentals_v1"),
    needs_graph=True,
))
def biagru_gat(*, price_features: int = PRICE_VOLUME_FEATURES, hidden_channels: int = 64,
               num_layers: int = 1, heads: int = 4, gat_layers: int = 1,
               head_channels: int = 64, dropout: float = 0.1,
               input_norm: InputNorm = "rank",
               industry_neutral: bool = INDUSTRY_NEUTRAL) -> BiAGRUGAT:
    """BiAGRU encodes each stock; a multi-head GAT over the fundamental graph corrects it with
    its neighbours' price-volume representations (residual); MLP head."""
    return BiAGRUGAT(price_features, hidden_channels, num_layers, heads, gat_layers,
                     head_channels, dropout, input_norm, industry_neutral)
