"""Stopping on SIGINT and SIGTERM (automata.signals): one line, the exit status of the signal,
and a rerun that continues the study into exactly what an uninterrupted run gives; the line
names the folder to continue in when the run's folder was named after its start time."""

from __future__ import annotations

import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import optuna
import pytest

from automata import signals
from automata.run_outputs.summary import RunSummary

from .conftest import ROOT

#: Hyperband over 9 epochs, 11 configurations (the signal lands in the first bracket, so the
#: rerun asks new configurations after it), scores every epoch (so a signal can land while a
#: trial is training), the final model trained.
RUN = [
    "scheduler=hyperband",
    "train.epochs=9",
    "train.eval_every=1",
    "tuning.n_trials=11",
    "selector=full",
    "tuning.tensorboard=false",
    "device=cpu",
    "threads=1",
]
ENV = {**os.environ, "PYTHONUNBUFFERED": "1", "OMP_NUM_THREADS": "1"}


def _command(*extra: str) -> list[str]:
    return [sys.executable, "-m", "automata", *RUN, *extra]


def _running_with_epochs(db: Path) -> bool:
    """A trial of the study has reported scores and is still running."""
    if not db.exists():
        return False
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
    try:
        rows = con.execute(
            "SELECT COUNT(*) FROM trials t JOIN trial_intermediate_values v "
            "ON v.trial_id = t.trial_id WHERE t.state = 'RUNNING'"
        ).fetchone()
        done = con.execute("SELECT COUNT(*) FROM trials WHERE state = 'COMPLETE'").fetchone()
    except sqlite3.OperationalError:
        return False
    finally:
        con.close()
    return bool(rows and rows[0]) and bool(done and done[0] < 2)


def _stop(cmd: list[str], db: Path, sig: int, cwd: Path) -> subprocess.CompletedProcess:
    # A shell that starts the suite in the background hands its children SIGINT ignored: give
    # the run the default disposition a terminal's Ctrl-C meets.
    proc = subprocess.Popen(
        cmd,
        cwd=cwd,
        env=ENV,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    deadline = time.time() + 300
    while time.time() < deadline and proc.poll() is None:
        if _running_with_epochs(db):
            break
        time.sleep(0.02)
    assert proc.poll() is None, "the run finished before it could be stopped"
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=120)
    return subprocess.CompletedProcess(cmd, proc.returncode, out, err)


def _study(run_dir: Path) -> list[tuple]:
    study = optuna.load_study(study_name="automata", storage=f"sqlite:///{run_dir / 'study.db'}")
    return [
        (t.number, t.state.name, t.params, t.value, dict(t.intermediate_values))
        for t in study.trials
    ]


def _finish(cmd: list[str]) -> subprocess.CompletedProcess:
    """Run ``cmd`` to its end; it must succeed."""
    res = subprocess.run(cmd, cwd=ROOT, env=ENV, capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr[-3000:]
    return res


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory) -> Path:
    run_dir = tmp_path_factory.mktemp("signals") / "straight"
    _finish(_command(f"hydra.run.dir={run_dir}"))
    return run_dir


