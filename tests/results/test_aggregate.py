"""Aggregation over seeds (automata.results.aggregate): one row per group, means and sample
standard deviations of the runs' summaries, speedups and gaps against the full-data row, the
ranking agreement of a ranking.json, and the sweep grid's combinations that never ran."""

from __future__ import annotations

import dataclasses
import itertools
import json
import statistics
from pathlib import Path

import pytest

from automata.results import Collection, Run, aggregate, never_ran
from automata.results.aggregate import mean_std
from automata.run_outputs.summary import (
    CostModel,
    RunSummary,
    SchedulerRecord,
    SelectorRecord,
    TrialCounts,
)

from .conftest import SEEDS


def _rows(report) -> dict[str, dict]:
    return {r["selector"]: r for r in report.rows}


def _summaries(sweep: Path, name: str) -> list[dict]:
    return [json.loads((sweep / f"{name}_seed{s}" / "summary.json").read_text()) for s in SEEDS]


def test_full_against_itself_and_seed_counts(report):
    rows = _rows(report)
    full = rows["full"]
    assert full["speedup"] == pytest.approx(1.0)
    assert full["speedup_incl_final"] == pytest.approx(1.0)
    assert full["acc_gap_pts"] == pytest.approx(0.0)
    assert full["fraction"] == 1.0 and not full["warm_start"]
    assert {r["selector"]: r["seeds"] for r in report.rows} == {
        "full": 2,
        "random": 2,
        "gradmatchpb": 2,
    }
    assert rows["random"]["missing_runs"] == 1  # the crashed seed-2 run
    assert rows["random"]["seed_list"] == "0 1"


def test_means_speedups_and_gaps_follow_the_summaries(report, sweep):
    rows = _rows(report)
    full = _summaries(sweep, "full")
    t_full = statistics.fmean(s["tuning_seconds"] for s in full)
    a_full = statistics.fmean(100 * s["final_test_accuracy"] for s in full)
    for name in ("random", "gradmatchpb"):
        runs = _summaries(sweep, name)
        row = rows[name]
        tuning = [s["tuning_seconds"] for s in runs]
        acc = [100 * s["final_test_accuracy"] for s in runs]
        assert row["tuning_s_mean"] == pytest.approx(statistics.fmean(tuning))
        assert row["tuning_s_std"] == pytest.approx(statistics.stdev(tuning))
        assert row["test_acc_mean"] == pytest.approx(statistics.fmean(acc))
        assert row["test_acc_std"] == pytest.approx(statistics.stdev(acc))
        assert row["speedup"] == pytest.approx(t_full / statistics.fmean(tuning))
        both = statistics.fmean(s["tuning_plus_final_seconds"] for s in runs)
        both_full = statistics.fmean(s["tuning_plus_final_seconds"] for s in full)
        assert row["speedup_incl_final"] == pytest.approx(both_full / both)
        assert row["acc_gap_pts"] == pytest.approx(statistics.fmean(acc) - a_full)
        share = [100 * s["selection_seconds"] / s["tuning_seconds"] for s in runs]
        assert row["selection_share_mean"] == pytest.approx(statistics.fmean(share))
    assert rows["gradmatchpb"]["selection_share_mean"] > 0.0


def test_ranking_agreement_is_read_from_ranking_json(report):
    rows = _rows(report)
    assert rows["random"]["kendall_tau"] == 0.5 and rows["random"]["spearman_rho"] == 0.6
    assert rows["gradmatchpb"]["kendall_tau"] is None
    # the ranking's own study folders are not tuning runs
    assert all("runs/full" not in str(r.path) for r in report.collection.runs)
    assert len(report.collection.rankings) == 1


# -- hand-made runs: the arithmetic worked by hand ------------------------------------------


def _hand_made() -> RunSummary:
    """A finished run's summary with no trials (the aggregation reads its totals)."""
    return RunSummary(
        dataset="dna",
        model="MLP",
        choices={},
        best_params={"lr": 0.01},
        best_trial=0,
        best_val_accuracy=0.9,
        final_test_accuracy=0.9,
        final_val_accuracy=0.9,
        tuning_seconds=1.0,
        final_train_seconds=0.0,
        total_seconds=1.0,
        selection_setup_seconds=0.0,
        selection_setup={},
        n_trials=TrialCounts(total=3, completed=3),
        selector=SelectorRecord("full", 1.0),
        search="TPESampler",
        scheduler=SchedulerRecord("none"),
        seed=0,
        device="cpu",
        threads=1,
        torch="2",
        cpu_capability="AVX2",
        changed_settings=[],
        storage="sqlite:///study.db",
        study_name="automata",
        run_dir="run",
        trials=[],
        cost_model=CostModel(),
    )


