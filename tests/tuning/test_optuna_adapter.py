"""The Optuna private names automata uses (automata.tuning.optuna_adapter), exercised on the
Optuna release that constraints.txt pins: a new release that renames them fails here, where
the reason is written, instead of deep inside a resumed study."""

from __future__ import annotations

import re
import time
import warnings

import optuna
from optuna.storages import RDBStorage
from optuna.trial import TrialState

from automata.tuning.optuna_adapter import attach, fail_stale_trials, record_heartbeat

from ..conftest import ROOT


def test_the_adapter_is_checked_against_the_pinned_optuna():
    pinned = re.search(r"^optuna==(\S+)$", (ROOT / "constraints.txt").read_text(), re.M)
    assert pinned, "constraints.txt pins optuna"
    assert optuna.__version__ == pinned.group(1), (
        "another Optuna than constraints.txt pins: check automata/tuning/optuna_adapter.py "
        "against it, then update the pin"
    )


def test_attach_gives_a_live_handle_on_an_existing_running_trial(tmp_path):
    storage = f"sqlite:///{tmp_path / 's.db'}"
    study = optuna.create_study(storage=storage, study_name="s", direction="maximize")
    study.ask().suggest_float("lr", 0.1, 1.0)
    # Another process (a rerun) finds the RUNNING trial and continues it.
    again = optuna.load_study(storage=storage, study_name="s")
    (frozen,) = again.get_trials(states=(TrialState.RUNNING,))
    trial = attach(again, frozen)
    trial.report(0.5, 3)
    trial.set_user_attr("owner", {"pid": 1})
    again.tell(trial, 0.5)
    (done,) = optuna.load_study(storage=storage, study_name="s").trials
    assert done.state == TrialState.COMPLETE and done.intermediate_values == {3: 0.5}
    assert done.user_attrs == {"owner": {"pid": 1}} and done.params == {"lr": frozen.params["lr"]}


def test_heartbeats_keep_a_trial_alive_and_stale_ones_fail(tmp_path):
    url = f"sqlite:///{tmp_path / 'h.db'}"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        storage = RDBStorage(url, heartbeat_interval=60, grace_period=120)
        stale = RDBStorage(url, heartbeat_interval=1, grace_period=1)
    study = optuna.create_study(storage=storage, study_name="h")
    trial = study.ask()
    record_heartbeat(study, trial)
    fail_stale_trials(study)
    assert study.trials[0].state == TrialState.RUNNING  # a fresh heartbeat: alive
    time.sleep(2.5)  # the storage keeps heartbeats to the second
    fail_stale_trials(optuna.load_study(storage=stale, study_name="h"))
    assert optuna.load_study(storage=stale, study_name="h").trials[0].state == TrialState.FAIL


def test_heartbeat_is_a_no_op_without_heartbeats():
    study = optuna.create_study()
    record_heartbeat(study, study.ask())  # in-memory storage: nothing to record
    assert study.trials[0].state == TrialState.RUNNING
