"""A study continued with other settings is refused; a rerun keeps the study's tuning time and
trial count; the study carries its metric name and what it tuned, for other tools."""

from __future__ import annotations

import logging
import re

import optuna
import pytest

from automata.errors import ConfigError
from automata.run import run
from automata.run_outputs.summary import RunSummary
from automata.tuning.study_info import differences, fingerprint

from ..conftest import compose_config

TINY = [
    "tuning.n_trials=2",
    "train.epochs=2",
    "scheduler=none",
    "tuning.final_train=false",
    "tuning.tensorboard=false",
]


def _study(out) -> optuna.Study:
    return optuna.load_study(study_name="automata", storage=f"sqlite:///{out / 'study.db'}")


def test_fingerprint_holds_what_changes_a_trial_and_only_that():
    base = fingerprint(compose_config())
    for key in ("seed", "train.epochs", "optimizer.momentum", "selector.fraction", "space.lr.high"):
        assert key in base
    assert base["selector._target_"] == "automata.selection.gradmatch.GradMatchPB"
    assert base["scheduler.max_resource"] == 20  # resolved from ${train.epochs}
    same = [
        "train.eval_batch_size=64",  # speed, not meaning
        "train.eval_every=1",  # curves, not meaning
        "dataset.root=/elsewhere",  # where the data is read from (checksummed)
        "tuning.n_trials=50",  # a study may be extended
        "search=random",
        "device=cpu",
    ]
    for override in same:
        assert differences(base, fingerprint(compose_config([override]))) == [], override
    changed = {
        "selector=random": "selector._target_",
        "seed=1": "seed",
        "train.epochs=9": "train.epochs",
        "optimizer.momentum=0.5": "optimizer.momentum",
        "scheduler=asha": "scheduler._target_",
        "space.lr.high=0.5": "space.lr.high",
        "model.dropout=0.1": "model.dropout",
        "dataset=satimage": "dataset.name",
    }
    for override, key in changed.items():
        assert key in differences(base, fingerprint(compose_config([override]))), override


def test_continuing_a_study_with_another_selector_is_refused(make_cfg, tmp_path):
    out = tmp_path / "run"
    run(make_cfg(TINY))
    assert len(_study(out).trials) == 2
    with pytest.raises(ConfigError) as err:
        run(make_cfg([*TINY, "tuning.n_trials=4", "selector=random"]))
    message = str(err.value)
    assert "\n" not in message
    assert "selector._target_: GradMatchPB -> RandomSelector" in message
    assert "tuning.allow_changed_settings=true" in message
    assert len(_study(out).trials) == 2, "refused before any trial"

    # Explicitly allowed: the study goes on, and the summary says the settings changed.
    summary = run(
        make_cfg(
            [*TINY, "tuning.n_trials=4", "selector=random", "tuning.allow_changed_settings=true"]
        )
    )
    assert len(_study(out).trials) == 4
    assert "selector._target_" in summary.changed_settings
    assert "selector._target_" in _study(out).user_attrs["changed_settings"]


def test_rerun_of_a_finished_study_keeps_its_time_and_counts_trials(make_cfg, tmp_path, caplog):
    first = run(make_cfg(TINY))
    assert first.tuning_seconds > 0
    again = run(make_cfg(TINY))
    assert again.tuning_seconds == first.tuning_seconds
    on_disk = RunSummary.read(tmp_path / "run" / "summary.json")
    assert on_disk.tuning_seconds == first.tuning_seconds

    caplog.set_level(logging.INFO, logger="automata")
    caplog.clear()
    more = run(make_cfg([*TINY, "tuning.n_trials=3"]))
    lines = [r.getMessage() for r in caplog.records if re.match(r"\[\d+/\d+\]", r.getMessage())]
    assert len(lines) == 1 and lines[0].startswith("[3/3] trial 2 ")
    assert more.tuning_seconds > first.tuning_seconds


def test_study_carries_its_metric_name_and_settings(make_cfg, tmp_path):
    run(make_cfg(TINY))
    study = _study(tmp_path / "run")
    assert study.metric_names == ["val_accuracy"]
    attrs = study.user_attrs
    assert attrs["dataset"] == "dna" and attrs["model"] == "MLP"
    assert attrs["selector"] == "gradmatchpb" and attrs["fraction"] == 0.1
    assert attrs["scheduler"] == "none" and attrs["search"] == "TPESampler"
