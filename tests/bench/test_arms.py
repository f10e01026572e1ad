"""Selector specs of the command lines, and what a benchmark keeps of a tuning run."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from automata.bench import BenchError, SelectorSpec, study_figures


def test_selector_specs():
    spec = SelectorSpec.parse("gradmatchpb:pool=4,pool_error=0.1")
    assert spec == SelectorSpec("gradmatchpb", (("pool", "4"), ("pool_error", "0.1")))
    assert spec.label == "gradmatchpb[pool=4,pool_error=0.1]"
    assert spec.slug == "gradmatchpb_pool-4_pool_error-0.1"
    assert spec.overrides(0.05) == [
        "selector=gradmatchpb",
        "selector.fraction=0.05",
        "selector.pool=4",
        "selector.pool_error=0.1",
    ]
    assert SelectorSpec.parse("random").label == "random"
    assert SelectorSpec("full").overrides(None) == ["selector=full"]
    with pytest.raises(BenchError, match="expected key=value"):
        SelectorSpec.parse("random:fraction")


def test_study_figures_are_read_from_the_summary_attributes():
    summary = SimpleNamespace(
        tuning_seconds=10.0,
        tuning_plus_final_seconds=12.5,
        final_train_seconds=2.5,
        final_test_accuracy=0.9,
        best_val_accuracy=0.91,
        best_params={"lr": 0.01},
        selection_seconds=0.5,
        selection_setup_seconds=0.25,
        train_seconds=6.0,
        eval_seconds=1.5,
        epochs_trained=60.0,
        full_equivalent_epochs=6.0,
        cost_model=SimpleNamespace(speedup_limit=4.0),
        n_trials=SimpleNamespace(total=27),
    )
    assert study_figures(summary) == {  # type: ignore[arg-type]
        "tuning_s": 10.0,
        "total_s": 12.5,
        "final_s": 2.5,
        "test": 0.9,
        "best_val": 0.91,
        "best_params": {"lr": 0.01},
        "selection_s": 0.5,
        "selection_setup_s": 0.25,
        "train_s": 6.0,
        "eval_s": 1.5,
        "plan_epochs": 60.0,
        "fe_epochs": 6.0,
        "s_star": 4.0,
        "trials": 27,
    }
