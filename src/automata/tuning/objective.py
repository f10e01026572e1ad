"""What a trial trains: the run's training settings with one configuration's values applied.

The :class:`Objective` is the study's view of everything below it: the data, the selector, the
device, the search space and the settings a trial's training reads (``seed``, ``train``,
``optimizer``, ``model``: :data:`~automata.config.TRIAL_KEYS`). It samples a
configuration with a live trial and builds the :class:`~automata.training.trainer.Trainer` that
trains it; the final model is built the same way, on the full data.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import optuna
import torch
from omegaconf import DictConfig

from automata.config import check_subset_size
from automata.data.base import DataSplits
from automata.selection.base import Selector
from automata.selection.full import FullSelector
from automata.training.trainer import Trainer
from automata.tuning import search_space


@dataclass
class Objective:
    """Args:
    settings: the part of the run config a trial's training reads
        (:func:`automata.config.trial_settings`).
    space: the search space (``conf/space/``).
    data, selector, device: what every trial trains on, and where.
    """

    settings: DictConfig
    space: DictConfig
    data: DataSplits
    selector: Selector
    device: torch.device
    _sized: dict[float, Selector] = field(default_factory=dict, repr=False)

    @property
    def epochs(self) -> int:
        """T: the epochs a configuration's training is planned for."""
        return int(self.settings.train.epochs)

    @property
    def eval_every(self) -> int | None:
        """Validate every N epochs too (``train.eval_every``), for curves."""
        every = self.settings.train.get("eval_every")
        return int(every) if every else None

    def suggest(self, trial: optuna.Trial) -> dict[str, Any]:
        """A configuration sampled with the live ``trial``."""
        return search_space.suggest(trial, self.space)

    def config(self, params: dict[str, Any]) -> DictConfig:
        """The training settings of the configuration ``params``."""
        return search_space.apply(self.settings, self.space, params)

    def trainer(
        self,
        params: dict[str, Any],
        selector: Selector | None = None,
        fraction: float | None = None,
    ) -> Trainer:
        """A fresh trainer of ``params`` on the run's selector (or ``selector``); with
        ``fraction`` (a data-size rung), on the run's selector choosing subsets of that size,
        and on the full data at 1."""
        if fraction is not None:
            selector = self.at_fraction(fraction)
        return Trainer(
            self.config(params),
            self.data,
            selector or self.selector,
            self.device,
            total_epochs=self.epochs,
        )

    def at_fraction(self, fraction: float) -> Selector:
        """The run's selector at ``fraction`` of the data (the full data at 1), one per size."""
        if fraction >= 1.0 or self.selector.is_full:
            return FullSelector()
        key = round(float(fraction), 12)
        if key not in self._sized:
            self._sized[key] = self.selector.at_fraction(fraction)
        return self._sized[key]

    def check_subset(self) -> str | None:
        """Refuse a subset with fewer examples than the data has classes; a warning line when it
        is smaller than a mini-batch (the smallest one the search space may pick)."""
        batch = int(self.settings.train.batch_size)
        for spec in self.space.values():
            if str(spec.get("path")) == "train.batch_size" and spec.type == "categorical":
                batch = min(int(c) for c in spec.choices)
            elif str(spec.get("path")) == "train.batch_size":
                batch = int(spec.low)
        return check_subset_size(
            float(self.selector.fraction), len(self.data.train), self.data.num_classes, batch
        )

    def prepare(
        self, setup_at: Path, fractions: list[float] | tuple[float, ...] = ()
    ) -> dict[str, float | str]:
        """The selector's work shared by every trial, once per run (e.g. MILO's orderings),
        cached under ``setup_at``; also at each of ``fractions`` (data-size rungs)."""
        seed = int(self.settings.seed)
        done = self.selector.prepare(self.data, setup_at, seed, self.device)
        for fraction in fractions:
            selector = self.at_fraction(fraction)
            if not selector.is_full:
                selector.prepare(self.data, setup_at, seed, self.device)
        return done
