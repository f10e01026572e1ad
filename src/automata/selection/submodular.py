"""Submodular maximisation for subset selection: facility location and graph cut.

Facility location ``F(S) = sum_i max_{j in S} sim[i, j]`` (``sim >= 0``) rewards a subset that
has a close representative for every point; graph cut
``f(S) = sum_{i in V, j in S} sim[i, j] - lambda sum_{i, j in S} sim[i, j]`` rewards central,
typical elements (monotone for ``lambda < 0.5``). Both are monotone submodular, so the greedy
algorithm (add the element of largest marginal gain, ties to the smallest index) is a
``(1 - 1/e)`` approximation, and stale gains are upper bounds (lazy greedy, Minoux 1978).

CRAIG (:mod:`automata.selection.craig`) and MILO (:mod:`automata.selection.milo`) both take the
facility-location greedy, through two implementations of the same greedy with different
contracts, each checked against the same brute force (``tests/selection/test_submodular.py``):

- :func:`facility_location_greedy` (CRAIG): at most ``budget`` picks of an ``n x m`` torch
  matrix on its device (a GPU when training runs there), gains summed in the matrix's dtype,
  stopping once every point is covered; :func:`cluster_weights` weighs the picks.
- :func:`facility_location_order` (MILO): the complete ordering of a square matrix and every
  element's gain, summed in float64 with numpy on the CPU (MILO samples from these gains), in
  blocks of lazily re-evaluated candidates.

Merging them would change one selector's numbers in the last bits (another summation order or
precision), which a restructuring must not; a change that unifies them is a change of results
of its own. MILO's graph-cut subsets come from :func:`graph_cut_greedy` and its stochastic
variant :func:`stochastic_greedy_graph_cut`.
"""

from __future__ import annotations

import math

import numpy as np
import torch

__all__ = [
    "cluster_weights",
    "facility_location_greedy",
    "facility_location_order",
    "graph_cut_greedy",
    "graph_cut_value",
    "stochastic_greedy_graph_cut",
]

AUTO_LAZY_ABOVE = 1 << 20  # lazy=None: lazy greedy above this many similarities (n * m)


def _candidate_major(sim: torch.Tensor, symmetric: bool) -> torch.Tensor:
    """``m x n`` view of the ``n x m`` similarities with contiguous candidate rows."""
    if symmetric:
        if sim.shape[0] != sim.shape[1]:
            raise ValueError(f"symmetric=True needs a square matrix, got {tuple(sim.shape)}")
        return sim  # sim.T == sim, and its rows are contiguous
    return sim.T.contiguous()


