"""Plain, slow reference implementations the selectors are checked against: each follows the
definition in the paper with nothing clever (no lazy evaluation, no factored gradients), on
problems small enough to enumerate."""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F


def plain_greedy(sim: np.ndarray, k: int | None = None) -> tuple[list[int], list[float]]:
    """Facility-location greedy, plainly: ``k`` steps (all ``m`` candidates when ``None``),
    each evaluating ``F(S + j) - F(S)`` for every remaining ``j`` from the definition; ties
    go to the smallest index."""
    m = sim.shape[1]
    steps = m if k is None else k

    def f(s: list[int]) -> float:
        return float(np.max(sim[:, s], axis=1).sum()) if s else 0.0

    chosen: list[int] = []
    gains: list[float] = []
    for _ in range(steps):
        best_j, best_gain = -1, -np.inf
        for j in range(m):
            if j in chosen:
                continue
            gain = f(chosen + [j]) - f(chosen)
            if gain > best_gain + 1e-12:
                best_j, best_gain = j, gain
        chosen.append(best_j)
        gains.append(best_gain)
    return chosen, gains


def numpy_similarity(g: np.ndarray) -> np.ndarray:
    """CRAIG's similarities ``max_dist - ||g_i - g_j||`` of the rows of ``g``, from the
    definition (all pairwise distances at once)."""
    d = np.sqrt(((g[:, None, :] - g[None, :, :]) ** 2).sum(-1))
    return d.max() - d


def facility_location(sim: np.ndarray, subset: Sequence[int]) -> float:
    """``F(S) = sum_i max_{j in S} sim[i, j]``, from the definition."""
    return float(np.max(sim[:, list(subset)], axis=1).sum()) if len(subset) else 0.0


def brute_force_facility_location(sim: np.ndarray, k: int) -> list[tuple[float, tuple[int, ...]]]:
    """Every ``k``-subset of the candidates with its ``F``, best first: the optimum by
    enumeration (and the runner-up, to see that the optimum is unique)."""
    values = [
        (facility_location(sim, s), s) for s in itertools.combinations(range(sim.shape[1]), k)
    ]
    return sorted(values, key=lambda v: -v[0])


def cluster_sizes(sim: np.ndarray, picks: Sequence[int]) -> np.ndarray:
    """CRAIG's weights: how many points have ``picks[t]`` as their most similar pick (ties to
    the earlier pick)."""
    owner = np.argmax(sim[:, list(picks)], axis=1)
    return np.bincount(owner, minlength=len(picks))


# -- softmax regression gradients by automatic differentiation, in float64 -----------------------


def _params(model: torch.nn.Module) -> tuple[torch.Tensor, torch.Tensor]:
    """The model's last layer ``(W, b)`` as float64 leaves."""
    layer = model.classifier
    return layer.weight.detach().double(), layer.bias.detach().double()


def loss_gradient(
    weight: torch.Tensor, bias: torch.Tensor, x: torch.Tensor, y: torch.Tensor, mean: bool
) -> torch.Tensor:
    """Gradient of the cross-entropy of softmax regression ``(W, b)`` on ``(x, y)`` (summed
    or mean), as ``[grad b, grad W (row-major)]``."""
    w, b = weight.clone().requires_grad_(True), bias.clone().requires_grad_(True)
    loss = F.cross_entropy(x.double() @ w.T + b, y, reduction="mean" if mean else "sum")
    gw, gb = torch.autograd.grad(loss, (w, b))
    return torch.cat([gb, gw.flatten()])


def example_gradients(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Row ``i``: the gradient of example ``i``'s loss at the model's parameters."""
    w, b = _params(model)
    return torch.stack(
        [loss_gradient(w, b, x[i : i + 1], y[i : i + 1], False) for i in range(len(y))]
    )


def batch_gradients(
    model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, batches: Sequence[torch.Tensor]
) -> torch.Tensor:
    """Row ``b``: the gradient of the mean loss of batch ``b``."""
    w, b = _params(model)
    return torch.stack([loss_gradient(w, b, x[i], y[i], True) for i in batches])


def glister_greedy(
    model: torch.nn.Module,
    train: tuple[torch.Tensor, torch.Tensor],
    val: tuple[torch.Tensor, torch.Tensor],
    rounds: Sequence[int],
    eta: float,
) -> tuple[list[int], list[float]]:
    """GLISTER-ONLINE's greedy (Killamsetty et al., AAAI 2021, Sec. 4: the one-step Taylor
    approximation ``L_V(theta - eta g_S) ~ L_V(theta) - eta g_S . grad L_V(theta)``), plainly:
    per round, the ``size`` remaining candidates of largest ``g_i . grad L_V(theta_t)``
    (``g_i`` each example's summed-loss gradient at ``theta_0``, ``L_V`` the mean validation
    loss, by automatic differentiation at ``theta_t``); then ``theta_{t+1} = theta_0 - eta
    sum_{j in S} g_j``. Returns the picks and, per pick, the gap between its score and the next
    best one (how clear the choice was)."""
    x, y = train
    g = example_gradients(model, x, y)
    w0, b0 = _params(model)
    c = b0.numel()
    picks: list[int] = []
    margins: list[float] = []
    for size in rounds:
        step = g[picks].sum(0) if picks else torch.zeros_like(g[0])
        w, b = w0 - eta * step[c:].view_as(w0), b0 - eta * step[:c]
        scores = g @ loss_gradient(w, b, val[0], val[1], mean=True)
        scores[picks] = -torch.inf
        order = torch.argsort(scores, descending=True).tolist()
        for r in range(size):
            picks.append(order[r])
            margins.append(float(scores[order[r]] - scores[order[r + 1]]))
    return picks, margins
