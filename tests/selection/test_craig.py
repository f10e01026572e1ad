"""CRAIG (automata.selection.craig): its greedy against the plain numpy greedy on a trained
MLP's gradients, its weights the cluster sizes of the picks."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from automata.errors import ConfigError
from automata.selection.gradients import per_example_gradients

from .conftest import CLASSES, CPU, N_PER_CLASS, N, context, make_selector
from .references import numpy_similarity, plain_greedy

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
