"""Interrupted studies: bit-identical trainer resume, and a real tuning process killed with
SIGKILL mid-trial then rerun with the same command."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time

import optuna
import pytest
import torch

from automata.build import build
from automata.run_outputs.summary import RunSummary
from automata.selection.gradmatch import GradMatchPB
from automata.training.trainer import Trainer

from ..conftest import ROOT, tiny_run


def test_trainer_resumes_bit_identically(tiny_cfg, tmp_path):
    cfg = tiny_cfg(["train.epochs=6", "model.dropout=0.3", "train.lr_schedule=cosine"])
    data = build("dataset", cfg.dataset)
    selector = GradMatchPB(fraction=0.2, interval=2)
    straight = Trainer(cfg, data, selector, torch.device("cpu"))
    for _ in range(5):
        straight.run_epoch()

    first = Trainer(cfg, data, selector, torch.device("cpu"))
    for _ in range(3):
        first.run_epoch()
    path = tmp_path / "ckpt.pt"
    first.save(path)
    assert Trainer.records_of(path) == first.records()  # the cost, read from the file alone
    assert not path.with_suffix(".tmp").exists()
    torch.manual_seed(1234)  # disturb the global RNG: the resumed trainer must not care
    resumed = Trainer(cfg, data, selector, torch.device("cpu"))
    resumed.load(path)
    for _ in range(2):
        resumed.run_epoch()

    assert resumed.epoch == straight.epoch == 5
    for (k, a), (_, b) in zip(
        straight.model.state_dict().items(), resumed.model.state_dict().items()
    ):
        assert torch.equal(a, b), k
    assert torch.equal(straight.subset.indices, resumed.subset.indices)
    assert torch.equal(straight.subset.weights, resumed.subset.weights)
    assert straight.cost.epochs == resumed.cost.epochs == 5


def _running_sampled(db) -> bool:
    """Whether a RUNNING trial has its whole configuration, as many parameters as a completed
    trial (a kill between Optuna's ask and the end of the sampling is another case, tested by
    its own assertion below)."""
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
    try:
        rows = con.execute(
            "SELECT t.state, COUNT(p.param_id) FROM trials t "
            "LEFT JOIN trial_params p ON p.trial_id = t.trial_id GROUP BY t.trial_id"
        ).fetchall()
    except sqlite3.OperationalError:
        return False
    finally:
        con.close()
    whole = max((n for s, n in rows if s == "COMPLETE"), default=0)
    return whole > 0 and any(s == "RUNNING" and n == whole for s, n in rows)


def _states(db) -> dict[int, tuple[str, float | None]]:
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
    try:
        rows = con.execute(
            "SELECT t.number, t.state, v.value FROM trials t "
            "LEFT JOIN trial_values v ON v.trial_id = t.trial_id"
        ).fetchall()
    except sqlite3.OperationalError:
        return {}
    finally:
        con.close()
    return {n: (s, v) for n, s, v in rows}


@pytest.mark.slow
def test_sigkill_mid_trial_then_rerun_continues(tmp_path):
    run_dir = tmp_path / "run"
    cmd = [
        sys.executable,
        "-m",
        "automata",
        *tiny_run(
            "scheduler=hyperband",
            "train.epochs=9",
            "tuning.n_trials=17",
            "selector=full",
            "train.batch_size=16",
            "~space.batch_size",
            "tuning.final_train=false",
        ),
        f"hydra.run.dir={run_dir}",
    ]
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen(
        cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    db = run_dir / "study.db"
    deadline = time.time() + 300
    before: dict[int, tuple[str, float | None]] = {}
    while time.time() < deadline and proc.poll() is None:
        if db.exists():
            before = _states(db)
            states = [s for s, _ in before.values()]
            # Kill mid-trial: a trial has completed and another one is running (sampled) now.
            if "COMPLETE" in states and "RUNNING" in states and _running_sampled(db):
                break
        time.sleep(0.05)
    assert proc.poll() is None, "the run finished before it could be killed:\n" + proc.stdout.read()
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    before = _states(db)
    completed_before = {n: v for n, (s, v) in before.items() if s == "COMPLETE"}
    assert completed_before
    assert any(s == "RUNNING" for s, _ in before.values()), "killed between trials, not mid-trial"

    res = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    log = res.stdout + res.stderr
    assert "continuing study" in log and "resuming trial" in log

    study = optuna.load_study(study_name="automata", storage=f"sqlite:///{db}")
    trials = study.trials
    # Nothing lost, nothing repeated: the earlier completed trials keep their values and were
    # not trained or told again, and the study holds exactly n_trials configurations.
    for number, value in completed_before.items():
        assert trials[number].state.name == "COMPLETE" and trials[number].value == value
        assert f"trial {number} completed" not in log
    # A kill between Optuna's ask and the sampling of the configuration leaves a trial
    # without parameters: it is recorded as failed and replaced.
    failed = [t for t in trials if t.state.name == "FAIL"]
    assert all("interrupted" in t.user_attrs["fail_reason"] for t in failed)
    trials = [t for t in trials if t.state.name != "FAIL"]
    assert len(trials) == 17
    assert all(t.state.name in ("COMPLETE", "PRUNED") for t in trials)
    # Hyperband R=9, eta=3 brackets (9@1, 5@3, 3@9): exactly 1 + 1 + 3 configurations reach
    # the end, so the scheduler continued at the rung where it stopped.
    assert sum(t.state.name == "COMPLETE" for t in trials) == 5
    summary = RunSummary.read(run_dir / "summary.json")
    assert summary.n_trials.total == 17 + len(failed) == len(summary.trials)
    # Finished trials' checkpoints are gone; the study on the full data keeps its best model
    # (one, whichever session trained it) for the final training, which here runs later.
    assert not list((run_dir / "checkpoints").glob("trial_*.pt"))
    (kept,) = (run_dir / "checkpoints").glob("model_*.pt")
    best = max((t for t in study.trials if t.state.name == "COMPLETE"), key=lambda t: t.value)
    assert kept.name == f"model_{best.number:04d}.pt"


def test_trial_killed_before_sampling_is_failed_and_replaced(tiny_cfg, tmp_path):
    from automata.run import run

    out = tmp_path / "run"
    out.mkdir()
    study = optuna.create_study(
        study_name="automata", storage=f"sqlite:///{out / 'study.db'}", direction="maximize"
    )
    study.ask()  # a process died right after Optuna's ask: no owner, no parameters
    cfg = tiny_cfg(["tuning.n_trials=3", "tuning.final_train=false"])
    summary = run(cfg)
    trials = optuna.load_study(
        study_name="automata", storage=f"sqlite:///{out / 'study.db'}"
    ).trials
    assert trials[0].state.name == "FAIL"
    assert "interrupted" in trials[0].user_attrs["fail_reason"]
    assert summary.n_trials.completed + summary.n_trials.pruned == 3
