"""GLISTER (automata.selection.glister) against references.

GLISTER-ONLINE (Killamsetty et al., AAAI 2021) replaces the bi-level problem
``argmin_S L_V(theta - eta grad L_T(theta, S))`` by its first-order Taylor expansion and
maximises that greedily: each pick is the candidate of largest ``g_i . grad L_V(theta_t)``,
then ``theta`` moves by ``-eta`` times the gradients picked so far. Checked here on a trained
MLP against explicit steps on a model copy, and on softmax regressions small enough for plain
references: the Taylor greedy by automatic differentiation in float64 (one pick per round, and
in rounds), the exact validation loss after a small step by brute force over every candidate,
and the closed form ``eta = 0`` (a single scoring pass).
"""

from __future__ import annotations

import copy

import pytest
import torch
import torch.nn.functional as F

from automata.selection.glister import round_sizes
from automata.selection.gradients import mean_gradient, per_example_gradients

from .conftest import CLASSES, CPU, LinearSoftmax, N, context, make_selector, splits
from .references import example_gradients, glister_greedy, loss_gradient

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


# ------------------------------------------------- tiny problems against plain references

N_TINY = 40


def _problem(seed: int = 0):
    """40 training and 20 validation examples of 3 overlapping classes, and a softmax
    regression that fits them partly (gradients of every size and direction)."""
    g = torch.Generator().manual_seed(seed)
    centres = torch.randn(CLASSES, DIM, generator=g)

    def draw(n: int) -> tuple[torch.Tensor, torch.Tensor]:
        y = torch.randint(0, CLASSES, (n,), generator=g)
        return centres[y] + torch.randn(n, DIM, generator=g), y

    train, val = draw(N_TINY), draw(20)
    return train, val, LinearSoftmax(DIM, CLASSES, seed=seed + 1)


def _glister(train, val, model, k: int, eta: float, max_rounds: int = 64):
    selector = make_selector("glister", k / N_TINY, eta=eta, max_rounds=max_rounds)
    assert selector.budget(N_TINY) == k
    sub = selector.select(context(model, splits(train, val)))
    assert bool((sub.weights == 1).all()) and sub.stats["shortfall"] == 0
    return sub


def _clear(margins: list[float], scores_scale: float) -> None:
    """Every choice of the reference is clear by far more than the float32 rounding of the
    selector's scores (about 1e-7 of their scale)."""
    assert min(margins) > 1e-5 * scores_scale, "the tiny problem must pin every pick down"


def test_glister_is_the_taylor_greedy_of_the_paper():
    """One pick per round (budget <= max_rounds): the picks of the Taylor greedy computed
    plainly (float64 autograd gradients, the parameters moved explicitly), in order; the
    step is large enough that the updates change the subset."""
    train, val, model = _problem()
    eta, k = 0.5, 8
    sub = _glister(train, val, model, k, eta)
    expected, margins = glister_greedy(model, train, val, [1] * k, eta)
    g = example_gradients(model, *train)
    _clear(margins, float(g.norm(dim=1).max()) ** 2)
    assert sub.indices.tolist() == expected
    static, _ = glister_greedy(model, train, val, [k], eta)  # one round: no update
    assert sorted(static) != sorted(expected)


def test_glister_in_rounds_updates_once_per_round():
    """``max_rounds`` < budget (CORDS' partial update): rounds of ``round_sizes`` picks, each
    the best remaining ones by the scores at the parameters moved by the earlier rounds."""
    train, val, model = _problem(seed=2)
    eta, k, rounds = 0.5, 10, 4
    sub = _glister(train, val, model, k, eta, max_rounds=rounds)
    assert sub.stats["rounds"] == rounds
    expected, margins = glister_greedy(model, train, val, round_sizes(k, rounds), eta)
    g = example_gradients(model, *train)
    _clear(margins, float(g.norm(dim=1).max()) ** 2)
    assert sub.indices.tolist() == expected
    assert expected != glister_greedy(model, train, val, [1] * k, eta)[0]  # rounds matter


def test_without_a_step_glister_is_one_scoring_pass():
    """``eta = 0``: the parameters never move, so the subset is the ``k`` largest
    ``g_i . grad L_V(theta_0)`` in descending order, whatever the rounds."""
    train, val, model = _problem(seed=4)
    g = example_gradients(model, *train)
    w, b = (p.detach().double() for p in (model.classifier.weight, model.classifier.bias))
    scores = g @ loss_gradient(w, b, val[0], val[1], mean=True)
    top = torch.argsort(scores, descending=True)[:9].tolist()
    for max_rounds in (1, 4, 64):
        assert _glister(train, val, model, 9, 0.0, max_rounds).indices.tolist() == top


def test_a_small_step_picks_what_most_decreases_the_validation_loss():
    """What the Taylor step approximates, by brute force: at each step, every remaining
    candidate's exact validation loss after ``theta_0 - eta * (gradients of the subset so far
    plus its own)``; for a small ``eta`` the greedy on that loss is GLISTER's greedy."""
    train, val, model = _problem(seed=6)
    eta, k = 1e-3, 6
    sub = _glister(train, val, model, k, eta)
    g = example_gradients(model, *train)
    w0, b0 = (p.detach().double() for p in (model.classifier.weight, model.classifier.bias))
    xv, yv = val[0].double(), val[1]
    picks: list[int] = []
    for _ in range(k):
        losses = torch.full((N_TINY,), torch.inf, dtype=torch.float64)
        for i in set(range(N_TINY)) - set(picks):
            step = g[[*picks, i]].sum(0)
            w, b = w0 - eta * step[CLASSES:].view_as(w0), b0 - eta * step[:CLASSES]
            losses[i] = F.cross_entropy(xv @ w.T + b, yv)
        best, second = torch.topk(-losses, 2).values
        assert float(best - second) > 1e-9, "a clear best candidate at every step"
        picks.append(int(torch.argmin(losses)))
    assert sub.indices.tolist() == picks
