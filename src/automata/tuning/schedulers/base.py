"""The scheduler interface: how many epochs each configuration gets, and which ones stop.

A scheduler drives an :class:`Engine` (the study loop) through four calls: ``ask`` a new
configuration, ``advance`` a configuration to an epoch count (training resumes where it
stopped), and ``complete`` or ``prune`` it. Schedulers hold no training code, so they are tested
on simulated learning curves.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
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

    def noise(self, score: float) -> float:
        """The standard error of a validation score: how much two equally good
        configurations' scores differ by chance."""


#: What a scheduler's rungs give a configuration: more training epochs (the paper's setting), or
#: a larger share of the training data, each rung a whole training of T epochs on its subset.
RESOURCES = ("epochs", "data")
#: How a configuration promoted to a larger subset starts there: from scratch (``restart``:
#: the model of the top rung is then exactly a full-data training) or from the weights it
#: reached on the smaller one (``continue``).
GROWTHS = ("restart", "continue")


class Scheduler(ABC):
    """Base of every scheduler.

    ``synchronous`` schedulers pause and resume trials (one process per study); asynchronous
    ones only stop trials, so many workers can share a study.

    The resource (``resource``) is training epochs by default: rung ``r`` trains a
    configuration to ``r`` epochs, from ``min_resource`` to ``max_resource``. With
    ``resource="data"`` it is the data's size (Li et al. 2016's first Hyperband; Klein et al.
    2017): rungs are counted in units of the smallest subset, ``min_fraction`` of the training
    set (``1 / min_fraction`` units make the full data), so rung ``u`` trains the configuration
    for ``max_resource`` epochs (T) on ``u * min_fraction`` of the data, chosen by the run's
    selector at that size; the last rung is the full data. The rung arithmetic (SHA, Hyperband,
    ASHA) is the same in both units: :meth:`budget` turns a rung into epochs and a fraction.

    Args:
        eta: reduction factor (keep the best 1/eta at each rung), >= 2.
        min_resource: epochs of the first rung, >= 1 (epochs as the resource).
        max_resource: most epochs a configuration trains (usually ``${train.epochs}``); with
            the data as the resource, the epochs every rung trains.
        resource: ``epochs`` or ``data`` (:data:`RESOURCES`).
        min_fraction: the smallest rung's share of the training data (``resource=data``).
        growth: ``restart`` or ``continue`` (:data:`GROWTHS`, ``resource=data``).
        rung_fractions: the rungs' shares of the data, a list the user gives instead of
            ``min_fraction`` by ``eta`` (``resource=data``): increasing, in (0, 1], ending
            with 1 (the top rung is the full data). Rung ``i`` of the arithmetic (``eta^i``
            units) trains on the ``i``-th share; ``eta`` still sets how many configurations
            continue at each rung. When given, it replaces ``min_fraction``.
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

    def __init__(
        self,
        eta: int = 3,
        min_resource: int = 1,
        max_resource: int = 20,
        resource: str = "epochs",
        min_fraction: float | None = None,
        growth: str = "restart",
        rung_fractions: Sequence[float] | None = None,
    ) -> None:
        if eta < 2:
            raise ConfigError(f"scheduler.eta must be >= 2, got {eta}")
        if min_resource < 1:
            raise ConfigError(f"scheduler.min_resource must be >= 1, got {min_resource}")
        if max_resource < min_resource:
            raise ConfigError(
                f"scheduler.max_resource ({max_resource}) must be >= "
                f"scheduler.min_resource ({min_resource})"
            )
        if resource not in RESOURCES:
            raise ConfigError(
                f"scheduler.resource must be one of {', '.join(RESOURCES)}, got '{resource}'"
            )
        if growth not in GROWTHS:
            raise ConfigError(
                f"scheduler.growth must be one of {', '.join(GROWTHS)}, got '{growth}'"
            )
        self.eta = int(eta)
        self.min_resource = int(min_resource)
        self.max_resource = int(max_resource)
        #: T: the epochs of a configuration's training plan (at every rung, with the data)
        self.epochs = int(max_resource)
        self.resource = resource
        self.growth = growth
        self.min_fraction: float | None = None
        self.rung_fractions: list[float] | None = None
        if rung_fractions is not None:
            if resource != "data":
                raise ConfigError("scheduler.rung_fractions is for scheduler.resource=data")
            shares = _check_rung_fractions(rung_fractions)
            # Rung i of the arithmetic is eta^i units: SHA, Hyperband and ASHA rungs stay
            # exact powers of eta, and budget() reads each one's share from the list.
            self.rung_fractions = shares
            self._share_at = {self.eta**i: f for i, f in enumerate(shares)}
            self.min_fraction = shares[0]
            self.min_resource, self.max_resource = 1, self.eta ** (len(shares) - 1)
        elif resource == "data":
            if min_fraction is None or not 0.0 < float(min_fraction) < 1.0:
                raise ConfigError(
                    "scheduler.min_fraction must be in (0, 1) with scheduler.resource=data, "
                    f"got {min_fraction}"
                )
            units = round(1.0 / float(min_fraction))
            if units < self.eta:
                raise ConfigError(
                    f"scheduler.min_fraction={min_fraction:g} leaves no rung below the full "
                    f"data with eta={self.eta}: use min_fraction <= 1/eta"
                )
            # Rungs in units of the smallest subset: 1 .. units (the full data).
            self.min_fraction = 1.0 / units
            self.min_resource, self.max_resource = 1, units
        elif min_fraction is not None:
            raise ConfigError("scheduler.min_fraction is for scheduler.resource=data")

    @property
    def data_rungs(self) -> bool:
        """Whether the rungs are data sizes (``resource=data``)."""
        return self.resource == "data"

    def budget(self, until: int) -> tuple[float | None, int]:
        """What rung ``until`` gives a configuration: ``(fraction, epochs)``. With epochs as
        the resource, ``until`` epochs on the run's selector's subsets (fraction ``None``);
        with the data, ``until / max_resource`` of the training data for T epochs."""
        if not self.data_rungs:
            return None, until
        if self.rung_fractions is not None:  # the share of the highest rung up to ``until``
            share = max(f for u, f in self._share_at.items() if u <= max(1, until))
            return share, self.epochs
        return min(1.0, until / self.max_resource), self.epochs

    def levels(self) -> list[int]:
        """Every rung a configuration may reach (the scheduler's units), smallest first."""
        return sorted({*self.decision_epochs(), self.max_resource})

    def fractions(self) -> list[float]:
        """The data shares of the rungs below the full data (``resource=data``; else none)."""
        if not self.data_rungs:
            return []
        return [self.budget(u)[0] or 1.0 for u in self.levels() if u < self.max_resource]

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
        time estimates). Here: all of them to ``max_resource`` (with the data as the
        resource, T epochs at each rung they may reach), an upper bound for schedulers that
        stop trials early without a fixed plan (ASHA)."""
        if self.data_rungs:
            return n_trials * (len(self.decision_epochs()) + 1) * self.epochs
        return n_trials * self.max_resource

    def settings(self) -> dict[str, float | str | bool]:
        """The scheduler's settings, as ``summary.json`` records them (a subclass adds its own
        options to ``super().settings()``)."""
        out: dict[str, float | str | bool] = {
            "scheduler": self.name,
            "eta": self.eta,
            "min_resource": self.min_resource,
            "max_resource": self.max_resource,
            "resource": self.resource,
        }
        if self.data_rungs:
            out.update(epochs=self.epochs, min_fraction=float(self.min_fraction or 0.0))
            out.update(growth=self.growth)
            if self.rung_fractions is not None:
                out["rung_fractions"] = ", ".join(f"{f:g}" for f in self.rung_fractions)
        return out


def _check_rung_fractions(values: Sequence[float]) -> list[float]:
    """``scheduler.rung_fractions`` as floats, or a one-line :class:`ConfigError`."""
    try:
        shares = [float(v) for v in values]
    except (TypeError, ValueError):
        raise ConfigError(
            f"scheduler.rung_fractions must be a list of numbers, got {values!r}"
        ) from None
    if len(shares) < 2:
        raise ConfigError(
            f"scheduler.rung_fractions needs at least two rungs (a share and 1), got {shares}"
        )
    if any(not 0.0 < f <= 1.0 for f in shares) or any(b <= a for a, b in zip(shares, shares[1:])):
        raise ConfigError(f"scheduler.rung_fractions must increase within (0, 1], got {shares}")
    if shares[-1] != 1.0:
        raise ConfigError(
            f"scheduler.rung_fractions must end with 1 (the top rung is the full data), "
            f"got {shares}"
        )
    return shares
