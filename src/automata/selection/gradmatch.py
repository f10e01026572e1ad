"""GRAD-MATCH: subsets whose weighted gradient matches the full gradient (Killamsetty et al.,
ICML 2021), the selector AUTOMATA uses (NeurIPS 2022, Sec. 3).

Both variants solve ``min_{w >= 0, |S| <= k} || sum_{l in S} w_l g_l - g_target ||^2
+ lambda ||w||^2`` with orthogonal matching pursuit on last-layer gradients:

- :class:`GradMatchPB` (per batch): ``g_l`` is the mean gradient of mini-batch ``l`` of a seeded
  shuffle of the training set (never consecutive ranges of a possibly label-sorted file), and
  ``k / B`` batches are chosen. Far fewer candidates than examples: the fast default.
- :class:`GradMatch` (per example), optionally per class with class-proportional budgets that
  sum to the budget exactly (largest remainder), each class matching its own target.

The target is the sum of the training gradients (``target=train``) or the validation gradient
scaled to the same total (``target=val``; per class, the class's own validation gradient
scaled to the class's training count). If OMP stops early, the rest of the budget is filled
with random examples of weight 1 and the shortfall is recorded in the subset's stats.
"""

from __future__ import annotations

import time

import torch

from automata.errors import ConfigError
from automata.selection.base import (
    SelectionContext,
    Selector,
    Subset,
    check_weight_scale,
    class_budgets,
    expand_batches,
    fill_shortfall,
)
from automata.selection.gradients import (
    mean_gradient,
    per_batch_gradients,
    per_example_gradients,
    shuffled_batches,
    synchronize,
)
from automata.selection.omp import orthogonal_matching_pursuit

TARGETS = ("train", "val")


class _GradientMatching(Selector):
    adaptive = True

    def __init__(
        self,
        fraction: float = 0.1,
        interval: int = 5,
        kappa: float = 0.0,
        lam: float = 0.5,
        tol: float = 1e-4,
        target: str = "train",
        lam_relative: bool = False,
        weight_scale: str = "batch",
    ) -> None:
        super().__init__(fraction=fraction, interval=interval, kappa=kappa)
        self.weight_scale = check_weight_scale(weight_scale)
        if lam < 0:
            raise ConfigError(f"selector.lam must be >= 0, got {lam}")
        if tol < 0:
            raise ConfigError(f"selector.tol must be >= 0, got {tol}")
        if target not in TARGETS:
            raise ConfigError(
                f"selector.target must be one of {', '.join(TARGETS)}, got '{target}'"
            )
        self.lam = float(lam)
        self.tol = float(tol)
        self.target = target
        self.lam_relative = bool(lam_relative)

    def ridge(self, rows: torch.Tensor) -> float:
        """The ridge term OMP uses: ``lam``, or with ``lam_relative`` ``lam`` times the mean
        squared candidate-gradient norm (the mean of the Gram diagonal), so the regulariser
        keeps its strength while gradient norms shrink by orders of magnitude during
        training."""
        if not self.lam_relative or self.lam == 0.0:
            return self.lam
        return self.lam * float(rows.double().pow(2).sum(1).mean())

    def _target(self, ctx: SelectionContext, rows: torch.Tensor) -> torch.Tensor:
        if self.target == "train":
            return rows.sum(0)
        val = mean_gradient(ctx.model, ctx.data.val, ctx.device, ctx.batch_size)
        return val * rows.shape[0]

    def _solve(
        self, rows: torch.Tensor, target: torch.Tensor, budget: int
    ) -> tuple[torch.Tensor, torch.Tensor, float]:
        """OMP on columns ``rows.T``; returns CPU indices, weights and relative matching error."""
        idx, w = orthogonal_matching_pursuit(
            rows.T, target, budget, lam=self.ridge(rows), positive=True, tol=self.tol
        )
        keep = w > 0
        idx, w = idx[keep], w[keep]
        if idx.numel():
            residual = rows[idx].T @ w.to(rows.dtype) - target
        else:
            residual = -target
        err = float(residual.norm() / target.norm().clamp_min(1e-12))
        return idx.cpu(), w.float().cpu(), err

    def describe(self) -> dict[str, float | str]:
        return {
            **super().describe(),
            "lam": self.lam,
            "lam_relative": str(self.lam_relative),
            "tol": self.tol,
            "target": self.target,
            "weight_scale": self.weight_scale,
        }