def _run(summary: RunSummary, selector: str, seed: int, **edits) -> Run:
    """A finished run of ``selector`` whose summary is ``summary`` with ``edits``."""
    return Run(
        path=Path(f"{selector}_seed{seed}"),
        dataset="dna",
        selector=selector,
        fraction=1.0 if selector == "full" else 0.1,
        kappa=0.0,
        search="tpe",
        scheduler="none",
        seed=seed,
        epochs=2,
        n_trials=3,
        summary=dataclasses.replace(summary, seed=seed, **edits),
    )


def test_speedup_and_gap_worked_by_hand():
    """full: 30 s and 50 s of tuning, 10 s of final training each, 90% and 80% test accuracy;
    random: 10 s and 10 s, 10 s each, 80% and 70%. Speedup 40 / 10 = 4, with the final
    training 50 / 20 = 2.5; gap 75 - 85 = -10 points (row minus full: below full); std of 80
    and 70: 50 ** 0.5."""
    summary = _hand_made()
    runs = [
        _run(summary, "full", 0, tuning_seconds=30.0, final_test_accuracy=0.9),
        _run(summary, "full", 1, tuning_seconds=50.0, final_test_accuracy=0.8),
        _run(summary, "random", 0, tuning_seconds=10.0, final_test_accuracy=0.8),
        _run(summary, "random", 1, tuning_seconds=10.0, final_test_accuracy=0.7),
    ]
    for r in runs:
        r.summary = dataclasses.replace(r.summary, final_train_seconds=10.0)
    full, random = aggregate(Collection(runs=runs))
    assert (full["selector"], random["selector"]) == ("full", "random")  # full first
    assert full["speedup"] == 1.0 and full["acc_gap_pts"] == 0.0
    assert random["tuning_s_mean"] == 10.0 and random["tuning_s_std"] == 0.0
    assert random["speedup"] == pytest.approx(4.0)
    assert random["speedup_incl_final"] == pytest.approx(2.5)
    assert random["test_acc_mean"] == pytest.approx(75.0)
    assert random["test_acc_std"] == pytest.approx(50**0.5)
    assert random["acc_gap_pts"] == pytest.approx(-10.0)
    assert random["seeds"] == 2 and random["seed_list"] == "0 1" and random["missing_runs"] == 0


def test_rows_without_a_full_data_row_have_no_speedup_or_gap():
    summary = _hand_made()
    (row,) = aggregate(Collection(runs=[_run(summary, "random", 0, tuning_seconds=5.0)]))
    assert row["tuning_s_mean"] == 5.0 and row["tuning_s_std"] is None  # one seed: no std
    assert row["speedup"] is None and row["speedup_incl_final"] is None
    assert row["acc_gap_pts"] is None


def test_never_ran_is_the_sweep_grid_less_the_run_directories():
    """Variants {full, random 10%} x schedulers {none, asha} x seeds {0, 1}: 8 combinations,
    6 with a folder (finished or not), so 2 never ran."""

    def folder(selector: str, scheduler: str, seed: int) -> Run:
        fraction = 1.0 if selector == "full" else 0.1
        return Run(Path("x"), "dna", selector, fraction, 0.0, "tpe", scheduler, seed, 2, 3)

    grid = itertools.product(("full", "random"), ("none", "asha"), (0, 1))
    gone = {("random", "asha", 1), ("full", "none", 0)}
    runs = [folder(*combination) for combination in grid if combination not in gone]
    assert never_ran(Collection(runs=runs)) == [
        {
            "dataset": "dna",
            "selector": "full",
            "fraction": 1.0,
            "kappa": 0.0,
            "search": "tpe",
            "scheduler": "none",
            "seed": 0,
        },
        {
            "dataset": "dna",
            "selector": "random",
            "fraction": 0.1,
            "kappa": 0.0,
            "search": "tpe",
            "scheduler": "asha",
            "seed": 1,
        },
    ]


def test_mean_std_leaves_out_missing_values():
    assert mean_std([1.0, None, 3.0]) == (2.0, statistics.stdev([1.0, 3.0]))
    assert mean_std([5.0]) == (5.0, None)
    assert mean_std([None]) == (None, None)
