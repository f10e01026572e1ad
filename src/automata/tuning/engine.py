"""The study loop: an in-process Optuna study that schedulers drive through ask/advance/tell.

The live :class:`optuna.Trial` reaches the training loop: every epoch's validation accuracy is
reported to it, so pruners (ASHA) and our synchronous schedulers see learning curves, and a
trial's cost (epochs, full-data-equivalent epochs, selection/train/eval seconds) is stored in
its user attributes. A trial that raises, runs out of memory or diverges is recorded as failed
with its reason, and the study goes on until ``tuning.max_failures``.
"""

from __future__ import annotations

import logging
import time
import traceback
from pathlib import Path
from typing import Any

import optuna
import torch
from omegaconf import DictConfig
from optuna.trial import TrialState

from automata.data.base import DataSplits
from automata.errors import AutomataError
from automata.reporting.tensorboard import TensorBoardLog
from automata.selection.base import Selector
from automata.training.trainer import EpochResult, Trainer
from automata.tuning import space as search_space

log = logging.getLogger("automata")

#: States that use up one of ``tuning.n_trials`` (failed trials are retried with new ones).
COUNTED = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.RUNNING, TrialState.WAITING)


class TooManyFailures(AutomataError):
    pass


class StudyEngine:
    """Runs trials of one study for a scheduler (see :class:`~automata.tuning.schedulers.Engine`).

    Args:
        cfg: the composed run config (the search space in ``cfg.space``).
        data, selector, device: what each trial trains on, and where.
        study: the Optuna study (in any storage).
        run_dir: where checkpoints of paused trials go (``<run_dir>/checkpoints``).
        tb: TensorBoard log.
    """

    def __init__(
        self,
        cfg: DictConfig,
        data: DataSplits,
        selector: Selector,
        study: optuna.Study,
        device: torch.device,
        run_dir: Path,
        tb: TensorBoardLog,
    ) -> None:
        self.cfg = cfg
        self.data = data
        self.selector = selector
        self.study = study
        self.device = device
        self.tb = tb
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
        self._last: dict[int, EpochResult] = {}

    # -- scheduler-facing API -------------------------------------------------------------
    def ask(self) -> optuna.Trial | None:
        if self.failures >= self.max_failures:
            raise TooManyFailures(
                f"stopping: {self.failures} trials failed (tuning.max_failures="
                f"{self.max_failures}); see the failure reasons above and in the study"
            )
        if self.timeout is not None and time.perf_counter() - self.started > self.timeout:
            return None
        counted = len(self.study.get_trials(deepcopy=False, states=COUNTED))
        if counted >= self.n_trials:
            return None
        trial = self.study.ask()
        params = search_space.suggest(trial, self.cfg.space)
        self._params[trial.number] = params
        self._cfgs[trial.number] = search_space.apply(self.cfg, self.cfg.space, params)
        return trial

    def advance(self, trial: optuna.Trial, until: int, prune_check: bool = False) -> float | None:
        try:
            trainer = self._trainer(trial)
            while trainer.epoch < until:
                res = trainer.run_epoch()
                self._last[trial.number] = res
                trial.report(res.val_accuracy, res.epoch)
                self._log_epoch(trial.number, res)
                if prune_check and trial.should_prune():
                    self.prune(trial)
                    return None
        except KeyboardInterrupt:
            raise
        except Exception as exc:  # noqa: BLE001 - any trial error is recorded, not fatal
            self._fail(trial, exc)
            return None
        res = self._last.get(trial.number)
        return None if res is None else res.val_accuracy

    def pause(self, trial: optuna.Trial) -> None:
        """Save a waiting trial's state to disk and free its memory (synchronous schedulers)."""
        trainer = self._trainers.pop(trial.number, None)
        if trainer is None:
            return
        self.checkpoint_dir.mkdir(parents=True, exist_ok=True)
        path = self._checkpoint(trial.number)
        tmp = path.with_suffix(".tmp")
        torch.save(trainer.state_dict(), tmp)
        tmp.replace(path)

    def complete(self, trial: optuna.Trial) -> None:
        res = self._last[trial.number]
        self._finish(trial, TrialState.COMPLETE, res.val_accuracy)

    def prune(self, trial: optuna.Trial) -> None:
        self._finish(trial, TrialState.PRUNED, None)

    # -- internals --------------------------------------------------------------------------
    def _checkpoint(self, number: int) -> Path:
        return self.checkpoint_dir / f"trial_{number:04d}.pt"

    def _trainer(self, trial: optuna.Trial) -> Trainer:
        number = trial.number
        if number not in self._trainers:
            trainer = Trainer(self._cfgs[number], self.data, self.selector, self.device,
                              total_epochs=int(self.cfg.train.epochs))
            path = self._checkpoint(number)
            if path.exists():
                trainer.load_state_dict(torch.load(path, weights_only=False))
            self._trainers[number] = trainer
        return self._trainers[number]

    def _log_epoch(self, number: int, res: EpochResult) -> None:
        scalars = {
            "train/loss": res.train_loss,
            "val/accuracy": res.val_accuracy,
            "val/loss": res.val_loss,
            "subset/size": float(res.subset_size),
            "time/selection_seconds": res.selection_seconds,
            "time/train_seconds": res.train_seconds,
        }
        if res.selected:
            for key in ("matching_error", "gradient_seconds", "solver_seconds", "shortfall"):
                if key in res.selection_stats:
                    scalars[f"selection/{key}"] = res.selection_stats[key]
        self.tb.epoch(number, res.epoch, scalars)

    def _cost(self, number: int) -> dict[str, float]:
        trainer = self._trainers.get(number)
        if trainer is None and self._checkpoint(number).exists():
            return dict(torch.load(self._checkpoint(number), weights_only=False)["cost"])
        return trainer.cost.as_dict() if trainer is not None else {}

    def _finish(self, trial: optuna.Trial, state: TrialState, value: float | None) -> None:
        number = trial.number
        cost = self._cost(number)
        res = self._last.get(number)
        trial.set_user_attr("cost", cost)
        if res is not None and res.selection_stats:
            trial.set_user_attr("last_selection", res.selection_stats)
        self.study.tell(trial, value, state=state)
        self._release(number)
        self.finished += 1
        if res is not None and state != TrialState.FAIL:
            self.tb.hparams(number, self._params[number],
                            {"val_accuracy": res.val_accuracy, "epochs": float(res.epoch)})
        self._progress(number, state, res)

    def _fail(self, trial: optuna.Trial, exc: BaseException) -> None:
        reason = f"{type(exc).__name__}: {exc}".splitlines()[0][:500]
        log.warning("trial %d failed: %s", trial.number, reason)
        log.debug("trial %d traceback:\n%s", trial.number, traceback.format_exc())
        self.failures += 1
        trial.set_user_attr("fail_reason", reason)
        try:
            cost = self._cost(trial.number)
        except Exception:  # noqa: BLE001 - the cost of a broken trial is best effort
            cost = {}
        trial.set_user_attr("cost", cost)
        self.study.tell(trial, None, state=TrialState.FAIL)
        self._release(trial.number)
        self.finished += 1
        if self.device.type == "cuda":
            torch.cuda.empty_cache()

    def _release(self, number: int) -> None:
        self._trainers.pop(number, None)
        self.tb.close_trial(number)
        path = self._checkpoint(number)
        if path.exists() and not self.cfg.tuning.get("keep_checkpoints", False):
            path.unlink()

    def _progress(self, number: int, state: TrialState, res: EpochResult | None) -> None:
        try:
            best = self.study.best_trial
            best_txt = f"best {best.value:.4f} (trial {best.number})"
        except ValueError:
            best_txt = "no completed trial yet"
        what = "completed" if state == TrialState.COMPLETE else "pruned"
        score = f"val {res.val_accuracy:.4f} at epoch {res.epoch}" if res else ""
        log.info(
            "[%d/%d] trial %d %s, %s | %s | %.1f s",
            self.finished, self.n_trials, number, what, score, best_txt,
            time.perf_counter() - self.started,
        )

    def close(self) -> None:
        for number in list(self._trainers):
            self._release(number)
        self.tb.close()
