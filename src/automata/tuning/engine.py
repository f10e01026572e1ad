"""The study loop: an in-process Optuna study that schedulers drive through ask/advance/tell.

The live :class:`optuna.Trial` reaches the training loop: every epoch's validation accuracy is
reported to it, so pruners (ASHA) and our synchronous schedulers see learning curves, and a
trial's cost (epochs, full-data-equivalent epochs, selection/train/eval seconds) is stored in
its user attributes. A trial that raises, runs out of memory or diverges is recorded as failed
with its reason, and the study goes on until ``tuning.max_failures``.

Resuming. Every trial records its owner (host, pid). When a run starts on an existing study, a
RUNNING trial whose owner process on this host is gone is an *orphan* of an interrupted run:

- synchronous schedulers (SHA, Hyperband) replay the whole study in trial order: finished trials
  return their recorded scores without training, orphans continue from their last rung
  checkpoint, so the scheduler takes the same decisions and continues at the rung where it
  stopped;
- asynchronous ones (ASHA, none) resume the orphans (from a checkpoint when one exists) and then
  ask for new configurations. Trials of dead workers on other machines are found by Optuna's
  heartbeat (``tuning.heartbeat_interval``), failed and retried by its RetryFailedTrialCallback.
"""

from __future__ import annotations

import contextlib
import datetime
import logging
import math
import os
import socket
import time
import traceback
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import optuna
import torch
from omegaconf import DictConfig
from optuna.trial import FrozenTrial, TrialState

from automata.data.base import DataSplits
from automata.errors import ConfigError, TooManyFailures
from automata.run_outputs.progress import EpochProgress
from automata.selection.base import Selector
from automata.training.trainer import EpochResult, Trainer
from automata.tuning import search_space
from automata.tuning.storage import record_heartbeat

log = logging.getLogger("automata")

#: States that use up one of ``tuning.n_trials``. Failed trials are replaced by new ones, and
#: WAITING (enqueued) trials are what the next ``ask`` returns, so they count once asked.
COUNTED = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.RUNNING)


FINISHED = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL)
DONE = (TrialState.COMPLETE, TrialState.PRUNED)


class TrialObserver(Protocol):
    """Records a study's trials as they run, e.g. their TensorBoard curves
    (:class:`automata.run_outputs.tensorboard.TrialCurves`); the engine calls it, and never
    knows what it writes."""

    def epoch(self, trial: int, result: EpochResult) -> None:
        """Trial ``trial`` trained one more epoch."""

    def paused(self, trial: int) -> None:
        """The trial waits (its trainer saved to disk) until a scheduler resumes it."""

    def ended(
        self, trial: int, state: str, params: dict[str, Any], metrics: dict[str, float] | None
    ) -> None:
        """The trial is over: ``complete``, ``pruned`` or ``fail``, with its final scores
        (``None`` without any)."""

    def close(self) -> None:
        """The study ends in this process."""


def value_at(values: dict[int, float], until: int) -> float | None:
    """The score a trial recorded when it reached ``until`` epochs: at the first reported
    epoch at or past it (a warm-start epoch covers several epochs at once)."""
    steps = [s for s in values if s >= until]
    return values[min(steps)] if steps else None


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def is_orphan(trial: FrozenTrial, host: str) -> bool:
    """A RUNNING trial whose owning process, on this host, no longer exists."""
    owner = trial.user_attrs.get("owner")
    if trial.state != TrialState.RUNNING or not owner or owner.get("host") != host:
        return False
    return not _pid_alive(int(owner["pid"]))


