"""Configurations drawn from a seed per trial: the same study whatever interrupts it.

An Optuna sampler draws from one random stream that lives in the process. A study that is
interrupted and continued by another process, or shared by several workers, would either draw
again what the first process drew (the same seed) or something no uninterrupted run draws (a
fresh seed). :class:`TrialSeededSampler` instead builds the configured sampler afresh for every
trial, seeded from the run's seed and the trial's number. Samplers such as TPE keep no other
state than their random stream (what they learn, they read from the study's trials), so a
trial's configuration depends only on the seed, its number and the trials before it: a
continued study draws exactly what the uninterrupted one would have, and workers draw apart
because their trials have different numbers.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import optuna
from optuna.distributions import BaseDistribution
from optuna.trial import FrozenTrial, TrialState


def sampler_name(sampler: optuna.samplers.BaseSampler) -> str:
    """The configured sampler's class name (``TPESampler``), also behind a seed per trial."""
    inner = sampler.sampler if isinstance(sampler, TrialSeededSampler) else sampler
    return type(inner).__name__


def trial_seed(seed: int, number: int) -> int:
    """The seed of trial ``number`` of a run seeded ``seed`` (a 32-bit integer)."""
    return int(np.random.SeedSequence([int(seed), int(number)]).generate_state(1)[0])


class TrialSeededSampler(optuna.samplers.BaseSampler):
    """Args:
    make: the configured sampler for a given seed (``make(seed)``).
    seed: the run's seed.
    """

    def __init__(self, make: Callable[[int], optuna.samplers.BaseSampler], seed: int) -> None:
        self._make = make
        self._seed = int(seed)
        self._sampler = make(self._seed)

    @property
    def sampler(self) -> optuna.samplers.BaseSampler:
        """The sampler of the trial being asked (of the seed, before the first trial)."""
        return self._sampler

    def before_trial(self, study: optuna.Study, trial: FrozenTrial) -> None:
        self._sampler = self._make(trial_seed(self._seed, trial.number))
        self._sampler.before_trial(study, trial)

    def infer_relative_search_space(
        self, study: optuna.Study, trial: FrozenTrial
    ) -> dict[str, BaseDistribution]:
        return self._sampler.infer_relative_search_space(study, trial)

    def sample_relative(
        self, study: optuna.Study, trial: FrozenTrial, search_space: dict[str, BaseDistribution]
    ) -> dict[str, Any]:
        return self._sampler.sample_relative(study, trial, search_space)

    def sample_independent(
        self,
        study: optuna.Study,
        trial: FrozenTrial,
        param_name: str,
        param_distribution: BaseDistribution,
    ) -> Any:
        return self._sampler.sample_independent(study, trial, param_name, param_distribution)

    def after_trial(
        self,
        study: optuna.Study,
        trial: FrozenTrial,
        state: TrialState,
        values: Sequence[float] | None,
    ) -> None:
        self._sampler.after_trial(study, trial, state, values)

    def reseed_rng(self) -> None:
        """Nothing to do: every trial has its own seed already."""
