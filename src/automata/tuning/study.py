"""A study's life: open it, check what it was tuned with, tune it, account its time, read its best.

:class:`Study` owns one Optuna study from the moment a run opens it (creating it in its storage,
or finding it there to continue) to the best trial the final training reads:

- :meth:`Study.open` creates or loads the study and checks the *settings fingerprint*
  (:func:`automata.config.fingerprint`): a study tuned with other settings is refused in one line
  naming the keys that differ, unless ``tuning.allow_changed_settings=true``.
- :meth:`Study.tune` labels the study for other tools (optuna-dashboard: the metric name, the
  dataset, model, selector, fraction, scheduler and search), enqueues fixed configurations,
  plans the resumption of an interrupted run, prepares the selector once, runs the trial
  scheduler on a :class:`~automata.tuning.engine.TrialEngine` and adds this process's tuning
  time to the study. Configurations are drawn with a seed per trial
  (:mod:`automata.tuning.sampling`), so a continued study draws what an uninterrupted one
  would have.
- :meth:`Study.best_trial` waits for trials that other live processes still run, then reads the
  best trial from the storage.

Resuming. Every trial records its owner (host, pid). When a run starts on an existing study, a
RUNNING trial whose owner process on this host is gone is an *orphan* of an interrupted run:

- synchronous schedulers (SHA, Hyperband) replay the whole study in trial order: finished trials
  return their recorded scores without training, orphans continue from their last rung
  checkpoint, so the scheduler takes the same decisions and continues at the rung where it
  stopped;
- asynchronous ones (ASHA, none) resume the orphans (from a checkpoint when one exists) and then
  ask for new configurations. Trials of dead workers on other machines are found by Optuna's
  heartbeat (``tuning.heartbeat_interval``), failed and retried by its RetryFailedTrialCallback.

The tuning time is kept per worker on the study, so a rerun of a finished study reports the
time the study took rather than the few milliseconds of the rerun.
"""

from __future__ import annotations

import datetime
import logging
import os
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import optuna
from omegaconf import DictConfig, OmegaConf
from optuna.trial import FrozenTrial, TrialState

from automata.config import differences, shown
from automata.errors import AutomataError, ConfigError
from automata.run_outputs.progress import EpochProgress
from automata.run_outputs.summary import FAIL_REASON_ATTR, TrialCounts
from automata.selection.base import setup_dir
from automata.signals import critical
from automata.training.trainer import EpochResult
from automata.tuning.engine import COUNTED, OWNER_ATTR, TrialEngine, TrialObserver, this_process
from automata.tuning.objective import Objective
from automata.tuning.optuna_adapter import attach, fail_stale_trials
from automata.tuning.sampling import sampler_name
from automata.tuning.schedulers.base import Scheduler
from automata.tuning.storage import make_storage

log = logging.getLogger("automata")

#: What the study stores about itself (user attributes).
FINGERPRINT_ATTR = "fingerprint"
CHANGED_ATTR = "changed_settings"
TUNING_SECONDS_ATTR = "tuning_seconds.worker"
METRIC = "val_accuracy"
DONE = (TrialState.COMPLETE, TrialState.PRUNED)
#: A RUNNING trial without owner this old was left by a process killed between ask and tag.
_UNTAGGED_GRACE = datetime.timedelta(seconds=60)


def default_storage(run_dir: Path) -> str:
    return f"sqlite:///{(run_dir / 'study.db').resolve()}"


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
    owner = trial.user_attrs.get(OWNER_ATTR)
    if trial.state != TrialState.RUNNING or not owner or owner.get("host") != host:
        return False
    return not _pid_alive(int(owner["pid"]))


@dataclass
class Tuned:
    """What tuning left besides the study's trials: the selection set-up and the times."""

    setup: dict[str, float | str]
    setup_seconds: float
    tuning_seconds: float