class StudyEngine:
    """Runs trials of one study for a scheduler (see :class:`~automata.tuning.schedulers.Engine`).

    Args:
        cfg: the composed run config (the search space in ``cfg.space``).
        data, selector, device: what each trial trains on, and where.
        study: the Optuna study (in any storage).
        run_dir: where checkpoints of paused trials go (``<run_dir>/checkpoints``).
        observers: what records the trials as they run (their TensorBoard curves).
        synchronous: the scheduler pauses and resumes trials (SHA, Hyperband): a resumed study
            is replayed in trial order.
        decision_epochs: epochs at which the study's pruner decides (ASHA's rungs); trials are
            validated there, at the epoch each ``advance`` trains to, and every
            ``train.eval_every`` epochs if set.
        progress: the bar over trained epochs (a disabled one when None).
    """

    def __init__(
        self,
        cfg: DictConfig,
        data: DataSplits,
        selector: Selector,
        study: optuna.Study,
        device: torch.device,
        run_dir: Path,
        observers: Sequence[TrialObserver] = (),
        synchronous: bool = False,
        decision_epochs: list[int] | tuple[int, ...] = (),
        progress: EpochProgress | None = None,
    ) -> None:
        self.cfg = cfg
        self.data = data
        self.selector = selector
        self.study = study
        self.device = device
        self.observers = tuple(observers)
        self.checkpoint_dir = run_dir / "checkpoints"
        self.n_trials = int(cfg.tuning.n_trials)
        self.timeout = cfg.tuning.timeout
        self.max_failures = int(cfg.tuning.max_failures)
        self.started = time.perf_counter()
        self.failures = 0
        self.finished = 0
        self._trainers: dict[int, Trainer] = {}
        self._cfgs: dict[int, DictConfig] = {}
        self._params: dict[int, dict[str, Any]] = {}
        self._values: dict[int, float] = {}
        self._epochs: dict[int, int] = {}  # epoch of each trial's last score
        self._frozen: dict[int, FrozenTrial] = {}
        self._counted: int | None = None
        self.host = socket.gethostname()
        self.owner: dict[str, str | int] = {"host": self.host, "pid": os.getpid()}
        self.resumed = 0
        #: epochs this process trained (a rerun of a finished study trains none)
        self.epochs_trained = 0
        self.synchronous = synchronous
        self.decision_epochs = tuple(int(d) for d in decision_epochs)
        self.eval_every = cfg.train.get("eval_every")
        self.heartbeat_interval = cfg.tuning.get("heartbeat_interval")
        self._last_heartbeat: dict[int, float] = {}
        self.max_resource = int(cfg.train.epochs)
        self.progress = progress or EpochProgress(0, enabled=False)
        self._replay = self._resume_plan(synchronous)
        # A synchronous study is this process's alone: the progress line's counts and best
        # are kept here, not read back from the storage after every trial.
        at_start = self.study.get_trials(deepcopy=False, states=DONE)
        self._done = {t.number for t in at_start}
        self._best = max(
            ((t.value, -t.number) for t in at_start if t.state == TrialState.COMPLETE),
            default=None,
        )

    def _resume_plan(self, synchronous: bool) -> list[FrozenTrial]:
        trials = self.study.get_trials(deepcopy=False)
        now = datetime.datetime.now()

        def ownerless_dead(t: FrozenTrial) -> bool:
            # Killed between Optuna's ask and our owner tag (a few milliseconds): no live
            # automata process leaves a trial untagged, so in a synchronous study (ours alone)
            # it is dead; with many workers, only once it is clearly stale.
            if t.state != TrialState.RUNNING or t.user_attrs.get("owner"):
                return False
            started = t.datetime_start or now
            return synchronous or (now - started).total_seconds() > 60

        orphans = [t for t in trials if is_orphan(t, self.host) or ownerless_dead(t)]
        incomplete = [t for t in orphans if set(t.params) != set(self.cfg.space.keys())]
        for t in incomplete:  # killed while its configuration was being sampled
            trial = optuna.Trial(self.study, t._trial_id)
            trial.set_user_attr("fail_reason", "interrupted before its configuration was sampled")
            self.study.tell(trial, None, state=TrialState.FAIL)
        orphans = [t for t in orphans if t not in incomplete]
        if not synchronous:
            return sorted(orphans, key=lambda t: t.number)
        foreign = [
            t.number
            for t in trials
            if t.state == TrialState.RUNNING and t not in orphans and t not in incomplete
        ]
        if foreign:
            raise ConfigError(
                f"tuning.study_name: trials {foreign} of study '{self.study.study_name}' are "
                "running in another process; synchronous schedulers (sha, hyperband) need the "
                "study to themselves (use scheduler=asha or none for many workers)"
            )
        keep = [t for t in trials if t.state != TrialState.WAITING and t not in incomplete]
        return sorted(keep, key=lambda t: t.number)

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
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                optuna.storages.fail_stale_trials(self.study)
        if self.synchronous and self._counted is not None:
            counted = self._counted  # the study is this process's alone: no storage query
        else:
            counted = len(self.study.get_trials(deepcopy=False, states=COUNTED))
        if counted >= self.n_trials:
            return None
        trial = self.study.ask()
        trial.set_user_attr("owner", self.owner)
        if self.synchronous:
            self._counted = counted + 1
        params = search_space.suggest(trial, self.cfg.space)
        self._params[trial.number] = params
        self._cfgs[trial.number] = search_space.apply(self.cfg, self.cfg.space, params)
        return trial

    def _replayed(self, frozen: FrozenTrial) -> optuna.Trial:
        """A live handle on an existing trial of a resumed study."""
        trial = optuna.Trial(self.study, frozen._trial_id)
        self._frozen[frozen.number] = frozen
        self._params[frozen.number] = dict(frozen.params)
        self._cfgs[frozen.number] = search_space.apply(self.cfg, self.cfg.space, frozen.params)
        if frozen.state == TrialState.RUNNING:
            trial.set_user_attr("owner", self.owner)
            self.resumed += 1
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
        frozen = self._frozen.get(trial.number)
        if frozen is not None:
            # A trial of the interrupted run: use what it recorded instead of training again.
            recorded = value_at(frozen.intermediate_values, until)
            if frozen.state in FINISHED:
                return None if frozen.state == TrialState.FAIL else recorded
            if recorded is not None:
                self._values[trial.number] = recorded
                self._epochs[trial.number] = min(
                    s for s in frozen.intermediate_values if s >= until
                )
                return recorded
        try:
            trainer = self._trainer(trial)

            def decides(before: int, after: int) -> bool:
                """Validate where a decision is taken: at ``until`` (a rung of a synchronous
                scheduler, or T), at a pruner rung crossed on the way (ASHA), and every
                ``train.eval_every`` epochs when the user asks for curves."""
                if after >= until or any(before < d <= after for d in self.decision_epochs):
                    return True
                every = self.eval_every
                return bool(every) and after // every > before // every

            while trainer.epoch < until:
                before = trainer.epoch
                res = trainer.run_epoch(validate=decides)
                self.epochs_trained += res.epoch - before
                for observer in self.observers:
                    observer.epoch(trial.number, res)
                self._heartbeat(trial)
                self.progress.epoch(
                    f"trial {trial.number}, epoch {res.epoch}/{until}", res.epoch - before
                )
                if res.val_accuracy is None:
                    continue
                self._values[trial.number] = res.val_accuracy
                self._epochs[trial.number] = res.epoch
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
            self._fail(trial, exc)
            return None
        return self._values.get(trial.number)

    def _heartbeat(self, trial: optuna.Trial) -> None:
        """Tell the storage the trial is alive, at most twice per heartbeat interval (one
        storage write per epoch cost more than a small model's epoch)."""
        if not self.heartbeat_interval:
            return
        now = time.monotonic()
        if now - self._last_heartbeat.get(trial.number, -math.inf) >= self.heartbeat_interval / 2:
            record_heartbeat(self.study._storage, trial)
            self._last_heartbeat[trial.number] = now

    def pause(self, trial: optuna.Trial) -> None:
        """Save a waiting trial's state to disk and free its memory (synchronous schedulers)."""
        for observer in self.observers:
            observer.paused(trial.number)
        trainer = self._trainers.pop(trial.number, None)
        if trainer is None:
            return
        self.checkpoint_dir.mkdir(parents=True, exist_ok=True)
        trainer.save(self._checkpoint(trial.number))

    def complete(self, trial: optuna.Trial) -> None:
        if self._already_finished(trial):
            return
        self._finish(trial, TrialState.COMPLETE, self._values[trial.number])

    def prune(self, trial: optuna.Trial) -> None:
        if self._already_finished(trial):
            return
        self._finish(trial, TrialState.PRUNED, None)

    def _already_finished(self, trial: optuna.Trial) -> bool:
        frozen = self._frozen.get(trial.number)
        return frozen is not None and frozen.state in FINISHED

    # -- internals --------------------------------------------------------------------------
    def _checkpoint(self, number: int) -> Path:
        return self.checkpoint_dir / f"trial_{number:04d}.pt"

    def _trainer(self, trial: optuna.Trial) -> Trainer:
        number = trial.number
        if number not in self._trainers:
            trainer = Trainer(
                self._cfgs[number],
                self.data,
                self.selector,
                self.device,
                total_epochs=int(self.cfg.train.epochs),
            )
            path = self._checkpoint(number)
            if path.exists():
                trainer.load(path)
            self._trainers[number] = trainer
        return self._trainers[number]

    def _records(self, number: int) -> tuple[dict[str, float], list[dict[str, float]]]:
        """The trial's cost and per-round selection log (from memory or its checkpoint)."""
        trainer = self._trainers.get(number)
        if trainer is not None:
            return trainer.records()
        if self._checkpoint(number).exists():
            return Trainer.records_of(self._checkpoint(number))
        return {}, []

    def _finish(self, trial: optuna.Trial, state: TrialState, value: float | None) -> None:
        number = trial.number
        cost, rounds = self._records(number)
        if self.cfg.tuning.get("keep_checkpoints", False) and number in self._trainers:
            self.pause(trial)  # the final state, kept on disk
        trial.set_user_attr("cost", cost)
        if rounds:
            trial.set_user_attr("selection_rounds", rounds)
        self.study.tell(trial, value, state=state)
        score, epoch = self._values.get(number), self._epochs.get(number)
        metrics = None
        if score is not None and epoch is not None:
            metrics = {"val_accuracy": score, "epochs": float(epoch)}
        self._release(number, "complete" if state == TrialState.COMPLETE else "pruned", metrics)
        self.finished += 1
        self._progress(number, state, score, epoch)

    def _fail(self, trial: optuna.Trial, exc: BaseException) -> None:
        reason = f"{type(exc).__name__}: {exc}".splitlines()[0][:500]
        log.warning("trial %d failed: %s", trial.number, reason)
        log.debug("trial %d traceback:\n%s", trial.number, traceback.format_exc())
        self.failures += 1
        if self._counted is not None:
            self._counted -= 1  # failed trials are replaced
        trial.set_user_attr("fail_reason", reason)
        try:
            cost, _ = self._records(trial.number)
        except Exception:  # noqa: BLE001 - the cost of a broken trial is best effort
            cost = {}
        trial.set_user_attr("cost", cost)
        self.study.tell(trial, None, state=TrialState.FAIL)
        self._release(trial.number, "fail", None)
        self.finished += 1
        if self.device.type == "cuda":
            torch.cuda.empty_cache()

    def _release(self, number: int, state: str, metrics: dict[str, float] | None) -> None:
        self._trainers.pop(number, None)
        for observer in self.observers:
            observer.ended(number, state, self._params.get(number, {}), metrics)
        path = self._checkpoint(number)
        if path.exists() and not self.cfg.tuning.get("keep_checkpoints", False):
            path.unlink()

    def _progress(
        self, number: int, state: TrialState, score: float | None, epoch: int | None
    ) -> None:
        """The log line of a finished trial: finished trials of the whole study (all workers,
        earlier sessions) of ``tuning.n_trials``, its score, and the study's best so far."""
        trials: list[FrozenTrial] = []
        if self.synchronous:
            self._done.add(number)
            if state == TrialState.COMPLETE and score is not None:
                self._best = max(self._best or (score, -number), (score, -number))
            n_done, best = len(self._done), self._best
        else:
            trials = self.study.get_trials(deepcopy=False)
            done = [t for t in trials if t.state in DONE]
            n_done = len(done)
            best = max(
                ((t.value, -t.number) for t in done if t.state == TrialState.COMPLETE),
                default=None,
            )
        if best is not None:
            best_txt = f"best {best[0]:.4f} (trial {-best[1]})"
        else:
            best_txt = "no completed trial yet"
        what = "completed" if state == TrialState.COMPLETE else "pruned"
        result = f"val {score:.4f} at epoch {epoch}" if score is not None else "no score"
        log.info(
            "[%d/%d] trial %d %s, %s | %s | %.1f s",
            n_done,
            self.n_trials,
            number,
            what,
            result,
            best_txt,
            time.perf_counter() - self.started,
        )
        if not self.synchronous:
            # Other workers train too, and pruned trials stop short of the plan: take both
            # from the study.
            self.progress.sync(*study_epochs(trials, self.max_resource, self.n_trials))

    def close(self) -> None:
        """Drop trainers and close logs. Checkpoints stay: an interrupted study resumes (an
        empty checkpoint folder is removed)."""
        self.progress.close()
        self._trainers.clear()
        for observer in self.observers:
            observer.close()
        with contextlib.suppress(OSError):  # not empty, or not there
            self.checkpoint_dir.rmdir()


