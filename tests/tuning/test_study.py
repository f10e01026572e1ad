"""A study's life (automata.tuning.study): continuing with other settings is refused, a rerun
keeps the study's tuning time and trial count, the study carries its metric name and what it
tuned; the resume plan of an interrupted study, the tuning time of many workers and the best
trial, on hand-made studies."""

from __future__ import annotations

import logging
import re
import subprocess

import optuna
import pytest
from omegaconf import OmegaConf
from optuna.distributions import FloatDistribution
from optuna.trial import TrialState, create_trial

from automata.errors import AutomataError, ConfigError
from automata.run import run
from automata.run_outputs.summary import RunSummary
from automata.tuning.engine import OWNER_ATTR, this_process
from automata.tuning.schedulers import ASHA
from automata.tuning.study import Study, TrialLog

#: Two trials, without early stopping or final training.
TINY = ["tuning.n_trials=2", "scheduler=none", "tuning.final_train=false"]


def _study(out) -> optuna.Study:
    return optuna.load_study(study_name="automata", storage=f"sqlite:///{out / 'study.db'}")


def test_continuing_a_study_with_another_selector_is_refused(tiny_cfg, tmp_path):
    out = tmp_path / "run"
    run(tiny_cfg(TINY))
    assert len(_study(out).trials) == 2
    with pytest.raises(ConfigError) as err:
        run(tiny_cfg([*TINY, "tuning.n_trials=4", "selector=random"]))
    message = str(err.value)
    assert "\n" not in message
    assert "selector._target_: GradMatchPB -> RandomSelector" in message
    assert "tuning.allow_changed_settings=true" in message
    assert len(_study(out).trials) == 2, "refused before any trial"

    # Explicitly allowed: the study goes on, and the summary says the settings changed.
    summary = run(
        tiny_cfg(
            [*TINY, "tuning.n_trials=4", "selector=random", "tuning.allow_changed_settings=true"]
        )
    )
    assert len(_study(out).trials) == 4
    assert "selector._target_" in summary.changed_settings
    assert "selector._target_" in _study(out).user_attrs["changed_settings"]


def test_rerun_of_a_finished_study_keeps_its_time_and_counts_trials(tiny_cfg, tmp_path, caplog):
    first = run(tiny_cfg(TINY))
    assert first.tuning_seconds > 0
    again = run(tiny_cfg(TINY))
    assert again.tuning_seconds == first.tuning_seconds
    on_disk = RunSummary.read(tmp_path / "run" / "summary.json")
    assert on_disk.tuning_seconds == first.tuning_seconds

    caplog.set_level(logging.INFO, logger="automata")
    caplog.clear()
    more = run(tiny_cfg([*TINY, "tuning.n_trials=3"]))
    lines = [r.getMessage() for r in caplog.records if re.match(r"\[\d+/\d+\]", r.getMessage())]
    assert len(lines) == 1 and lines[0].startswith("[3/3] trial 2 ")
    assert more.tuning_seconds > first.tuning_seconds


def test_study_carries_its_metric_name_and_settings(tiny_cfg, tmp_path):
    run(tiny_cfg(TINY))
    study = _study(tmp_path / "run")
    assert study.metric_names == ["val_accuracy"]
    attrs = study.user_attrs
    assert attrs["dataset"] == "dna" and attrs["model"] == "MLP"
    assert attrs["selector"] == "gradmatchpb" and attrs["fraction"] == 0.1
    assert attrs["scheduler"] == "none" and attrs["search"] == "TPESampler"


TUNING = {
    "n_trials": 4,
    "storage": None,
    "study_name": "s",
    "timeout": None,
    "max_failures": 3,
    "enqueue": None,
    "worker": 0,
    "heartbeat_interval": None,
    "grace_period": None,
    "allow_changed_settings": False,
}
DIST = {"lr": FloatDistribution(1e-3, 1.0, log=True)}


def _open(tmp_path, settings=None, **tuning) -> Study:
    cfg = OmegaConf.create({**TUNING, **tuning})
    return Study.open(cfg, tmp_path, optuna.samplers.RandomSampler(0), ASHA(), settings or {})


def _dead_pid() -> int:
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


def _running(study: Study, owner: dict | None, params: bool = True) -> int:
    trial = study.optuna.ask()
    if owner is not None:
        trial.set_user_attr(OWNER_ATTR, owner)
    if params:
        trial.suggest_float("lr", 1e-3, 1.0, log=True)
    return trial.number


