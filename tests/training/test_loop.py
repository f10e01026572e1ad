"""The weighted loss sum(w l) / sum(w), checked against a direct computation."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from automata.training.loop import weighted_loss


def test_weighted_loss_closed_form():
    torch.manual_seed(0)
    logits = torch.randn(5, 3)
    labels = torch.tensor([0, 2, 1, 1, 0])
    w = torch.tensor([0.5, 2.0, 1.0, 0.0, 3.0])
    per = [-torch.log_softmax(logits[i], 0)[labels[i]] for i in range(5)]
    expected = sum(wi * li for wi, li in zip(w, per)) / w.sum()
    torch.testing.assert_close(weighted_loss(logits, labels, w), expected)


def test_unit_weights_equal_mean_cross_entropy():
    logits = torch.randn(8, 4)
    labels = torch.randint(0, 4, (8,))
    torch.testing.assert_close(
        weighted_loss(logits, labels, torch.ones(8)), F.cross_entropy(logits, labels)
    )


def test_weight_scale_invariance_and_zero_weight_ignored():
    logits = torch.randn(6, 3)
    labels = torch.randint(0, 3, (6,))
    w = torch.rand(6) + 0.1
    torch.testing.assert_close(
        weighted_loss(logits, labels, w), weighted_loss(logits, labels, 7.5 * w)
    )
    w0 = w.clone()
    w0[2] = 0.0
    keep = torch.tensor([0, 1, 3, 4, 5])
    torch.testing.assert_close(
        weighted_loss(logits, labels, w0), weighted_loss(logits[keep], labels[keep], w[keep])
    )
