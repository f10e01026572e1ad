"""A hand-made study (a completed, a pruned and a failed trial, with their costs) and a run
summary of it, for the tests of summary.json and report.md."""

from __future__ import annotations

import math

import optuna
import pytest
from optuna.distributions import FloatDistribution
from optuna.trial import TrialState, create_trial

from automata.run_outputs.summary import (
    CostModel,
    RunSummary,
    SchedulerRecord,
    SelectorRecord,
    TrialCost,
    TrialCounts,
    trial_rows,
)

#: One trial's cost as the engine records it (the trial's user attribute ``cost``).
COST = {
    "epochs": 4.0,
    "full_equivalent_epochs": 0.4,
    "warm_epochs": 1.0,
    "selection_seconds": 2.0,
    "train_seconds": 6.0,
    "eval_seconds": 1.0,
    "selection_rounds": 2.0,
}

#: The totals of the worked example of test_summary.py's test_cost_model_worked_by_hand.
TOTALS = TrialCost(
    epochs=20,
    full_equivalent_epochs=4.0,
    train_seconds=40.0,
    selection_seconds=10.0,
    eval_seconds=8.0,
    selection_rounds=5,
)


@pytest.fixture
def study() -> optuna.Study:
    study = optuna.create_study(study_name="hand-made", direction="maximize")
    dist = {"lr": FloatDistribution(1e-4, 1e-1, log=True)}
    study.add_trial(
        create_trial(
            state=TrialState.COMPLETE,
            value=0.75,
            params={"lr": 0.01},
            distributions=dist,
            intermediate_values={2: 0.5, 4: 0.75},
            user_attrs={"cost": COST},
        )
    )
    study.add_trial(
        create_trial(
            state=TrialState.PRUNED,
            params={"lr": 0.05},
            distributions=dist,
            intermediate_values={2: 0.25},
            user_attrs={"cost": {**COST, "epochs": 2.0, "selection_rounds": 1.0}},
        )
    )
    study.add_trial(
        create_trial(
            state=TrialState.FAIL,
            params={"lr": 0.09},
            distributions=dist,
            user_attrs={"fail_reason": "TrialDiverged: training loss is nan at epoch 1"},
        )
    )
    return study


@pytest.fixture
def summary(study: optuna.Study) -> RunSummary:
    """A run's summary of the hand-made study, every field set (a fresh one per test)."""
    return RunSummary(
        dataset="dna",
        model="MLP",
        choices={"selector": "gradmatchpb"},
        best_params={"lr": 0.01},
        best_trial=0,
        best_val_accuracy=0.75,
        final_test_accuracy=0.8125,
        final_val_accuracy=math.nan,  # not finite: null in JSON
        tuning_seconds=100.0,
        final_train_seconds=12.5,
        total_seconds=120.0,
        selection_setup_seconds=0.0,
        selection_setup={},
        n_trials=TrialCounts.of(study.get_trials()),
        selector=SelectorRecord(
            "gradmatchpb", 0.1, warm_full_epochs=1, warm_covers_epochs=7, settings={"lam": 0.0}
        ),
        search="TPESampler",
        scheduler=SchedulerRecord("hyperband", {"eta": 3}),
        seed=3,
        device="cpu",
        threads=1,
        torch="2",
        cpu_capability="AVX2",
        changed_settings=["train.epochs"],
        storage="sqlite:///study.db",
        study_name="automata",
        run_dir="run",
        trials=trial_rows(study),
        cost_model=CostModel(full_epoch_source="tuning estimate"),
    )
