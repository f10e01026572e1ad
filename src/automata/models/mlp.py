"""Multi-layer perceptron with two hidden layers, the tabular model of the AUTOMATA paper."""

from __future__ import annotations

import torch
from torch import nn

from automata.errors import ConfigError

_ACTIVATIONS: dict[str, type[nn.Module]] = {
    "relu": nn.ReLU,
    "tanh": nn.Tanh,
    "gelu": nn.GELU,
    "elu": nn.ELU,
}


class MLP(nn.Module):
    """Two hidden layers (``hidden_dim`` and ``hidden_dim2``), then a linear classifier.

    Args:
        input_dim: number of input features (given by the dataset).
        num_classes: number of classes (given by the dataset).
        hidden_dim: width of the first hidden layer.
        hidden_dim2: width of the second hidden layer; ``None`` means ``hidden_dim``.
        activation: one of relu, tanh, gelu, elu.
        dropout: dropout probability after each hidden layer.

    Example:
        >>> model = MLP(input_dim=180, num_classes=3, hidden_dim=64)
        >>> logits, features = model(torch.zeros(2, 180))
        >>> tuple(logits.shape), tuple(features.shape)
        ((2, 3), (2, 64))
    """

    def __init__(
        self,
        input_dim: int,
        num_classes: int,
        hidden_dim: int = 128,
        hidden_dim2: int | None = None,
        activation: str = "relu",
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        if activation not in _ACTIVATIONS:
            raise ConfigError(
                f"model.activation: unknown '{activation}' (choose from {sorted(_ACTIVATIONS)})"
            )
        if not 0.0 <= dropout < 1.0:
            raise ConfigError(f"model.dropout must be in [0, 1), got {dropout}")
        width2 = hidden_dim if hidden_dim2 is None else hidden_dim2
        if hidden_dim < 1 or width2 < 1:
            raise ConfigError(f"model.hidden_dim must be >= 1, got {hidden_dim}/{width2}")
        act = _ACTIVATIONS[activation]
        self.body = nn.Sequential(
            nn.Linear(input_dim, hidden_dim),
            act(),
            nn.Dropout(dropout),
            nn.Linear(hidden_dim, width2),
            act(),
            nn.Dropout(dropout),
        )
        self.classifier = nn.Linear(width2, num_classes)
        self.embedding_dim = width2

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        features = self.body(x)
        return self.classifier(features), features
