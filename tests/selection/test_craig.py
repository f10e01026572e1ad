"""CRAIG (automata.selection.craig) against references: its greedy against the plain numpy
greedy on a trained MLP's gradients, and, on problems small enough to enumerate, per-class and
per-batch CRAIG against the facility-location optimum found by brute force over every subset
(gradients by automatic differentiation of a softmax regression, not the module's factored
form), with the weights the cluster sizes of the picks.

Facility location ``F(S) = sum_i max_{j in S} (d_max - ||g_i - g_j||)`` is monotone
submodular: the greedy is within ``1 - 1/e`` of the optimum in general (Nemhauser, Wolsey &
Fisher 1978), and finds it when the gradients form well-separated groups, one pick per group.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from automata.errors import ConfigError
from automata.selection.gradients import per_example_gradients, shuffled_batches

from .conftest import (
    CLASSES,
    CPU,
    N_PER_CLASS,
    LinearSoftmax,
    N,
    context,
    make_selector,
    splits,
)
from .references import (
    batch_gradients,
    brute_force_facility_location,
    cluster_sizes,
    example_gradients,
    facility_location,
    numpy_similarity,
    plain_greedy,
)

pytestmark = pytest.mark.usefixtures("one_thread")

DIM = 4


# ---------------------------------------------------------------- the blobs problem


@pytest.mark.parametrize("greedy", ["lazy", "plain", "auto"])
def test_craig_equals_numpy_greedy_on_gradients(greedy, data, model):
    selector = make_selector("craig", 0.05, per_class=False, greedy=greedy)
    sub = selector.select(context(model, data))
    k = selector.budget(N)
    assert sub.stats["shortfall"] == 0 and len(sub) == k
    g = per_example_gradients(model, data.train, torch.arange(N), CPU).double().numpy()
    sim = numpy_similarity(g)
    expected, _ = plain_greedy(sim, k)
    assert sub.indices.tolist() == expected
    # Weights are cluster sizes: points whose most similar medoid is that element.
    owner = np.argmax(sim[:, expected], axis=1)
    np.testing.assert_array_equal(sub.weights.numpy(), np.bincount(owner, minlength=k))
    assert float(sub.weights.sum()) == N


@pytest.mark.parametrize("fraction", [0.01, 0.1, 0.5])
@pytest.mark.parametrize("per_class", [True, False])
def test_craig_weights_are_cluster_sizes(fraction, per_class, data, model):
    selector = make_selector("craig", fraction, per_class=per_class)
    sub = selector.select(context(model, data))
    assert sub.stats["shortfall"] == 0
    assert float(sub.weights.sum()) == N  # every example is represented exactly once
    assert bool((sub.weights >= 1).all())  # a medoid is in its own cluster
    assert 0.0 <= sub.stats["matching_error"] < 1.0
    if per_class:
        labels = data.train.labels[sub.indices]
        for c in range(CLASSES):
            mine = labels == c
            assert int(mine.sum()) == selector.budget(N) // CLASSES  # proportional shares
            assert float(sub.weights[mine].sum()) == N_PER_CLASS


def test_craig_rejects_unknown_greedy():
    with pytest.raises(ConfigError, match="selector.greedy"):
        make_selector("craig", 0.1, greedy="fast")


def test_craigpb_weights_count_batches(data, model):
    selector = make_selector("craigpb", 0.1, batch_size=10)
    sub = selector.select(context(model, data))
    assert len(sub) == 30 and sub.stats["shortfall"] == 0 and sub.stats["candidates"] == 30
    groups = sub.weights.view(3, 10)
    assert bool((groups == groups[:, :1]).all())  # one weight per batch
    assert float(groups[:, 0].sum()) == 30  # cluster sizes sum to the number of batches


# ------------------------------------------------- tiny problems against brute force


def _around(centre: torch.Tensor, offsets: list[torch.Tensor]) -> torch.Tensor:
    """The points ``centre + offset``, one per offset."""
    return torch.stack([centre + o for o in offsets])


def _centres(n: int, radius: float = 6.0) -> torch.Tensor:
    """``n`` centres far apart on a circle in dims 0-1."""
    angle = 2 * math.pi * torch.arange(n, dtype=torch.float64) / n
    out = torch.zeros(n, DIM, dtype=torch.float64)
    out[:, 0], out[:, 1] = radius * torch.cos(angle), radius * torch.sin(angle)
    return out


def _offset(angle: float, length: float = 1.0) -> torch.Tensor:
    """A vector of ``length`` in dims 2-3, orthogonal to every centre."""
    out = torch.zeros(DIM, dtype=torch.float64)
    out[2], out[3] = length * math.cos(angle), length * math.sin(angle)
    return out


def _optimum(sim: np.ndarray, k: int) -> tuple[float, tuple[int, ...]]:
    """The facility-location optimum by enumeration, checked to be unique by a margin far
    above float32 rounding (else the problem would not pin the answer down)."""
    (best, subset), (second, _) = brute_force_facility_location(sim, k)[:2]
    assert best - second > 1e-3 * sim.max(), "the tiny problem must have one clear optimum"
    return best, subset


def _per_class_problem(x: torch.Tensor, y: torch.Tensor, model, per_class_k: int):
    """Per-class CRAIG's subset on ``(x, y)``, and per class its members, the reference
    similarities of their gradients and the positions of CRAIG's picks among them."""
    fraction = per_class_k * CLASSES / len(y)
    sub = make_selector("craig", fraction, per_class=True).select(context(model, splits((x, y))))
    assert len(sub) == per_class_k * CLASSES and sub.stats["shortfall"] == 0
    g = example_gradients(model, x, y).numpy()
    for c in range(CLASSES):
        members = (y == c).nonzero().flatten()
        mine = torch.isin(sub.indices, members)
        position = {int(m): p for p, m in enumerate(members)}
        picks = [position[int(i)] for i in sub.indices[mine]]
        yield members, numpy_similarity(g[members.numpy()]), picks, sub.weights[mine].numpy()


