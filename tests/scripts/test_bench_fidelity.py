"""The fidelity benchmark's analysis: the ladder's cost per rung, the incumbent an arm returns at
a time, and the report's paired gaps, bad picks and targets, on hand-made records."""

from __future__ import annotations

import json
from functools import partial

import pytest
from scipy import stats

from automata.bench import Cell, Grid, Record

from .conftest import script


@pytest.fixture(scope="module")
def fidelity():
    """``scripts/bench_fidelity.py`` (on sys.path, as when the benchmark runs)."""
    with script("bench_fidelity") as module:
        yield module


def _evals(steps, study="automata"):
    return [
        {"t": float(i), "study": study, "top": s == 81, "step": s, "value": 0.5, "params": {}}
        for i, s in enumerate(steps)
    ]


def test_rung_costs_of_one_bracket_from_1_81(fidelity):
    """27 configurations from 1/81 of the data, eta 3, T = 20 (docs/fidelity.md's table, by
    hand): 27 at 1/81, 9 at 1/27, 3 at 1/9, 1 at all of it; 20/3 epochs at each small rung and
    20 at the last, 40 in all."""
    record = {"evaluations": _evals([1] * 18 + [3] * 6 + [9] * 2 + [81]), "fe_epochs": 40.0}
    rungs = fidelity.rung_costs(record)
    assert [(f, n) for f, n, _ in rungs] == [(1 / 81, 27), (3 / 81, 9), (9 / 81, 3), (1.0, 1)]
    assert [fe for _, _, fe in rungs] == pytest.approx([20 / 3, 20 / 3, 20 / 3, 20])
    # a confirmation's evaluations are not rungs of the ladder
    record["evaluations"] += _evals([81, 81], study="automata-confirm")
    assert len(fidelity.rung_costs(record)) == 4


def test_incumbent_prefers_the_confirmation_then_the_top_then_the_highest_rung(fidelity):
    def ev(t, step, value, top=False, study="automata"):
        return {"t": t, "step": step, "value": value, "top": top, "study": study, "params": t}

    evals = [
        ev(1, 1, 0.9),
        ev(2, 3, 0.7),
        ev(3, 81, 0.6, top=True),
        ev(4, 81, 0.8, top=True),
        ev(5, 81, 0.5, top=True, study="automata-confirm"),
    ]
    assert fidelity.incumbent(evals, 0.5) is None
    assert fidelity.incumbent(evals, 1.5)["t"] == 1
    assert fidelity.incumbent(evals, 2.5)["t"] == 2  # the highest rung reached, not the best value
    assert fidelity.incumbent(evals, 4.5)["t"] == 4  # the best at the top
    assert fidelity.incumbent(evals, 9)["t"] == 5  # a confirmed one wins over the study's own


def _record(tmp_path, arm, seed, test, total):
    result = {
        "test": test,
        "total_s": total,
        "tuning_s": total,
        "fe_epochs": 10.0,
        "selection_s": 0.0,
        "evaluations": [],
    }
    rec = Record("dna", arm, seed, {}, "start", finished="end", result=result)
    rec.write(tmp_path / "dna" / arm / f"seed{seed}" / "record.json")


