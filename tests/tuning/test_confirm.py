"""Confirming a subset study's pick on the full data (tuning.confirm_top_k): the K best
configurations by subset validation are trained on the full data by successive halving, the best
by full-data validation wins and its model, trained there, is the final one."""

from __future__ import annotations

import optuna
import pytest
import torch

from automata.build import build
from automata.config import trial_settings
from automata.models.saved import load_model
from automata.run import run
from automata.selection.full import FullSelector
from automata.tuning.confirm import finalists, halving
from automata.tuning.objective import Objective


def test_finalists_are_the_best_completed_trials():
    study = optuna.create_study(direction="maximize")
    for value in (0.5, 0.9, 0.7, 0.9):
        trial = study.ask()
        trial.suggest_float("x", 0, 1)
        study.tell(trial, value)
    study.tell(study.ask(), state=optuna.trial.TrialState.PRUNED)
    assert [t.number for t in finalists(study, 3)] == [1, 3, 2]


@pytest.mark.parametrize(
    ("k", "eta", "epochs", "rungs"),
    [(3, 3, 20, [(3, 6), (1, 20)]), (9, 3, 27, [(9, 3), (3, 9), (1, 27)]), (2, 3, 10, [(2, 10)])],
)
def test_finalists_are_halved_on_the_full_data(k, eta, epochs, rungs):
    from automata.tuning.schedulers.successive_halving import sha_rungs

    sha = halving(k, eta, epochs)
    assert sha_rungs(k, sha.min_resource, sha.max_resource, sha.eta) == rungs


def test_a_confirmed_study_keeps_the_finalist_best_on_the_full_data(tiny_cfg, tmp_path):
    cfg = tiny_cfg(
        [
            "selector=random",
            "selector.fraction=0.05",
            "scheduler=hyperband",
            "train.epochs=3",
            "tuning.n_trials=9",
            "tuning.confirm_top_k=3",
        ]
    )
    summary = run(cfg)
    subset_best = finalists(
        optuna.load_study(study_name="automata", storage=f"sqlite:///{tmp_path / 'run/study.db'}"),
        3,
    )
    assert len(summary.confirm_trials) == 3
    assert sorted(t.params.items() for t in summary.confirm_trials) == sorted(
        t.params.items() for t in subset_best
    )
    # Halving among 3 on the full data: all 3 for 1 epoch, the best of them to 3.
    assert sorted(t.state for t in summary.confirm_trials) == ["complete", "pruned", "pruned"]
    winner = next(t for t in summary.confirm_trials if t.state == "complete")
    assert summary.best_val_accuracy == winner.value and summary.best_params == winner.params
    assert summary.trials[summary.best_trial].params == winner.params  # the subset trial it was
    assert summary.confirm_seconds > 0
    assert summary.tuning_plus_final_seconds == pytest.approx(
        summary.tuning_seconds + summary.confirm_seconds + summary.final_train_seconds
    )
    # Its model, trained in the confirmation, is the final one: a final training's, bit for bit.
    data = build("dataset", cfg.dataset)
    objective = Objective(
        trial_settings(cfg), cfg.space, data, build("selector", cfg.selector), torch.device("cpu")
    )
    retrained = objective.trainer(winner.params, selector=FullSelector())
    for _ in range(3):
        retrained.run_epoch(validate=False)
    final = load_model(tmp_path / "run" / "final_model.pt")
    for (key, a), (_, b) in zip(retrained.model.state_dict().items(), final.state_dict().items()):
        assert torch.equal(a, b), key
    assert summary.final_test_accuracy == retrained.test_accuracy()

    # A rerun continues both studies: nothing is trained again, the same pick.
    again = run(cfg)
    assert again.best_params == summary.best_params
    assert again.final_test_accuracy == summary.final_test_accuracy
