"""The scheduler interface: how many epochs each configuration gets, and which ones stop.

A scheduler drives an :class:`Engine` (the study loop) through four calls: ``ask`` a new
configuration, ``advance`` a configuration to an epoch count (training resumes where it
stopped), and ``complete`` or ``prune`` it. Schedulers hold no training code, so they are tested
on simulated learning curves.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import ClassVar, Protocol

import optuna

from automata.errors import ConfigError


class Engine(Protocol):
    def ask(self) -> optuna.Trial | None:
        """A new configuration, or None when the study must stop asking (trials, time, failures)."""

    def advance(self, trial: optuna.Trial, until: int, prune_check: bool = False) -> float | None:
        """Train ``trial`` up to ``until`` epochs (or past it, when a warm-start epoch covers
        several) and validate; its validation score, or None if it failed (or was pruned by
        the study's pruner at one of :meth:`Scheduler.decision_epochs` when ``prune_check``);
        it is then already told."""

    def pause(self, trial: optuna.Trial) -> None:
        """Save a trial that waits for its rung to finish (it resumes on the next advance)."""

    def complete(self, trial: optuna.Trial) -> None:
        """Finish ``trial`` with its last score."""

    def prune(self, trial: optuna.Trial) -> None:
        """Stop ``trial`` early (recorded as pruned at its last reported epoch)."""


class Scheduler(ABC):
    """Base of every scheduler. Resource = training epochs.

    ``synchronous`` schedulers pause and resume trials (one process per study); asynchronous
    ones only stop trials, so many workers can share a study.

    Args:
        eta: reduction factor (keep the best 1/eta at each rung), >= 2.
        min_resource: epochs of the first rung, >= 1.
        max_resource: most epochs a configuration trains (usually ``${train.epochs}``).
    """

    #: what logs, the study and summary.json call the scheduler: a class attribute, set by
    #: each class of the package to the stem of its YAML (``conf/scheduler/<name>.yaml``; the
    #: contract tests check it). A class that sets none is called by its class name.
    name: ClassVar[str] = "Scheduler"
    #: whether it pauses and resumes trials (one process per study).
    synchronous: bool = False

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        if "name" not in cls.__dict__:
            cls.name = cls.__name__

    def __init__(self, eta: int = 3, min_resource: int = 1, max_resource: int = 20) -> None:
        if eta < 2:
            raise ConfigError(f"scheduler.eta must be >= 2, got {eta}")
        if min_resource < 1:
            raise ConfigError(f"scheduler.min_resource must be >= 1, got {min_resource}")
        if max_resource < min_resource:
            raise ConfigError(
                f"scheduler.max_resource ({max_resource}) must be >= "
                f"scheduler.min_resource ({min_resource})"
            )
        self.eta = int(eta)
        self.min_resource = int(min_resource)
        self.max_resource = int(max_resource)

    def pruner(self) -> optuna.pruners.BasePruner:
        """The Optuna pruner the study is created with (only ASHA uses one)."""
        return optuna.pruners.NopPruner()

    def decision_epochs(self) -> list[int]:
        """Epochs, below the one :meth:`Engine.advance` trains to, at which the study's pruner
        may stop a trial: trials are validated there (ASHA's rungs). Synchronous schedulers
        decide at the epochs they advance to, so they need none."""
        return []

    @abstractmethod
    def run(self, engine: Engine) -> None:
        """Evaluate configurations until ``engine.ask()`` returns None."""

    def planned_epochs(self, n_trials: int) -> int:
        """Epochs ``n_trials`` configurations train under this scheduler (for progress and
        time estimates). Here: all of them to ``max_resource``, an upper bound for schedulers
        that stop trials early without a fixed plan (ASHA)."""
        return n_trials * self.max_resource

    def settings(self) -> dict[str, int | str | bool]:
        """The scheduler's settings, as ``summary.json`` records them (a subclass adds its own
        options to ``super().settings()``)."""
        return {
            "scheduler": self.name,
            "eta": self.eta,
            "min_resource": self.min_resource,
            "max_resource": self.max_resource,
        }
