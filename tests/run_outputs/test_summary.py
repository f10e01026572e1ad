"""One run's summary.json (automata.run_outputs.summary) on hand-made inputs: the trial rows
of a study, the totals, the cost model's arithmetic worked by hand, and the file."""

from __future__ import annotations

import json
import math

import pytest

from automata.run_outputs.summary import (
    CostModel,
    RunSummary,
    SummaryError,
    TrialCost,
    TrialCounts,
    trial_rows,
)

from .conftest import COST, TOTALS


def test_trial_rows_and_counts(study):
    rows = trial_rows(study)
    assert [(r.number, r.state, r.value, r.epochs, r.score) for r in rows] == [
        (0, "complete", 0.75, 4, 0.75),
        (1, "pruned", None, 2, 0.25),  # the score it was stopped with
        (2, "fail", None, None, None),
    ]
    assert rows[0].params == {"lr": 0.01} and rows[0].cost.as_dict() == COST
    assert rows[2].cost == TrialCost() and rows[2].fail_reason.startswith("TrialDiverged")
    counts = TrialCounts.of(study.get_trials())
    assert counts == TrialCounts(total=3, completed=1, pruned=1, failed=1, running=0)
    assert str(counts) == "total 3, completed 1, pruned 1, failed 1, running 0"


def test_totals_add_every_trial_cost(summary):
    assert summary.cost.as_dict() == {
        "selection_seconds": 4.0,
        "train_seconds": 12.0,
        "eval_seconds": 2.0,
        "epochs": 6.0,
        "full_equivalent_epochs": 0.8,
        "warm_epochs": 2.0,
        "selection_rounds": 3.0,
    }
    assert summary.epochs_trained == 6.0 and summary.selection_seconds == 4.0
    assert summary.tuning_plus_final_seconds == 112.5
    assert summary.selection_share == pytest.approx(0.04)


def test_cost_model_worked_by_hand():
    """100 s of tuning: 40 s training, 10 s selection in 5 rounds, 8 s validation, so 42 s of
    other costs, over 20 plan epochs (4 full-data equivalents), a full epoch of 2 s, f 0.1:
    c_train = 40/20/2 = 1, c_sel = 10/5/2 = 1 per round at 5/20 rounds per epoch,
    c_eval = 8/20/2 = 0.2, c_fix = 42/20/2 = 1.05, S* = 1/(0.1 + 0.25 + 0.2 + 1.05) = 0.625."""
    out = CostModel.of(TOTALS, 100.0, 0.1, 2.0).to_json()
    assert out.pop("full_epoch_source") == "final"
    expected = {
        "full_epoch_seconds": 2.0,
        "f": 0.1,
        "f_effective": 0.2,
        "c_train": 1.0,
        "c_sel": 1.0,
        "rounds_per_epoch": 0.25,
        "c_eval": 0.2,
        "c_fix": 1.05,
        "schedule_epochs": 20.0,
        "speedup_limit": 0.625,
    }
    assert out == pytest.approx(expected, rel=1e-12)
    # Without final training: a full epoch estimated as 40 s / 4 full-data-equivalent epochs.
    est = CostModel.of(TOTALS, 100.0, 0.1, None)
    assert est.full_epoch_source == "tuning estimate" and est.full_epoch_seconds == 10.0
    assert est.c_fix == pytest.approx(42 / 20 / 10)
    # The data as the resource: f is the share trained per plan epoch over the rungs,
    # 4 full-data-equivalent epochs over 20 plan epochs: S* = 1/(0.2 + 0.25 + 0.2 + 1.05).
    rungs = CostModel.of(TOTALS, 100.0, None, 2.0)
    assert rungs.data_rungs and rungs.f == rungs.f_effective == pytest.approx(0.2)
    assert rungs.speedup_limit == pytest.approx(1 / 1.7)
    assert CostModel.from_json(rungs.to_json()) == rungs
    # Nothing trained: only the epoch's source, no terms.
    empty = CostModel.of(TrialCost(), 1.0, 0.1, None)
    assert empty.to_json() == {"full_epoch_seconds": None, "full_epoch_source": "tuning estimate"}


def test_summary_json_round_trips_and_writes_null_for_non_finite_values(summary, tmp_path):
    summary.trials[0].value = math.inf
    summary.write(tmp_path / "summary.json")
    back = json.loads((tmp_path / "summary.json").read_text())
    assert back["final_val_accuracy"] is None and back["trials"][0]["value"] is None
    assert back["final_test_accuracy"] == 0.8125 and back["choices"] == {"selector": "gradmatchpb"}
    assert back["selector"] == {
        "selector": "gradmatchpb",
        "lam": 0.0,
        "fraction": 0.1,
        "kappa": 0.0,
        "warm_full_epochs": 1,
        "warm_covers_epochs": 7,
    }
    read = RunSummary.read(tmp_path / "summary.json")
    summary.final_val_accuracy, summary.trials[0].value = None, None
    assert read == summary


def test_a_summary_of_another_version_is_refused_in_one_line(summary, tmp_path):
    data = summary.to_json()
    del data["choices"]
    (tmp_path / "summary.json").write_text(json.dumps(data))
    with pytest.raises(SummaryError, match="has no 'choices': written by another version"):
        RunSummary.read(tmp_path / "summary.json")
    (tmp_path / "summary.json").write_text("{not json")
    with pytest.raises(SummaryError, match="cannot read"):
        RunSummary.read(tmp_path / "summary.json")
