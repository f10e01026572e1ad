"""GLISTER (automata.selection.glister): its greedy against explicit Taylor steps on a copy of
a trained MLP, and its rounds."""

from __future__ import annotations

import copy

import pytest
import torch

from automata.selection.glister import round_sizes
from automata.selection.gradients import mean_gradient, per_example_gradients

from .conftest import CLASSES, CPU, N, context, make_selector

pytestmark = pytest.mark.usefixtures("one_thread")

DIM = 4


# ---------------------------------------------------------------- the blobs problem


def test_glister_first_pick_is_argmax_of_validation_alignment(data, model):
    selector = make_selector("glister", 0.1)
    sub = selector.select(context(model, data))
    g = per_example_gradients(model, data.train_eval, torch.arange(N), CPU)
    g_val = mean_gradient(model, data.val, CPU)
    assert int(sub.indices[0]) == int(torch.argmax(g @ g_val))
    assert bool((sub.weights == 1).all())


def test_glister_greedy_equals_explicit_taylor_steps(data, model):
    """Exact greedy (budget <= max_rounds): each pick maximises g_i . g_val at the parameters
    moved by -eta * (sum of the gradients picked so far), computed here on a model copy."""
    eta = 2.0
    selector = make_selector("glister", 0.03, eta=eta, max_rounds=64)
    k = selector.budget(N)
    sub = selector.select(context(model, data))
    g = per_example_gradients(model, data.train_eval, torch.arange(N), CPU)
    moved = copy.deepcopy(model)
    c = CLASSES
    picks: list[int] = []
    for _ in range(k):
        scores = g @ mean_gradient(moved, data.val, CPU)
        scores[picks] = -torch.inf
        j = int(torch.argmax(scores))
        picks.append(j)
        with torch.no_grad():
            moved.classifier.bias -= eta * g[j, :c]
            moved.classifier.weight -= eta * g[j, c:].view(c, -1)
    assert sub.indices.tolist() == picks
    # The updates matter here: a single scoring pass would give another subset.
    static = torch.topk(g @ mean_gradient(model, data.val, CPU), k).indices.tolist()
    assert static != picks


def test_glister_round_sizes():
    assert round_sizes(10, 4) == [3, 3, 2, 2]
    assert round_sizes(3, 64) == [1, 1, 1]
    assert sum(round_sizes(1000, 64)) == 1000 and len(round_sizes(1000, 64)) == 64