class Study:
    """One study of this run (see the module). Use :meth:`open`."""

    def __init__(
        self,
        study: optuna.Study,
        storage_url: str,
        tuning: DictConfig,
        run_dir: Path,
        changed_settings: list[str],
    ) -> None:
        self.optuna = study
        self.storage_url = storage_url
        self.tuning = tuning
        self.run_dir = run_dir
        self.changed_settings = changed_settings
        self.owner = this_process()

    @property
    def name(self) -> str:
        return self.optuna.study_name

    @classmethod
    def open(
        cls,
        tuning: DictConfig,
        run_dir: Path,
        sampler: optuna.samplers.BaseSampler,
        scheduler: Scheduler,
        settings: dict[str, Any],
    ) -> Study:
        """Create the study in its storage, or load it to continue; refuse to continue one
        tuned with other ``settings`` (a :func:`~automata.config.fingerprint`)."""
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        storage_url = str(tuning.storage or default_storage(run_dir))
        storage = make_storage(storage_url, tuning.heartbeat_interval, tuning.grace_period)
        study = optuna.create_study(
            storage=storage,
            study_name=str(tuning.study_name),
            sampler=sampler,
            pruner=scheduler.pruner(),
            direction="maximize",
            load_if_exists=True,
        )
        # A study continued with other settings would credit its trials to the new ones.
        changed = _check_settings(study, settings, bool(tuning.get("allow_changed_settings")))
        return cls(study, storage_url, tuning, run_dir, changed)

    # -- tuning ------------------------------------------------------------------------------
    def tune(
        self,
        objective: Objective,
        scheduler: Scheduler,
        sampler: optuna.samplers.BaseSampler,
        labels: dict[str, Any],
        observers: Sequence[TrialObserver] = (),
    ) -> Tuned:
        """Run ``scheduler``'s trials of ``objective`` on the study (see the module)."""
        study, tuning = self.optuna, self.tuning
        self._label(labels)
        resumed_study = len(study.trials) > 0
        if resumed_study or int(tuning.worker) > 0:
            # A sampler seeded once (a configured one without a seed per trial,
            # automata.tuning.sampling) would propose again, in a resumed study or a second
            # worker, the configurations that the first already tried.
            sampler.reseed_rng()
        if tuning.enqueue and not study.trials:
            # A fixed set of configurations evaluated first (e.g. the ranking-agreement protocol).
            for params in tuning.enqueue:
                fixed = OmegaConf.to_container(params, resolve=True)
                if not isinstance(fixed, dict):
                    raise ConfigError(f"tuning.enqueue: each entry must be a mapping, got {fixed}")
                study.enqueue_trial({str(k): v for k, v in fixed.items()}, skip_if_exists=True)
        n_trials = int(tuning.n_trials)
        progress = EpochProgress(
            scheduler.planned_epochs(n_trials),
            initial=sum(t.last_step or 0 for t in study.trials if t.state.name != "FAIL"),
        )
        replay = self.resume_plan(scheduler.synchronous, {str(k) for k in objective.space})
        trial_log = TrialLog(self.optuna, scheduler, n_trials)
        engine = TrialEngine(
            study,
            scheduler,
            objective,
            tuning,
            self.run_dir / "checkpoints",
            replay=replay,
            observers=[*observers, trial_log.bar(progress)],
        )
        if resumed_study:
            running = sum(t.state == TrialState.RUNNING for t in replay)
            log.info(
                "continuing study '%s' (%d trials so far, %d to resume)",
                study.study_name,
                len(study.trials),
                len(replay) if not scheduler.synchronous else running,
            )
        subsets = f"fraction {objective.selector.fraction:.3g}"
        if scheduler.data_rungs:
            shares = ", ".join(f"{f:.3g}" for f in scheduler.fractions())
            subsets = f"data rungs {shares}, 1 ({scheduler.growth})"
        log.info(
            "tuning: %d trials, selector %s (%s), search %s, scheduler %s, device %s",
            n_trials,
            objective.selector.name,
            subsets,
            sampler_name(sampler),
            scheduler.name,
            objective.device,
        )
        t0 = time.perf_counter()
        # Shared selection set-up (e.g. MILO's orderings), once per run: part of the tuning time.
        setup = objective.prepare(
            setup_dir(self.storage_url, self.run_dir), fractions=scheduler.fractions()
        )
        setup_seconds = time.perf_counter() - t0
        try:
            with progress.logging():
                scheduler.run(engine)
        finally:
            engine.close()
            progress.close()
            if engine.epochs_trained:  # a rerun of a finished study keeps the time it recorded
                self.add_tuning_seconds(int(tuning.worker), time.perf_counter() - t0)
        return Tuned(setup, setup_seconds, self.tuning_seconds)

    def _label(self, info: dict[str, Any]) -> None:
        """Store the metric name and ``info`` (dataset, model, selector, ...) on a study without
        trials; a continued study keeps what it was started with."""
        study = self.optuna
        attrs = study.user_attrs
        fresh = not study.get_trials(deepcopy=False)
        for key, value in info.items():
            if fresh or key not in attrs:
                study.set_user_attr(key, value)
        if study.metric_names is None:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                study.set_metric_names([METRIC])

    def resume_plan(self, synchronous: bool, space_keys: set[str]) -> list[FrozenTrial]:
        """The trials of an interrupted run that the engine asks again (see the module).

        A trial killed while its configuration was sampled cannot be resumed: it is failed
        here (and replaced by a new one)."""
        trials = self.optuna.get_trials(deepcopy=False)
        now = datetime.datetime.now()
        host = str(self.owner["host"])

        def ownerless_dead(t: FrozenTrial) -> bool:
            # Killed between Optuna's ask and our owner tag (a few milliseconds): no live
            # automata process leaves a trial untagged, so in a synchronous study (ours alone)
            # it is dead; with many workers, only once it is clearly stale.
            if t.state != TrialState.RUNNING or t.user_attrs.get(OWNER_ATTR):
                return False
            started = t.datetime_start or now
            return synchronous or (now - started).total_seconds() > 60

        orphans = [t for t in trials if is_orphan(t, host) or ownerless_dead(t)]
        incomplete = [t for t in orphans if set(t.params) != space_keys]
        for t in incomplete:  # killed while its configuration was being sampled
            trial = attach(self.optuna, t)
            with critical():
                trial.set_user_attr(
                    FAIL_REASON_ATTR, "interrupted before its configuration was sampled"
                )
                self.optuna.tell(trial, None, state=TrialState.FAIL)
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
                f"tuning.study_name: trials {foreign} of study '{self.name}' are running in "
                "another process; synchronous schedulers (sha, hyperband) need the study to "
                "themselves (use scheduler=asha or none for many workers)"
            )
        keep = [t for t in trials if t.state != TrialState.WAITING and t not in incomplete]
        return sorted(keep, key=lambda t: t.number)

    # -- time ------------------------------------------------------------------------------
    def add_tuning_seconds(self, worker: int, seconds: float) -> None:
        """Add this process's tuning time to its worker's total on the study (one key per
        worker, so workers never overwrite each other's time)."""
        key = f"{TUNING_SECONDS_ATTR}{worker}"
        previous = float(self.optuna.user_attrs.get(key, 0.0))
        self.optuna.set_user_attr(key, previous + float(seconds))

    @property
    def tuning_seconds(self) -> float:
        """The study's tuning time: the longest worker total (workers run side by side; one
        process resumed several times adds up its sessions)."""
        totals = [
            float(v) for k, v in self.optuna.user_attrs.items() if k.startswith(TUNING_SECONDS_ATTR)
        ]
        return max(totals, default=0.0)

    # -- results ---------------------------------------------------------------------------
    def counts(self) -> TrialCounts:
        return TrialCounts.of(self.optuna.get_trials(deepcopy=False))

    def best_trial(self, final_train: bool) -> FrozenTrial | None:
        """The study's best trial, read once every worker's trials are in the storage when the
        final training needs it. None for a worker (no final training) that stops before any
        trial of the study has completed while other workers still run some: the final process
        reports the best."""
        if final_train:
            self.wait_for_running_trials()
        try:
            return self.optuna.best_trial
        except ValueError:
            n = self.counts()
            if not final_train and n.running:
                log.info("no trial of the study has completed yet (%s); other workers run on", n)
                return None
            raise AutomataError(
                f"no trial completed ({n}); see the failure reasons in the log"
            ) from None

    def wait_for_running_trials(self, poll_seconds: float = 2.0) -> None:
        """Return once no other live process runs a trial of the study.

        The final training must see the whole study: another worker's trial that completes
        later may be the best. Trials of dead processes on this host are not waited for, and
        with heartbeats (``tuning.heartbeat_interval``) neither are those of dead workers
        elsewhere.
        """
        host = str(self.owner["host"])
        last_log: float | None = None
        while True:
            fail_stale_trials(self.optuna)
            now = datetime.datetime.now()
            running = [
                t.number
                for t in self.optuna.get_trials(deepcopy=False, states=(TrialState.RUNNING,))
                if not is_orphan(t, host)
                and t.user_attrs.get(OWNER_ATTR) != self.owner  # never wait for this process
                and (
                    t.user_attrs.get(OWNER_ATTR)
                    or now - (t.datetime_start or now) < _UNTAGGED_GRACE
                )
            ]
            if not running:
                return
            if last_log is None or time.monotonic() - last_log > 60:
                log.info(
                    "waiting for trial(s) %s, running in other processes, before the final "
                    "training",
                    running,
                )
                last_log = time.monotonic()
            time.sleep(poll_seconds)


