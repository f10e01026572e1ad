"""A run's folder and what it holds: ``config.yaml``, ``tensorboard/``, ``summary.json``,
``report.md`` and ``final_model.pt`` (the study, ``study.db``, unless ``tuning.storage`` puts it
elsewhere)."""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

from omegaconf import DictConfig

from automata.run_outputs.report import write_report
from automata.run_outputs.summary import RunSummary
from automata.run_outputs.tensorboard import TensorBoardLog

log = logging.getLogger("automata")

FINAL_MODEL = "final_model.pt"


def output_dir(paths: DictConfig) -> Path:
    """``paths.output_dir`` if set, else Hydra's run directory, else ``outputs/<date>/<time>``."""
    if paths.output_dir:
        return Path(str(paths.output_dir))
    try:
        from hydra.core.hydra_config import HydraConfig

        return Path(HydraConfig.get().runtime.output_dir)
    except ValueError:
        return Path("outputs") / time.strftime("%Y-%m-%d/%H-%M-%S")


class RunFolder:
    """Args: path (the folder), tensorboard (write TensorBoard logs there)."""

    def __init__(self, path: Path, tensorboard: bool = True) -> None:
        self.path = path
        self.tensorboard = TensorBoardLog(path / "tensorboard", enabled=tensorboard)

    @classmethod
    def create(cls, paths: DictConfig, record: str, tensorboard: bool = True) -> RunFolder:
        """The run's folder (:func:`output_dir`), made, with ``config.yaml`` (``record``)."""
        folder = cls(output_dir(paths), tensorboard)
        folder.path.mkdir(parents=True, exist_ok=True)
        (folder.path / "config.yaml").write_text(record)
        return folder

    def note_curves(self, eval_every: int | None) -> None:
        """Say, once at the run's start, how to get whole validation curves: without
        ``train.eval_every`` a trial is validated only where the scheduler decides (a few
        points of a 20-epoch trial), and TensorBoard draws what was measured."""
        if self.tensorboard.enabled and eval_every is None:
            log.info(
                "tensorboard: validation accuracy only at the scheduler's decision epochs; "
                "train.eval_every=1 validates every epoch for whole curves (slower, same results)"
            )

    @property
    def final_model(self) -> Path:
        return self.path / FINAL_MODEL

    def drop_trial_models(self) -> None:
        """Remove the full-data models the study kept for the final one
        (``checkpoints/model_*.pt``), once the final model is saved."""
        checkpoints = self.path / "checkpoints"
        for path in checkpoints.glob("model_*.pt"):
            path.unlink()
        if checkpoints.is_dir() and not any(checkpoints.iterdir()):
            checkpoints.rmdir()

    def write(self, summary: RunSummary) -> None:
        """summary.json and report.md, and the closing log lines."""
        summary.write(self.path / "summary.json")
        write_report(self.path / "report.md", summary)
        final_test, best = summary.final_test_accuracy, summary.best_val_accuracy
        log.info(
            "done: best val %s (trial %s), final test %s, tuning %.1f s, final training %.1f s",
            "-" if best is None else f"{best:.4f}",
            summary.best_trial,
            "-" if final_test is None else f"{final_test:.4f}",
            summary.tuning_seconds,
            summary.final_train_seconds,
        )
        here = [name for name in ("report.md", "summary.json") if (self.path / name).exists()]
        study = self.path / "study.db"
        if study.exists() and summary.storage.endswith(str(study.resolve())):
            here.append("study.db")
        here += [f"{name}/" for name in ("tensorboard",) if (self.path / name).is_dir()]
        if summary.final_model:
            here.append(summary.final_model)
        elsewhere = "" if "study.db" in here else f"; the study is in {summary.storage}"
        log.info("outputs: %s (%s)%s", os.path.relpath(self.path), ", ".join(here), elsewhere)