def _gains(cand: torch.Tensor, cur: torch.Tensor, rows: torch.Tensor | None = None) -> torch.Tensor:
    """Marginal gains ``sum_i max(cand[j, i] - cur_i, 0)`` of the candidates ``rows`` (or all)."""
    m = cand.shape[0] if rows is None else rows.numel()
    out = torch.empty(m, dtype=cand.dtype, device=cand.device)
    step = max(1, (1 << 22) // max(1, cand.shape[1]))  # bound the temporary to ~4M entries
    for start in range(0, m, step):
        stop = min(m, start + step)
        block = cand[start:stop] if rows is None else cand[rows[start:stop]]
        out[start:stop] = (block - cur).clamp_(min=0.0).sum(1)
    return out


@torch.no_grad()
def facility_location_greedy(
    sim: torch.Tensor,
    budget: int,
    lazy: bool | None = None,
    lazy_block: int = 16,
    symmetric: bool = False,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Greedy maximisation of ``F(S) = sum_i max_{j in S} sim[i, j]`` (``sim >= 0``).

    Both variants pick, at every step, the smallest-index candidate of maximal marginal gain
    ``sum_i max(sim[i, j] - cur_i, 0)`` (``cur_i`` the best similarity of point ``i`` so far),
    so they select the same elements (up to floating-point rounding of the gains).

    Args:
        sim: ``n x m`` similarities of ``n`` points to ``m`` candidates, all ``>= 0``.
        budget: maximum number of candidates to select.
        lazy: lazy greedy (Minoux 1978): upper bounds on the gains, valid by submodularity,
            and only the most promising stale candidates are re-evaluated; ``False``: the plain
            greedy, which re-evaluates every candidate at every step; ``None``: plain up to
            ``n m = 2^20`` similarities, lazy above.
        lazy_block: stale candidates the lazy greedy re-evaluates at once.
        symmetric: ``sim`` is symmetric (points = candidates): no transposed copy is made.

    Returns:
        ``(indices, gains)`` on the CPU: selected columns in selection order and their marginal
        gains. Stops early when no candidate has a positive gain (every point perfectly
        covered).
    """
    n, m = sim.shape
    k = min(int(budget), m)
    if k <= 0 or n == 0:
        return torch.empty(0, dtype=torch.long), torch.empty(0, dtype=sim.dtype)
    cand = _candidate_major(sim, symmetric)
    if lazy is None:
        lazy = n * m > AUTO_LAZY_ABOVE
    device = sim.device
    cur = torch.zeros(n, dtype=sim.dtype, device=device)
    taken = torch.zeros(m, dtype=torch.bool, device=device)
    picks: list[int] = []
    gains: list[float] = []
    ub = _gains(cand, cur)  # exact at S = {} and upper bounds afterwards (submodularity)
    fresh = torch.ones(m, dtype=torch.bool, device=device)  # ub exact for the current cur
    neg_inf = torch.tensor(-torch.inf, dtype=sim.dtype, device=device)
    while len(picks) < k:
        if not lazy:
            scores = _gains(cand, cur).masked_fill_(taken, -torch.inf)
            j = int(torch.argmax(scores))
            gain = float(scores[j])
        else:
            while True:
                masked = torch.where(taken, neg_inf, ub)
                j = int(torch.argmax(masked))
                if bool(fresh[j]):
                    gain = float(masked[j])
                    break
                # Re-evaluate the most promising stale candidates in one block (always at
                # least one stale candidate, so the loop progresses).
                stale = torch.where(taken | fresh, neg_inf, ub)
                n_stale = int((~(taken | fresh)).sum())
                top = torch.topk(stale, min(lazy_block, n_stale)).indices
                ub[top] = _gains(cand, cur, top)
                fresh[top] = True
        if not gain > 0.0:
            break
        picks.append(j)
        gains.append(gain)
        taken[j] = True
        torch.maximum(cur, cand[j], out=cur)
        fresh.zero_()
    return torch.tensor(picks, dtype=torch.long), torch.tensor(gains, dtype=sim.dtype)


def cluster_weights(
    sim: torch.Tensor, selected: torch.Tensor, symmetric: bool = False
) -> torch.Tensor:
    """Cluster sizes: how many points (rows) have each selected column as most similar one.

    Ties go to the earlier pick; the weights sum to the number of rows. Float32, on the CPU.
    """
    if selected.numel() == 0:
        return torch.empty(0)
    cols = selected.to(sim.device)
    # k x n: selected candidates' similarities to every point (contiguous rows if symmetric).
    block = sim[cols] if symmetric else sim[:, cols].T
    owner = torch.argmax(block, dim=0)  # first maximum: the earlier pick wins ties
    return torch.bincount(owner.cpu(), minlength=cols.numel()).float()


def facility_location_order(sim: np.ndarray, block: int = 8) -> tuple[np.ndarray, np.ndarray]:
    """The whole greedy ordering of ``F(S) = sum_i max_{j in S} sim[i, j]`` and its gains.

    Every step picks the smallest-index element of largest marginal gain
    ``sum_i max(sim[i, j] - cur_i, 0)`` (``cur_i`` the best similarity of ``i`` so far), until
    every element is ordered (gains reach 0 once every point is covered; the rest then follow
    in index order). Lazy greedy (Minoux 1978): stale gains are upper bounds by submodularity,
    and only the ``block`` most promising stale candidates are re-evaluated at once, which
    picks exactly what the plain greedy picks (a stale candidate of smaller index and equal
    bound is always re-evaluated first). Numpy, because the loop is ``m`` small steps.

    Args:
        sim: symmetric ``m x m`` similarities, all ``>= 0``.
        block: stale candidates re-evaluated at once.

    Returns:
        ``(order, gains)``: the elements in greedy order and the marginal gain of each when
        it was picked (non-increasing).
    """
    m = int(sim.shape[0])
    order = np.empty(m, dtype=np.int64)
    gains = np.empty(m, dtype=np.float64)
    if m == 0:
        return order, gains
    cur = np.zeros(m, dtype=sim.dtype)
    bound = sim.sum(axis=0, dtype=np.float64)  # exact gains at S = {}
    stamp = np.zeros(m, dtype=np.int64)  # bound[j] is exact at step s iff stamp[j] == s
    for step in range(m):
        left = m - step
        while True:
            j = int(np.argmax(bound))
            if stamp[j] == step:
                break
            size = min(block, left)
            if size < left:
                top = np.argpartition(-bound, size - 1)[:size]
                top[0] = j  # j is stale: with ties at the top, argpartition may leave it out
            else:
                top = np.flatnonzero(bound > -np.inf)
            rows = sim[top]
            bound[top] = np.maximum(rows - cur, 0.0).sum(axis=1, dtype=np.float64)
            stamp[top] = step
        order[step] = j
        gains[step] = bound[j]
        bound[j] = -np.inf
        np.maximum(cur, sim[j], out=cur)
    return order, gains


def graph_cut_value(sim: torch.Tensor, subset: list[int] | torch.Tensor, lam: float) -> float:
    """``f(S) = sum_{i in V, j in S} sim[i, j] - lam * sum_{i, j in S} sim[i, j]``."""
    idx = torch.as_tensor(subset, dtype=torch.long)
    if idx.numel() == 0:
        return 0.0
    return float(sim[:, idx].sum() - lam * sim[idx][:, idx].sum())


def graph_cut_greedy(sim: torch.Tensor, k: int, lam: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Plain greedy maximisation of the graph cut :func:`graph_cut_value` (``sim`` symmetric).

    The marginal gain of ``j`` is ``m_j - lam * (s_jj + 2 p_j)`` with ``m_j = sum_i s_ij`` and
    ``p_j = sum_{i in S} s_ij``; ties go to the smallest index. Returns ``(picks, gains)``.
    """
    m = sim.shape[0]
    k = min(int(k), m)
    base = sim.sum(0) - lam * sim.diagonal()
    penalty = torch.zeros(m, dtype=sim.dtype)
    taken = torch.zeros(m, dtype=torch.bool)
    picks, gains = [], []
    for _ in range(k):
        scores = (base - 2.0 * lam * penalty).masked_fill(taken, -torch.inf)
        j = int(torch.argmax(scores))
        picks.append(j)
        gains.append(float(scores[j]))
        taken[j] = True
        penalty += sim[j]
    return torch.tensor(picks, dtype=torch.long), torch.tensor(gains, dtype=sim.dtype)


def stochastic_greedy_graph_cut(
    sim: torch.Tensor,
    k: int,
    lam: float,
    epsilon: float,
    runs: int,
    generator: torch.Generator,
) -> torch.Tensor:
    """``runs`` independent stochastic-greedy maximisations of the graph cut, all at once.

    Stochastic greedy (Mirzasoleiman et al., "Lazier Than Lazy Greedy", AAAI 2015): each of
    the ``k`` steps evaluates only ``s = ceil((m / k) ln(1 / epsilon))`` candidates drawn
    uniformly (with replacement) from the unselected elements and keeps the best, for an
    expected ``(1 - 1/e - epsilon)`` approximation. When ``s`` reaches the number of unselected
    elements, every one of them is evaluated (the plain greedy step); ``epsilon <= 0`` is the
    plain greedy throughout.

    Args:
        sim: symmetric ``m x m`` similarities.
        k: elements per subset (``<= m``).
        lam: graph-cut trade-off (``< 0.5`` keeps it monotone).
        epsilon: stochastic-greedy accuracy parameter.
        runs: number of subsets.
        generator: source of every draw (CPU).

    Returns:
        ``runs x k`` element indices (each row in pick order).
    """
    m = int(sim.shape[0])
    k = min(int(k), m)
    picks = torch.empty(runs, k, dtype=torch.long)
    if k == 0 or runs == 0:
        return picks
    sample = m if epsilon <= 0 else math.ceil(m / k * math.log(1.0 / epsilon))
    base = sim.sum(0) - lam * sim.diagonal()
    penalty = torch.zeros(runs, m, dtype=sim.dtype)
    # remaining[r, :m - t] are run r's unselected elements; pos is the inverse permutation.
    remaining = torch.arange(m).repeat(runs, 1)
    pos = remaining.clone()
    rows = torch.arange(runs)
    for t in range(k):
        left = m - t
        if sample >= left:
            cand = remaining[:, :left]
        else:
            draw = torch.randint(0, left, (runs, sample), generator=generator)
            cand = remaining.gather(1, draw)
        scores = base[cand] - 2.0 * lam * penalty.gather(1, cand)
        # Ties: the smallest element index among the best candidates (as the plain greedy).
        best = scores.max(1, keepdim=True).values
        j = torch.where(scores == best, cand, m).min(1).values
        picks[:, t] = j
        penalty += sim[j]
        # Move j behind the unselected part: swap it with the last unselected element.
        at, last = pos[rows, j], remaining[:, left - 1]
        remaining[rows, at] = last
        pos[rows, last] = at
        remaining[:, left - 1] = j
        pos[rows, j] = left - 1
    return picks
