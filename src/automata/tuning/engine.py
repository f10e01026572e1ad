"""The trial engine: what a scheduler drives through ask/advance/tell, one trial at a time.

The live :class:`optuna.Trial` reaches the training loop: every validated epoch's accuracy is
reported to it, so pruners (ASHA) and our synchronous schedulers see learning curves, and a
trial's cost (:class:`~automata.run_outputs.summary.TrialCost`) is stored in its user
attributes. A trial that raises, runs out of memory or diverges is recorded as failed with its
reason, and the study goes on until ``tuning.max_failures``. Paused trials are saved as
checkpoints and resumed from them.

The engine knows one study's trials through a :class:`TrialRecord` each; what happens around
them (opening the study, resuming an interrupted one, the time, the best trial) is
:mod:`automata.tuning.study`'s. A resumed study hands the engine its *replay*: the trials of the
interrupted run in the order they are asked again; finished ones return what they recorded
without training, interrupted ones continue from their last checkpoint.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import math
import os
import socket
import time
import traceback
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import optuna
import torch
from omegaconf import DictConfig
from optuna.trial import FrozenTrial, TrialState

from automata.errors import TooManyFailures
from automata.run_outputs.summary import (
    COST_ATTR,
    FAIL_REASON_ATTR,
    MODEL_ATTR,
    RUNGS_ATTR,
    TrialCost,
)
from automata.signals import critical
from automata.training.trainer import EpochResult, Trainer
from automata.tuning.objective import Objective
from automata.tuning.optuna_adapter import attach, fail_stale_trials, record_heartbeat
from automata.tuning.schedulers.base import Scheduler

log = logging.getLogger("automata")

#: States that use up one of ``tuning.n_trials``. Failed trials are replaced by new ones, and
#: WAITING (enqueued) trials are what the next ``ask`` returns, so they count once asked.
COUNTED = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.RUNNING)
FINISHED = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL)
#: The user attribute naming a running trial's process: ``{"host": ..., "pid": ...}``.
OWNER_ATTR = "owner"


class TrialObserver(Protocol):
    """Records a study's trials as they run, e.g. their TensorBoard curves
    (:class:`automata.run_outputs.tensorboard.TrialCurves`) or the progress shown to the user;
    the engine calls it, and never knows what it writes."""

    def epoch(self, trial: int, result: EpochResult, until: int) -> None:
        """Trial ``trial`` trained one more epoch on its way to ``until`` epochs."""

    def paused(self, trial: int) -> None:
        """The trial waits (its trainer saved to disk) until a scheduler resumes it."""

    def ended(
        self, trial: int, state: str, params: dict[str, Any], metrics: dict[str, float] | None
    ) -> None:
        """The trial is over: ``complete``, ``pruned`` or ``fail``, with its last scores
        (``val_accuracy``, ``epochs``; ``None`` without any)."""

    def close(self) -> None:
        """The study ends in this process."""


def value_at(values: dict[int, float], until: int) -> float | None:
    """The score a trial recorded when it reached ``until`` epochs: at the first reported
    epoch at or past it (a warm-start epoch covers several epochs at once)."""
    steps = [s for s in values if s >= until]
    return values[min(steps)] if steps else None


def this_process() -> dict[str, str | int]:
    """The owner tag of the trials this process runs."""
    return {"host": socket.gethostname(), "pid": os.getpid()}


@dataclass
class TrialRecord:
    """One trial as the engine runs it."""

    trial: optuna.Trial
    params: dict[str, Any]
    #: the interrupted run's record of this trial, when the study is replayed
    recorded: FrozenTrial | None = None
    #: its trainer while it trains (paused trials are on disk, not here)
    trainer: Trainer | None = None
    #: its last validation score and the epoch it was taken at
    score: float | None = None
    score_epoch: int | None = None
    last_heartbeat: float = -math.inf
    #: with the data as the resource: the rung its trainer is at (0: none yet), what the
    #: rungs before it cost, their selection rounds, and one record per rung trained
    level: int = 0
    before: TrialCost = field(default_factory=TrialCost)
    rounds_before: list[dict[str, float]] = field(default_factory=list)
    rungs: list[dict[str, float]] = field(default_factory=list)

    def remember(self, trainer: Trainer) -> None:
        """Keep the rung record with ``trainer``'s checkpoint."""
        trainer.extra = {
            "level": self.level,
            "before": self.before.as_dict(),
            "rounds_before": self.rounds_before,
            "rungs": self.rungs,
        }

    def recall(self, trainer: Trainer) -> None:
        """The rung record kept with a loaded checkpoint."""
        if trainer.extra:
            self.level = int(trainer.extra["level"])
            self.before = TrialCost.from_dict(trainer.extra["before"])
            self.rounds_before = list(trainer.extra["rounds_before"])
            self.rungs = list(trainer.extra["rungs"])

    @property
    def number(self) -> int:
        return self.trial.number

    @property
    def replayed_and_finished(self) -> bool:
        return self.recorded is not None and self.recorded.state in FINISHED


