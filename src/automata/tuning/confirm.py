"""Confirming a subset study's pick on the full data (``tuning.confirm_top_k=K``).

A study on small subsets ranks configurations cheaply but noisily: its best may train to a
poor model on the full data. Confirming trains its K best configurations (by subset validation
accuracy) on the full data and keeps the one with the best full-data validation accuracy; its
model, trained there, is the final model (never trained twice). With K >= eta the finalists are
trained by successive halving on the full data (``K`` at ``T / eta^s`` epochs, the best
``1/eta`` continue, one to T), which costs less than K full trainings.

The finalists are trials of a second Optuna study, ``<study>-confirm``, in the same storage: an
interrupted confirmation continues where it stopped, like any study.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import optuna
from omegaconf import DictConfig, OmegaConf
from optuna.trial import FrozenTrial, TrialState

from automata.selection.full import FullSelector
from automata.tuning.engine import TrialObserver
from automata.tuning.objective import Objective
from automata.tuning.schedulers import SHA
from automata.tuning.study import Study, Tuned

log = logging.getLogger("automata")

SUFFIX = "-confirm"


@dataclass
class Confirmed:
    """The confirmation's winner (a trial of its own study, its model kept), which trial of
    the subset study each finalist was, the confirmation's times and its study."""

    best: FrozenTrial
    origin: dict[int, int]
    tuned: Tuned
    study: optuna.Study


def finalists(study: optuna.Study, k: int) -> list[FrozenTrial]:
    """The ``k`` completed trials with the best validation accuracy (ties: the earlier)."""
    done = [t for t in study.get_trials(deepcopy=False) if t.state == TrialState.COMPLETE]
    return sorted(done, key=lambda t: (-(t.value or 0.0), t.number))[:k]


def halving(k: int, eta: int, epochs: int) -> SHA:
    """Successive halving of ``k`` finalists on the full data: the first rung at
    ``T / eta^s`` epochs with ``s = floor(log_eta k)`` (all of them to T when ``k < eta``)."""
    s = int(math.floor(math.log(k, eta) + 1e-9)) if k > 1 else 0
    first = max(1, int(epochs / eta**s))
    return SHA(eta=eta, min_resource=min(first, epochs), max_resource=epochs)


def confirm(
    study: Study,
    objective: Objective,
    k: int,
    eta: int,
    settings: dict[str, Any],
    labels: dict[str, Any],
    observers: Sequence[TrialObserver] = (),
) -> Confirmed:
    """Train the ``k`` best configurations of ``study`` on the full data (a study of their
    own); the best of them has its model kept."""
    picked = finalists(study.optuna, k)
    tuning = OmegaConf.merge(
        study.tuning,
        {
            "study_name": f"{study.name}{SUFFIX}",
            "n_trials": len(picked),
            "enqueue": [dict(t.params) for t in picked],
            "worker": 0,
        },
    )
    scheduler = halving(len(picked), eta, objective.epochs)
    sampler = optuna.samplers.RandomSampler(seed=0)  # never samples: every trial is enqueued
    full = Objective(
        objective.settings, objective.space, objective.data, FullSelector(), objective.device
    )
    log.info(
        "confirming the %d best configurations (trials %s) on the full data",
        len(picked),
        ", ".join(str(t.number) for t in picked),
    )
    assert isinstance(tuning, DictConfig)
    stage = Study.open(tuning, study.run_dir, sampler, scheduler, {**settings, "stage": "confirm"})
    tuned = stage.tune(full, scheduler, sampler, {**labels, "selector": "full"}, observers)
    best = stage.best_trial(final_train=True)
    assert best is not None  # best_trial raises when no finalist completed
    origin = {
        t.number: next(p.number for p in picked if p.params == t.params)
        for t in stage.optuna.get_trials(deepcopy=False)
        if any(p.params == t.params for p in picked)
    }
    return Confirmed(best, origin, tuned, stage.optuna)
