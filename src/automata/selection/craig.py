"""CRAIG: coresets of gradient medoids by facility location (Mirzasoleiman, Bilmes & Leskovec,
"Coresets for Data-efficient Training of Machine Learning Models", ICML 2020).

CRAIG bounds the error of a weighted subset's gradient sum by the sum, over all candidates, of
the distance to the closest selected element:

    || sum_i g_i - sum_{j in S} w_j g_j ||  <=  sum_i min_{j in S} || g_i - g_j ||,

with ``w_j`` the number of candidates whose closest selected element is ``j``. Minimising the
right-hand side is a facility-location problem: with the similarity
``sim(i, j) = max_dist - || g_i - g_j ||`` (``max_dist`` the largest pairwise distance, so every
similarity is ``>= 0``), it maximises the monotone submodular ``F(S) = sum_i max_{j in S}
sim(i, j)``, and the greedy algorithm is a ``(1 - 1/e)`` approximation.

Conventions (documented differences with the reference code, CORDS' ``CRAIGStrategy``):

- Distance: the plain Euclidean distance of the paper (``squared=False``, default). CORDS uses
  the *squared* distance (``torch.pow(x - y, 2).sum``); ``squared=True`` reproduces it.
- Gradients: closed-form last-layer gradients (bias and weights, see
  :mod:`automata.selection.gradients`). Per example, the Gram matrix is computed in factored
  form, ``g_i . g_j = (e_i . e_j)(1 + h_i . h_j)`` with ``e = p - y`` and ``h`` the penultimate
  features, so a ``C x D`` gradient is never materialised: O(n^2 (C + D)) instead of
  O(n^2 C D). Similarities are computed in row chunks (bounded temporary memory); the ``n x n``
  similarity matrix itself is kept, so ``per_class=True`` (one problem per class, memory
  (class size)^2) is the default for the per-example variant.
- Greedy (:func:`~automata.selection.submodular.facility_location_greedy`): vectorised
  torch. Each candidate's gain is ``sum_i max(sim(i, j) - cur_i, 0)`` with ``cur`` the
  current best similarity of every point. ``greedy=lazy`` keeps upper bounds on the
  gains (valid by submodularity) and re-evaluates only the best few candidates per step
  (Minoux's lazy greedy, in blocks of ``lazy_block`` candidates); it picks the same elements as
  ``greedy=plain``, which re-evaluates every candidate every step (one O(n m) pass, fastest for
  small problems: no per-step host round trips). ``greedy=auto`` (default) takes the plain
  greedy up to ``n m = 2^20`` similarities and the lazy one above.
- Weights: cluster sizes (the number of candidates whose most similar selected element is that
  element; every candidate belongs to exactly one cluster, ties go to the earlier pick), so the
  weights of a per-example subset sum to the number of examples and those of a per-batch subset
  to the number of batches. If every candidate is already perfectly covered (gain 0, e.g.
  duplicates) before the budget is reached, the greedy stops and the rest of the budget is
  filled with random examples of weight 1, as for GRAD-MATCH; the count is the ``shortfall``.

:class:`CRAIG` selects examples (``craig``); :class:`CRAIGPB` selects mini-batches of a seeded
shuffle of the training set (``craigpb``; never consecutive ranges of a possibly label-sorted
file, unlike the reference code). Both record the same statistics as GRAD-MATCH, including
``matching_error = || sum_S w g - g_target || / || g_target ||`` with the sum of the training
gradients as target (measured over the whole training set, also with ``per_class``, where
GRAD-MATCH reports the mean of its per-class errors instead), before any random top-up.
"""

from __future__ import annotations

import time

import torch

from automata.device import synchronize
from automata.selection.base import (
    SelectionContext,
    Selector,
    Subset,
    check_weight_scale,
    class_budgets,
    expand_batches,
    fill_shortfall,
    require,
    require_choice,
)
from automata.selection.gradients import (
    factored_gradient_sum,
    last_layer_factors,
    per_batch_gradients,
    relative_error,
    shuffled_batches,
)
from automata.selection.submodular import cluster_weights, facility_location_greedy

__all__ = ["CRAIG", "CRAIGPB", "similarity_matrix"]

_CHUNK = 1024  # rows of the similarity matrix computed at once
GREEDY = ("auto", "lazy", "plain")


