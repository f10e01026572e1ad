"""The selector interface: which weighted subset of the training data a configuration trains on.

A selector is configured once (fraction, selection interval R, warm start kappa, ...) from
``conf/selector/<name>.yaml`` and then asked, at each selection round of each trial, for a
:class:`Subset` given the trial's current model. The *training plan* of a configuration (its T
plan epochs: the warm start, then when to reselect) is the same for every selector and lives
in :class:`Selector`; subclasses implement :meth:`Selector.select` only. A trainer asks one
thing per epoch, :meth:`Selector.plan`: what to train on (an :class:`EpochPlan`), selecting a
new subset when one is due.

Words: the *training plan* is this per-configuration plan of epochs; the *lr schedule* is the
learning-rate schedule (``train.lr_schedule``); a *scheduler* is the trial scheduler (SHA,
Hyperband, ASHA) that decides how many plan epochs each configuration gets.
"""

from __future__ import annotations

import copy
import math
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

import torch
from torch import nn

from automata.data.base import DataSplits
from automata.errors import ConfigError


@dataclass(frozen=True)
class WarmStart:
    """The warm start of one configuration (AUTOMATA Sec. 3, as its reference code runs it):
    ``full_epochs`` epochs on the full data stand in for the first ``covers`` epochs of the
    T-epoch training plan, after which training continues at plan epoch ``covers`` (lr
    schedule included). A configuration so costs about ``T * fraction`` full-data epochs
    whatever kappa is, and the scheduler still counts plan epochs."""

    full_epochs: int = 0
    covers: int = 0


def warm_start(kappa: float, total_epochs: int, fraction: float) -> WarmStart:
    """``covers = floor(kappa * T)`` plan epochs, trained as
    ``full_epochs = ceil(covers * fraction)`` full-data epochs; never 0 when ``kappa > 0``
    (at least one full epoch standing in for at least one plan epoch). The one place this is
    computed."""
    if kappa <= 0 or total_epochs <= 0:
        return WarmStart()
    covers = min(total_epochs, max(1, math.floor(kappa * total_epochs + 1e-9)))
    full = min(covers, max(1, math.ceil(covers * fraction - 1e-9)))
    return WarmStart(full_epochs=full, covers=covers)


@dataclass
class Subset:
    """A weighted subset of the training set: unique indices and non-negative weights (CPU)."""

    indices: torch.Tensor
    weights: torch.Tensor
    stats: dict[str, float] = field(default_factory=dict)
    #: how many training examples the weights stand for: N when the weighted subset was
    #: fitted to a full-data sum (gradient matching, CRAIG's cluster sizes); None when each
    #: example stands for itself (weights 1).
    scale: float | None = None

    def __len__(self) -> int:
        return int(self.indices.numel())


@dataclass
class SelectionContext:
    """What a selector may look at in one selection round."""

    model: nn.Module
    data: DataSplits
    device: torch.device
    generator: torch.Generator
    batch_size: int = 1024  # forward-pass chunk size for gradient computation
    epoch: int = 0  # the plan epoch about to be trained (0-based)
    total_epochs: int = 0  # T, the epochs of the configuration's training plan


@dataclass
class EpochPlan:
    """What one epoch of a configuration's training plan trains on, as its selector decided
    (:meth:`Selector.plan`)."""

    indices: torch.Tensor  # the training examples of the epoch
    weights: torch.Tensor  # their loss weights, aligned with ``indices``
    per_batch: bool  # each mini-batch divides by its own weight sum (Selector.loss_weights)
    subset: Subset | None  # the subset to keep for the next epochs (None: none yet)
    selected: bool = False  # a new subset was chosen for this epoch
    #: a warm-start epoch (the full data): ``full_epochs`` of them stand in for the first
    #: ``covers`` epochs of the training plan; ``None`` for every other epoch
    warm: WarmStart | None = None