class TrialEngine:
    """Runs trials of one study for a scheduler (see :class:`~automata.tuning.schedulers.Engine`).

    Args:
        study: the Optuna study (in any storage).
        scheduler: the trial scheduler that drives the engine: whether it pauses trials
            (``synchronous``), the epochs at which its pruner decides (validated there).
        objective: what a trial trains.
        tuning: the run's ``tuning`` settings (trials, time limit, failures, checkpoints,
            heartbeats).
        checkpoint_dir: where paused trials are saved.
        replay: the trials of an interrupted run, in the order they are asked again.
        observers: what records the trials as they run.
    """

    def __init__(
        self,
        study: optuna.Study,
        scheduler: Scheduler,
        objective: Objective,
        tuning: DictConfig,
        checkpoint_dir: Path,
        replay: Sequence[FrozenTrial] = (),
        observers: Sequence[TrialObserver] = (),
    ) -> None:
        self.study = study
        self.objective = objective
        self.scheduler = scheduler
        self.synchronous = scheduler.synchronous
        self.decision_epochs = tuple(int(d) for d in scheduler.decision_epochs())
        self.n_trials = int(tuning.n_trials)
        self.timeout = tuning.timeout
        self.max_failures = int(tuning.max_failures)
        self.keep_checkpoints = bool(tuning.get("keep_checkpoints", False))
        self.heartbeat_interval = tuning.get("heartbeat_interval")
        self.checkpoint_dir = checkpoint_dir
        self.observers = tuple(observers)
        self.owner = this_process()
        self.started = time.perf_counter()
        self.failures = 0
        #: epochs this process trained (a rerun of a finished study trains none)
        self.epochs_trained = 0
        self._replay = list(replay)
        self._trials: dict[int, TrialRecord] = {}
        self._counted: int | None = None
        #: (score, trial, file) of the best full-data model kept in this run's folder
        self._kept: tuple[float, int, str] | None = self._kept_before()

    # -- scheduler-facing API -------------------------------------------------------------
    def ask(self) -> optuna.Trial | None:
        if self.failures >= self.max_failures:
            raise TooManyFailures(
                f"stopping: {self.failures} trials failed (tuning.max_failures="
                f"{self.max_failures}); see the failure reasons above and in the study"
            )
        if self._replay:
            return self._replayed(self._replay.pop(0))
        if self.timeout is not None and time.perf_counter() - self.started > self.timeout:
            return None
        if not self.synchronous:
            # Trials whose worker stopped sending heartbeats are failed (and re-enqueued).
            fail_stale_trials(self.study)
        if self.synchronous and self._counted is not None:
            counted = self._counted  # the study is this process's alone: no storage query
        else:
            counted = len(self.study.get_trials(deepcopy=False, states=COUNTED))
        if counted >= self.n_trials:
            return None
        with critical():  # a trial is asked, tagged and sampled whole, or not at all
            trial = self.study.ask()
            trial.set_user_attr(OWNER_ATTR, self.owner)
            if self.synchronous:
                self._counted = counted + 1
            params = self.objective.suggest(trial)
            self._trials[trial.number] = TrialRecord(trial, params)
        return trial

    def _replayed(self, frozen: FrozenTrial) -> optuna.Trial:
        """A live handle on an existing trial of a resumed study."""
        trial = attach(self.study, frozen)
        self._trials[frozen.number] = TrialRecord(trial, dict(frozen.params), recorded=frozen)
        if frozen.state == TrialState.RUNNING:
            with critical():
                trial.set_user_attr(OWNER_ATTR, self.owner)
            if frozen.last_step is None:
                log.info("resuming trial %d (interrupted during its first epoch)", frozen.number)
            else:
                log.info(
                    "resuming trial %d (interrupted after epoch %d)",
                    frozen.number,
                    frozen.last_step,
                )
        return trial

    def advance(self, trial: optuna.Trial, until: int, prune_check: bool = False) -> float | None:
        rec = self._trials[trial.number]
        frozen = rec.recorded
        if frozen is not None:
            # A trial of the interrupted run: use what it recorded instead of training again.
            recorded = value_at(frozen.intermediate_values, until)
            if frozen.state in FINISHED:
                return None if frozen.state == TrialState.FAIL else recorded
            if recorded is not None:
                rec.score = recorded
                rec.score_epoch = min(s for s in frozen.intermediate_values if s >= until)
                return recorded
        try:
            if self.scheduler.data_rungs:
                return self._advance_data(rec, until, prune_check)
            trainer = self._trainer(rec)
            every = self.objective.eval_every

            def decides(before: int, after: int) -> bool:
                """Validate where a decision is taken: at ``until`` (a rung of a synchronous
                scheduler, or T), at a pruner rung crossed on the way (ASHA), and every
                ``train.eval_every`` epochs when the user asks for curves."""
                if after >= until or any(before < d <= after for d in self.decision_epochs):
                    return True
                return every is not None and after // every > before // every

            while trainer.epoch < until:
                before = trainer.epoch
                res = trainer.run_epoch(validate=decides)
                self.epochs_trained += res.epoch - before
                for observer in self.observers:
                    observer.epoch(trial.number, res, until)
                self._heartbeat(rec)
                if res.val_accuracy is None:
                    continue
                rec.score, rec.score_epoch = res.val_accuracy, res.epoch
                if frozen is None or res.epoch not in frozen.intermediate_values:
                    trial.report(res.val_accuracy, res.epoch)
                # A trial that has trained its last epoch is finished, not stopped early,
                # even when T is itself a rung of the pruner (eta=2, T=8).
                if prune_check and res.epoch < until and trial.should_prune():
                    self.prune(trial)
                    return None
        except KeyboardInterrupt:
            raise
        except Exception as exc:  # noqa: BLE001 - any trial error is recorded, not fatal
            self._fail(rec, exc)
            return None
        return rec.score

    def _advance_data(self, rec: TrialRecord, until: int, prune_check: bool) -> float | None:
        """The data as the resource: train ``rec`` at each rung it has not reached up to
        ``until`` (the pruner's rungs on the way, ASHA), each a whole training of T epochs on
        the rung's share of the data; the score of each rung is reported at its size."""
        frozen = rec.recorded
        if rec.trainer is None and self._checkpoint(rec.number).exists():
            self._trainer(rec)  # the rung it reached before it was paused or interrupted
        levels = [d for d in self.decision_epochs if rec.level < d < until] + [until]
        for level in levels:
            score = self._train_rung(rec, level)
            if frozen is None or level not in frozen.intermediate_values:
                rec.trial.report(score, level)
            if prune_check and level < until and rec.trial.should_prune():
                self.prune(rec.trial)
                return None
        return rec.score

    def _train_rung(self, rec: TrialRecord, level: int) -> float:
        """One rung: a new trainer on the rung's share of the data (from the weights of the
        rung before with ``growth=continue``), trained for T epochs."""
        fraction, epochs = self.scheduler.budget(level)
        previous = rec.trainer
        trainer = self.objective.trainer(rec.params, fraction=fraction)
        if previous is not None:
            rec.before = rec.before + previous.cost
            rec.rounds_before = rec.rounds_before + previous.selection_log
            if self.scheduler.growth == "continue":
                trainer.model.load_state_dict(previous.model.state_dict())
        rec.trainer, rec.level = trainer, level
        every = self.objective.eval_every
        offset = rec.before.epochs  # plan epochs of the rungs before, for the curves

        def decides(before: int, after: int) -> bool:
            return after >= epochs or (every is not None and after // every > before // every)

        while trainer.epoch < epochs:
            before = trainer.epoch
            res = trainer.run_epoch(validate=decides)
            self.epochs_trained += res.epoch - before
            shown = dataclasses.replace(res, epoch=offset + res.epoch)
            for observer in self.observers:
                observer.epoch(rec.number, shown, offset + epochs)
            self._heartbeat(rec)
        assert res.val_accuracy is not None  # validated at the rung's last epoch
        rec.score, rec.score_epoch = res.val_accuracy, level
        rec.rungs.append(
            {
                "level": float(level),
                "fraction": float(fraction or 1.0),
                "epochs": float(epochs),
                "full_equivalent_epochs": trainer.cost.full_equivalent_epochs,
                "val_accuracy": res.val_accuracy,
            }
        )
        return res.val_accuracy

    def pause(self, trial: optuna.Trial) -> None:
        """Save a waiting trial's state to disk and free its memory (synchronous schedulers)."""
        rec = self._trials[trial.number]
        for observer in self.observers:
            observer.paused(trial.number)
        self._save(rec)

    def complete(self, trial: optuna.Trial) -> None:
        rec = self._trials[trial.number]
        if not rec.replayed_and_finished:
            self._finish(rec, TrialState.COMPLETE, rec.score)

    def prune(self, trial: optuna.Trial) -> None:
        rec = self._trials[trial.number]
        if not rec.replayed_and_finished:
            self._finish(rec, TrialState.PRUNED, None)

    def noise(self, score: float) -> float:
        """The binomial standard error of a validation accuracy ``score`` on the validation
        set, ``sqrt(p (1 - p) / n)``."""
        n = max(1, len(self.objective.data.val))
        p = min(max(float(score), 0.0), 1.0)
        return math.sqrt(p * (1.0 - p) / n)

    def close(self) -> None:
        """Drop trainers and close logs. Checkpoints stay: an interrupted study resumes (an
        empty checkpoint folder is removed)."""
        for rec in self._trials.values():
            rec.trainer = None
        for observer in self.observers:
            observer.close()
        with contextlib.suppress(OSError):  # not empty, or not there
            self.checkpoint_dir.rmdir()

    # -- internals --------------------------------------------------------------------------
    def _checkpoint(self, number: int) -> Path:
        return self.checkpoint_dir / f"trial_{number:04d}.pt"

    def _save(self, rec: TrialRecord, path: Path | None = None) -> None:
        trainer, rec.trainer = rec.trainer, None
        if trainer is not None:
            self.checkpoint_dir.mkdir(parents=True, exist_ok=True)
            rec.remember(trainer)
            with critical():
                trainer.save(path or self._checkpoint(rec.number))

    def _trainer(self, rec: TrialRecord) -> Trainer:
        if rec.trainer is None:
            trainer = self.objective.trainer(rec.params)
            path = self._checkpoint(rec.number)
            if path.exists():
                trainer.load(path)
                rec.recall(trainer)
            rec.trainer = trainer
        return rec.trainer

    def _heartbeat(self, rec: TrialRecord) -> None:
        """Tell the storage the trial is alive, at most twice per heartbeat interval (one
        storage write per epoch cost more than a small model's epoch)."""
        if not self.heartbeat_interval:
            return
        now = time.monotonic()
        if now - rec.last_heartbeat >= self.heartbeat_interval / 2:
            record_heartbeat(self.study, rec.trial)
            rec.last_heartbeat = now

    def _records(self, rec: TrialRecord) -> tuple[dict[str, float], list[dict[str, float]]]:
        """The trial's cost and per-round selection log (from memory or its checkpoint), the
        rungs before the current one included."""
        if rec.trainer is not None:
            cost, rounds = rec.trainer.records()
        elif self._checkpoint(rec.number).exists():
            cost, rounds = Trainer.records_of(self._checkpoint(rec.number))
        else:
            return {}, []
        if rec.before == TrialCost():
            return cost, rounds
        return (rec.before + TrialCost.from_dict(cost)).as_dict(), rec.rounds_before + rounds

    def _finish(self, rec: TrialRecord, state: TrialState, value: float | None) -> None:
        cost, rounds = self._records(rec)
        if state == TrialState.COMPLETE and self._keeps_model(rec, value):
            # A configuration trained on the full data for T epochs: its model may be the
            # final one (the best of them, once the study is over), never trained twice.
            model = self.checkpoint_dir / f"model_{rec.number:04d}.pt"
            self._save(rec, model)
            rec.trial.set_user_attr(MODEL_ATTR, str(model.resolve()))
            self._kept = (float(value or 0.0), rec.number, str(model))
        elif self.keep_checkpoints and rec.trainer is not None:
            self.pause(rec.trial)  # the final state, kept on disk
        with critical():  # a trial's cost and state are told together
            rec.trial.set_user_attr(COST_ATTR, cost)
            if rounds:
                rec.trial.set_user_attr("selection_rounds", rounds)
            if rec.rungs:
                rec.trial.set_user_attr(RUNGS_ATTR, rec.rungs)
            self.study.tell(rec.trial, value, state=state)
        metrics = None
        if rec.score is not None and rec.score_epoch is not None:
            metrics = {"val_accuracy": rec.score, "epochs": float(rec.score_epoch)}
        self._release(rec, "complete" if state == TrialState.COMPLETE else "pruned", metrics)

    def _kept_before(self) -> tuple[float, int, str] | None:
        """The best full-data model an earlier session of the study kept in this folder; the
        others it kept (an interrupted session keeps its own best) are removed."""
        kept = [
            (float(t.value), t.number, str(t.user_attrs[MODEL_ATTR]))
            for t in self.study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
            if t.value is not None
            and Path(str(t.user_attrs.get(MODEL_ATTR, ""))).parent == self.checkpoint_dir.resolve()
            and Path(str(t.user_attrs[MODEL_ATTR])).is_file()
        ]
        kept.sort(key=lambda k: (-k[0], k[1]))
        for _, _, path in kept[1:]:
            Path(path).unlink(missing_ok=True)
        return kept[0] if kept else None

    def _keeps_model(self, rec: TrialRecord, value: float | None) -> bool:
        """Whether the trial's model is a full-data training of T epochs (the last rung of
        the data as the resource, a study on the full data) that scores best of those this
        process trained: it is kept, as the final model may be it; the one it beats goes."""
        trainer = rec.trainer
        if trainer is None or value is None or not trainer.selector.is_full:
            return False
        if trainer.epoch < self.objective.epochs:
            return False
        if self._kept is not None and (self._kept[0], -self._kept[1]) >= (value, -rec.number):
            return False
        if self._kept is not None:
            Path(self._kept[2]).unlink(missing_ok=True)
        return True

    def _fail(self, rec: TrialRecord, exc: BaseException) -> None:
        reason = f"{type(exc).__name__}: {exc}".splitlines()[0][:500]
        log.warning("trial %d failed: %s", rec.number, reason)
        log.debug("trial %d traceback:\n%s", rec.number, traceback.format_exc())
        self.failures += 1
        if self._counted is not None:
            self._counted -= 1  # failed trials are replaced
        try:
            cost, _ = self._records(rec)
        except Exception:  # noqa: BLE001 - the cost of a broken trial is best effort
            cost = {}
        with critical():
            rec.trial.set_user_attr(FAIL_REASON_ATTR, reason)
            rec.trial.set_user_attr(COST_ATTR, cost)
            self.study.tell(rec.trial, None, state=TrialState.FAIL)
        self._release(rec, "fail", None)
        if self.objective.device.type == "cuda":
            torch.cuda.empty_cache()

    def _release(self, rec: TrialRecord, state: str, metrics: dict[str, float] | None) -> None:
        rec.trainer = None
        for observer in self.observers:
            observer.ended(rec.number, state, rec.params, metrics)
        path = self._checkpoint(rec.number)
        if path.exists() and not self.keep_checkpoints:
            path.unlink()
