"""Many workers on one study: real processes sharing trials through a real storage.

PostgreSQL at ``AUTOMATA_TEST_POSTGRES_URL`` (``.ci/run`` starts a server on 127.0.0.1 with
``scripts/postgres_for_tests.sh`` and sets ``CI=true``), and Optuna's journal file. Without a
server that answers, the PostgreSQL variant is skipped on a developer's machine and fails in CI,
where one must be running.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import uuid

import optuna
import pytest

from automata.run_outputs.summary import RunSummary

from ..conftest import ROOT, postgres_plan, server_answers, tiny_run


def _storage(kind: str, tmp_path, request: pytest.FixtureRequest) -> str:
    if kind == "postgresql":
        return str(request.getfixturevalue("postgres_url"))
    return f"journal://{tmp_path / 'study.log'}"


def _load(storage: str, name: str) -> optuna.Study:
    from automata.tuning.storage import make_storage

    return optuna.load_study(study_name=name, storage=make_storage(storage))


def _check_shared(study: optuna.Study, n_trials: int, workers: int) -> None:
    trials = study.trials
    # Each worker stops asking once the study holds n_trials; two may ask at the same moment.
    assert n_trials <= len(trials) <= n_trials + workers - 1
    assert all(t.state.name in ("COMPLETE", "PRUNED") for t in trials)
    owners = {t.user_attrs["owner"]["pid"] for t in trials}
    assert len(owners) == workers, "every worker ran trials"
    configs = [tuple(sorted(t.params.items())) for t in trials]
    assert len(set(configs)) == len(configs), "no configuration evaluated twice"


def test_postgresql_variant_skips_only_outside_ci_without_a_server():
    url = "postgresql://postgres@127.0.0.1:55432/automata_test"
    up, down = (lambda _: True), (lambda _: False)
    for ci in ({}, {"CI": "true"}):
        assert postgres_plan({**ci, "AUTOMATA_TEST_POSTGRES_URL": url}, up) == ("run", url)
    assert postgres_plan({}, down)[0] == "skip"
    assert postgres_plan({"AUTOMATA_TEST_POSTGRES_URL": url}, down)[0] == "skip"
    what, reason = postgres_plan({"CI": "true"}, down)
    assert what == "fail" and "AUTOMATA_TEST_POSTGRES_URL is not set" in reason
    what, reason = postgres_plan({"CI": "true", "AUTOMATA_TEST_POSTGRES_URL": url}, down)
    assert what == "fail" and "no PostgreSQL server answers at" in reason


def test_server_answers_checks_the_port():
    with socket.socket() as listening:
        listening.bind(("127.0.0.1", 0))
        listening.listen()
        port = listening.getsockname()[1]
        assert server_answers(f"postgresql://u@127.0.0.1:{port}/db")
    assert not server_answers(f"postgresql://u@127.0.0.1:{port}/db", timeout=1.0)


def test_ci_script_starts_postgresql_and_says_it_is_ci():
    script = (ROOT / ".ci" / "run").read_text()
    assert "export CI=true" in script
    assert 'eval "$pg_env"' in script and "scripts/postgres_for_tests.sh start" in script


@pytest.mark.slow
@pytest.mark.parametrize(
    ("kind", "scheduler", "search"),
    [
        ("postgresql", "asha", "tpe"),
        ("journal", "none", "random"),
        ("journal", "asha", "tpe"),
        ("journal", "asha-data", "tpe"),  # ASHA over the data's size, random subsets
    ],
)
def test_two_worker_processes_share_one_study(kind, scheduler, search, tmp_path, request):
    storage = _storage(kind, tmp_path, request)
    name = f"workers-{uuid.uuid4().hex[:8]}"
    # Trials of about a second each (full data, batch 16, 8 epochs), so that a worker that
    # starts a few seconds after the other (imports on a loaded machine) still finds work.
    n_trials = 12
    procs = []
    for worker in range(2):
        cmd = [
            sys.executable,
            "-m",
            "automata",
            *tiny_run(
                *(
                    ["scheduler=asha", "scheduler.resource=data", "scheduler.min_fraction=0.25"]
                    if scheduler == "asha-data"
                    else [f"scheduler={scheduler}"]
                ),
                f"search={search}",
                f"tuning.n_trials={n_trials}",
                "train.epochs=8",
                "selector=random" if scheduler == "asha-data" else "selector=full",
                "~space.batch_size",
                "train.batch_size=16",
                f"tuning.storage={storage}",
                f"tuning.study_name={name}",
                f"tuning.worker={worker}",
                "tuning.final_train=false",
                "search.seed=0",
                "threads=1",
            ),
            f"hydra.run.dir={tmp_path / f'worker{worker}'}",
        ]
        procs.append(
            subprocess.Popen(
                cmd,
                cwd=ROOT,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                env={**os.environ, "OMP_NUM_THREADS": "1"},
            )
        )
    for p in procs:
        out, _ = p.communicate(timeout=600)
        assert p.returncode == 0, out[-3000:]
    _check_shared(_load(storage, name), n_trials, workers=2)


@pytest.mark.slow
def test_hydra_joblib_launcher_runs_workers(tmp_path):
    storage = f"journal://{tmp_path / 'study.log'}"
    name = "joblib-workers"
    res = subprocess.run(
        [
            sys.executable,
            "-m",
            "automata",
            "-m",
            "hydra/launcher=joblib",
            "hydra.launcher.n_jobs=2",
            *tiny_run(
                "tuning.worker=0,1",
                "scheduler=asha",
                "tuning.n_trials=10",
                "train.epochs=8",
                "selector=full",
                "~space.batch_size",
                "train.batch_size=16",
                f"tuning.storage={storage}",
                f"tuning.study_name={name}",
                "tuning.final_train=false",
                "threads=1",
            ),
            f"hydra.sweep.dir={tmp_path / 'sweep'}",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    assert res.returncode == 0, res.stderr[-3000:]
    _check_shared(_load(storage, name), 10, workers=2)


def test_final_training_waits_for_trials_running_in_other_processes(tiny_cfg, tmp_path):
    """The process that retrains the best configuration reads "best" from the storage once no
    other worker runs a trial: here another (live) process holds the study's only trial."""
    import socket
    import threading
    import time

    from automata.run import run
    from automata.tuning import search_space

    storage = f"sqlite:///{tmp_path / 'shared.db'}"
    cfg = tiny_cfg(
        [
            "scheduler=asha",
            "tuning.n_trials=1",
            f"tuning.storage={storage}",
            "tuning.study_name=shared",
        ]
    )
    study = optuna.create_study(study_name="shared", storage=storage, direction="maximize")
    trial = study.ask()
    params = search_space.suggest(trial, cfg.space)
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        trial.set_user_attr("owner", {"host": socket.gethostname(), "pid": other.pid})

        def other_worker_finishes() -> None:
            time.sleep(3)
            optuna.load_study(study_name="shared", storage=storage).tell(trial.number, 0.75)

        finisher = threading.Thread(target=other_worker_finishes)
        finisher.start()
        summary = run(cfg)
        finisher.join()
    finally:
        other.kill()
        other.wait()
    assert summary.best_trial == 0 and summary.best_val_accuracy == 0.75
    assert summary.best_params == params
    assert summary.final_test_accuracy is not None


