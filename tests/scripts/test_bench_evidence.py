"""The evidence benchmark's report on hand-made records: the noise ceiling beside each ranking,
the speedup bound check, bad picks and the gap's interval."""

from __future__ import annotations

import argparse
import itertools
import json
import re
import shlex
import statistics

import pytest
from scipy import stats

from automata.bench import Cell, SelectorSpec

from ..conftest import ROOT
from .conftest import script


@pytest.fixture(scope="module")
def evidence():
    """``scripts/bench_evidence.py`` (on sys.path, as when the benchmark runs)."""
    with script("bench_evidence") as module:
        yield module


SEEDS = [0, 1, 2]
# Validation accuracy of K = 6 configurations at T, per seed: the full data and a subset.
FULL = {0: [0.90, 0.85, 0.80, 0.70, 0.60, 0.50], 1: [0.88, 0.86, 0.70, 0.75, 0.55, 0.52],
        2: [0.85, 0.90, 0.82, 0.65, 0.58, 0.40]}  # fmt: skip
SUBSET = {0: [0.70, 0.80, 0.60, 0.65, 0.40, 0.45], 1: [0.80, 0.60, 0.70, 0.75, 0.50, 0.55],
          2: [0.60, 0.70, 0.80, 0.50, 0.55, 0.40]}  # fmt: skip


def _tune(test, tuning_s, train_s, fe_epochs):
    return {
        "tuning_s": tuning_s,
        "total_s": tuning_s + 1.0,
        "test": test,
        "selection_s": 0.0,
        "selection_setup_s": 0.0,
        "train_s": train_s,
        "eval_s": 0.1 * tuning_s,
        "plan_epochs": 100,
        "fe_epochs": fe_epochs,
    }


def _curves(values, epochs=3):
    """The value at T, and a shuffled-looking ranking before it."""
    return [[v * 0.5 + 0.01 * i, v * 0.8, v][:epochs] for i, v in enumerate(values)]


@pytest.fixture()
def report(evidence, tmp_path):
    setups = {"dna": evidence.Setup("tabular_dna", (0.1,), 6, ["train.epochs=3"])}
    args = argparse.Namespace(
        datasets=["dna"], seeds=SEEDS, out=tmp_path, threads=1, selectors=["random"]
    )
    specs = [SelectorSpec("random")]
    tune, rank = evidence.grids(args, setups)
    tests = {0: (0.93, 0.925), 1: (0.92, 0.89), 2: (0.94, 0.935)}  # (full, subset): seed 1 bad

    def tuned(cell, _folder):
        full, sub = tests[cell.seed]
        if cell.arm == "full":
            return _tune(full, 10.0, 8.0, 100)
        # 10% of the data, training 5x cheaper per plan epoch than f x full's: above the bound
        return _tune(sub, 0.6, 0.016, 10)

    def ranked(cell, _folder):
        values = (FULL if cell.arm == "full" else SUBSET)[cell.seed]
        return {"values": values, "curves": _curves(values)}

    cells = [Cell("dna", arm, s) for s in SEEDS for arm in ("full", "random_f0.1")]
    tune.run(cells, tuned, timed=False, quiet=True)
    rank.run(cells, ranked, timed=False, quiet=True)
    text = evidence.phase_report(args, setups, specs)
    return text, json.loads((tmp_path / "results.json").read_text())


def _line(text, start):
    return next(line for line in text.splitlines() if line.startswith(start))