def test_per_class_craig_is_the_brute_force_optimum_of_separated_groups():
    """Per class, 3 groups of 3 examples (a centre and two points on either side of it,
    orthogonal to the directions between centres) and a budget of 3: the optimum, found by
    enumerating all 84 subsets of the class, is the 3 centres, and CRAIG's greedy finds it;
    each centre weighs its group's 3 examples. At zero weights p is uniform, so within a class
    the gradients ``(p - y) x^T`` are the inputs scaled by ``||p - y||``: the problem is this
    geometry exactly."""
    centres = _centres(CLASSES * 3)
    x = torch.cat(
        [_around(c, [0 * _offset(0), _offset(k), -_offset(k)]) for k, c in enumerate(centres)]
    )
    y = torch.arange(CLASSES).repeat_interleave(9)  # groups 3c, 3c + 1, 3c + 2: class c
    model = LinearSoftmax(DIM, CLASSES, scale=0.0)
    for _, sim, picks, weights in _per_class_problem(x, y, model, per_class_k=3):
        best, optimum = _optimum(sim, 3)
        assert sorted(optimum) == [0, 3, 6]  # the centres
        assert sorted(picks) == [0, 3, 6]
        assert facility_location(sim, picks) == pytest.approx(best, rel=1e-12)
        np.testing.assert_array_equal(weights, cluster_sizes(sim, picks))
        np.testing.assert_array_equal(weights, [3, 3, 3])


def test_per_class_craig_on_random_gradients_is_the_plain_greedy_within_its_bound():
    """Without structure the greedy need not be optimal: it is the plain greedy, within
    ``1 - 1/e`` of the optimum by enumeration, and weighs its picks by cluster size."""
    g = torch.Generator().manual_seed(2)
    x, y = torch.randn(30, DIM, generator=g), torch.arange(CLASSES).repeat(10)
    model = LinearSoftmax(DIM, CLASSES, seed=3)
    for members, sim, picks, weights in _per_class_problem(x, y, model, per_class_k=3):
        assert picks == plain_greedy(sim, 3)[0]
        best, _ = brute_force_facility_location(sim, 3)[0]
        assert facility_location(sim, picks) >= (1 - 1 / math.e) * best
        np.testing.assert_array_equal(weights, cluster_sizes(sim, picks))
        assert weights.sum() == len(members)


