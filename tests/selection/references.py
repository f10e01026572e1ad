"""Plain, slow reference implementations the selectors are checked against: each follows the
definition in the paper with nothing clever (no lazy evaluation, no factored gradients), on
problems small enough to enumerate."""

from __future__ import annotations

import numpy as np


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
