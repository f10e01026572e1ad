"""The progress bar within trials: drawn only on a terminal, epochs done of the plan, ETA."""

from __future__ import annotations

import io
import re
import time

import torch

from automata.build import build
from automata.config import trial_settings
from automata.run import build_components
from automata.run_outputs.progress import EpochProgress
from automata.tuning.engine import TrialEngine
from automata.tuning.objective import Objective
from automata.tuning.study import TrialLog


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_drawn_on_a_terminal_with_done_total_elapsed_and_eta():
    screen = Terminal()
    bar = EpochProgress(12, initial=2, desc="tuning", stream=screen)
    for epoch in range(1, 4):
        time.sleep(0.11)  # tqdm redraws at most every 0.1 s
        bar.epoch(f"trial 4, epoch {epoch}/9")
    assert (bar.done, bar.total) == (5, 12)
    bar.close()
    text = screen.getvalue()
    assert "tuning:" in text and "5/12 epochs" in text
    assert re.search(r"\d\d:\d\d elapsed, (\d\d:\d\d|\?) left", text)
    assert "trial 4, epoch 3/9" in text


def test_silent_when_not_a_terminal():
    log = io.StringIO()
    bar = EpochProgress(12, stream=log)
    bar.epoch("trial 0, epoch 1/9")
    bar.sync(5, 20)
    bar.close()
    assert log.getvalue() == ""


def test_a_tuning_run_counts_every_trained_epoch_of_its_plan(tiny_cfg, tmp_path):
    """SHA's plan is exact when no trial fails: the bar ends at its total."""
    import optuna

    cfg = tiny_cfg(["scheduler=sha", "tuning.n_trials=5", "train.epochs=3", "selector=full"])
    _, scheduler, sampler, _ = build_components(cfg)
    data = build("dataset", cfg.dataset)
    study = optuna.create_study(direction="maximize", sampler=sampler)
    screen = Terminal()
    progress = EpochProgress(scheduler.planned_epochs(5), stream=screen)
    objective = Objective(
        trial_settings(cfg), cfg.space, data, build("selector", cfg.selector), torch.device("cpu")
    )
    trial_log = TrialLog(study, scheduler, 5).bar(progress)
    engine = TrialEngine(
        study, scheduler, objective, cfg.tuning, tmp_path / "checkpoints", observers=[trial_log]
    )
    scheduler.run(engine)
    engine.close()
    # SHA, 5 configurations, eta 3, epochs 1 -> 3: 5 x 1 + 1 x 2 = 7 epochs.
    assert scheduler.planned_epochs(5) == 7 == engine.epochs_trained
    assert (progress.done, progress.total) == (7, 7)
    assert "/7 epochs" in screen.getvalue()
    # No paused trial's checkpoint is left; the full-data study keeps its best model only.
    assert not list((tmp_path / "checkpoints").glob("trial_*.pt"))
    assert len(list((tmp_path / "checkpoints").glob("model_*.pt"))) == 1


def test_nothing_is_drawn_before_tuning_starts_so_log_lines_start_their_own_line():
    """A bar drawn when made stayed on the line where the next log line then began."""
    screen = Terminal()
    bar = EpochProgress(12, stream=screen)
    assert screen.getvalue() == ""
    with bar.logging():
        assert "0/12 epochs" in screen.getvalue()
    bar.close()