@torch.no_grad()
def similarity_matrix(
    rows: torch.Tensor | None = None,
    *,
    factors: tuple[torch.Tensor, torch.Tensor] | None = None,
    squared: bool = False,
    chunk_size: int = _CHUNK,
) -> torch.Tensor:
    """``n x n`` CRAIG similarities ``max_dist - dist(g_i, g_j)``, all ``>= 0``.

    Pass either the gradient ``rows`` (``n x d``) or their last-layer ``factors`` ``(E, H)``
    (then ``g_i . g_j = (e_i . e_j)(1 + h_i . h_j)``, without forming the rows). Distances are
    Euclidean (``squared=False``, the CRAIG paper) or squared Euclidean (CORDS); the diagonal
    is exactly ``max_dist``. Computed ``chunk_size`` rows at a time.
    """
    if factors is not None and rows is None:
        errs, feats = factors
        sq = (errs * errs).sum(1) * (1.0 + (feats * feats).sum(1))
        ref = errs

        def gram(lo: int, hi: int) -> torch.Tensor:
            return (errs[lo:hi] @ errs.T) * (1.0 + feats[lo:hi] @ feats.T)

    elif rows is not None and factors is None:
        full = rows
        sq = (full * full).sum(1)
        ref = full

        def gram(lo: int, hi: int) -> torch.Tensor:
            return full[lo:hi] @ full.T

    else:
        raise ValueError("pass exactly one of rows and factors")
    n = ref.shape[0]
    out = torch.empty(n, n, dtype=ref.dtype, device=ref.device)
    for start in range(0, n, chunk_size):
        stop = min(n, start + chunk_size)
        block = out[start:stop]
        torch.add(sq[start:stop].unsqueeze(1), sq.unsqueeze(0), out=block)
        block.sub_(gram(start, stop), alpha=2.0).clamp_(min=0.0)
        if not squared:
            block.sqrt_()
        diag = torch.arange(start, stop, device=ref.device)
        block[diag - start, diag] = 0.0  # exactly: each candidate is its own best match
    max_dist = out.max() if n else out.new_zeros(())
    return torch.sub(max_dist, out, out=out)  # in place: max_dist - dist