def _per_batch_problem(x: torch.Tensor, y: torch.Tensor, model, batch_size: int, k: int):
    """Per-batch CRAIG's subset, the candidate batches (the seeded shuffle it draws), the
    reference similarities of their mean gradients and CRAIG's picks among them."""
    seed = 5
    batches = shuffled_batches(len(y), batch_size, torch.Generator().manual_seed(seed))
    selector = make_selector("craigpb", k * batch_size / len(y), batch_size=batch_size)
    sub = selector.select(context(model, splits((x, y)), seed=seed))
    assert len(sub) == k * batch_size and sub.stats["shortfall"] == 0
    first = {int(b[0]): n for n, b in enumerate(batches)}
    chosen = sub.indices.view(k, batch_size)
    picks = [first[int(b[0])] for b in chosen]
    for n, b in zip(picks, chosen):
        assert torch.equal(b, batches[n])  # whole candidate batches
    sim = numpy_similarity(batch_gradients(model, x, y, batches).numpy())
    return batches, sim, picks, sub.weights.view(k, batch_size)


def test_per_batch_craig_is_the_brute_force_optimum_of_separated_batches():
    """12 candidate batches of 3 (the seeded shuffle CRAIGPB draws), laid out in 3 groups of
    one label, 4 batches each, whose means are a centre and 3 points around it (orthogonal to
    the directions between centres), and a budget of 3 batches: the optimum, found by
    enumerating all 220 subsets of 3 batches, is the 3 centre batches, and CRAIGPB finds it;
    each weighs its group's 4 batches."""
    n, batch_size = 36, 3
    batches = shuffled_batches(n, batch_size, torch.Generator().manual_seed(5))
    centres = _centres(CLASSES)
    around = [0 * _offset(0), _offset(0), -_offset(0), _offset(math.pi / 2)]
    spread = torch.randn(len(batches), 2, DIM, generator=torch.Generator().manual_seed(6))
    x = torch.empty(n, DIM, dtype=torch.float64)
    y = torch.empty(n, dtype=torch.long)
    for b, members in enumerate(batches):
        group, place = b % CLASSES, b // CLASSES  # batches 0, 1, 2: the centres
        a, c = spread[b].double()
        x[members] = _around(centres[group] + around[place], [a, c, -(a + c)])  # mean: there
        y[members] = group
    model = LinearSoftmax(DIM, CLASSES, scale=0.0)
    _, sim, picks, weights = _per_batch_problem(x.float(), y, model, batch_size, k=3)
    best, optimum = _optimum(sim, 3)
    assert sorted(optimum) == [0, 1, 2]  # the centre batches
    assert sorted(picks) == [0, 1, 2]
    assert facility_location(sim, picks) == pytest.approx(best, rel=1e-12)
    assert bool((weights == weights[:, :1]).all())  # one weight per batch
    np.testing.assert_array_equal(weights[:, 0].numpy(), cluster_sizes(sim, picks))
    np.testing.assert_array_equal(weights[:, 0].numpy(), [4, 4, 4])


def test_per_batch_craig_on_random_gradients_is_the_plain_greedy_within_its_bound():
    g = torch.Generator().manual_seed(6)
    x, y = torch.randn(30, DIM, generator=g), torch.randint(0, CLASSES, (30,), generator=g)
    model = LinearSoftmax(DIM, CLASSES, seed=7)
    batches, sim, picks, weights = _per_batch_problem(x, y, model, batch_size=3, k=3)
    assert picks == plain_greedy(sim, 3)[0]
    best, _ = brute_force_facility_location(sim, 3)[0]
    assert facility_location(sim, picks) >= (1 - 1 / math.e) * best
    np.testing.assert_array_equal(weights[:, 0].numpy(), cluster_sizes(sim, picks))
    assert float(weights[:, 0].sum()) == len(batches)
