"""GRAD-MATCH: subsets whose weighted gradient matches the full gradient (Killamsetty et al.,
ICML 2021), the selector AUTOMATA uses (NeurIPS 2022, Sec. 3).

Both variants solve ``min_{w >= 0, |S| <= k} || sum_{l in S} w_l g_l - g_target ||^2
+ lambda ||w||^2`` with orthogonal matching pursuit on last-layer gradients:

- :class:`GradMatchPB` (per batch): ``g_l`` is the mean gradient of mini-batch ``l`` of a seeded
  shuffle of the training set (never consecutive ranges of a possibly label-sorted file), and
  ``k / B`` batches are chosen. Far fewer candidates than examples: the fast default. Two
  options bound its cost per round (``docs/performance.md``): a fresh random ``pool`` of
  candidate batches instead of all of them (fewer examples forwarded; the target is estimated
  from the pool), and ``max_atoms``, the most batches one OMP problem picks (the candidates
  split into groups that each match a share of the target, so the solver's work grows
  linearly in N, not as N^2).
- :class:`GradMatch` (per example), optionally per class with class-proportional budgets that
  sum to the budget exactly (largest remainder), each class matching its own target.

The target is the sum of the training gradients (``target=train``) or the validation gradient
scaled to the same total (``target=val``; per class, the class's own validation gradient
scaled to the class's training count). If OMP stops early, the rest of the budget is filled
with random examples of weight 1 and the shortfall is recorded in the subset's stats.
"""

from __future__ import annotations

import math
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
    mean_gradient,
    per_batch_gradients,
    per_example_gradients,
    shuffled_batches,
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
        weight_scale: str = "matched",
    ) -> None:
        super().__init__(fraction=fraction, interval=interval, kappa=kappa)
        self.weight_scale = check_weight_scale(weight_scale)
        require(not lam < 0, "lam", ">= 0", lam)
        require(not tol < 0, "tol", ">= 0", tol)
        require_choice("target", target, TARGETS)
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

    def settings(self) -> dict[str, float | str | bool]:
        return {
            **super().settings(),
            "lam": self.lam,
            "lam_relative": self.lam_relative,
            "tol": self.tol,
            "target": self.target,
            "weight_scale": self.weight_scale,
        }


