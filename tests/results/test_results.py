"""Aggregation of many runs (``python -m automata.results``) and the paper-reproduction configs.

The runs are tiny but real (dna, 3 trials of 2 epochs, no early stopping; full, random and
gradmatchpb, 2 seeds), made once per session; a run directory without summary.json stands for
a crashed run.
"""

from __future__ import annotations

import csv
import json
import re
import statistics
import subprocess
from pathlib import Path

import pytest
import yaml

from automata.results import COLUMNS, build_results, collect
from automata.results.__main__ import main as report_main
from automata.run import build_components, run
from automata.selection.base import warm_start

from ..conftest import ROOT, compose_config, experiments_by_modality, options

TINY = [
    "dataset=dna",
    "tuning.n_trials=3",
    "train.epochs=2",
    "scheduler=none",
    "device=cpu",
    "tuning.tensorboard=false",
]
SELECTORS = {
    "full": ["selector=full"],
    "random": ["selector=random", "selector.fraction=0.1"],
    "gradmatchpb": ["selector=gradmatchpb", "selector.fraction=0.1"],
}
SEEDS = (0, 1)
PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="session")
def sweep(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """6 finished runs plus one crashed run (random, seed 2: config.yaml, no summary.json)."""
    root = tmp_path_factory.mktemp("sweep")
    for name, over in SELECTORS.items():
        for seed in SEEDS:
            out = root / f"{name}_seed{seed}"
            run(
                compose_config(
                    [
                        *TINY,
                        *over,
                        f"seed={seed}",
                        f"paths.output_dir={out}",
                        f"paths.data_dir={root / 'data'}",
                    ]
                )
            )
    broken = root / "crashed" / "random_seed2"
    broken.mkdir(parents=True)
    cfg = yaml.safe_load((root / "random_seed0" / "config.yaml").read_text())
    cfg["seed"] = 2
    (broken / "config.yaml").write_text(yaml.safe_dump(cfg))
    (broken / "__main__.log").write_text(
        "[2026-01-01 00:00:00,000][automata][ERROR] - no trial completed (see the log)\n"
    )
    return root


@pytest.fixture(scope="session")
def ranking_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A ranking.json as automata.ranking writes it (numbers made up), and a ranking folder
    whose run never finished (plan, no result)."""
    root = tmp_path_factory.mktemp("rankings")
    done = root / "dna"
    done.mkdir()
    entry = {
        "selector": "random",
        "label": "random",
        "fraction": 0.1,
        "kappa": 0.0,
        "kendall_tau": 0.5,
        "kendall_tau_std": None,
        "spearman_rho": 0.6,
        "spearman_rho_std": None,
        "n_seeds": 1,
        "per_seed": [],
    }
    result = {"dataset": "dna", "k": 5, "epochs": 2, "entries": [entry], "failed": []}
    (done / "ranking.json").write_text(json.dumps(result))
    (done / "ranking_plan.json").write_text(json.dumps(result))
    # the ranking's own studies live below it and must not count as tuning runs
    (done / "runs" / "full" / "seed0").mkdir(parents=True)
    (done / "runs" / "full" / "seed0" / "config.yaml").write_text("seed: 0\n")
    unfinished = root / "satimage"
    unfinished.mkdir()
    (unfinished / "ranking_plan.json").write_text(json.dumps({"dataset": "satimage"}))
    return root


@pytest.fixture(scope="session")
def report(sweep: Path, ranking_dir: Path, tmp_path_factory: pytest.TempPathFactory):
    out = tmp_path_factory.mktemp("report")
    return build_results([sweep, ranking_dir], out=out, plots=True, notes=["a test note"])


def _rows(report) -> dict[str, dict]:
    return {r["selector"]: r for r in report.rows}


def _summaries(sweep: Path, name: str) -> list[dict]:
    return [json.loads((sweep / f"{name}_seed{s}" / "summary.json").read_text()) for s in SEEDS]


def test_csv_has_the_documented_columns_one_row_per_group(report):
    with report.csv.open() as fh:
        reader = csv.DictReader(fh)
        rows = list(reader)
    assert reader.fieldnames == COLUMNS
    assert sorted(r["selector"] for r in rows) == ["full", "gradmatchpb", "random"]
    for r in rows:
        assert r["dataset"] == "dna" and r["search"] == "tpe" and r["scheduler"] == "none"
        assert r["epochs"] == "2" and r["n_trials"] == "3"


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


def test_missing_runs_have_their_own_section(report):
    missing = report.collection.missing
    assert [r.path.name for r in missing] == ["random_seed2"]
    assert missing[0].seed == 2 and "no trial completed" in (missing[0].reason or "")
    # seed 2 exists for random only: full and gradmatchpb seed 2 never ran
    assert sorted((m["selector"], m["seed"]) for m in report.never_ran) == [
        ("full", 2),
        ("gradmatchpb", 2),
    ]
    text = report.markdown.read_text()
    section = text.split("## Missing or failed runs", 1)[1]
    assert "random_seed2" in section and "no trial completed" in section
    assert "satimage" in section and "ranking_plan.json without ranking.json" in section
    assert "> **a test note**" in text
    assert "## dna (T = 2 epochs, 3 trials per study)" in text


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


def _copy_run(src: Path, dst: Path, edit_summary, edit_config) -> None:
    dst.mkdir(parents=True)
    summary = json.loads((src / "summary.json").read_text())
    edit_summary(summary)
    (dst / "summary.json").write_text(json.dumps(summary))
    cfg = yaml.safe_load((src / "config.yaml").read_text())
    edit_config(cfg)
    (dst / "config.yaml").write_text(yaml.safe_dump(cfg))


def test_runs_are_named_by_their_command_line_options(sweep, tmp_path):
    """A selector is named by its YAML file (the option), whatever its class is called."""
    src = sweep / "gradmatchpb_seed0"

    def rename(summary):
        summary["choices"] = {**summary["choices"], "selector": "my_matching"}

    def rename_config(cfg):
        cfg["hydra"]["runtime"]["choices"]["selector"] = "my_matching"

    _copy_run(src, tmp_path / "done", rename, rename_config)
    _copy_run(src, tmp_path / "crashed", rename, rename_config)
    (tmp_path / "crashed" / "summary.json").unlink()  # a run that stopped: config.yaml only
    found = collect([tmp_path])
    assert [(r.selector, r.scheduler, r.search, r.ok) for r in found.runs] == [
        ("my_matching", "none", "tpe", False),
        ("my_matching", "none", "tpe", True),
    ]
    assert found.runs[1].warm_epochs == 0


def test_a_summary_of_another_version_makes_a_failed_run_with_its_reason(sweep, tmp_path):
    """A summary.json without a field this version writes (``choices``) is not guessed at: its
    run is listed as failed, saying why, and the run keeps the options of its config.yaml."""

    def drop(summary):
        del summary["choices"]

    _copy_run(sweep / "gradmatchpb_seed0", tmp_path / "old", drop, lambda cfg: None)
    (old,) = collect([tmp_path]).runs
    assert not old.ok and old.selector == "gradmatchpb"
    assert "has no 'choices': written by another version of automata" in (old.reason or "")


def test_warm_start_epochs_are_read_from_the_summary(sweep, tmp_path):
    src = sweep / "gradmatchpb_seed0"

    def warm(summary):
        summary["selector"].update(kappa=0.5, warm_full_epochs=7)

    _copy_run(src, tmp_path / "run", warm, lambda cfg: None)
    (run_dir,) = collect([tmp_path]).runs
    assert run_dir.kappa == 0.5 and run_dir.warm_epochs == 7  # recorded, not recomputed
    run_dir.summary = None  # a run without summary: the formula
    assert run_dir.warm_epochs == warm_start(0.5, 2, 0.1).full_epochs == 1


def test_command_line_without_plots(sweep, tmp_path, capsys):
    assert report_main([str(sweep), "--out", str(tmp_path)]) == 0
    assert (tmp_path / "results.md").exists() and (tmp_path / "results.csv").exists()
    assert not (tmp_path / "plots").exists()
    assert "6 finished, 1 missing or failed" in capsys.readouterr().out
    assert report_main([str(tmp_path / "nope")]) == 2


# -- the paper-reproduction configs (conf/experiment/, mk/reproduce.mk) ------------------------
EXPERIMENTS = options("experiment")
SWEEP_FORMS = {
    "as-is": [],
    "full+asha": [
        "selector=full",
        "scheduler=asha",
        "~scheduler.bracket_order",
    ],
    "subset+asha": [
        "selector=random",
        "selector.fraction=0.05",
        "scheduler=asha",
        "~scheduler.bracket_order",
    ],
}


def test_every_paper_setting_has_an_experiment():
    assert set(EXPERIMENTS) >= set(
        [
            "tabular_dna",
            "tabular_satimage",
            "tabular_letter",
            "tabular_connect4",
            "text_trec6",
            "text_sst2",
            "text_sst5",
            "text_glue_sst2",
            "image_cifar10",
            "image_cifar100",
            "image_svhn",
        ]
    )


@pytest.mark.parametrize("form", SWEEP_FORMS)
@pytest.mark.parametrize("experiment", EXPERIMENTS)
def test_experiment_composes_in_every_sweep_form(experiment, form):
    cfg = compose_config([f"experiment={experiment}", *SWEEP_FORMS[form]])
    selector, scheduler, _, _ = build_components(cfg)
    assert cfg.experiment.name == experiment
    assert cfg.tuning.n_trials == 27
    if form == "as-is":
        assert selector.name == "gradmatchpb"
        assert scheduler.name == "hyperband" and scheduler.eta == 3
        assert scheduler.bracket_order == "conservative_first"
    else:
        assert scheduler.name == "asha" and scheduler.eta == 4 and scheduler.min_resource == 1


def test_experiment_values_win_over_the_primary_config():
    image = compose_config(["experiment=image_cifar10"])
    assert image.train.epochs == 300
    assert image.optimizer.name == "sgd" and image.optimizer.weight_decay == 5e-4
    assert image.selector.interval == 20 and image.selector.kappa == 0.35
    text = compose_config(["experiment=text_trec6"])
    assert text.train.epochs == 20 and text.selector.interval == 5 and text.selector.kappa == 0


def test_make_targets_are_listed_and_expand():
    listed = subprocess.run(["make", "-s", "help"], cwd=ROOT, capture_output=True, text=True)
    for target in ("reproduce-tabular", "reproduce-text", "reproduce-image"):
        assert target in listed.stdout
    dry = subprocess.run(
        ["make", "-n", "reproduce-tabular", "QUICK=1"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "QUICK mode: shrunk protocol, not the paper's" in dry
    assert "selector=full search=" in dry and "~selector" not in dry  # full ignores fraction
    assert "scheduler=asha ~scheduler.bracket_order" in dry
    assert "-m automata.ranking" in dry and "-m automata.results" in dry


@pytest.mark.parametrize("modality", sorted(experiments_by_modality()))
def test_make_reproduce_runs_every_experiment_of_its_modality(modality):
    """The sweeps of ``make reproduce-<modality>`` are every conf/experiment YAML of that
    modality: a new experiment file joins them with no edit to mk/reproduce.mk."""
    dry = subprocess.run(
        ["make", "-n", f"reproduce-{modality}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    loop = re.search(r"for exp in ([^;]*);", dry)
    assert loop is not None, dry[-2000:]
    assert sorted(loop.group(1).split()) == experiments_by_modality()[modality]
