"""Closed-form last-layer gradients against autograd, per example and per batch."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from automata.data.base import TensorBatchDataset
from automata.models.mlp import MLP
from automata.selection.gradients import (
    mean_gradient,
    per_batch_gradients,
    per_example_gradients,
)


def _autograd_rows(model: MLP, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    rows = []
    for i in range(x.shape[0]):
        model.zero_grad()
        logits, _ = model(x[i : i + 1])
        F.cross_entropy(logits, y[i : i + 1]).backward()
        b, w = model.classifier.bias.grad, model.classifier.weight.grad
        rows.append(torch.cat([b, w.flatten()]).clone())
    return torch.stack(rows)


def _setup(n: int = 40, classes: int = 4):
    torch.manual_seed(0)
    x = torch.randn(n, 7, dtype=torch.float32)
    y = torch.randint(0, classes, (n,))
    model = MLP(input_dim=7, num_classes=classes, hidden_dim=16)
    model.eval()
    return model, TensorBatchDataset(x, y), x, y


def test_per_example_matches_autograd():
    model, ds, x, y = _setup()
    idx = torch.arange(len(ds))
    closed = per_example_gradients(model, ds, idx, torch.device("cpu"), chunk_size=7)
    ref = _autograd_rows(model, x, y)
    assert closed.shape == (40, 4 * 17)
    torch.testing.assert_close(closed, ref, rtol=1e-5, atol=1e-6)


def test_per_batch_is_mean_of_batch_members():
    model, ds, x, y = _setup()
    g = torch.Generator().manual_seed(3)
    perm = torch.randperm(len(ds), generator=g)
    batches = list(perm.split(6))  # last batch has 4 examples
    pb = per_batch_gradients(model, ds, batches, torch.device("cpu"), chunk_size=5)
    ref = _autograd_rows(model, x, y)
    expected = torch.stack([ref[b].mean(0) for b in batches])
    torch.testing.assert_close(pb, expected, rtol=1e-5, atol=1e-6)
    # and the mean over a batch equals autograd of that batch's mean loss
    model.zero_grad()
    logits, _ = model(x[batches[0]])
    F.cross_entropy(logits, y[batches[0]]).backward()
    auto = torch.cat([model.classifier.bias.grad, model.classifier.weight.grad.flatten()])
    torch.testing.assert_close(pb[0], auto, rtol=1e-5, atol=1e-6)


def test_mean_gradient():
    model, ds, x, y = _setup()
    ref = _autograd_rows(model, x, y).mean(0)
    torch.testing.assert_close(
        mean_gradient(model, ds, torch.device("cpu"), 9), ref, rtol=1e-5, atol=1e-6
    )
