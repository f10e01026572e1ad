"""MLP: the forward pass against a hand-written reference, options, errors, a sanity training."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from automata.errors import ConfigError
from automata.models.contract import check_model
from automata.models.mlp import MLP

REFERENCE_ACTIVATIONS = {"relu": torch.relu, "tanh": torch.tanh, "gelu": F.gelu, "elu": F.elu}


def reference(model: MLP, x: torch.Tensor, act) -> tuple[torch.Tensor, torch.Tensor]:
    """The forward pass written out from the weights: act(W1 x + b1), act(W2 h + b2), W3 h + b3."""
    w1, b1 = model.body[0].weight, model.body[0].bias
    w2, b2 = model.body[3].weight, model.body[3].bias
    h = act(act(x @ w1.T + b1) @ w2.T + b2)
    return h @ model.classifier.weight.T + model.classifier.bias, h


@pytest.mark.parametrize("activation", sorted(REFERENCE_ACTIVATIONS))
def test_forward_matches_the_written_out_network(activation: str) -> None:
    torch.manual_seed(0)
    model = MLP(input_dim=7, num_classes=3, hidden_dim=16, hidden_dim2=5, activation=activation)
    x = torch.randn(9, 7)
    logits, features = model(x)
    ref_logits, ref_features = reference(model, x, REFERENCE_ACTIVATIONS[activation])
    torch.testing.assert_close(features, ref_features)
    torch.testing.assert_close(logits, ref_logits)
    assert logits.shape == (9, 3) and features.shape == (9, 5)
    assert model.embedding_dim == 5 and model.classifier.in_features == 5
    check_model(model, x, num_classes=3)


def test_second_width_defaults_to_the_first() -> None:
    model = MLP(input_dim=4, num_classes=2, hidden_dim=12)
    assert model.body[3].weight.shape == (12, 12) and model.embedding_dim == 12


def test_dropout_acts_in_training_only() -> None:
    torch.manual_seed(0)
    model = MLP(input_dim=6, num_classes=2, hidden_dim=64, dropout=0.5)
    x = torch.randn(32, 6)
    model.eval()
    assert torch.equal(model(x)[0], model(x)[0])
    torch.testing.assert_close(model(x)[1], reference(model, x, torch.relu)[1])
    model.train()
    features = model(x)[1]
    # Dropout with p=0.5 zeroes about half of the (positive) features and doubles the others.
    zeroed = (features == 0).float().mean().item()
    assert 0.6 < zeroed < 0.9  # ReLU zeros plus dropout zeros


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"activation": "swish"}, r"model.activation: unknown 'swish' \(choose from"),
        ({"dropout": 1.0}, r"model.dropout must be in \[0, 1\), got 1.0"),
        ({"dropout": -0.1}, r"model.dropout must be in \[0, 1\)"),
        ({"hidden_dim": 0}, r"model.hidden_dim must be >= 1"),
        ({"hidden_dim2": 0}, r"model.hidden_dim must be >= 1"),
    ],
)
def test_bad_options_are_config_errors(kwargs: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        MLP(input_dim=4, num_classes=2, **kwargs)


def test_learns_a_separable_problem() -> None:
    torch.manual_seed(0)
    x = torch.randn(256, 10)
    y = (x[:, 0] + 0.5 * x[:, 3] > 0).long() + 2 * (x[:, 5] > 1).long()  # 4 classes
    model = MLP(input_dim=10, num_classes=4, hidden_dim=32)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(200):
        opt.zero_grad()
        F.cross_entropy(model(x)[0], y).backward()
        opt.step()
    accuracy = (model(x)[0].argmax(1) == y).float().mean().item()
    assert accuracy > 0.95