class GradMatchPB(_GradientMatching):
    """Per-batch GRAD-MATCH (``gradmatchpb``).

    Args:
        batch_size: size B of the candidate mini-batches (fixed, independent of the tuned
            training batch size); ``floor(k / B)`` batches are selected.
        lam: ridge term, 0 by default as in every per-batch configuration of the reference
            code (0.5 is its per-example setting): an absolute lambda does not scale with the
            gradients, whose norms shrink by orders of magnitude during training, and ends up
            dominating the Gram diagonal (see ``docs/selection.md``).
        lam_relative: read ``lam`` as a fraction of the mean squared candidate-gradient norm.
        tol, target: see the module docstring; ``tol`` stops OMP once the relative residual
            is under it.
    """

    def __init__(
        self,
        fraction: float = 0.1,
        interval: int = 5,
        kappa: float = 0.0,
        lam: float = 0.0,
        tol: float = 1e-4,
        target: str = "train",
        batch_size: int = 32,
        lam_relative: bool = False,
        weight_scale: str = "batch",
    ) -> None:
        super().__init__(fraction, interval, kappa, lam, tol, target, lam_relative, weight_scale)
        if batch_size < 1:
            raise ConfigError(f"selector.batch_size must be >= 1, got {batch_size}")
        self.batch_size = int(batch_size)

    @property
    def name(self) -> str:
        return "gradmatchpb"

    def select(self, ctx: SelectionContext) -> Subset:
        n = len(ctx.data.train)
        budget = self.budget(n)
        t0 = time.perf_counter()
        batches = shuffled_batches(n, self.batch_size, ctx.generator)
        rows = per_batch_gradients(
            ctx.model, ctx.data.train_eval, batches, ctx.device, ctx.batch_size
        )
        target = self._target(ctx, rows)
        synchronize(ctx.device)
        t1 = time.perf_counter()
        k_batches = max(1, budget // self.batch_size)
        bidx, bw, err = self._solve(rows, target, k_batches)
        t2 = time.perf_counter()
        idx, w, shortfall = expand_batches(batches, bidx, bw, n, budget, ctx.generator)
        return Subset(
            idx,
            w,
            {
                "subset_size": float(idx.numel()),
                "gradient_seconds": t1 - t0,
                "solver_seconds": t2 - t1,
                "matching_error": err,
                "shortfall": float(shortfall),
                "candidates": float(len(batches)),
            },
            scale=float(n),
        )

    def describe(self) -> dict[str, float | str]:
        return {**super().describe(), "batch_size": self.batch_size}


class GradMatch(_GradientMatching):
    """Per-example GRAD-MATCH (``gradmatch``).

    Args:
        per_class: solve one OMP per class, with the class's share of the budget
            (proportional to its size) and the class's gradient sum as target.
    """

    def __init__(
        self,
        fraction: float = 0.1,
        interval: int = 5,
        kappa: float = 0.0,
        lam: float = 0.5,
        tol: float = 1e-4,
        target: str = "train",
        per_class: bool = False,
        lam_relative: bool = False,
        weight_scale: str = "batch",
    ) -> None:
        super().__init__(fraction, interval, kappa, lam, tol, target, lam_relative, weight_scale)
        self.per_class = bool(per_class)

    @property
    def name(self) -> str:
        return "gradmatch"

    def select(self, ctx: SelectionContext) -> Subset:
        n = len(ctx.data.train)
        budget = self.budget(n)
        groups: list[tuple[torch.Tensor, int]]
        if self.per_class:
            # Shares proportional to class sizes that sum to the budget exactly.
            groups = class_budgets(ctx.data.train.labels, budget)
        else:
            groups = [(torch.arange(n), budget)]
        grad_s = solve_s = 0.0
        all_idx, all_w, errs = [], [], []
        for members, k in groups:
            if k == 0:
                continue
            t0 = time.perf_counter()
            rows = per_example_gradients(
                ctx.model, ctx.data.train_eval, members, ctx.device, ctx.batch_size
            )
            if self.target == "val" and self.per_class:
                target = self._class_val_target(ctx, members, rows)
            else:
                target = self._target(ctx, rows)
            synchronize(ctx.device)
            t1 = time.perf_counter()
            idx, w, err = self._solve(rows, target, min(k, members.numel()))
            solve_s += time.perf_counter() - t1
            grad_s += t1 - t0
            all_idx.append(members[idx])
            all_w.append(w)
            errs.append(err)
        idx = torch.cat(all_idx)[:budget]
        w = torch.cat(all_w)[:budget]
        idx, w, shortfall = fill_shortfall(idx, w, n, budget, ctx.generator)
        return Subset(
            idx,
            w,
            {
                "subset_size": float(idx.numel()),
                "gradient_seconds": grad_s,
                "solver_seconds": solve_s,
                "matching_error": float(sum(errs) / max(1, len(errs))),
                "shortfall": float(shortfall),
                "candidates": float(n),
            },
            scale=float(n),
        )

    def _class_val_target(
        self, ctx: SelectionContext, members: torch.Tensor, rows: torch.Tensor
    ) -> torch.Tensor:
        """Class ``c``'s own validation gradient (the mean over the validation examples of
        that class), scaled to the class's training-example count like the train target;
        the class's training gradient sum when the validation set has no example of it."""
        c = ctx.data.train.labels[members[0]]
        val_members = (ctx.data.val.labels == c).nonzero().flatten()
        if val_members.numel() == 0:
            return rows.sum(0)
        val_rows = per_example_gradients(
            ctx.model, ctx.data.val, val_members, ctx.device, ctx.batch_size
        )
        return val_rows.mean(0) * rows.shape[0]

    def describe(self) -> dict[str, float | str]:
        return {**super().describe(), "per_class": str(self.per_class)}
