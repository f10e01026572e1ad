"""The fingerprint of a run's settings holds what changes a trial's meaning, and only that."""

from __future__ import annotations

from automata.config import differences, fingerprint

from .conftest import compose_config


def test_fingerprint_holds_what_changes_a_trial_and_only_that():
    base = fingerprint(compose_config())
    for key in ("seed", "train.epochs", "optimizer.momentum", "selector.fraction", "space.lr.high"):
        assert key in base
    assert base["selector._target_"] == "automata.selection.random.RandomSelector"
    assert base["scheduler.max_resource"] == 20  # resolved from ${train.epochs}
    assert base["scheduler.min_fraction"] == 0.0123
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
        "selector=gradmatchpb": "selector._target_",
        "scheduler.min_fraction=0.037": "scheduler.min_fraction",
        "scheduler.growth=continue": "scheduler.growth",
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
