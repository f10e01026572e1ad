"""TensorBoard logs: one folder per trial with per-epoch curves, plus an hparams view."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any


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

    def hparams(self, trial: int, params: dict[str, Any], metrics: dict[str, float]) -> None:
        """One entry of the hparams dashboard (parameters against final metrics)."""
        if not self.enabled:
            return
        from torch.utils.tensorboard import SummaryWriter

        clean = {
            k: (v if isinstance(v, (int, float, str, bool)) else str(v)) for k, v in params.items()
        }
        with SummaryWriter(str(self.root / "hparams")) as w:
            w.add_hparams(
                clean, {f"hparam/{k}": v for k, v in metrics.items()}, run_name=f"trial_{trial:04d}"
            )

    def close(self) -> None:
        for trial in list(self._pending) + list(self._writers):
            self.close_trial(trial)