class Selector(ABC):
    """Base class of every selector.

    Args:
        fraction: subset size as a fraction of the training set, in (0, 1].
        interval: R, epochs between two selection rounds (adaptive selectors only).
        kappa: warm start (AUTOMATA Sec. 3). ``ceil(floor(kappa * T) * fraction)`` full-data
            epochs stand in for the first ``floor(kappa * T)`` of the T plan epochs (see
            :class:`WarmStart`), so the first selection sees an informative model at about the
            cost of the subset epochs they replace.
    """

    #: whether the subset is chosen again every ``interval`` epochs.
    online: bool = True
    #: whether the selector trains on the whole data set (no subset at all).
    is_full: bool = False
    #: how training uses the weights (see :meth:`loss_weights`); weighted selectors take it
    #: as the ``weight_scale`` option.
    weight_scale: str = "batch"
    #: whether the subset depends on the trial's generator (random draws, a seeded shuffle of
    #: candidate batches), not only on the model and the data: two trials of the same model
    #: then get different subsets. The contract tests check it against what the selector does.
    randomized: bool = False
    #: whether the selector looks at the model (gradient-based). Without warm start such a
    #: selector has no trained model to look at before epoch 0, so the first interval trains
    #: on a uniformly random subset (as GRAD-MATCH's reference code does); with warm start the
    #: first subset after it is a selected one.
    adaptive: bool = False

    #: what logs, the study and summary.json call the selector: a class attribute, set by
    #: each class of the package to the stem of its YAML (``conf/selector/<name>.yaml``; the
    #: contract tests check it). A class that sets none is called by its class name.
    name: ClassVar[str] = "Selector"

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        if "name" not in cls.__dict__:
            cls.name = cls.__name__

    def __init__(self, fraction: float = 0.1, interval: int = 5, kappa: float = 0.0) -> None:
        require(0.0 < fraction <= 1.0, "fraction", "in (0, 1]", fraction)
        require(interval >= 1, "interval", ">= 1", interval)
        require(not kappa < 0.0, "kappa", ">= 0", kappa)
        self.fraction = float(fraction)
        self.interval = int(interval)
        self.kappa = float(kappa)

    def at_fraction(self, fraction: float) -> Selector:
        """This selector, choosing subsets of ``fraction`` of the training set (a rung of a
        scheduler whose resource is the data's size): a copy with every other setting kept.
        Work that :meth:`prepare` shares across trials depends on the budget: prepare the copy
        too."""
        require(0.0 < fraction <= 1.0, "fraction", "in (0, 1]", fraction)
        twin = copy.copy(self)
        twin.fraction = float(fraction)
        return twin

    def budget(self, n: int) -> int:
        """Number of examples a subset of an ``n``-example training set may hold (>= 1)."""
        return max(1, min(n, int(math.floor(self.fraction * n + 1e-9))))

    def warm_start(self, total_epochs: int) -> WarmStart:
        """The warm start of a configuration trained for T epochs (none for ``full``)."""
        if self.is_full:
            return WarmStart()
        return warm_start(self.kappa, total_epochs, self.fraction)

    def selects_at(self, epoch: int, total_epochs: int, has_subset: bool) -> bool:
        """Whether a new subset is chosen before training epoch ``epoch`` (0-based).

        The first subset after warm start is a selected one (the reference code trained the
        first R epochs on a random subset); later rounds follow every ``interval`` epochs.
        """
        warm = self.warm_start(total_epochs).covers
        if epoch < warm:
            return False
        if not has_subset:
            return True
        return self.online and (epoch - warm) % self.interval == 0

    def plan(self, ctx: SelectionContext, current: Subset | None) -> EpochPlan:
        """What to train on in epoch ``ctx.epoch`` of ``ctx.total_epochs``, given the subset
        trained on so far (``None`` before the first): the full data (the full selector, and
        warm-start epochs), else ``current``, or a new subset when :meth:`selects_at` says
        so (a uniformly random one while an adaptive selector has nothing trained to match),
        with the loss weights of :meth:`loss_weights`."""
        n = len(ctx.data.train)
        ws = self.warm_start(ctx.total_epochs)
        warm = ctx.epoch < ws.covers
        if self.is_full or warm:
            return EpochPlan(
                torch.arange(n), torch.ones(n), True, current, warm=ws if warm else None
            )
        selected = self.selects_at(ctx.epoch, ctx.total_epochs, current is not None)
        if selected:
            untrained = ctx.epoch == 0 and current is None
            current = self.random_subset(ctx) if self.adaptive and untrained else self.select(ctx)
        assert current is not None
        weights, per_batch = self.loss_weights(current)
        return EpochPlan(current.indices, weights, per_batch, current, selected=selected)

    def prepare(
        self,
        data: DataSplits,
        cache_dir: Path | None = None,
        seed: int = 0,
        device: torch.device | None = None,
    ) -> dict[str, float | str]:
        """Work shared by every trial, done once per run before the study starts (e.g. MILO's
        features and orderings), kept in ``cache_dir`` for the other processes of the study.

        Returns what was done, for the summary. The default does nothing: selectors that look
        at the trained model have nothing to share.
        """
        del data, cache_dir, seed, device
        return {}

    @abstractmethod
    def select(self, ctx: SelectionContext) -> Subset:
        """Return a subset of at most :meth:`budget` examples of ``ctx.data.train``."""

    def random_subset(self, ctx: SelectionContext) -> Subset:
        """A uniformly random subset of the budget, weight 1 (the first interval of an adaptive
        selector without warm start)."""
        n = len(ctx.data.train)
        k = self.budget(n)
        idx = torch.randperm(n, generator=ctx.generator)[:k]
        return Subset(idx, torch.ones(k), {"subset_size": float(k), "random_first": 1.0})

    def loss_weights(self, subset: Subset) -> tuple[torch.Tensor, bool]:
        """Per-example loss weights for training on ``subset``, and whether each mini-batch
        divides by its own weight sum.

        ``weight_scale``:

        - ``batch``: each mini-batch minimises ``sum(w l) / sum(w)`` (the reference code).
          Relative weights count only inside a mini-batch; the scale the selector fitted is
          dropped.
        - ``subset``: weights normalised once over the whole subset to mean 1; each mini-batch
          minimises ``mean(w' l)``, so relative weights count across mini-batches.
        - ``matched``: the scale the selector fitted, ``w' = w k / N`` when the weights stand
          for the N training examples (``Subset.scale``), so the expected step gradient is the
          weighted subset's estimate of the full-data mean gradient, magnitude included.

        Weights 1 (random, full) give the same training under all three.
        """
        w = subset.weights
        if self.weight_scale == "batch":
            return w, True
        k = w.numel()
        total = float(w.sum())
        if self.weight_scale == "matched" and subset.scale:
            total = float(subset.scale)
        return w * (k / max(total, 1e-12)), False

    def settings(self) -> dict[str, float | str | bool]:
        """The selector's settings, as ``summary.json`` records them (a subclass adds its own
        options to ``super().settings()``)."""
        return {
            "selector": self.name,
            "fraction": self.fraction,
            "interval": self.interval,
            "kappa": self.kappa,
        }

    def settings_for(self, total_epochs: int) -> dict[str, float | str | bool]:
        """:meth:`settings` plus the warm start a configuration of T epochs gets."""
        ws = self.warm_start(total_epochs)
        return {
            **self.settings(),
            "warm_full_epochs": ws.full_epochs,
            "warm_covers_epochs": ws.covers,
        }


