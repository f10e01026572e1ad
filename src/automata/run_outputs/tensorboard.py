"""TensorBoard logs: one folder per trial with per-epoch curves, plus an hparams view."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Protocol

#: Trial states shown in the hparams view.
STATES = ("complete", "pruned")


class TensorBoardLog:
    """Writes ``<root>/trial_NNNN`` curves (``<root>/final`` for the final training) and
    ``<root>/hparams`` (one run per finished trial).

    ``enabled=False`` makes every call a no-op (``tuning.tensorboard=false``).
    """

    def __init__(self, root: Path, enabled: bool = True) -> None:
        self.root = root
        self.enabled = enabled
        self._writers: dict[int | str, Any] = {}
        # Curves are kept in memory and written when a trial pauses or ends: a writer call per
        # scalar and epoch (a queue and a thread wake-up each) cost more than a small model's
        # epoch.
        self._pending: dict[int | str, list[tuple[int, dict[str, float]]]] = {}

    def _writer(self, trial: int | str) -> Any:
        if trial not in self._writers:
            from torch.utils.tensorboard import SummaryWriter

            name = trial if isinstance(trial, str) else f"trial_{trial:04d}"
            self._writers[trial] = SummaryWriter(str(self.root / name))
        return self._writers[trial]

    def epoch(self, trial: int | str, step: int, scalars: dict[str, float | None]) -> None:
        if not self.enabled:
            return
        finite = {k: v for k, v in scalars.items() if v is not None and math.isfinite(v)}
        if finite:
            self._pending.setdefault(trial, []).append((step, finite))

    def flush(self, trial: int | str) -> None:
        """Write the curves of ``trial`` kept so far."""
        rows = self._pending.pop(trial, None)
        if not rows:
            return
        w = self._writer(trial)
        for step, scalars in rows:
            for key, value in scalars.items():
                w.add_scalar(key, value, step)
        w.flush()

    def close_trial(self, trial: int | str) -> None:
        self.flush(trial)
        w = self._writers.pop(trial, None)
        if w is not None:
            w.close()

    def hparams(
        self, trial: int, params: dict[str, Any], metrics: dict[str, float], state: str
    ) -> None:
        """One entry of the hparams dashboard: parameters against final metrics, and the
        trial's ``state`` (complete, pruned) as a column that can be filtered on.

        Written straight into ``hparams/trial_NNNN``: ``SummaryWriter.add_hparams`` would also
        leave an empty event file in ``hparams/`` at every call.
        """
        if not self.enabled:
            return
        from torch.utils.tensorboard import SummaryWriter
        from torch.utils.tensorboard.summary import hparams

        clean: dict[str, Any] = {
            k: (v if isinstance(v, (int, float, str, bool)) else str(v)) for k, v in params.items()
        }
        clean["state"] = state
        tagged = {f"hparam/{k}": v for k, v in metrics.items()}
        exp, ssi, sei = hparams(clean, tagged, {"state": list(STATES)})
        with SummaryWriter(str(self.root / "hparams" / f"trial_{trial:04d}")) as w:
            for summary in (exp, ssi, sei):
                w.file_writer.add_summary(summary)
            for key, value in tagged.items():
                w.add_scalar(key, value)

    def reset(self, trial: int | str) -> None:
        """Remove the curves of ``trial`` written by an earlier run (e.g. the final training of
        a study that is run again), so TensorBoard does not draw two of them."""
        self.close_trial(trial)
        name = trial if isinstance(trial, str) else f"trial_{trial:04d}"
        if self.enabled and (self.root / name).is_dir():
            for path in (self.root / name).glob("events.out.tfevents.*"):
                path.unlink()

    def close(self) -> None:
        for trial in list(self._pending) + list(self._writers):
            self.close_trial(trial)


class EpochCurves(Protocol):
    """What a trained epoch reports (:class:`automata.training.trainer.EpochResult`)."""

    epoch: int
    full_equivalent: float

    def scalars(self) -> dict[str, float | None]: ...


class TrialCurves:
    """A study's TensorBoard log as an observer of its trials (the engine's ``observers``):
    every trained epoch's curves, flushed when a trial pauses and closed when it ends; the
    hparams view of the finished trials is written once, at :meth:`close`, off the training
    loop."""

    def __init__(self, log: TensorBoardLog) -> None:
        self.log = log
        self._hparams: list[tuple[int, dict[str, Any], dict[str, float], str]] = []
        self._cost: dict[int, float] = {}

    def epoch(self, trial: int, result: EpochCurves, until: int) -> None:
        """The epoch's curves, and the trial's cost so far in full-data-equivalent epochs (the
        cost clock: the data it trained on, counted in full-data epochs)."""
        self._cost[trial] = self._cost.get(trial, 0.0) + result.full_equivalent
        scalars = {**result.scalars(), "cost/full_equivalent_epochs": self._cost[trial]}
        self.log.epoch(trial, result.epoch, scalars)

    def paused(self, trial: int) -> None:
        self.log.flush(trial)

    def ended(
        self, trial: int, state: str, params: dict[str, Any], metrics: dict[str, float] | None
    ) -> None:
        """A trial is over (``complete``, ``pruned`` or ``fail``); ``metrics`` its final
        scores, ``None`` when it has none."""
        self.log.close_trial(trial)
        if metrics is not None:
            self._hparams.append((trial, params, metrics, state))

    def close(self) -> None:
        for trial, params, metrics, state in self._hparams:
            self.log.hparams(trial, params, metrics, state)
        self._hparams.clear()
        self.log.close()
