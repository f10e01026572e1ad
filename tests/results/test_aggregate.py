"""Aggregation over seeds (automata.results.aggregate): one row per group, means and sample
standard deviations of the runs' summaries, speedups and gaps against the full-data row, the
ranking agreement of a ranking.json, and the sweep grid's combinations that never ran."""

from __future__ import annotations

import json
import statistics
from pathlib import Path

import pytest

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
        assert row["acc_gap_pts"] == pytest.approx(a_full - statistics.fmean(acc))
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
