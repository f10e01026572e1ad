"""The report's figures (automata.results.plots): PNG files linked from results.md, the study
whose learning curves are drawn, and no file for a figure with nothing to draw."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from automata.results import Run
from automata.results.plots import (
    learning_curves,
    pick_study,
    ranking,
    speedup_vs_gap,
    time_breakdown,
)
from automata.run_outputs.summary import RunSummary

PNG = b"\x89PNG\r\n\x1a\n"


def test_plots_are_written_when_asked(report):
    names = sorted(p.name for p in report.plots)
    assert names == [
        "learning_curves_dna.png",
        "ranking_dna.png",
        "speedup_vs_gap_dna.png",
        "time_breakdown_dna.png",
    ]
    text = report.markdown.read_text()
    for p in report.plots:
        assert p.read_bytes()[:8] == PNG and p.stat().st_size > 5000
        assert f"(plots/{p.name})" in text


def _finished(summary: RunSummary, selector: str, seed: int, pruned: int, kappa: float) -> Run:
    counts = dataclasses.replace(summary.n_trials, pruned=pruned)
    return Run(
        path=Path(f"{selector}_{seed}_{pruned}_{kappa}"),
        dataset="dna",
        selector=selector,
        fraction=0.1,
        kappa=kappa,
        search="tpe",
        scheduler="hyperband",
        seed=seed,
        epochs=2,
        n_trials=3,
        summary=dataclasses.replace(summary, n_trials=counts),
    )


def test_the_learning_curves_are_of_the_default_selector_with_pruned_trials(sweep):
    """Preferred in this order: the selector asked for, pruned trials, no warm start, the
    smallest seed."""
    summary = RunSummary.read(sweep / "random_seed0" / "summary.json")
    best = _finished(summary, "gradmatchpb", 1, pruned=2, kappa=0.0)
    others = [
        _finished(summary, "random", 0, pruned=2, kappa=0.0),  # another selector
        _finished(summary, "gradmatchpb", 0, pruned=0, kappa=0.0),  # nothing pruned
        _finished(summary, "gradmatchpb", 0, pruned=2, kappa=0.35),  # warm start
        _finished(summary, "gradmatchpb", 2, pruned=2, kappa=0.0),  # a larger seed
    ]
    assert pick_study([*others, best], "gradmatchpb") is best
    assert pick_study(others[:1], "gradmatchpb") is others[0]  # else the closest one
    not_finished = dataclasses.replace(best, summary=None)
    assert pick_study([not_finished], "gradmatchpb") is None


def test_a_figure_with_nothing_to_draw_is_not_written(sweep, tmp_path):
    nothing = {"speedup": None, "acc_gap_pts": None, "tuning_s_mean": None}
    assert speedup_vs_gap([nothing], "dna", tmp_path) is None
    assert time_breakdown([nothing], "dna", tmp_path) is None
    entry = {"selector": "random", "fraction": 0.1, "kendall_tau": None, "spearman_rho": None}
    assert ranking({"dataset": "dna", "entries": [entry]}, tmp_path) is None
    summary = RunSummary.read(sweep / "random_seed0" / "summary.json")
    moved = _finished(summary, "random", 0, pruned=0, kappa=0.0)  # no study.db beside it
    moved.path = tmp_path / "moved"
    moved.summary = dataclasses.replace(summary, storage=f"sqlite:///{tmp_path / 'gone.db'}")
    assert learning_curves(moved, tmp_path) is None
    assert list(tmp_path.glob("*.png")) == []
