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

    def _writer(self, trial: int | str) -> Any:
        if trial not in self._writers:
            from torch.utils.tensorboard import SummaryWriter

            name = trial if isinstance(trial, str) else f"trial_{trial:04d}"
            self._writers[trial] = SummaryWriter(str(self.root / name))
        return self._writers[trial]

    def epoch(self, trial: int | str, step: int, scalars: dict[str, float | None]) -> None:
        if not self.enabled:
            return
        w = self._writer(trial)
        for key, value in scalars.items():
            if value is not None and math.isfinite(value):
                w.add_scalar(key, value, step)

    def close_trial(self, trial: int | str) -> None:
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
        for trial in list(self._writers):
            self.close_trial(trial)