def test_the_ceiling_row_is_the_full_data_against_itself_under_other_seeds(report):
    text, data = report
    pairs = list(itertools.combinations(SEEDS, 2))
    expected = statistics.fmean(stats.kendalltau(FULL[a], FULL[b]).statistic for a, b in pairs)
    ceiling = data["ranking"]["dna"]["ceiling"]["tau"]
    assert ceiling[0] == pytest.approx(expected)
    assert ceiling[2] == 3  # seeds, not pairs
    assert (
        _line(text, "| **full, another seed (noise ceiling)**")
        .split(" | ")[4]
        .startswith(f"{expected:.2f} ± ")
    )
    # the subset's cross-seed tau: seed s of the subset against every other seed of the full data
    cross = statistics.fmean(
        stats.kendalltau(SUBSET[s], FULL[r]).statistic for s in SEEDS for r in SEEDS if s != r
    )
    arm = data["ranking"]["dna"]["arms"]["random_f0.1"]
    assert arm["across_seeds"]["tau"][0] == pytest.approx(cross)
    assert arm["tau_over_ceiling"][0] == pytest.approx(cross / expected)
    same = statistics.fmean(stats.kendalltau(SUBSET[s], FULL[s]).statistic for s in SEEDS)
    assert arm["same_seed"]["tau"][0] == pytest.approx(same)


def test_agreement_at_the_scheduler_s_epochs_uses_the_curves(report, evidence):
    text, data = report
    arm = data["ranking"]["dna"]["arms"]["random_f0.1"]
    at_t = arm["tau_at_epoch"]["3"][0]
    assert at_t == pytest.approx(arm["same_seed"]["tau"][0])  # at T the curve is the value
    early = statistics.fmean(
        stats.kendalltau([c[0] for c in _curves(SUBSET[s])], FULL[s]).statistic for s in SEEDS
    )
    assert arm["tau_at_epoch"]["1"][0] == pytest.approx(early)


def test_a_row_faster_than_its_bound_is_flagged_and_bad_picks_counted(report):
    text, data = report
    row = _line(text, "| random | 10%")
    cells = row.split(" | ")
    assert cells[6] == "-"  # no cost phase: the configurations' cost is not known
    assert cells[8] == "exceeds"
    assert "above B beyond its interval: random 10%." in text
    # full-data tuning's mean test accuracy is 93.0: seed 1's 89.0 is more than 2 points below
    assert cells[12] == "1 of 3"
    gaps = [0.925 - 0.93, 0.89 - 0.92, 0.935 - 0.94]
    mean = 100 * statistics.fmean(gaps)
    assert cells[11].startswith(f"{mean:+.2f} [")


def test_the_cost_phase_s_measure_of_cheaper_configurations_enters_the_bound(
    evidence, report, tmp_path
):
    """The same records, with a cost record per seed: the subset study trained one shape whose
    epoch costs a hundredth of the full study's shape's on the full data. Its training, 0.0016
    s per full-data-equivalent epoch against the full study's 0.08, is 0.02 of it: twice its
    share once the configurations count, so B = (10 / 100) / (0.1 * 0.08 * 0.01 + 0.584 / 100)
    = 16.89x, above its per-epoch speedup of 16.67x: within (no longer "exceeds")."""
    args = argparse.Namespace(
        datasets=["dna"], seeds=SEEDS, out=tmp_path, threads=1, selectors=["random"]
    )
    setups = {"dna": evidence.Setup("tabular_dna", (0.1,), 6, ["train.epochs=3"])}
    cost = evidence.cost_grid(args, setups)

    def measured(cell, _folder):
        return {
            "epochs": 10,
            "s_per_epoch": {"big": 0.5, "small": 0.005},
            "trials": {
                "full": [["big", 60.0, 6.0], ["big", 40.0, 2.0]],
                "random_f0.1": [["small", 10.0, 0.016]],
            },
        }

    cost.run([Cell("dna", "shapes", s) for s in SEEDS], measured, timed=False, quiet=True)
    text = evidence.phase_report(args, setups, [SelectorSpec("random")])
    cells = _line(text, "| random | 10%").split(" | ")
    assert cells[6] == "0.01 ± 0.00"
    bound = 0.1 / (0.1 * 0.08 * 0.01 + (0.6 - 0.016 - 0.06 + 0.06) / 100)
    assert cells[7] == f"{bound:.2f} ± 0.00x" == "16.89 ± 0.00x"
    assert cells[5] == "16.67 ± 0.00x" and cells[8] == "within"
    assert "no row is above B beyond its interval." in text