class TargetError:
    """Stopping rule of a growing candidate pool: True once at least ``first`` rows are in
    and the estimated relative standard error of the target estimate is at most ``tol``.

    The pool is a uniform sample without replacement of ``P`` of the ``M`` batch gradients
    (rows); the target estimate is proportional to their mean, whose standard error is
    ``sqrt((1 - P/M) s^2 / P)`` (``s^2`` the rows' summed sample variance, finite-population
    corrected). Running sums in float64 keep every check O(chunk x d)."""

    def __init__(self, first: int, total: int, tol: float) -> None:
        self.first, self.total, self.tol = first, total, tol
        self.count = 0
        self.sum: torch.Tensor | None = None
        self.sq = 0.0

    def __call__(self, new_rows: torch.Tensor) -> bool:
        rows = new_rows.double()
        total = rows.sum(0)
        self.sum = total if self.sum is None else self.sum + total
        self.sq += float(rows.pow(2).sum())
        self.count += rows.shape[0]
        if self.count < max(2, self.first):
            return False
        return self.relative(self.count, self.sum, self.sq, self.total) <= self.tol

    @staticmethod
    def relative(count: int, row_sum: torch.Tensor, sq: float, total: int) -> float:
        mean = row_sum / count
        var = max(0.0, sq - count * float(mean @ mean)) / max(1, count - 1)
        se = math.sqrt(max(0.0, 1.0 - count / total) * var / count)
        return se / max(float(mean.norm()), 1e-30)

    @classmethod
    def of(cls, rows: torch.Tensor, total: int) -> float:
        """The estimate's relative standard error for a pool of ``rows`` out of ``total``."""
        r = rows.double()
        return cls.relative(r.shape[0], r.sum(0), float(r.pow(2).sum()), total)


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
        pool: candidate batches per round as a multiple of the ``K`` batches to select:
            gradients are computed only for ``ceil(pool * K)`` batches drawn afresh each round
            (the first ones of the round's shuffle, a uniform sample), and the training target
            is their gradient sum times ``N / (examples in the pool)``, an unbiased estimate of
            the full sum. ``None``: every batch (the reference's behaviour).
        pool_error: with a pool and ``target=train``, keep forwarding batches of the shuffle
            (one forward chunk at a time) until the estimated relative standard error of the
            target estimate, ``sqrt((1 - P/M) s^2 / P) / ||mean row||`` over the ``P`` pool
            rows (``s^2`` their summed variance, ``M`` all batches), is at most this. The
            per-example gradients of a trained model are often tens of times larger than
            their mean, so a small pool can miss the target by more than OMP's own error;
            this bounds that error whatever the data, and forwards every batch when the
            data are too few or too noisy for a sample to estimate the target. 0: the pool
            is ``ceil(pool * K)`` batches, however noisy.
        max_atoms: the most batches one OMP problem selects. With more to select, the
            candidates are split into ``ceil(K / max_atoms)`` random groups of (almost) equal
            size, each choosing its equal share of the ``K`` batches to match its share of the
            whole target (the target times the group's share of the candidate examples). The
            groups' residuals are independent and partly cancel in the sum; matching each
            group's own gradient sum instead would add every group's sampling noise to the
            error (measured: three times the error at N = 10^5). A single problem over ``m``
            candidates costs ``O(K m d)``, quadratic in N since both ``K`` and ``m`` grow with
            N; groups make it ``O(K (m / groups) d)``, linear. ``None``: one problem. 512 by
            default: one problem, as the reference, whenever ``K <= 512`` (N up to about
            164,000 at 10% with B = 32), and a cost linear in N beyond, where one problem
            took as long as the subset's own training (measured on a busy machine at
            N = 10^6 and 10%: OMP 24 s with one problem, 13 s in groups of 512; matching
            error 0.01% and 0.4%).
        omp_passes: the most passes over the candidates one OMP problem makes: with more
            batches to select, each pass adds ``ceil(K / omp_passes)`` of them
            (generalised OMP, :func:`~automata.selection.omp.orthogonal_matching_pursuit`),
            so a round costs ``O(omp_passes m d)``, linear in N, instead of ``O(K m d)``.
            ``None``: one batch per pass (plain OMP, the reference). 32 by default: plain OMP
            whenever ``K <= 32`` (every shipped data set at 10%); at N = 10^5 and 10% (K =
            312) the exact matching error moved from 0.022 to 0.023 and the OMP time fell
            about five-fold (``scripts/bench_selection.py --datasets synthetic-1e5``,
            docs/performance.md).
        fit_budget: when the budget ``k`` is below ``B``, candidate batches of ``k`` examples
            (one is selected, whole); ``False``: ``B``-example batches, the selected one cut
            to ``k`` examples after matching (the reference), so the examples trained on are
            not the batch whose gradient was matched. True by default: on dna at 1% (14 of 32)
            the exact matching error falls from 0.71 to 0.61 (30 seeds); unchanged in
            expectation when the cut is small (satimage at 1%, 31 of 32).
    """

    name = "gradmatchpb"

    randomized = True  # the candidate batches are a fresh seeded shuffle each round

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
        weight_scale: str = "matched",
        pool: float | None = None,
        max_atoms: int | None = 512,
        fit_budget: bool = True,
        pool_error: float = 0.0,
        omp_passes: int | None = 32,
    ) -> None:
        super().__init__(fraction, interval, kappa, lam, tol, target, lam_relative, weight_scale)
        ok = omp_passes is None or omp_passes >= 1
        require(ok, "omp_passes", ">= 1 (or null: one per batch)", omp_passes)
        self.omp_passes = None if omp_passes is None else int(omp_passes)
        require(batch_size >= 1, "batch_size", ">= 1", batch_size)
        ok = pool is None or (math.isfinite(pool) and pool >= 1.0)
        require(ok, "pool", ">= 1 (or null: every batch)", pool)
        require(
            max_atoms is None or max_atoms >= 1,
            "max_atoms",
            ">= 1 (or null: one problem)",
            max_atoms,
        )
        require(math.isfinite(pool_error) and pool_error >= 0, "pool_error", ">= 0", pool_error)
        self.batch_size = int(batch_size)
        self.pool = None if pool is None else float(pool)
        self.max_atoms = None if max_atoms is None else int(max_atoms)
        self.fit_budget = bool(fit_budget)
        self.pool_error = float(pool_error)

    def candidate_count(self, n_batches: int, k_batches: int) -> int:
        """How many of the round's ``n_batches`` shuffled batches are candidates."""
        if self.pool is None:
            return n_batches
        return min(n_batches, max(k_batches, math.ceil(self.pool * k_batches - 1e-9)))

    def select(self, ctx: SelectionContext) -> Subset:
        n = len(ctx.data.train)
        budget = self.budget(n)
        t0 = time.perf_counter()
        size = min(self.batch_size, budget) if self.fit_budget else self.batch_size
        batches = shuffled_batches(n, size, ctx.generator)
        # The shuffle's last batch holds the remaining n mod B examples. It is no candidate
        # (its mean of fewer examples is noisier, and OMP's unnormalised scores favour large
        # gradients), unless no batch is full; its examples count in the target.
        full = len(batches) - int(len(batches) > 1 and batches[-1].numel() < size)
        k_batches = max(1, budget // size)
        first = self.candidate_count(full, k_batches)
        enough = None
        if first < full and self.pool_error > 0 and self.target == "train":
            enough = TargetError(first, full, self.pool_error)
            forwarded = batches  # until the estimate is good enough
        else:
            forwarded = batches if first == full else batches[:first]
        rows = per_batch_gradients(
            ctx.model, ctx.data.train_eval, forwarded, ctx.device, ctx.batch_size, enough
        )
        remainder = rows[full:]  # the remainder batch's row, when it was forwarded
        rows = rows[:full]
        pool = batches[: rows.shape[0]]
        pool_examples = sum(int(b.numel()) for b in pool)
        val = None
        if self.target == "val":
            val = mean_gradient(ctx.model, ctx.data.val, ctx.device, ctx.batch_size)
        synchronize(ctx.device)
        t1 = time.perf_counter()
        # Targets in the units of the rows (batch means): the sum of the n example gradients
        # over the batch size. From every example: the full batches' rows plus the remainder
        # row weighted by its share of a batch; from a pool: its rows scaled to n examples
        # (unbiased); target=val: the mean validation gradient times n / B.
        if val is not None:
            whole = val * (n / size)
        elif remainder.shape[0]:
            whole = rows.sum(0) + remainder[0] * (batches[-1].numel() / size)
        else:
            whole = rows.sum(0) * (n / pool_examples)
        groups = max(1, math.ceil(k_batches / self.max_atoms)) if self.max_atoms else 1
        groups = min(groups, len(pool))
        chosen, weights, residual = [], [], None
        total = torch.zeros_like(rows[0])
        scores = 0
        for g, members in enumerate(torch.arange(len(pool)).tensor_split(groups)):
            k_g = k_batches // groups + int(g < k_batches % groups)
            block = rows[members.to(rows.device)] if groups > 1 else rows
            examples = sum(int(pool[int(i)].numel()) for i in members)
            target = whole * (examples / pool_examples)
            per_pass = math.ceil(k_g / self.omp_passes) if self.omp_passes else 1
            idx, w = orthogonal_matching_pursuit(
                block.T,
                target,
                k_g,
                lam=self.ridge(block),
                positive=True,
                tol=self.tol,
                atoms_per_pass=max(1, per_pass),
            )
            keep = w > 0
            idx, w = idx[keep], w[keep]
            approx = block[idx].T @ w.to(block.dtype) if idx.numel() else torch.zeros_like(target)
            residual = approx - target if residual is None else residual + approx - target
            total += target
            chosen.append(members[idx.cpu()])
            weights.append(w.float().cpu())
            scores += math.ceil(k_g / max(1, per_pass)) * int(members.numel())
        assert residual is not None
        err = float(residual.norm() / total.norm().clamp_min(1e-12))
        t2 = time.perf_counter()
        idx, w, shortfall = expand_batches(
            batches, torch.cat(chosen), torch.cat(weights), n, budget, ctx.generator
        )
        return Subset(
            idx,
            w,
            {
                "subset_size": float(idx.numel()),
                "gradient_seconds": t1 - t0,
                "solver_seconds": t2 - t1,
                "matching_error": err,
                "shortfall": float(shortfall),
                "candidates": float(len(pool)),
                # Operation counts (machine-independent cost): examples through the network,
                # and the OMP's candidate scores, sum of budget x candidates over its problems
                # (its A^T r work when every step adds a column for good; a column dropped by
                # the non-negative solve costs one step more).
                "examples_forwarded": float(
                    sum(int(b.numel()) for b in forwarded[: rows.shape[0] + remainder.shape[0]])
                    + (len(ctx.data.val) if val is not None else 0)
                ),
                "omp_problems": float(groups),
                "omp_scores": float(scores),
                "candidate_batch_size": float(size),
                "target_standard_error": 0.0 if len(pool) == full else TargetError.of(rows, full),
            },
            scale=float(n),
        )

    def settings(self) -> dict[str, float | str | bool]:
        return {
            **super().settings(),
            "batch_size": self.batch_size,
            "pool": "all" if self.pool is None else self.pool,
            "max_atoms": "none" if self.max_atoms is None else self.max_atoms,
            "omp_passes": "none" if self.omp_passes is None else self.omp_passes,
            "fit_budget": self.fit_budget,
            "pool_error": self.pool_error,
        }


class GradMatch(_GradientMatching):
    """Per-example GRAD-MATCH (``gradmatch``).

    Args:
        per_class: solve one OMP per class, with the class's share of the budget
            (proportional to its size) and the class's gradient sum as target.
    """

    name = "gradmatch"

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
        weight_scale: str = "matched",
    ) -> None:
        super().__init__(fraction, interval, kappa, lam, tol, target, lam_relative, weight_scale)
        self.per_class = bool(per_class)

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

    def settings(self) -> dict[str, float | str | bool]:
        return {**super().settings(), "per_class": self.per_class}