def _check_settings(study: optuna.Study, current: dict[str, Any], allow_changed: bool) -> list[str]:
    """Record the fingerprint of a new study, or compare it with the one the study holds.

    Returns the keys that differ (empty unless ``allow_changed``). Raises ConfigError, in one
    line naming those keys, when the study was tuned with other settings.
    """
    attrs = study.user_attrs
    recorded = attrs.get(FINGERPRINT_ATTR)
    if recorded is None or not study.get_trials(deepcopy=False):
        # A new study, one without trials (nothing to credit wrongly: e.g. its first run
        # stopped on a missing data file), or one of an older version, which stored none.
        study.set_user_attr(FINGERPRINT_ATTR, current)
        return []
    changed = differences(recorded, current)
    if not changed:
        return []
    detail = shown(recorded, current, changed)
    if not allow_changed:
        raise ConfigError(
            f"tuning.study_name: study '{study.study_name}' was tuned with other settings "
            f"({detail}); start a new study (another hydra.run.dir or tuning.study_name), or "
            "set tuning.allow_changed_settings=true to continue it anyway"
        )
    log.warning(
        "continuing study '%s' with other settings than it was tuned with (%s), as "
        "tuning.allow_changed_settings=true asks",
        study.study_name,
        detail,
    )
    study.set_user_attr(CHANGED_ATTR, sorted(set(attrs.get(CHANGED_ATTR, [])) | set(changed)))
    return changed


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


