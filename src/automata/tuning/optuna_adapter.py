"""What automata needs from Optuna beyond its public API, in one place.

automata drives Optuna through ask/tell, not ``study.optimize``, so that the live trial reaches
the training loop and synchronous schedulers can pause and resume trials. Two things that
``optimize`` does internally have no public counterpart, and are done here with Optuna's
private names:

- :func:`attach`: a live :class:`optuna.Trial` on a trial that already exists in the storage
  (a RUNNING trial of an interrupted run, to resume it; ``study.ask`` only creates new trials
  or pops enqueued ones). It needs the trial's storage id, ``FrozenTrial._trial_id``.
- :func:`record_heartbeat`: ``optimize`` runs a heartbeat thread for RDB storages with
  ``heartbeat_interval``; with ask/tell the caller records heartbeats itself, through the
  study's storage (``Study._storage``) and the trial's id (``Trial._trial_id``).

:func:`fail_stale_trials` is public but experimental; it is called here so its warning is
silenced in one place. ``tests/tuning/test_optuna_adapter.py`` pins all three against the
Optuna version of ``constraints.txt``: a release that renames these fails there first.
"""

from __future__ import annotations

import warnings

import optuna
from optuna.trial import FrozenTrial


def attach(study: optuna.Study, frozen: FrozenTrial) -> optuna.Trial:
    """A live handle on ``frozen``, an existing trial of ``study`` (to report, tell, tag)."""
    return optuna.Trial(study, frozen._trial_id)


def record_heartbeat(study: optuna.Study, trial: optuna.Trial) -> None:
    """Tell the storage that ``trial``'s worker is alive (no-op without heartbeats)."""
    storage = study._storage
    interval = getattr(storage, "get_heartbeat_interval", lambda: None)()
    if interval:
        storage.record_heartbeat(trial._trial_id)  # type: ignore[attr-defined]


def fail_stale_trials(study: optuna.Study) -> None:
    """Fail the RUNNING trials whose heartbeat stopped (their worker died); the storage's
    failed-trial callback may enqueue them again."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        optuna.storages.fail_stale_trials(study)
