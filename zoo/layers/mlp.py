"""A plain multi-layer perceptron, row by row (no batch norm, so stocks stay independent)."""

from __future__ import annotations

from collections.abc import Sequence

from torch import Tensor, nn


class MLP(nn.Module):
    r"""Linear -> GELU -> dropout for each hidden layer, then a last linear layer.

    Unlike `torch_geometric.nn.MLP` (batch norm by default) nothing here mixes rows, so one
    stock's score never depends on another's inputs through the head.

    Args:
        channels: sizes from input to output, e.g. `[128, 64, 1]`.
        dropout: dropout after each hidden activation.

    Shapes:
        - x: [N, channels[0]]
        - output: [N, channels[-1]]
    """

    def __init__(self, channels: Sequence[int], dropout: float = 0.0) -> None:
        super().__init__()
        if len(channels) < 2:
            raise ValueError("an MLP needs at least an input and an output size")
        self.channels = list(channels)
        layers: list[nn.Module] = []
        for i, (a, b) in enumerate(zip(self.channels[:-1], self.channels[1:], strict=True)):
            layers.append(nn.Linear(a, b))
            if i < len(self.channels) - 2:
                layers += [nn.GELU(), nn.Dropout(dropout)]
        self.net = nn.Sequential(*layers)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        for layer in self.net:
            if isinstance(layer, nn.Linear):
                layer.reset_parameters()

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)