def test_resume_plan_replays_orphans_and_fails_trials_killed_while_sampling(tmp_path):
    study = _open(tmp_path)
    study.optuna.add_trial(
        create_trial(state=TrialState.COMPLETE, value=0.5, params={"lr": 0.1}, distributions=DIST)
    )
    dead = {**this_process(), "pid": _dead_pid()}
    orphan = _running(study, dead)
    sampling = _running(study, dead, params=False)  # killed before its configuration was sampled
    study.optuna.enqueue_trial({"lr": 0.2})  # waiting: what the next ask returns, no replay

    # Asynchronous schedulers resume the orphans only; synchronous ones replay the whole
    # study in trial order (the failed trial returns no score), without the enqueued one.
    assert [t.number for t in study.resume_plan(False, {"lr"})] == [orphan]
    assert [t.number for t in study.resume_plan(True, {"lr"})] == [0, orphan, sampling]
    failed = study.optuna.trials[sampling]
    assert failed.state == TrialState.FAIL
    assert failed.user_attrs["fail_reason"] == "interrupted before its configuration was sampled"


def test_a_synchronous_study_with_a_trial_running_elsewhere_is_refused(tmp_path):
    study = _open(tmp_path)
    _running(study, this_process())  # a live process (this one) runs it
    with pytest.raises(ConfigError, match=r"trials \[0\] of study 's' are running in another"):
        study.resume_plan(True, {"lr"})
    assert study.resume_plan(False, {"lr"}) == []  # many workers: theirs to run


def test_tuning_time_is_the_longest_worker_total(tmp_path):
    study = _open(tmp_path)
    assert study.tuning_seconds == 0.0
    study.add_tuning_seconds(0, 2.0)
    study.add_tuning_seconds(1, 3.0)
    study.add_tuning_seconds(0, 2.5)  # a resumed session of worker 0
    assert study.tuning_seconds == 4.5
    assert _open(tmp_path).tuning_seconds == 4.5  # kept on the study


def test_best_trial_or_why_there_is_none(tmp_path):
    study = _open(tmp_path)
    other = {"host": "elsewhere", "pid": 1}
    _running(study, other)  # another machine's worker still runs a trial
    assert study.best_trial(final_train=False) is None  # a worker: the final process reports
    study.optuna.tell(0, state=TrialState.FAIL)
    study.optuna.add_trial(create_trial(state=TrialState.FAIL))
    with pytest.raises(
        AutomataError, match=r"no trial completed \(total 2, completed 0, pruned 0, failed 2"
    ):
        study.best_trial(final_train=False)
    study.optuna.add_trial(
        create_trial(state=TrialState.COMPLETE, value=0.7, params={"lr": 0.1}, distributions=DIST)
    )
    assert study.best_trial(final_train=True).value == 0.7


def test_settings_are_recorded_then_checked(tmp_path):
    first = _open(tmp_path, {"seed": 0, "train.epochs": 20})
    assert first.optuna.user_attrs["fingerprint"] == {"seed": 0, "train.epochs": 20}
    first.optuna.add_trial(
        create_trial(state=TrialState.COMPLETE, value=0.5, params={"lr": 0.1}, distributions=DIST)
    )
    assert _open(tmp_path, {"seed": 0, "train.epochs": 20}).changed_settings == []
    with pytest.raises(ConfigError, match=r"train.epochs: 20 -> 30"):
        _open(tmp_path, {"seed": 0, "train.epochs": 30})
    allowed = _open(tmp_path, {"seed": 0, "train.epochs": 30}, allow_changed_settings=True)
    assert allowed.changed_settings == ["train.epochs"]
    assert allowed.optuna.user_attrs["changed_settings"] == ["train.epochs"]


def test_workers_sharing_a_study_never_print_the_same_count(caplog):
    """A worker's line counts the trials done by its trial's end: read back once another
    worker's trial had ended too, both workers printed "[2/2]"."""
    study = optuna.create_study(direction="maximize")
    workers = [TrialLog(study, ASHA(max_resource=4), n_trials=2) for _ in range(2)]
    trials = [study.ask() for _ in workers]
    scores = (0.5, 0.75)
    for trial, score in zip(trials, scores, strict=True):
        study.tell(trial, score)  # both end before either worker reads the study back
    with caplog.at_level(logging.INFO, logger="automata"):
        for worker, trial, score in zip(workers, trials, scores, strict=True):
            worker.ended(trial.number, "complete", {}, {"val_accuracy": score, "epochs": 4.0})
    lines = [r.getMessage().split(" | ") for r in caplog.records if r.name == "automata"]
    assert [line[0] for line in lines] == [
        "[1/2] trial 0 completed, val 0.5000 at epoch 4",
        "[2/2] trial 1 completed, val 0.7500 at epoch 4",
    ]
    # The best when the trial ended: trial 1's better score came later.
    assert [line[1] for line in lines] == ["best 0.5000 (trial 0)", "best 0.7500 (trial 1)"]