@pytest.mark.slow
@pytest.mark.parametrize(("sig", "status"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_a_signal_stops_in_one_line_and_the_rerun_is_the_uninterrupted_run(
    uninterrupted, tmp_path, sig, status
):
    run_dir = tmp_path / "run"
    cmd = _command(f"hydra.run.dir={run_dir}")
    stopped = _stop(cmd, run_dir / "study.db", sig, ROOT)
    assert stopped.returncode == status, stopped.stdout[-2000:] + stopped.stderr[-2000:]
    assert stopped.stderr.strip().splitlines() == [
        "interrupted: rerun the same command to continue"
    ]
    assert "Traceback" not in stopped.stdout

    again = _finish(cmd)
    assert re.search(r"resuming trial \d+", again.stdout + again.stderr)
    # Every trial, its configuration, state, learning curve and score; the best; the final
    # model's accuracy: bit for bit what the uninterrupted run found.
    assert _study(run_dir) == _study(uninterrupted)
    resumed, straight = (RunSummary.read(d / "summary.json") for d in (run_dir, uninterrupted))
    assert (resumed.best_trial, resumed.best_val_accuracy) == (
        straight.best_trial,
        straight.best_val_accuracy,
    )
    assert resumed.final_test_accuracy == straight.final_test_accuracy


#: The default run's scheduler, the data ladder, small: rungs of 1/27, 1/9, 1/3 of the data and
#: all of it, validated every epoch so that a signal can land inside a rung's training.
LADDER_RUN = [
    "scheduler=ladder",
    "scheduler.min_fraction=0.037",
    "selector=random",
    "train.epochs=4",
    "train.eval_every=1",
    "tuning.n_trials=9",
    "tuning.tensorboard=false",
    "device=cpu",
    "threads=1",
]


@pytest.mark.slow
def test_the_default_ladder_stopped_by_a_signal_continues_into_the_uninterrupted_run(tmp_path):
    """The ladder's rungs pause and resume trials on growing subsets: SIGINT, then the same
    command, gives every trial, the best and the final model (kept from the last rung) bit for
    bit as a run that was never stopped."""
    straight, stopped_dir = tmp_path / "straight", tmp_path / "stopped"
    base = [sys.executable, "-m", "automata", *LADDER_RUN]
    _finish([*base, f"hydra.run.dir={straight}"])
    cmd = [*base, f"hydra.run.dir={stopped_dir}"]
    stopped = _stop(cmd, stopped_dir / "study.db", signal.SIGINT, ROOT)
    assert stopped.returncode == 130, stopped.stdout[-2000:] + stopped.stderr[-2000:]
    _finish(cmd)
    assert _study(stopped_dir) == _study(straight)
    resumed, uninterrupted = (RunSummary.read(d / "summary.json") for d in (stopped_dir, straight))
    assert resumed.best_trial == uninterrupted.best_trial
    assert resumed.final_test_accuracy == uninterrupted.final_test_accuracy
    assert not resumed.final_trained  # the last rung's model, not a second training


@pytest.mark.slow
def test_a_run_in_a_folder_named_after_its_start_is_told_where_to_continue(tmp_path):
    (tmp_path / "outputs").mkdir()
    cmd = _command("tuning.final_train=false")
    db = None  # the folder is only known once the run has made it

    proc = subprocess.Popen(
        cmd,
        cwd=tmp_path,
        env=ENV,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    deadline = time.time() + 300
    while time.time() < deadline and proc.poll() is None:
        dbs = list((tmp_path / "outputs").rglob("study.db"))
        if dbs and _running_with_epochs(dbs[0]):
            db = dbs[0]
            break
        time.sleep(0.02)
    assert db is not None and proc.poll() is None
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 143
    (line,) = err.strip().splitlines()
    folder = os.path.relpath(db.parent, tmp_path)
    assert line.startswith("interrupted: continue with: python -m automata scheduler=hyperband ")
    assert line.endswith(f" hydra.run.dir={folder}")

    # The command it names continues that study.
    again = subprocess.run(
        [sys.executable, "-m", *line.split("python -m ", 1)[1].split()],
        cwd=tmp_path,
        env=ENV,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert again.returncode == 0, again.stderr[-3000:]
    assert "continuing study" in again.stdout + again.stderr
    assert len(list((tmp_path / "outputs").rglob("study.db"))) == 1, "no second study"


@pytest.fixture()
def dispositions():
    """Set SIGINT's and SIGTERM's dispositions for one test (``set(int_handler)``) and give
    the process its own back afterwards. A test suite started in the background inherits
    SIGINT ignored, which :func:`signals.install` rightly keeps: each test says its own."""
    before = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}

    def set_(int_handler):
        signal.signal(signal.SIGINT, int_handler)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)

    yield set_
    for s, handler in before.items():
        signal.signal(s, handler)


def test_a_signal_inside_a_critical_section_waits_for_its_end(dispositions):
    dispositions(signal.default_int_handler)  # Python's own
    signals.install()
    done = []
    with pytest.raises(signals.Interrupted) as info:
        with signals.critical():
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(0.05)  # the signal has arrived: it waits
            done.append("the section ran to its end")
    assert done == ["the section ran to its end"]
    assert info.value.exit_status == 143
    with pytest.raises(signals.Interrupted) as info:
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(0.05)
    assert info.value.exit_status == 130


def test_a_sigint_the_process_was_started_ignoring_stays_ignored(dispositions):
    dispositions(signal.SIG_IGN)
    signals.install()
    assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    assert signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL
    os.kill(os.getpid(), signal.SIGINT)  # ignored, as Python does for a background job
    time.sleep(0.05)
