"""GLISTER: subsets that most decrease the validation loss after one gradient step
(Killamsetty, Sivasubramanian, Ramakrishnan & Iyer, "GLISTER: Generalization based Data Subset
Selection for Efficient and Robust Learning", AAAI 2021).

GLISTER-ONLINE approximates the bi-level problem
``argmin_{|S| <= k} L_V(theta - eta grad L_T(theta, S))`` by its first-order Taylor expansion,
``L_V(theta) - eta grad L_T(theta, S) . grad L_V(theta)``, and maximises it greedily: at step t
the candidate with the largest ``g_i . g_val(theta_t)`` is added, then the parameters move by
one step along the selected gradients, ``theta_{t+1} = theta_0 - eta * sum_{j in S_t} g_j``, and
the validation gradient is recomputed there.

Conventions (those of the reference code, CORDS' ``GLISTERStrategy``, unless stated):

- Last layer only: ``g_i`` is the closed-form last-layer gradient (bias and weights) of example
  ``i``'s loss; the features ``h`` are held fixed, so the validation logits after the step are
  ``z - eta (g_b + h g_W^T)`` and ``g_val`` is recomputed exactly from them (no forward pass).
  Everything is kept in factored form (``E = p - y`` and ``H``, ``n (C + D)`` numbers): the
  scores ``g_i . g_val = e_i . (a + A h_i)`` (``g_val = [a, A]``) cost O(n C D) per step, and no
  ``n x C (D + 1)`` gradient matrix is formed.
- ``g_val`` is the *mean* validation gradient and ``g_j`` the per-example gradient of the summed
  loss, as in CORDS, so ``eta`` is the step size of the summed subset loss.
- Greedy in rounds (CORDS' "RGreedy", a partial update): the budget is split into at most
  ``max_rounds`` nearly equal rounds; each round takes the best remaining candidates by the
  current scores, then updates ``theta`` and ``g_val`` once. With ``budget <= max_rounds`` this
  is the exact one-at-a-time greedy (CORDS' "Naive"). Either way the first pick is
  ``argmax_i g_i . g_val(theta_0)``. Deterministic (no stochastic greedy), so the subset only
  depends on the model.
- Unweighted: every selected example has weight 1 (GLISTER is not a coreset method).

The subset's stats are those of GRAD-MATCH, with ``matching_error = || sum_S g - sum g || /
|| sum g ||`` (weights 1, target the sum of the training gradients) for comparability.
"""

from __future__ import annotations

import time

import torch
from torch import nn

from automata.data.base import BatchDataset
from automata.device import move_to, synchronize
from automata.selection.base import SelectionContext, Selector, Subset, fill_shortfall, require
from automata.selection.gradients import (
    factored_gradient_sum,
    last_layer_factors,
    relative_error,
    subtract_labels_,
)

__all__ = ["Glister"]