class _CraigBase(Selector):
    adaptive = True

    def __init__(
        self,
        fraction: float = 0.1,
        interval: int = 5,
        kappa: float = 0.0,
        squared: bool = False,
        greedy: str = "auto",
        lazy_block: int = 16,
        weight_scale: str = "batch",
    ) -> None:
        super().__init__(fraction=fraction, interval=interval, kappa=kappa)
        self.weight_scale = check_weight_scale(weight_scale)
        require_choice("greedy", greedy, GREEDY)
        require(lazy_block >= 1, "lazy_block", ">= 1", lazy_block)
        self.squared = bool(squared)
        self.greedy = greedy
        self.lazy_block = int(lazy_block)

    def _greedy(self, sim: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
        picks, _ = facility_location_greedy(
            sim,
            k,
            lazy={"auto": None, "lazy": True, "plain": False}[self.greedy],
            lazy_block=self.lazy_block,
            symmetric=True,
        )
        return picks, cluster_weights(sim, picks, symmetric=True)

    def settings(self) -> dict[str, float | str | bool]:
        return {
            **super().settings(),
            "squared": self.squared,
            "greedy": self.greedy,
            "lazy_block": self.lazy_block,
            "weight_scale": self.weight_scale,
        }


class CRAIG(_CraigBase):
    """Per-example CRAIG (``craig``), Mirzasoleiman et al., ICML 2020.

    Args:
        fraction, interval, kappa: see :class:`~automata.selection.base.Selector`.
        per_class: one facility-location problem per class, with class-proportional budgets
            (largest remainder, summing to the budget) and memory (class size)^2 instead of
            n^2 (the reference code's ``PerClass`` mode).
        squared: squared Euclidean distances (CORDS) instead of Euclidean ones (the paper).
        greedy: ``lazy``, ``plain`` or ``auto`` (plain for small problems, lazy for large
            ones); all select the same elements, only the time differs.
        lazy_block: candidates the lazy greedy re-evaluates at once.
    """

    name = "craig"

    def __init__(
        self,
        fraction: float = 0.1,
        interval: int = 5,
        kappa: float = 0.0,
        per_class: bool = True,
        squared: bool = False,
        greedy: str = "auto",
        lazy_block: int = 16,
        weight_scale: str = "batch",
    ) -> None:
        super().__init__(fraction, interval, kappa, squared, greedy, lazy_block, weight_scale)
        self.per_class = bool(per_class)

    def select(self, ctx: SelectionContext) -> Subset:
        n = len(ctx.data.train)
        budget = self.budget(n)
        t0 = time.perf_counter()
        errs, feats = last_layer_factors(
            ctx.model, ctx.data.train_eval, torch.arange(n), ctx.device, ctx.batch_size
        )
        synchronize(ctx.device)
        grad_s = time.perf_counter() - t0
        if self.per_class:
            groups = class_budgets(ctx.data.train.labels, budget)
        else:
            groups = [(torch.arange(n), budget)]
        sim_s = solve_s = 0.0
        all_idx, all_w = [], []
        for members, k in groups:
            if k == 0:
                continue
            t1 = time.perf_counter()
            dev_members = members.to(ctx.device)
            sim = similarity_matrix(
                factors=(errs[dev_members], feats[dev_members]), squared=self.squared
            )
            synchronize(ctx.device)
            t2 = time.perf_counter()
            picks, w = self._greedy(sim, k)
            del sim
            solve_s += time.perf_counter() - t2
            sim_s += t2 - t1
            all_idx.append(members[picks])
            all_w.append(w)
        idx = torch.cat(all_idx) if all_idx else torch.empty(0, dtype=torch.long)
        w = torch.cat(all_w) if all_w else torch.empty(0)
        t3 = time.perf_counter()
        target = factored_gradient_sum(errs, feats)
        dev_idx = idx.to(ctx.device)
        approx = factored_gradient_sum(errs[dev_idx], feats[dev_idx], w.to(ctx.device))
        err = relative_error(approx, target)
        err_s = time.perf_counter() - t3
        idx, w, shortfall = fill_shortfall(idx, w, n, budget, ctx.generator)
        return Subset(
            idx,
            w,
            {
                "subset_size": float(idx.numel()),
                "gradient_seconds": grad_s + err_s,
                "similarity_seconds": sim_s,
                "solver_seconds": sim_s + solve_s,
                "matching_error": err,
                "shortfall": float(shortfall),
                "candidates": float(n),
            },
            scale=float(n),
        )

    def settings(self) -> dict[str, float | str | bool]:
        return {**super().settings(), "per_class": self.per_class}


class CRAIGPB(_CraigBase):
    """Per-batch CRAIG (``craigpb``): facility location over mini-batch mean gradients.

    The candidates are the mini-batches of a seeded shuffle of the training set (like
    :class:`~automata.selection.gradmatch.GradMatchPB`); ``floor(k / B)`` batches are selected
    (at least one; a batch larger than the budget is cut to it), each example takes its batch's
    weight, the number of batches whose closest selected batch it is.

    Args:
        batch_size: size B of the candidate mini-batches (fixed, independent of the tuned
            training batch size).
        squared, greedy, lazy_block: see :class:`CRAIG`.
    """

    name = "craigpb"

    randomized = True  # the candidate batches are a fresh seeded shuffle each round

    def __init__(
        self,
        fraction: float = 0.1,
        interval: int = 5,
        kappa: float = 0.0,
        batch_size: int = 32,
        squared: bool = False,
        greedy: str = "auto",
        lazy_block: int = 16,
        weight_scale: str = "batch",
    ) -> None:
        super().__init__(fraction, interval, kappa, squared, greedy, lazy_block, weight_scale)
        require(batch_size >= 1, "batch_size", ">= 1", batch_size)
        self.batch_size = int(batch_size)

    def select(self, ctx: SelectionContext) -> Subset:
        n = len(ctx.data.train)
        budget = self.budget(n)
        t0 = time.perf_counter()
        batches = shuffled_batches(n, self.batch_size, ctx.generator)
        rows = per_batch_gradients(
            ctx.model, ctx.data.train_eval, batches, ctx.device, ctx.batch_size
        )
        synchronize(ctx.device)
        t1 = time.perf_counter()
        sim = similarity_matrix(rows, squared=self.squared)
        synchronize(ctx.device)
        t2 = time.perf_counter()
        k_batches = max(1, budget // self.batch_size)
        bidx, bw = self._greedy(sim, k_batches)
        del sim
        t3 = time.perf_counter()
        err = relative_error(rows[bidx.to(ctx.device)].T @ bw.to(rows), rows.sum(0))
        idx, w, shortfall = expand_batches(batches, bidx, bw, n, budget, ctx.generator)
        return Subset(
            idx,
            w,
            {
                "subset_size": float(idx.numel()),
                "gradient_seconds": t1 - t0,
                "similarity_seconds": t2 - t1,
                "solver_seconds": t3 - t1,
                "matching_error": err,
                "shortfall": float(shortfall),
                "candidates": float(len(batches)),
            },
            scale=float(n),
        )

    def settings(self) -> dict[str, float | str | bool]:
        return {**super().settings(), "batch_size": self.batch_size}