def test_a_data_set_ranked_but_not_tuned_gets_its_ranking_and_one_line(evidence, tmp_path):
    setups = {"dna": evidence.Setup("tabular_dna", (0.1,), 6, ["train.epochs=3"])}
    args = argparse.Namespace(
        datasets=["dna"], seeds=SEEDS, out=tmp_path, threads=1, selectors=["random"]
    )
    _, rank = evidence.grids(args, setups)

    def ranked(cell, _folder):
        values = (FULL if cell.arm == "full" else SUBSET)[cell.seed]
        return {"values": values, "curves": _curves(values)}

    cells = [Cell("dna", arm, s) for s in SEEDS for arm in ("full", "random_f0.1")]
    rank.run(cells, ranked, timed=False, quiet=True)
    text = evidence.phase_report(args, setups, [SelectorSpec("random")])
    assert "tuning studies not run yet (ranking only: K = 6 on seeds 0, 1, 2)" in text
    assert "| **full, another seed (noise ceiling)**" in text
    assert "Missing studies" not in text


def _block(text):
    start = text.index("-->", text.index("<!-- generated by: ")) + len("-->")
    return text[start : text.index("<!-- end of the generated tables -->")]


def test_the_tables_of_docs_results_are_the_report_of_the_committed_records(
    evidence, tmp_path, monkeypatch
):
    """docs/results.md's generated tables, made again from the committed per-seed records by
    the command its marker names, are what the page shows."""
    page = (ROOT / "docs" / "results.md").read_text()
    command = re.search(r"<!-- generated by: (.*?) -->", page).group(1)
    argv = shlex.split(command)
    assert argv[:2] == ["python", "scripts/bench_evidence.py"]
    args = evidence.parse_args(argv[2:])
    assert args.records is not None and args.phase == "report"
    copy = tmp_path / "results.md"
    copy.write_text(page)
    args.out, args.docs = tmp_path / "out", copy
    monkeypatch.chdir(ROOT)  # the command's paths are the repository's
    specs = [SelectorSpec.parse(s) for s in args.selectors]
    evidence.phase_report(args, evidence.SETUPS, specs)
    assert _block(copy.read_text()) == _block(page)


def test_the_cost_phase_measures_every_shape_the_tuned_studies_used(evidence, tmp_path):
    """A real tiny tune (dna, full data and random 10%, one seed), then the cost phase: every
    trial's shape gets a measured full-data cost per epoch, each study's trials add up to its
    record's training seconds, and a run folder whose study is not its record's is refused."""
    args = evidence.parse_args(
        ["--quick", "--seeds", "0", "--selectors", "random", "--threads", "1", "--out",
         str(tmp_path)]
    )  # fmt: skip
    setups = {"dna": evidence.Setup("tabular_dna", (0.1,), 4, ["train.epochs=2",
              "tuning.n_trials=4"], cost_epochs=2)}  # fmt: skip
    specs = [SelectorSpec("random")]
    evidence.phase_tune(args, setups, specs)
    evidence.phase_cost(args, setups, specs)
    record = evidence.cost_grid(args, setups).record(Cell("dna", "shapes", 0))
    tune, _ = evidence.grids(args, setups)
    assert record is not None and set(record.result["trials"]) == {"full", "random_f0.1"}
    for arm, trials in record.result["trials"].items():
        tuned = tune.record(Cell("dna", arm, 0))
        assert sum(t[2] for t in trials) == pytest.approx(tuned.result["train_s"])
        assert {t[0] for t in trials} <= set(record.result["s_per_epoch"])
        assert all(s > 0 for s in record.result["s_per_epoch"].values())
    # a record that does not describe its folder's study
    path = tune.folder(Cell("dna", "full", 0)) / "record.json"
    data = json.loads(path.read_text())
    data["result"]["train_s"] += 1.0
    path.write_text(json.dumps(data))
    with pytest.raises(evidence.BenchError, match="not the recorded study"):
        evidence.study_trials(tune, Cell("dna", "full", 0))
