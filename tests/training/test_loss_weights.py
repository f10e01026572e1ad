"""How training uses a weighted subset: the three weight scales against hand computations, and
the matched scale against the full-data gradient it was fitted to."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from automata.errors import ConfigError
from automata.selection.base import Subset
from automata.selection.gradmatch import GradMatchPB
from automata.selection.random import RandomSelector
from automata.training.loop import weighted_loss


def _sub() -> Subset:
    return Subset(torch.tensor([4, 9]), torch.tensor([1.0, 3.0]), scale=8.0)


def test_weight_scales_by_hand():
    sub = _sub()
    w, per_batch = GradMatchPB(weight_scale="batch").loss_weights(sub)
    assert per_batch and torch.equal(w, sub.weights)
    w, per_batch = GradMatchPB(weight_scale="subset").loss_weights(sub)
    assert not per_batch and torch.allclose(w, torch.tensor([0.5, 1.5]))  # mean 1
    w, per_batch = GradMatchPB(weight_scale="matched").loss_weights(sub)
    assert not per_batch and torch.allclose(w, torch.tensor([0.25, 0.75]))  # w k / N


def test_unit_weights_train_the_same_under_every_scale():
    sub = Subset(torch.arange(5), torch.ones(5))
    logits, labels = torch.randn(5, 3), torch.tensor([0, 1, 2, 1, 0])
    losses = []
    for scale in ("batch", "subset", "matched"):
        w, per_batch = GradMatchPB(weight_scale=scale).loss_weights(sub)
        losses.append(weighted_loss(logits, labels, w, per_batch))
    assert torch.allclose(torch.stack(losses), F.cross_entropy(logits, labels).expand(3))
    w, per_batch = RandomSelector().loss_weights(sub)  # unweighted selectors: the reference form
    assert per_batch and torch.equal(w, torch.ones(5))


def test_weighted_loss_forms():
    logits, labels = torch.randn(4, 3), torch.tensor([0, 1, 2, 1])
    w = torch.tensor([0.5, 2.0, 1.0, 0.5])
    losses = F.cross_entropy(logits, labels, reduction="none")
    assert weighted_loss(logits, labels, w) == pytest.approx(float((w * losses).sum() / w.sum()))
    assert weighted_loss(logits, labels, w, False) == pytest.approx(float((w * losses).mean()))


def test_matched_scale_keeps_the_fitted_gradient():
    """With weights fitted so that sum_S w_j g_j matches sum_all g_j, the expected mini-batch
    gradient under ``matched`` (a uniformly drawn mini-batch of the subset) is that fit divided
    by N: the full-data mean gradient, magnitude included. ``subset`` rescales it by N/sum(w)
    and so misses the magnitude whenever sum(w) != N."""
    g = torch.Generator().manual_seed(0)
    n, d = 50, 6
    grads = torch.randn(n, d, generator=g) + 1.0
    full_mean = grads.mean(0)
    idx = torch.tensor([3, 17, 25, 40])
    # Least-squares weights (what OMP returns on its support): sum w g_S ~= sum g_all.
    w = torch.linalg.lstsq(grads[idx].T, grads.sum(0).unsqueeze(1)).solution.flatten().abs()
    sub = Subset(idx, w, scale=float(n))
    fit_error = (grads[idx].T @ w - grads.sum(0)).norm() / grads.sum(0).norm()

    def expected_step_gradient(scale: str) -> torch.Tensor:
        lw, per_batch = GradMatchPB(weight_scale=scale).loss_weights(sub)
        assert not per_batch
        return (lw.unsqueeze(1) * grads[idx]).mean(0)

    matched = expected_step_gradient("matched")
    err = (matched - full_mean).norm() / full_mean.norm()
    assert float(err) == pytest.approx(float(fit_error), rel=1e-5)
    subset = expected_step_gradient("subset")
    assert torch.allclose(subset, matched * n / float(w.sum()), rtol=1e-5)


def test_unknown_weight_scale_is_a_config_error():
    with pytest.raises(ConfigError, match="selector.weight_scale"):
        GradMatchPB(weight_scale="global")


def test_gradient_matching_trains_at_the_matched_scale_by_default():
    """Chosen by measured ranking agreement (docs/selection.md, "Weight scale in training")."""
    from ..conftest import compose_config

    for name in ("gradmatchpb", "gradmatch"):
        assert compose_config([f"selector={name}"]).selector.weight_scale == "matched"
    assert GradMatchPB().weight_scale == "matched"
    # CRAIG stays as the reference runs it (its cluster-size weights sum to N: matched and
    # subset coincide there).
    assert compose_config(["selector=craigpb"]).selector.weight_scale == "batch"