def study_epochs(trials: list[FrozenTrial], max_resource: int, n_trials: int) -> tuple[int, int]:
    """``(epochs trained, epochs planned)`` of a study run without a fixed plan (ASHA, none):
    trained is the last reported epoch of every trial that counts; planned gives every
    configuration not yet stopped ``max_resource`` epochs."""
    counted = [t for t in trials if t.state in COUNTED]
    done = sum(t.last_step or 0 for t in counted)
    stopped = sum(
        max_resource - (t.last_step or 0) for t in counted if t.state == TrialState.PRUNED
    )
    return done, max(n_trials, len(counted)) * max_resource - stopped


#: A RUNNING trial without owner this old was left by a process killed between ask and tag.
_UNTAGGED_GRACE = datetime.timedelta(seconds=60)


def wait_for_running_trials(study: optuna.Study, host: str, poll_seconds: float = 2.0) -> None:
    """Return once no other live process runs a trial of ``study``.

    The final training must see the whole study: another worker's trial that completes later
    may be the best. Trials of dead processes on this host are not waited for, and with
    heartbeats (``tuning.heartbeat_interval``) neither are those of dead workers elsewhere.
    """
    me = {"host": host, "pid": os.getpid()}
    last_log: float | None = None
    while True:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            optuna.storages.fail_stale_trials(study)
        now = datetime.datetime.now()
        running = [
            t.number
            for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))
            if not is_orphan(t, host)
            and t.user_attrs.get("owner") != me  # never wait for this process itself
            and (t.user_attrs.get("owner") or now - (t.datetime_start or now) < _UNTAGGED_GRACE)
        ]
        if not running:
            return
        if last_log is None or time.monotonic() - last_log > 60:
            log.info(
                "waiting for trial(s) %s, running in other processes, before the final training",
                running,
            )
            last_log = time.monotonic()
        time.sleep(poll_seconds)