@torch.no_grad()
def _logits_and_features(
    model: nn.Module, dataset: BatchDataset, device: torch.device, chunk_size: int
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Logits, penultimate features and labels of a whole dataset, model in eval mode."""
    was_training = model.training
    model.eval()
    logits, feats, labels = [], [], []
    try:
        idx = torch.arange(len(dataset))
        for start in range(0, idx.numel(), chunk_size):
            x, y = dataset[idx[start : start + chunk_size]]
            z, h = model(move_to(x, device))
            logits.append(z.float())
            feats.append(h.float())
            labels.append(y.to(device))
    finally:
        model.train(was_training)
    return torch.cat(logits), torch.cat(feats), torch.cat(labels)


def _validation_gradient(
    logits: torch.Tensor,
    feats: torch.Tensor,
    labels: torch.Tensor,
    step_b: torch.Tensor,
    step_w: torch.Tensor,
    eta: float,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean validation gradient ``(a, A)`` at ``(b - eta step_b, W - eta step_w)``."""
    z = logits - eta * (step_b + feats @ step_w.T)
    e = subtract_labels_(torch.softmax(z, dim=1), labels)
    m = max(1, labels.numel())
    return e.sum(0) / m, (e.T @ feats) / m


def round_sizes(budget: int, max_rounds: int) -> list[int]:
    """Split ``budget`` picks into ``min(budget, max_rounds)`` nearly equal rounds."""
    rounds = max(0, min(budget, max_rounds))
    if rounds == 0:
        return []
    q, r = divmod(budget, rounds)
    return [q + 1 if i < r else q for i in range(rounds)]


class Glister(Selector):
    """GLISTER-ONLINE (``glister``), Killamsetty et al., AAAI 2021.

    Args:
        fraction, interval, kappa: see :class:`~automata.selection.base.Selector`.
        eta: step size of the one-step (Taylor) parameter update after each greedy round
            (CORDS uses the training learning rate; the default is the default
            ``optimizer.lr``). The larger it is, the more the later picks compensate the
            earlier ones, and the smaller the subset's net gradient.
        max_rounds: most greedy rounds (each one scores every remaining candidate and updates
            the validation gradient once); ``budget <= max_rounds`` is the exact greedy.
    """

    name = "glister"

    adaptive = True

    def __init__(
        self,
        fraction: float = 0.1,
        interval: int = 5,
        kappa: float = 0.0,
        eta: float = 0.001,
        max_rounds: int = 64,
    ) -> None:
        super().__init__(fraction=fraction, interval=interval, kappa=kappa)
        require(eta >= 0.0, "eta", ">= 0", eta)
        require(max_rounds >= 1, "max_rounds", ">= 1", max_rounds)
        self.eta = float(eta)
        self.max_rounds = int(max_rounds)

    def select(self, ctx: SelectionContext) -> Subset:
        n = len(ctx.data.train)
        budget = self.budget(n)
        if len(ctx.data.val) == 0:
            raise ValueError("glister needs a non-empty validation set")
        t0 = time.perf_counter()
        errs, feats = last_layer_factors(
            ctx.model, ctx.data.train_eval, torch.arange(n), ctx.device, ctx.batch_size
        )
        zv, hv, yv = _logits_and_features(ctx.model, ctx.data.val, ctx.device, ctx.batch_size)
        synchronize(ctx.device)
        t1 = time.perf_counter()
        step_b = torch.zeros(errs.shape[1], device=errs.device)
        step_w = torch.zeros(errs.shape[1], feats.shape[1], device=errs.device)
        taken = torch.zeros(n, dtype=torch.bool, device=errs.device)
        picks = []
        sizes = round_sizes(budget, self.max_rounds)
        for r, size in enumerate(sizes):
            a, A = _validation_gradient(zv, hv, yv, step_b, step_w, self.eta)
            scores = (errs * (a + feats @ A.T)).sum(1).masked_fill_(taken, -torch.inf)
            chosen = torch.topk(scores, size).indices  # descending: best first
            picks.append(chosen)
            taken[chosen] = True
            if r + 1 < len(sizes):
                step_b += errs[chosen].sum(0)
                step_w += errs[chosen].T @ feats[chosen]
        dev_idx = (
            torch.cat(picks) if picks else torch.empty(0, dtype=torch.long, device=errs.device)
        )
        synchronize(ctx.device)
        t2 = time.perf_counter()
        target = factored_gradient_sum(errs, feats)
        approx = factored_gradient_sum(errs[dev_idx], feats[dev_idx])
        err = relative_error(approx, target)
        idx = dev_idx.cpu()
        w = torch.ones(idx.numel())
        idx, w, shortfall = fill_shortfall(idx, w, n, budget, ctx.generator)
        return Subset(
            idx,
            w,
            {
                "subset_size": float(idx.numel()),
                "gradient_seconds": t1 - t0 + time.perf_counter() - t2,
                "solver_seconds": t2 - t1,
                "matching_error": err,
                "shortfall": float(shortfall),
                "candidates": float(n),
                "rounds": float(len(sizes)),
            },
        )

    def settings(self) -> dict[str, float | str | bool]:
        return {**super().settings(), "eta": self.eta, "max_rounds": self.max_rounds}
