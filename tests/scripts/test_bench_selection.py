"""bench-selection: per-seed records that resume, and tables made from the records alone."""

from __future__ import annotations

import json
import math

import pytest
import torch

from .conftest import script


@pytest.fixture(scope="module")
def selection():
    """``scripts/bench_selection.py`` (on sys.path, as when the benchmark runs)."""
    with script("bench_selection") as module:
        yield module


def test_the_matching_error_is_the_sine_of_the_angle_to_the_target(selection):
    """The best non-negative scale gives ||c s - t|| / ||t|| = sin(angle(s, t)): checked
    against the closed form on a subset whose gradient sum is known."""
    data = selection.LOADERS["dna"]()
    model, _ = selection.trained_model("dna", data, 1, 0)
    target = selection.exact_target(model, data)
    from automata.selection.base import Subset
    from automata.selection.gradients import per_example_gradients

    indices = torch.arange(0, 40)
    weights = torch.linspace(0.5, 2.0, 40)
    sub = Subset(indices, weights)
    best, trainer, raw = selection.matching_errors(model, data, target, sub)
    g = per_example_gradients(model, data.train_eval, indices, torch.device("cpu")).double()
    s = g.T @ weights.double()
    cos = float(s @ target) / (float(s.norm()) * float(target.norm()))
    assert best == pytest.approx(math.sqrt(1 - cos**2), rel=1e-9)
    assert raw == pytest.approx(float((s - target).norm() / target.norm()), rel=1e-9)
    scaled = s * len(data.train) / float(weights.sum())
    assert trainer == pytest.approx(float((scaled - target).norm() / target.norm()), rel=1e-9)


def test_a_tiny_run_writes_records_resumes_and_reports(selection, tmp_path, capsys):
    argv = [
        "--datasets", "dna", "--fractions", "0.05", "--seeds", "0", "1",
        "--selectors", "random", "gradmatchpb", "--variants", "gradmatchpb:lam=0.5",
        "--epochs", "1", "--repeats", "1", "--timing-epochs", "0", "--skip-omp",
        "--compare", "random", "--compare-seeds", "0", "--compare-epochs", "2",
        "--out", str(tmp_path),
    ]  # fmt: skip
    assert selection.main(argv) == 0
    records = sorted(tmp_path.glob("dna/*/*/seed*/record.json"))
    kinds = sorted({p.parents[2].name for p in records})
    assert kinds == ["compare", "match", "model"]
    assert len(records) == 1 + 3 * 2 + 1  # model, 3 rows x 2 seeds, one compare run
    first = {p: p.stat().st_mtime_ns for p in records}
    capsys.readouterr()
    assert selection.main(argv) == 0  # resumed: nothing measured again
    assert "[1/" not in capsys.readouterr().out  # no cell ran
    assert {p: p.stat().st_mtime_ns for p in records} == first
    match = json.loads(
        next(tmp_path.glob("dna/match/gradmatchpb_f0.05/seed0/record.json")).read_text()
    )
    assert match["result"]["spec"] == "gradmatchpb" and 0.0 <= match["result"]["best"] <= 1.0
    text = (tmp_path / "selection.md").read_text()
    assert "| gradmatchpb, lam 0.5 |" in text and "| random |" in text
    assert "| dna | 1% | random | 2 | 0 |" in text  # (d) at 1%, the default compare fraction


def test_the_report_is_made_from_the_records_alone(selection, tmp_path):
    """Hand-made records: the mean ± std of each cell, the time as a share of the model's
    epoch, and '-' where a row was not measured at a fraction."""
    from automata.bench import Cell, Grid

    grid = Grid(tmp_path, lambda cell: {}, "match")
    values = {0: 0.2, 1: 0.4}
    for seed, err in values.items():
        grid.run(
            [Cell("dna", "gradmatchpb_f0.1", seed)],
            lambda c, f, err=err: {"spec": "gradmatchpb", "fraction": 0.1, "best": err,
                                   "trainer": 1.0, "raw": err, "select_seconds": 0.002},
            timed=False, quiet=True,
        )  # fmt: skip
    Grid(tmp_path, lambda cell: {}, "match").run(
        [Cell("dna", "random_f0.05", 0)],
        lambda c, f: {"spec": "random", "fraction": 0.05, "best": 0.9, "trainer": 1.0,
                      "raw": 0.9, "select_seconds": 0.0},
        timed=False, quiet=True,
    )  # fmt: skip
    Grid(tmp_path, lambda cell: {}, "model").run(
        [Cell("dna", "default", 0)], lambda c, f: {"epoch_seconds": 0.02}, timed=False, quiet=True
    )
    text = selection.report(tmp_path)
    assert "| random | 0.900 | - |" in text
    assert "| gradmatchpb | - | 0.300 ± 0.141 |" in text
    assert "| gradmatchpb | - | 2.0 ms (10.0%) |" in text


def test_a_folder_without_records_is_one_line(selection, tmp_path, capsys):
    assert selection.main(["--phase", "report", "--records", str(tmp_path)]) == 2
    assert "no bench-selection records" in capsys.readouterr().err