def require(ok: bool, option: str, rule: str, value: object) -> None:
    """The check of one selector option: unless ``ok``, a one-line ConfigError
    ``selector.<option> must be <rule>, got <value>`` (string values quoted)."""
    if not ok:
        shown = f"'{value}'" if isinstance(value, str) else value
        raise ConfigError(f"selector.{option} must be {rule}, got {shown}")


def require_choice(option: str, value: str, choices: tuple[str, ...]) -> str:
    """``value`` if it is one of ``choices``, else the ConfigError of :func:`require`."""
    require(value in choices, option, f"one of {', '.join(choices)}", value)
    return value


WEIGHT_SCALES = ("batch", "subset", "matched")


def check_weight_scale(weight_scale: str) -> str:
    return require_choice("weight_scale", weight_scale, WEIGHT_SCALES)


def fill_shortfall(
    indices: torch.Tensor,
    weights: torch.Tensor,
    n: int,
    budget: int,
    generator: torch.Generator,
) -> tuple[torch.Tensor, torch.Tensor, int]:
    """Top a subset up to ``budget`` with random unselected examples of weight 1.

    Returns the new indices and weights and the shortfall that was filled.
    """
    shortfall = budget - int(indices.numel())
    if shortfall <= 0:
        return indices, weights, 0
    mask = torch.ones(n, dtype=torch.bool)
    mask[indices] = False
    pool = mask.nonzero().flatten()
    extra = pool[torch.randperm(pool.numel(), generator=generator)[:shortfall]]
    fill_w = torch.ones(extra.numel(), dtype=weights.dtype)
    return torch.cat([indices, extra]), torch.cat([weights, fill_w]), int(extra.numel())