def test_a_sweep_of_workers_that_each_retrain_the_final_model_is_refused(tmp_path):
    res = subprocess.run(
        [
            sys.executable,
            "-m",
            "automata",
            "-m",
            "tuning.worker=0,1",
            "scheduler=asha",
            f"tuning.storage=journal://{tmp_path / 'study.log'}",
            "tuning.study_name=workers",
            f"hydra.sweep.dir={tmp_path / 'sweep'}",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert res.returncode == 2, res.stderr[-2000:]
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and "share study 'workers'" in lines[0]
    assert "tuning.final_train=false" in lines[0]
    assert not (tmp_path / "sweep").exists() and not (tmp_path / "study.log").exists()


@pytest.mark.slow
def test_submitit_local_workers_then_one_final_process(tmp_path):
    """Hydra's submitit launcher (its local executor runs the jobs as processes, as on Slurm):
    two workers on one journal-file study, then one final process. The workers train on the
    full data, so the best trial's model, kept by the worker that trained it, is the final one:
    the final process trains nothing."""
    storage = f"journal://{tmp_path / 'study.log'}"
    name = "submitit-workers"
    common = [
        "scheduler=asha",
        "tuning.n_trials=8",
        "train.epochs=8",
        "selector=full",
        "~space.batch_size",
        "train.batch_size=16",
        f"tuning.storage={storage}",
        f"tuning.study_name={name}",
        "threads=1",
    ]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    sweep = subprocess.run(
        [sys.executable, "-m", "automata", "-m", "hydra/launcher=submitit_local"]
        + ["hydra.launcher.timeout_min=10", "tuning.worker=0,1", "tuning.final_train=false"]
        + tiny_run(*common)
        + [f"hydra.sweep.dir={tmp_path / 'sweep'}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
    )
    assert sweep.returncode == 0, sweep.stderr[-3000:]
    final = subprocess.run(
        [sys.executable, "-m", "automata"]
        + tiny_run(*common, "tuning.tensorboard=true")  # the final training's curves
        + [f"hydra.run.dir={tmp_path / 'final'}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
    )
    assert final.returncode == 0, final.stderr[-3000:]

    study = _load(storage, name)
    _check_shared(study, 8, workers=2)  # complete, every worker ran trials, nothing twice
    workers = sorted((tmp_path / "sweep").rglob("summary.json"))
    assert len(workers) == 2
    for path in workers:
        assert RunSummary.read(path).final_test_accuracy is None
    summary = RunSummary.read(tmp_path / "final" / "summary.json")
    assert summary.best_val_accuracy == study.best_value
    assert summary.n_trials.total == len(study.trials)
    # The final process trained no trial of its own, only the final model.
    assert not re.search(r"\[\d+/\d+\] trial", final.stdout + final.stderr)
    assert not list(tmp_path.rglob("final/events.out.tfevents.*")), "nothing trained again"
    assert not summary.final_trained and (tmp_path / "final" / "final_model.pt").is_file()
    kept = study.best_trial.user_attrs["model_file"]
    assert str(tmp_path / "sweep") in kept, "kept by the worker that trained it"