class TrialLog:
    """What the user sees of the study while it runs: a log line per finished trial (finished
    trials of the whole study, all workers and earlier sessions, of ``tuning.n_trials``; its
    score; the study's best so far) and, on a terminal, a bar over the epochs of the plan.

    A synchronous study is this process's alone: its counts and best are kept here, not read
    back from the storage after every trial."""

    def __init__(self, study: optuna.Study, scheduler: Scheduler, n_trials: int) -> None:
        self.study = study
        self.scheduler = scheduler
        self.synchronous = scheduler.synchronous
        self.n_trials = n_trials
        self.max_resource = scheduler.max_resource
        self.started = time.perf_counter()
        at_start = study.get_trials(deepcopy=False, states=DONE)
        self._done = {t.number for t in at_start}
        self._best = max(
            ((t.value, -t.number) for t in at_start if t.state == TrialState.COMPLETE),
            default=None,
        )
        self._bar: EpochProgress | None = None

    def bar(self, progress: EpochProgress) -> TrialLog:
        """This log, drawing ``progress`` as trials train."""
        self._bar = progress
        return self

    def epoch(self, trial: int, result: EpochResult, until: int) -> None:
        if self._bar is not None:
            self._bar.epoch(f"trial {trial}, epoch {result.epoch}/{until}", result.advanced)

    def paused(self, trial: int) -> None:
        pass

    def ended(
        self, trial: int, state: str, params: dict[str, Any], metrics: dict[str, float] | None
    ) -> None:
        if state == "fail":
            return  # said by the engine's warning; replaced by a new trial
        score = metrics["val_accuracy"] if metrics else None
        epoch = int(metrics["epochs"]) if metrics else None
        trials: list[FrozenTrial] = []
        if self.synchronous:
            self._done.add(trial)
            if state == "complete" and score is not None:
                self._best = max(self._best or (score, -trial), (score, -trial))
            n_done, best = len(self._done), self._best
        else:
            trials = self.study.get_trials(deepcopy=False)
            # Only the trials done by this one's end: read back after another worker's trial
            # had ended too, both workers printed the same count.
            end = {t.number: (t.datetime_complete, t.number) for t in trials if t.state in DONE}
            done = [t for t in trials if t.state in DONE and end[t.number] <= end[trial]]
            n_done = len(done)
            best = max(
                ((t.value, -t.number) for t in done if t.state == TrialState.COMPLETE),
                default=None,
            )
        if best is not None:
            best_txt = f"best {best[0]:.4f} (trial {-best[1]})"
        else:
            best_txt = "no completed trial yet"
        what = "completed" if state == "complete" else "pruned"
        at = f"epoch {epoch}"
        if self.scheduler.data_rungs and epoch is not None:
            share = self.scheduler.budget(epoch)[0] or 1.0
            at = "all of the data" if share >= 1.0 else f"{share:.3g} of the data"
        result = f"val {score:.4f} at {at}" if score is not None else "no score"
        log.info(
            "[%d/%d] trial %d %s, %s | %s | %.1f s",
            n_done,
            self.n_trials,
            trial,
            what,
            result,
            best_txt,
            time.perf_counter() - self.started,
        )
        if not self.synchronous and not self.scheduler.data_rungs and self._bar is not None:
            # Other workers train too, and pruned trials stop short of the plan: take both
            # from the study.
            self._bar.sync(*study_epochs(trials, self.max_resource, self.n_trials))

    def close(self) -> None:
        pass