def test_report_gaps_bad_picks_and_targets(fidelity, tmp_path):
    """Three seeds: the gap's interval is Student-t over the paired differences (scipy's t as
    the reference), a seed more than 2 points below the full arm's mean is a bad pick, and the
    targets name what each arm misses."""
    full = [0.90, 0.91, 0.92]
    ladder = [0.899, 0.912, 0.913]  # within 0.7 points of full on every seed
    fixed = [0.87, 0.905, 0.92]  # seed 0: 4 points below the full mean of 91
    for seed in range(3):
        _record(tmp_path, "full", seed, full[seed], 10.0)
        _record(tmp_path, "ladder_random", seed, ladder[seed], 2.0)
        _record(tmp_path, "fixed10_gradmatchpb", seed, fixed[seed], 2.5)
    out = tmp_path / "out"
    fidelity.main(
        ["--phase", "report", "--datasets", "dna", "--records", str(tmp_path), "--out", str(out)]
        + ["--no-anytime"]
    )
    text = (out / "fidelity.md").read_text()
    diffs = [100 * (a - b) for a, b in zip(ladder, full, strict=True)]
    mean = sum(diffs) / 3
    half = stats.t.ppf(0.975, 2) * stats.tstd(diffs) / 3**0.5
    shown = f"{mean:+.2f} [{mean - half:+.2f}, {mean + half:+.2f}]"
    row = next(line for line in text.splitlines() if line.startswith("| ladder_random |"))
    assert shown in row and "| undecided | 0/3 |" in row
    row = next(line for line in text.splitlines() if line.startswith("| fixed10_gradmatchpb |"))
    assert "| 1/3 |" in row
    targets = next(line for line in text.splitlines() if line.startswith("Targets"))
    # the ladder's interval reaches below -1 point (wide with 3 seeds): it misses that target
    assert "ladder_random (gap's lower end below -1)" in targets
    assert "fixed10_gradmatchpb (1 bad pick; gap mean below -0.3; gap's lower end below -1)" in (
        targets
    )


def test_equal_time_table_pairs_every_arm_with_full_and_the_default(
    fidelity, tmp_path, monkeypatch
):
    """At 25% of the full arm's time an arm returns its incumbent then (retrained: read from
    the cache beside the records, so nothing trains here); the table pairs it by seed with
    the full arm's and the default arm's, over the seeds both have, and leaves out the arms
    that its data set's protocol does not name."""

    def ev(t, value, name):
        return {"t": t, "study": "s", "top": True, "step": 81, "value": value, "params": name}

    early = {"full": [0.80, 0.82, 0.81], "ladder_random": [0.85, 0.86, 0.86]}
    final = {"full": [0.90, 0.91, 0.92], "ladder_random": [0.90, 0.91, 0.93]}
    cache = {}
    for arm in ("full", "ladder_random", "dehb_data", "one_epoch"):
        for seed in range(3 if arm != "dehb_data" else 2):  # DEHB: two seeds of three
            test = final.get(arm, final["full"])[seed]
            _record(tmp_path, arm, seed, test, 100.0)
            path = tmp_path / "dna" / arm / f"seed{seed}" / "record.json"
            rec = json.loads(path.read_text())
            rec["result"]["params"] = f"{arm}-final"
            rec["result"]["evaluations"] = [
                ev(10.0, 0.5, f"{arm}-early"),
                ev(90, 0.9, f"{arm}-final"),
            ]
            path.write_text(json.dumps(rec))
            early_test = early.get(arm, [0.84, 0.83, 0.0])[seed]
            cache[f"{seed}|{json.dumps(f'{arm}-early')}"] = early_test
    (tmp_path / "dna" / "retrain.json").write_text(json.dumps(cache))
    setup = fidelity.Setup("tabular_dna", anytime_arms=["full", "dehb_data"])
    monkeypatch.setitem(fidelity.SETUPS, "dna", setup)
    out = tmp_path / "out"
    fidelity.main(
        ["--phase", "report", "--datasets", "dna", "--records", str(tmp_path), "--out", str(out)]
    )
    text = (out / "fidelity.md").read_text()
    table = text[text.index("At equal wall time") :]
    rows = {
        line.split("|")[1].strip(): line.split("|")[2:-1]
        for line in table.splitlines()
        if line.startswith("| ") and not line.startswith("| arm")
    }
    assert set(rows) == {"full", "dehb_data"}  # ladder_random is paired with, not shown
    n, at25, at50, at100, full25, full50, fav25, fav50 = (c.strip() for c in rows["dehb_data"])
    assert n == "2" and at100.startswith("90.50")  # its own final tests, seeds 0 and 1
    # DEHB - full at 25%: (84 - 80, 83 - 82) = 4, 1 -> 2.50 [t interval]
    diffs = [4.0, 1.0]
    half = stats.t.ppf(0.975, 1) * stats.tstd(diffs) / 2**0.5
    assert full25 == f"+2.50 [{2.5 - half:+.2f}, {2.5 + half:+.2f}]"
    # ladder - DEHB at 25%: (85 - 84, 86 - 83) = 1, 3 -> 2.00
    half = stats.t.ppf(0.975, 1) * stats.tstd([1.0, 3.0]) / 2**0.5
    assert fav25 == f"+2.00 [{2.0 - half:+.2f}, {2.0 + half:+.2f}]"
    assert rows["full"][0].strip() == "3" and rows["full"][4].strip() == "-"


