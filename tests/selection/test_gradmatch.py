"""GRAD-MATCH specifics: the ridge term of the per-batch selector, per-class budgets and the
per-class validation target, each against an independent computation."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from automata.data.base import DataSplits, TensorBatchDataset
from automata.errors import ConfigError
from automata.models.mlp import MLP
from automata.selection import gradmatch as gm
from automata.selection.base import SelectionContext, Subset
from automata.selection.gradmatch import GradMatch, GradMatchPB

from ..conftest import compose_config

CPU = torch.device("cpu")


def _rows(m: int = 40, d: int = 30, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    # Candidate gradients sharing a common direction (as batch gradients do), plus noise.
    common = torch.randn(d, generator=g)
    return common + 0.7 * torch.randn(m, d, generator=g)


# ---------------------------------------------------------------- ridge term


def test_per_batch_cost_defaults_agree_between_config_and_class():
    node = compose_config(["selector=gradmatchpb"]).selector
    built = GradMatchPB()
    for key in ("pool", "pool_error", "max_atoms", "fit_budget", "batch_size"):
        assert node[key] == getattr(built, key), key
    assert (node.pool, node.max_atoms, node.fit_budget) == (None, 512, True)


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


# ---------------------------------------------------------------- candidate pools and groups

POOL_N, POOL_B = 480, 8  # 60 candidate batches of 8; budgets below are multiples of 8


def _pool_data() -> DataSplits:
    """Four overlapping Gaussian classes (heterogeneous gradients), N divisible by B."""
    g = torch.Generator().manual_seed(1)
    centers = 1.5 * torch.randn(4, 6, generator=g)

    def make(n: int) -> TensorBatchDataset:
        y = torch.randint(4, (n,), generator=g)
        return TensorBatchDataset(centers[y] + torch.randn(n, 6, generator=g), y)

    return DataSplits(
        name="pool",
        train=make(POOL_N),
        val=make(100),
        test=make(20),
        num_classes=4,
        model_kwargs={"input_dim": 6},
    )


@pytest.fixture(scope="module")
def pool_problem() -> tuple[DataSplits, MLP, torch.Tensor]:
    """Data, a briefly trained model, and the exact full-data target in batch-mean units:
    the sum of all per-example gradients (autograd) over B."""
    data = _pool_data()
    torch.manual_seed(0)
    model = MLP(input_dim=6, num_classes=4, hidden_dim=8)
    x, y = data.train[torch.arange(POOL_N)]
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    for _ in range(5):
        opt.zero_grad()
        F.cross_entropy(model(x)[0], y).backward()
        opt.step()
    exact = _autograd_last_layer_grads(model, x, y).sum(0) / POOL_B
    return data, model, exact


_REAL_OMP = gm.orthogonal_matching_pursuit


def _targets_seen(
    monkeypatch, selector: GradMatchPB, data, model, seed: int = 0, chunk: int = 50
) -> tuple[Subset, list[torch.Tensor]]:
    """Select with the given seed and forward chunk; also return the targets OMP was given."""
    seen: list[torch.Tensor] = []

    def spy(A, b, *args, **kwargs):
        seen.append(b.detach().clone())
        return _REAL_OMP(A, b, *args, **kwargs)

    monkeypatch.setattr(gm, "orthogonal_matching_pursuit", spy)
    ctx = SelectionContext(model, data, CPU, torch.Generator().manual_seed(seed), batch_size=chunk)
    return selector.select(ctx), seen


def test_all_candidates_match_the_exact_target(monkeypatch, pool_problem):
    data, model, exact = pool_problem
    sub, seen = _targets_seen(
        monkeypatch, GradMatchPB(fraction=0.1, batch_size=POOL_B), data, model
    )
    assert len(seen) == 1 and sub.stats["candidates"] == POOL_N // POOL_B
    assert sub.stats["examples_forwarded"] == POOL_N
    torch.testing.assert_close(seen[0], exact, rtol=1e-4, atol=1e-6)


def test_pool_target_is_an_unbiased_estimate_of_the_exact_target(monkeypatch, pool_problem):
    """Each round's pool is a fresh uniform sample of batches; the target scaled to N is
    right on average (mean over seeds within 3 standard errors of the exact target) though
    any single estimate is off. The exact target is in batch-mean units (all N gradients
    over B), as the matrix of candidate rows gives it without a pool."""
    data, model, exact = pool_problem
    sel = GradMatchPB(fraction=0.1, batch_size=POOL_B, pool=2.0)  # K = 6 of 60: 12 candidates
    estimates = []
    for seed in range(300):
        sub, seen = _targets_seen(monkeypatch, sel, data, model, seed)
        assert len(seen) == 1
        estimates.append(seen[0])
    assert sub.stats["candidates"] == 12 and sub.stats["examples_forwarded"] == 12 * POOL_B
    est = torch.stack(estimates).double()
    spread = float((est - est.mean(0)).pow(2).sum(1).mean())  # trace of the covariance
    stderr = (spread / len(estimates)) ** 0.5
    bias = float((est.mean(0) - exact.double()).norm())
    assert bias < 3 * stderr
    # Not trivially true: a single estimate is typically off by far more than the mean is,
    # and the bound is tight enough to catch a target scaled 10% wrong.
    assert spread**0.5 > 5 * bias
    assert 3 * stderr < 0.1 * float(exact.norm())


def test_pool_draws_fresh_candidates_each_seed_and_repeats_per_seed(pool_problem):
    data, model, _ = pool_problem
    sel = GradMatchPB(fraction=0.1, batch_size=POOL_B, pool=2.0)

    def run(seed: int):
        ctx = SelectionContext(model, data, CPU, torch.Generator().manual_seed(seed))
        return sel.select(ctx)

    a, b, c = run(5), run(5), run(6)
    assert torch.equal(a.indices, b.indices) and torch.equal(a.weights, b.weights)
    assert not torch.equal(a.indices, c.indices)
    # Candidates are the first batches of the round's seeded shuffle.
    pool = torch.randperm(POOL_N, generator=torch.Generator().manual_seed(5)).split(POOL_B)[:12]
    members = {int(i) for batch in pool for i in batch}
    chosen = a.indices[: len(a) - int(a.stats["shortfall"])]
    assert chosen.numel() > 0 and {int(i) for i in chosen} <= members


def test_groups_split_the_target_and_the_reported_error_is_the_combined_one(
    monkeypatch, pool_problem
):
    """max_atoms=2 with K = 6 batches: three OMP problems over 20 candidates each, with two
    picks each; their targets (a third of the whole target each) add up to the exact one, and
    the matching error reported is that of the whole weighted subset against it, recomputed
    here from autograd gradients of the selected examples."""
    data, model, exact = pool_problem
    sel = GradMatchPB(fraction=0.1, batch_size=POOL_B, max_atoms=2, tol=0.0)
    sub, seen = _targets_seen(monkeypatch, sel, data, model)
    assert len(seen) == 3 and sub.stats["omp_problems"] == 3
    assert sub.stats["omp_scores"] == 3 * 2 * 20
    for target in seen:
        torch.testing.assert_close(target, exact / 3, rtol=1e-4, atol=1e-6)
    assert sub.stats["shortfall"] == 0 and len(sub) == 6 * POOL_B
    x, y = data.train[sub.indices]
    approx = (_autograd_last_layer_grads(model, x, y) * sub.weights[:, None]).sum(0) / POOL_B
    err = float((approx - exact).norm() / exact.norm())
    assert sub.stats["matching_error"] == pytest.approx(err, rel=1e-3, abs=1e-6)
    # Each group picks only among its own candidates (consecutive thirds of the shuffle).
    perm = torch.randperm(POOL_N, generator=torch.Generator().manual_seed(0)).split(POOL_B)
    position = {int(i): k // 20 for k, batch in enumerate(perm) for i in batch}
    groups = [position[int(i)] for i in sub.indices[::POOL_B]]
    assert sorted(groups) == [0, 0, 1, 1, 2, 2]


def test_one_group_when_max_atoms_covers_the_budget(pool_problem):
    data, model, _ = pool_problem

    def run(**options):
        sel = GradMatchPB(fraction=0.1, batch_size=POOL_B, **options)
        return sel.select(SelectionContext(model, data, CPU, torch.Generator().manual_seed(2)))

    a, b = run(), run(max_atoms=6)
    assert torch.equal(a.indices, b.indices) and torch.equal(a.weights, b.weights)
    assert b.stats["omp_problems"] == 1
    assert run(pool=100.0).stats["candidates"] == POOL_N // POOL_B  # capped at every batch


@pytest.mark.parametrize(
    ("option", "value"), [("pool", 0.5), ("pool", float("nan")), ("max_atoms", 0)]
)
def test_pool_and_group_options_are_checked(option, value):
    with pytest.raises(ConfigError, match=f"selector.{option}"):
        GradMatchPB(**{option: value})


@pytest.mark.parametrize("fit_budget", [False, True])
def test_budget_below_the_batch_size(fit_budget, pool_problem):
    """Budget 4 < B = 8. fit_budget: one whole candidate batch of 4 examples from a shuffle
    cut into batches of 4; otherwise a batch of 8 from the B-shuffle, cut to 4."""
    data, model, _ = pool_problem
    sel = GradMatchPB(fraction=4 / POOL_N, batch_size=POOL_B, fit_budget=fit_budget)
    sub = sel.select(SelectionContext(model, data, CPU, torch.Generator().manual_seed(3)))
    size = 4 if fit_budget else POOL_B
    assert len(sub) == 4 and sub.stats["shortfall"] == 0
    assert sub.stats["candidate_batch_size"] == size
    assert sub.stats["candidates"] == POOL_N // size
    perm = torch.randperm(POOL_N, generator=torch.Generator().manual_seed(3))
    batches = [set(b.tolist()) for b in perm.split(size)]
    chosen = set(sub.indices.tolist())
    assert any(chosen == b if fit_budget else chosen < b for b in batches)


def test_pool_error_grows_the_pool_until_the_target_estimate_is_good_enough(
    monkeypatch, pool_problem
):
    """pool_error: the pool grows (two batches per forward chunk here) until the estimated
    relative standard error of the target is under the tolerance; that estimate is honest:
    over seeds, the actual error against the exact target has about that size."""
    data, model, exact = pool_problem
    tol = 0.15
    sel = GradMatchPB(fraction=0.1, batch_size=POOL_B, pool=1.0, pool_error=tol)
    actual, estimated, sizes = [], [], []
    for seed in range(60):
        sub, seen = _targets_seen(monkeypatch, sel, data, model, seed, chunk=2 * POOL_B)
        m = int(sub.stats["candidates"])
        assert 6 <= m <= POOL_N // POOL_B and sub.stats["examples_forwarded"] == m * POOL_B
        if m < POOL_N // POOL_B:
            assert sub.stats["target_standard_error"] <= tol
        actual.append(float((seen[0] - exact).norm() / exact.norm()))
        estimated.append(sub.stats["target_standard_error"])
        sizes.append(m)
    # The tolerance is not met by the minimum pool of 6 batches: the rule did grow it.
    assert min(sizes) > 6 and max(sizes) < POOL_N // POOL_B
    rms = (sum(a * a for a in actual) / len(actual)) ** 0.5
    # Stopping when the estimate dips under tol makes it a little optimistic, not more.
    assert 0.7 * tol < rms < 1.5 * tol
    # Without the rule, the 6-batch pool misses by far more.
    fixed = GradMatchPB(fraction=0.1, batch_size=POOL_B, pool=1.0)
    misses = []
    for seed in range(60):
        _, seen = _targets_seen(monkeypatch, fixed, data, model, seed)
        misses.append(float((seen[-1] - exact).norm() / exact.norm()))
    assert (sum(a * a for a in misses) / len(misses)) ** 0.5 > 2 * rms


def test_the_remainder_batch_counts_in_the_target_but_is_no_candidate(monkeypatch, pool_problem):
    """B = 7: 68 full batches and a remainder of 4 examples. The target is still the sum of
    all 480 example gradients over B (each example once), and OMP never picks the remainder,
    whose mean over 4 examples is noisier than a full batch's."""
    data, model, exact_over_8 = pool_problem
    exact = exact_over_8 * POOL_B / 7
    for seed in range(5):
        sel = GradMatchPB(fraction=0.3, batch_size=7)
        sub, seen = _targets_seen(monkeypatch, sel, data, model, seed)
        assert sub.stats["candidates"] == 68 and sub.stats["examples_forwarded"] == POOL_N
        torch.testing.assert_close(seen[0], exact, rtol=1e-4, atol=1e-6)
        perm = torch.randperm(POOL_N, generator=torch.Generator().manual_seed(seed))
        remainder = set(perm[68 * 7 :].tolist())
        selected = sub.indices[: len(sub) - int(sub.stats["shortfall"])]
        assert not remainder & set(selected.tolist())
