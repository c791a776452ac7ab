"""The peers: the baselines a researcher already runs, built from the zoo's layers and fed
the zoo's datasets (the same ranked 40 x 6 windows, labels, splits and evaluator), with no
dependency on Qlib.

- `gats`: Qlib's GATs (`qlib/contrib/model/pytorch_gats.py`, `GATModel`): a GRU over the
  stock's window, its last hidden state, attention over every stock of the day (a dense
  graph of the day's cross-section, no fundamentals; `DayAttention`), then a two-layer head.
- `alstm`: Qlib's ALSTM (`qlib/contrib/model/pytorch_alstm.py`, `ALSTMModel`): a linear
  layer with tanh, a GRU, attention pooling over the window's days, and a linear score on the
  last hidden state beside the pooled one.
- `xgb_window`: gradient-boosted trees (XGBoost) on the flattened window and the day's style
  factors, as Qlib's XGBoost baseline reads its Alpha360 table; trained by
  `zoo.train.trainers.TreeTrainer` (contract `tree_only`), no torch stage.

Qlib feeds its models each stock's window divided by the last close; here, as for the zoo's
own models, each input is ranked across the day's stocks first (`input_norm="rank"`), so a
comparison differs by the model only. Every `forward(batch)` reads one trading day's
cross-section and returns a score per stock [N]; stocks outside `price_mask` get a finite
score computed from zeros and lend nothing to the others.
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import Tensor, nn

from zoo.layers import AttentionPooling, DayAttention
from zoo.layers.norm import (
    CrossSectionalRank,
    InputNorm,
    make_input_norm,
    normalise_window,
)
from zoo.models.two_stage import XGBoostConfig, XGBoostStage
from zoo.registry import DataContract, register_model
from zoo.vocabulary import STYLE_SLOTS

PRICE_VOLUME_FEATURES = 6
Recurrent = Literal["gru", "lstm"]


def _recurrent(kind: Recurrent, in_channels: int, hidden_channels: int, num_layers: int,
               dropout: float) -> nn.Module:
    if kind not in ("gru", "lstm"):
        raise ValueError(f"rnn must be 'gru' or 'lstm', not {kind!r}")
    cls = nn.GRU if kind == "gru" else nn.LSTM
    return cls(in_channels, hidden_channels, num_layers=num_layers, batch_first=True,
               dropout=dropout if num_layers > 1 else 0.0)


class GATs(nn.Module):
    """Qlib's GATs on the day's cross-section: a GRU (or LSTM) over each stock's window, its
    last hidden state h, `DayAttention` over every stock of the day (h_i + sum_j alpha_ij h_j),
    then Linear -> LeakyReLU -> Linear, as `GATModel.forward`.

    Args:
        price_features: daily features F.
        hidden_channels: recurrent hidden size H (also the attention's width).
        num_layers: stacked recurrent layers.
        dropout: dropout between recurrent layers (Qlib's only dropout).
        input_norm: input normalisation of the window (`make_input_norm`).
        rnn: "gru" (Qlib's default base model) or "lstm".

    Shapes:
        - batch["price_volume"]: [N, T, F]; batch["price_mask"]: [N]
        - output: [N]
    """

    def __init__(self, price_features: int, hidden_channels: int, num_layers: int,
                 dropout: float, input_norm: InputNorm, rnn: Recurrent = "gru") -> None:
        super().__init__()
        self.norm = make_input_norm(input_norm, price_features)
        self.rnn = _recurrent(rnn, price_features, hidden_channels, num_layers, dropout)
        self.attention = DayAttention(hidden_channels)
        self.fc = nn.Linear(hidden_channels, hidden_channels)
        self.fc_out = nn.Linear(hidden_channels, 1)

    def reset_parameters(self) -> None:
        if self.norm is not None:
            self.norm.reset_parameters()
        self.rnn.reset_parameters()
        self.attention.reset_parameters()
        self.fc.reset_parameters()
        self.fc_out.reset_parameters()

    def forward(self, batch: dict[str, Tensor]) -> Tensor:
        mask = batch["price_mask"]
        out, _ = self.rnn(normalise_window(self.norm, batch["price_volume"], mask))
        h = self.attention(out[:, -1], mask)
        # Qlib: nn.LeakyReLU() between fc and fc_out, slope 0.01
        return self.fc_out(nn.functional.leaky_relu(self.fc(h), 0.01)).squeeze(-1)


class ALSTM(nn.Module):
    """Qlib's ALSTM: Linear -> tanh, a GRU (or LSTM) over the days, additive attention over
    its outputs (`AttentionPooling` with a scorer of H/2 and dropout, as `att_net`), and a
    linear score on the last output beside the pooled one, as `ALSTMModel.forward`.

    Args:
        price_features: daily features F.
        hidden_channels: width H of the input layer and of the recurrent layers.
        num_layers: stacked recurrent layers.
        dropout: dropout between recurrent layers and in the attention scorer.
        input_norm: input normalisation of the window (`make_input_norm`).
        rnn: "gru" (Qlib's default `rnn_type`) or "lstm".

    Shapes:
        - batch["price_volume"]: [N, T, F]; batch["price_mask"]: [N]
        - output: [N]
    """

    def __init__(self, price_features: int, hidden_channels: int, num_layers: int,
                 dropout: float, input_norm: InputNorm, rnn: Recurrent = "gru") -> None:
        super().__init__()
        if hidden_channels < 2:
            raise ValueError("ALSTM needs hidden_channels >= 2 (its scorer has H/2)")
        self.norm = make_input_norm(input_norm, price_features)
        self.fc_in = nn.Linear(price_features, hidden_channels)
        self.rnn = _recurrent(rnn, hidden_channels, hidden_channels, num_layers, dropout)
        self.pool = AttentionPooling(hidden_channels, hidden_channels // 2, dropout=dropout)
        self.fc_out = nn.Linear(2 * hidden_channels, 1)

    def reset_parameters(self) -> None:
        if self.norm is not None:
            self.norm.reset_parameters()
        self.fc_in.reset_parameters()
        self.rnn.reset_parameters()
        self.pool.reset_parameters()
        self.fc_out.reset_parameters()

    def forward(self, batch: dict[str, Tensor]) -> Tensor:
        x = normalise_window(self.norm, batch["price_volume"], batch["price_mask"])
        out, _ = self.rnn(torch.tanh(self.fc_in(x)))
        return self.fc_out(torch.cat([out[:, -1], self.pool(out)], dim=-1)).squeeze(-1)


class XGBWindow(nn.Module):
    """Gradient-boosted trees on a stock's flattened price-volume window and its style
    factors. Nothing here trains by gradient: `stage_features(batch)` gives the trees' input
    and `make_second_stage()` the unfitted XGBoost stage; `zoo.train.trainers.TreeTrainer`
    fits it and scores with it.

    Args:
        price_features: daily features F.
        style_features: style factors S.
        ranked: each (day of the window, feature) ranked across the day's stocks as normal
            scores (`CrossSectionalRank`, the zoo's input), else the window as the dataset
            gives it (prices over the last close, volume over its window mean).
        xgb: the XGBoost settings.

    Shapes:
        - batch["price_volume"]: [N, T, F]; batch["price_mask"]: [N]; batch["style"]: [N, S]
        - stage_features: [N, T * F + S], NaN (missing to XGBoost) in the window part of the
          stocks outside `price_mask`
    """

    def __init__(self, price_features: int, style_features: int, ranked: bool,
                 xgb: XGBoostConfig) -> None:
        super().__init__()
        self.price_features = price_features
        self.style_features = style_features
        self.xgb = xgb
        self.rank = CrossSectionalRank(price_features, affine=False) if ranked else None

    def reset_parameters(self) -> None:
        pass

    @torch.no_grad()
    def stage_features(self, batch: dict[str, Tensor]) -> Tensor:
        window, mask, style = batch["price_volume"], batch["price_mask"], batch["style"]
        if window.shape[-1] != self.price_features or style.shape[-1] != self.style_features:
            raise ValueError(f"expected {self.price_features} daily features and "
                             f"{self.style_features} style factors, got {window.shape[-1]} "
                             f"and {style.shape[-1]}")
        x = normalise_window(self.rank, window, mask).flatten(1)
        x = torch.where(mask[:, None], x, x.new_tensor(float("nan")))
        return torch.cat([x, style.to(x.dtype)], dim=-1)

    def make_second_stage(self) -> XGBoostStage:
        """An unfitted XGBoost stage with this model's settings."""
        return XGBoostStage(self.xgb)

    def forward(self, batch: dict[str, Tensor]) -> Tensor:
        raise TypeError("xgb_window is scored by its trees: train and score it through "
                        "zoo.train.trainers.make_trainer (TreeTrainer)")


PRICE_VOLUME = DataContract(inputs=("price_volume", "price_mask"),
                            feature_services=("price_volume_v1",))


@register_model(contract=PRICE_VOLUME)
def gats(*, price_features: int = PRICE_VOLUME_FEATURES, hidden_channels: int = 64,
         num_layers: int = 2, dropout: float = 0.0, input_norm: InputNorm = "rank",
         rnn: Recurrent = "gru") -> GATs:
    """Qlib's GATs: GRU over the window, attention over all the day's stocks, two-layer head
    (Qlib's defaults: 64 hidden, 2 layers, no dropout)."""
    return GATs(price_features, hidden_channels, num_layers, dropout, input_norm, rnn)


@register_model(contract=PRICE_VOLUME)
def alstm(*, price_features: int = PRICE_VOLUME_FEATURES, hidden_channels: int = 64,
          num_layers: int = 2, dropout: float = 0.0, input_norm: InputNorm = "rank",
          rnn: Recurrent = "gru") -> ALSTM:
    """Qlib's ALSTM: GRU with attention over the window's days beside its last hidden state
    (Qlib's defaults: 64 hidden, 2 layers, no dropout)."""
    return ALSTM(price_features, hidden_channels, num_layers, dropout, input_norm, rnn)


@register_model(contract=DataContract(
    inputs=("price_volume", "price_mask", "style"),
    feature_services=("price_volume_v1", "style_v1"),
    tree_only=True,
))
def xgb_window(*, price_features: int = PRICE_VOLUME_FEATURES,
               style_features: int = STYLE_SLOTS, ranked: bool = True,
               xgb_n_estimators: int = 500, xgb_learning_rate: float = 0.05,
               xgb_max_depth: int = 6, xgb_n_jobs: int = 1, xgb_seed: int = 0) -> XGBWindow:
    """XGBoost on the flattened 40 x 6 window (ranked across the day's stocks) and the style
    factors."""
    xgb = XGBoostConfig(n_estimators=xgb_n_estimators, learning_rate=xgb_learning_rate,
                        max_depth=xgb_max_depth, n_jobs=xgb_n_jobs, seed=xgb_seed)
    return XGBWindow(price_features, style_features, ranked, xgb)