def test_a_dehb_arm_needs_the_full_arm_of_its_seed(fidelity, tmp_path):
    cell = fidelity.Cell("dna", "dehb_data", 3)
    with pytest.raises(fidelity.BenchError, match="full arm of that seed"):
        fidelity.dehb_budget(tmp_path / "dna" / "dehb_data" / "seed3", cell)
    _record(tmp_path, "full", 3, 0.9, 7.5)
    assert fidelity.dehb_budget(tmp_path / "dna" / "dehb_data" / "seed3", cell) == 7.5


@pytest.mark.parametrize("arm", ["dehb_epochs", "dehb_data"])
def test_dehb_arms_spend_the_full_arms_time_and_count_their_epochs(fidelity, tmp_path, arm):
    """DEHB (the peers extra) for about a second on dna, T = 2: its fidelities stay in range,
    its full-data-equivalent epochs are those its evaluations trained (a data share counts its
    share of T; an epoch fidelity whole epochs, less those resumed), and a final model taken at
    the top fidelity is that evaluation's own."""
    pytest.importorskip("dehb")
    setups = {"dna": fidelity.Setup("tabular_dna", ["train.epochs=2", "tuning.n_trials=3"])}
    _record(tmp_path, "full", 0, 0.9, 1.0)
    folder = tmp_path / "dna" / arm / "seed0"
    folder.mkdir(parents=True)
    result = fidelity.run_cell(setups, 1, fidelity.Cell("dna", arm, 0), folder)
    evals = result["evaluations"]
    assert evals and result["tuning_s"] >= 1.0 and 0.0 < result["test"] <= 1.0
    high = 2 if arm == "dehb_epochs" else fidelity.DATA_UNITS
    assert all(1 <= e["step"] <= high and e["top"] == (e["step"] == high) for e in evals)
    if arm == "dehb_data":  # every evaluation a restart of T = 2 epochs on its share
        spent = sum(2 * e["step"] / high for e in evals if e["value"] is not None)
        final = 0.0 if any(e["top"] for e in evals) else 2.0  # else the incumbent, trained
        assert result["fe_epochs"] == pytest.approx(spent + final, rel=1e-6)
    best = max((e for e in evals if e["top"]), key=lambda e: e["value"], default=None)
    if best is not None:
        assert result["test"] == best["test"] and result["params"] == best["params"]


def test_runs_say_whether_denormals_are_flushed_and_the_records_made_before_still_match(
    fidelity,
):
    """Every run composes with its data set's flush_denormal; the committed records (made
    before the setting existed, unflushed) are still accepted as this protocol's, and a data
    set run with it flushed (SST-2) says so in its settings."""
    setups = fidelity.SETUPS
    trec6 = fidelity.overrides(setups["trec6"], "full", 0, 1)
    assert "flush_denormal=false" in trec6
    sst2 = fidelity.settings(setups, 1, Cell("sst2", "full", 0))["overrides"]
    assert "flush_denormal=true" in sst2
    grid = Grid(fidelity.PUBLISHED, partial(fidelity.settings, setups, 1))
    checked = 0
    for ds in ("dna", "satimage", "trec6"):
        for path in sorted((fidelity.PUBLISHED / ds).glob("*/seed*/record.json")):
            cell = Cell(ds, path.parent.parent.name, int(path.parent.name.removeprefix("seed")))
            assert grid.record(cell) is not None  # raises if the settings differ
            checked += 1
    assert checked > 0
