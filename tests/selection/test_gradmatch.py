"""GRAD-MATCH specifics: the ridge term of the per-batch selector, per-class budgets and the
per-class validation target, each against an independent computation."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from automata.data.base import DataSplits, TensorBatchDataset
from automata.models.mlp import MLP
from automata.selection import gradmatch as gm
from automata.selection.base import SelectionContext
from automata.selection.gradmatch import GradMatch, GradMatchPB

from ..conftest import compose_config

CPU = torch.device("cpu")


def _rows(m: int = 40, d: int = 30, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    # Candidate gradients sharing a common direction (as batch gradients do), plus noise.
    common = torch.randn(d, generator=g)
    return common + 0.7 * torch.randn(m, d, generator=g)


# ---------------------------------------------------------------- ridge term


def test_per_batch_default_has_no_ridge():
    """The reference's per-batch configurations all use lambda = 0."""
    assert compose_config(["selector=gradmatchpb"]).selector.lam == 0.0
    assert GradMatchPB().lam == 0.0
    # The per-example selector keeps the reference's per-example setting.
    assert compose_config(["selector=gradmatch"]).selector.lam == 0.5


def test_relative_ridge_is_the_mean_gram_diagonal_times_lam():
    rows = _rows()
    sel = GradMatchPB(lam=0.3, lam_relative=True)
    gram_diag = torch.diagonal(rows.double() @ rows.double().T)
    assert sel.ridge(rows) == pytest.approx(0.3 * float(gram_diag.mean()), rel=1e-9)
    assert GradMatchPB(lam=0.3).ridge(rows) == 0.3


def test_relative_ridge_keeps_its_meaning_when_gradients_shrink():
    """Gradient norms shrink by orders of magnitude during training. With a relative ridge
    the picks and the relative matching error do not depend on that scale; with an absolute
    one the ridge swamps small gradients and the match degrades."""
    rows = _rows()
    target = rows.sum(0)
    rel = GradMatchPB(lam=0.5, lam_relative=True)
    absolute = GradMatchPB(lam=0.5)
    idx1, w1, err1 = rel._solve(rows, target, 8)
    idx2, w2, err2 = rel._solve(rows * 1e-3, target * 1e-3, 8)
    assert torch.equal(idx1, idx2)
    torch.testing.assert_close(w1, w2, rtol=1e-3, atol=1e-6)
    assert err1 == pytest.approx(err2, rel=1e-3)
    _, _, err_big = absolute._solve(rows, target, 8)
    _, _, err_small = absolute._solve(rows * 1e-3, target * 1e-3, 8)
    assert err_small > 2 * err_big
    # lambda = 0 matches at least as well as either ridge on the same support size.
    _, _, err0 = GradMatchPB(lam=0.0)._solve(rows * 1e-3, target * 1e-3, 8)
    assert err0 <= min(err_small, err2) + 1e-6


# ---------------------------------------------------------------- per-class budgets and targets


def _skewed_data() -> DataSplits:
    """Three classes of 5, 5 and 290 training examples; the validation set has all three."""
    g = torch.Generator().manual_seed(0)
    sizes = [5, 5, 290]
    centers = 2.0 * torch.randn(3, 6, generator=g)

    def make(counts: list[int]) -> TensorBatchDataset:
        x = torch.cat([centers[c] + torch.randn(k, 6, generator=g) for c, k in enumerate(counts)])
        y = torch.cat([torch.full((k,), c) for c, k in enumerate(counts)])
        return TensorBatchDataset(x, y)

    return DataSplits(
        name="skewed",
        train=make(sizes),
        val=make([7, 11, 40]),
        test=make([4, 4, 4]),
        num_classes=3,
        model_kwargs={"input_dim": 6},
    )


def _model(data: DataSplits) -> MLP:
    torch.manual_seed(0)
    net = MLP(input_dim=6, num_classes=3, hidden_dim=8)
    x, y = data.train[torch.arange(len(data.train))]
    opt = torch.optim.Adam(net.parameters(), lr=0.01)
    for _ in range(5):
        opt.zero_grad()
        F.cross_entropy(net(x)[0], y).backward()
        opt.step()
    return net


def _ctx(model: MLP, data: DataSplits) -> SelectionContext:
    return SelectionContext(
        model=model, data=data, device=CPU, generator=torch.Generator().manual_seed(0)
    )


def _largest_remainder(sizes: list[int], budget: int) -> list[int]:
    """Hamilton's method written out: floor of the quotas, then +1 by largest remainder."""
    n = sum(sizes)
    quotas = [budget * s / n for s in sizes]
    shares = [int(q) for q in quotas]
    order = sorted(range(len(sizes)), key=lambda i: (-(quotas[i] - shares[i]), i))
    for i in order[: budget - sum(shares)]:
        shares[i] += 1
    return shares


@pytest.mark.parametrize("fraction", [0.01, 0.05, 0.1, 0.5])
def test_per_class_budgets_sum_to_the_budget_and_follow_class_sizes(fraction):
    data = _skewed_data()
    sel = GradMatch(fraction=fraction, per_class=True, lam=0.5, tol=0.0)
    sub = sel.select(_ctx(_model(data), data))
    budget = sel.budget(len(data.train))
    assert len(sub) == budget
    assert sub.stats["shortfall"] == 0.0
    labels = data.train.labels[sub.indices]
    counts = [int((labels == c).sum()) for c in range(3)]
    assert counts == _largest_remainder([5, 5, 290], budget)


def _autograd_last_layer_grads(model: MLP, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Per-example gradients of the classifier (bias, then weight) by autograd."""
    rows = []
    for i in range(y.numel()):
        model.zero_grad(set_to_none=True)
        F.cross_entropy(model(x[i : i + 1])[0], y[i : i + 1]).backward()
        clf = model.classifier
        rows.append(torch.cat([clf.bias.grad, clf.weight.grad.flatten()]))
    model.zero_grad(set_to_none=True)
    return torch.stack(rows)


def test_per_class_validation_target_is_the_class_own_validation_gradient(monkeypatch):
    data = _skewed_data()
    model = _model(data)
    seen: list[torch.Tensor] = []
    real = gm.orthogonal_matching_pursuit

    def spy(A, b, *args, **kwargs):
        seen.append(b.detach().clone())
        return real(A, b, *args, **kwargs)

    monkeypatch.setattr(gm, "orthogonal_matching_pursuit", spy)
    sel = GradMatch(fraction=0.5, per_class=True, target="val", lam=0.0)
    sel.select(_ctx(model, data))
    assert len(seen) == 3
    train_sizes = [5, 5, 290]
    xv, yv = data.val[torch.arange(len(data.val))]
    for c in range(3):
        mask = yv == c
        expected = _autograd_last_layer_grads(model, xv[mask], yv[mask]).mean(0) * train_sizes[c]
        torch.testing.assert_close(seen[c], expected, rtol=1e-4, atol=1e-5)
