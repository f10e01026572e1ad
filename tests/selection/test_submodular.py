"""Facility location and graph cut (automata.selection.submodular) against brute force.

CRAIG's budgeted greedy and MILO's complete ordering are checked against the same plain
greedy (every remaining element's marginal gain ``F(S + j) - F(S)`` evaluated from the
definition, ties to the smallest index); the graph-cut greedy against the definition, and
stochastic greedy against its expected-quality guarantee with the optimum by enumeration.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch

from automata.selection.milo import similarity
from automata.selection.submodular import (
    facility_location_greedy,
    facility_location_order,
    graph_cut_greedy,
    graph_cut_value,
    stochastic_greedy_graph_cut,
)

from .references import numpy_similarity, plain_greedy


def _points(n: int, d: int = 4, seed: int = 0) -> torch.Tensor:
    return torch.randn(n, d, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


# ------------------------------------------------------------------ facility location (CRAIG)


@pytest.mark.parametrize("lazy", [True, False, None])
@pytest.mark.parametrize("block", [1, 3, 16])
def test_facility_location_greedy_equals_brute_force(lazy, block):
    rng = np.random.default_rng(0)
    g = rng.normal(size=(14, 5))
    sim = numpy_similarity(g)
    expected, expected_gains = plain_greedy(sim, 7)
    t = torch.from_numpy(sim)
    for symmetric in (True, False):
        picks, gains = facility_location_greedy(
            t, 7, lazy=lazy, lazy_block=block, symmetric=symmetric
        )
        assert picks.tolist() == expected
        np.testing.assert_allclose(gains.numpy(), expected_gains, rtol=1e-10)
    # Rectangular: 14 points, the first 9 as candidates.
    rect = sim[:, :9]
    expected, _ = plain_greedy(rect, 5)
    picks, _ = facility_location_greedy(torch.from_numpy(rect), 5, lazy=lazy, lazy_block=block)
    assert picks.tolist() == expected


def test_facility_location_stops_when_everything_is_covered():
    g = np.array([[0.0, 0.0], [0.0, 0.0], [3.0, 4.0], [3.0, 4.0]])  # two duplicated points
    picks, gains = facility_location_greedy(torch.from_numpy(numpy_similarity(g)), 4)
    assert sorted(picks.tolist()) in ([0, 2], [0, 3], [1, 2], [1, 3])
    assert bool((gains > 0).all())


# ------------------------------------------------------------------ facility location (MILO)


@pytest.mark.parametrize("block", [1, 2, 8, 64])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_facility_location_order_equals_brute_force(block, seed):
    sim = similarity(_points(11, seed=seed)).numpy()
    expected, expected_gains = plain_greedy(sim)
    order, gains = facility_location_order(sim, block)
    assert order.tolist() == expected
    np.testing.assert_allclose(gains, expected_gains, atol=1e-10)
    assert bool(np.all(np.diff(gains) <= 1e-12)), "greedy gains never increase (submodularity)"


def test_facility_location_order_with_duplicates_and_ties():
    """Duplicated points: zero gains once covered, ties to the smallest index (as brute force),
    and the lazy greedy never loops on tied bounds."""
    x = torch.tensor(
        [[1.0, 0.0], [1.0, 0.0], [0.0, 1.0], [0.0, 1.0], [1.0, 1.0]], dtype=torch.float64
    )
    sim = similarity(x).numpy()
    expected, expected_gains = plain_greedy(sim)
    for block in (1, 2, 3):
        order, gains = facility_location_order(sim, block)
        assert order.tolist() == expected
        np.testing.assert_allclose(gains, expected_gains, atol=1e-12)
    assert expected_gains[-1] == pytest.approx(0.0, abs=1e-12)


# ------------------------------------------------------------------ graph cut


# ------------------------------------------------------------------ graph cut (MILO)


def test_graph_cut_value_is_the_definition():
    sim = similarity(_points(6)).numpy()
    s = [1, 4, 5]
    direct = sum(sim[i, j] for i in range(6) for j in s) - 0.4 * sum(
        sim[i, j] for i in s for j in s
    )
    assert graph_cut_value(torch.from_numpy(sim), s, 0.4) == pytest.approx(direct, abs=1e-12)


@pytest.mark.parametrize("lam", [0.0, 0.4, 0.49])
def test_graph_cut_greedy_equals_brute_force(lam):
    sim = similarity(_points(10, seed=3))
    chosen: list[int] = []
    for _ in range(5):
        gains = {
            j: graph_cut_value(sim, chosen + [j], lam) - graph_cut_value(sim, chosen, lam)
            for j in range(10)
            if j not in chosen
        }
        chosen.append(max(gains, key=lambda j: (gains[j], -j)))
    picks, gains_out = graph_cut_greedy(sim, 5, lam)
    assert picks.tolist() == chosen
    # The gains it reports are the marginal gains of the definition.
    for t in range(5):
        assert float(gains_out[t]) == pytest.approx(
            graph_cut_value(sim, chosen[: t + 1], lam) - graph_cut_value(sim, chosen[:t], lam)
        )


def test_stochastic_greedy_without_sampling_is_the_greedy():
    sim = similarity(_points(12, seed=4))
    exact, _ = graph_cut_greedy(sim, 4, 0.4)
    for epsilon in (0.0, 1e-9):  # every unselected element evaluated at every step
        runs = stochastic_greedy_graph_cut(sim, 4, 0.4, epsilon, 3, torch.Generator())
        assert all(r.tolist() == exact.tolist() for r in runs)


def test_stochastic_greedy_expected_quality():
    """E[f(S)] >= (1 - 1/e - epsilon) OPT (Mirzasoleiman et al. 2015), OPT by enumeration;
    and clearly above random subsets of the same size, so the check has teeth."""
    m, k, lam, epsilon = 14, 4, 0.4, 0.3
    # Two tight groups and scattered points: central elements matter.
    x = torch.cat([_points(5, seed=5) * 0.1 + 2, _points(5, seed=6) * 0.1 - 2, _points(4, seed=7)])
    sim = similarity(x, "rbf", kw=0.5)
    opt = max(graph_cut_value(sim, list(s), lam) for s in itertools.combinations(range(m), k))
    runs = stochastic_greedy_graph_cut(sim, k, lam, epsilon, 400, torch.Generator().manual_seed(0))
    values = torch.tensor([graph_cut_value(sim, r, lam) for r in runs])
    assert all(len(set(r.tolist())) == k for r in runs)
    assert float(values.mean()) >= (1 - 1 / math.e - epsilon) * opt
    g = torch.Generator().manual_seed(1)
    random_values = [
        graph_cut_value(sim, torch.randperm(m, generator=g)[:k], lam) for _ in range(400)
    ]
    assert float(values.mean()) > float(np.mean(random_values)) + 0.05 * opt
    assert len({tuple(sorted(r.tolist())) for r in runs}) > 1, "a stochastic pool, not one set"