def expand_batches(
    batches: list[torch.Tensor],
    chosen: torch.Tensor,
    weights: torch.Tensor,
    n: int,
    budget: int,
    generator: torch.Generator,
) -> tuple[torch.Tensor, torch.Tensor, int]:
    """Per-batch selection to examples: every member of a chosen batch takes its batch's
    weight, capped at ``budget``; a shortfall is topped up by :func:`fill_shortfall`."""
    if chosen.numel():
        members = [batches[int(i)] for i in chosen]
        idx = torch.cat(members)[:budget]
        sizes = torch.tensor([m.numel() for m in members])
        w = torch.repeat_interleave(weights, sizes)[:budget]
    else:
        idx, w = torch.empty(0, dtype=torch.long), torch.empty(0)
    return fill_shortfall(idx, w, n, budget, generator)


def class_budgets(labels: torch.Tensor, budget: int) -> list[tuple[torch.Tensor, int]]:
    """Split ``budget`` over the classes in proportion to their sizes (largest remainder).

    The shares sum to ``budget`` exactly (``budget <= n``) and never exceed a class's size; a
    class can get 0 (and then no representative) when the budget is below the number of
    classes. Returns ``(members, share)`` per class present in ``labels``.
    """
    n = labels.numel()
    classes = torch.unique(labels)
    members = [(labels == c).nonzero().flatten() for c in classes]
    sizes = [int(m.numel()) for m in members]
    base = [budget * s // n for s in sizes]
    rem = [budget * s % n for s in sizes]
    left = budget - sum(base)
    for i in sorted(range(len(sizes)), key=lambda i: (-rem[i], i))[:left]:
        base[i] += 1
    return [(m, min(b, int(m.numel()))) for m, b in zip(members, base)]


def setup_dir(storage_url: str, run_dir: Path) -> Path:
    """Where selectors keep set-up shared by every process of a study (:meth:`Selector.prepare`):
    ``selection-cache/`` beside a file storage (``sqlite:///``, ``journal://``), so a resumed
    run and every worker on the same storage find it; in the run directory for a database
    server (each machine then computes it once).
    """
    for prefix in ("sqlite:///", "journal://"):
        if storage_url.startswith(prefix) and storage_url != "sqlite:///:memory:":
            return (
                Path(storage_url[len(prefix) :]).expanduser().resolve().parent / "selection-cache"
            )
    return run_dir / "selection-cache"
