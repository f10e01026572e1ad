"""Tiny real tuning runs on dna: complete outputs, determinism, sweeps, failures."""

from __future__ import annotations

import json
import subprocess
import sys

import optuna
import pytest
import torch
import yaml

from automata.data.base import build_dataset
from automata.errors import AutomataError
from automata.models.saved import load_model
from automata.run import run
from automata.run_outputs.summary import RunSummary
from automata.selection.gradmatch import GradMatchPB
from automata.training.loop import evaluate
from automata.training.trainer import Trainer

from .conftest import ROOT, tiny_run

#: Hyperband from epoch 1: 4 trials of up to 3 epochs, some of them stopped early.
TINY = ["tuning.n_trials=4", "train.epochs=3", "scheduler.min_resource=1"]


def test_tiny_run_writes_complete_outputs(tiny_cfg, tmp_path):
    cfg = tiny_cfg([*TINY, "tuning.tensorboard=true"])
    summary = run(cfg)
    out = tmp_path / "run"
    on_disk = RunSummary.read(out / "summary.json")
    assert on_disk == summary  # the file holds every field, and reads back exactly
    assert on_disk.selector.name == "gradmatchpb"
    assert on_disk.selector.fraction == 0.1
    raw = json.loads((out / "summary.json").read_text())
    assert raw["selector"]["lam_relative"] is False  # a flag is a JSON boolean, not "False"
    n = on_disk.n_trials
    assert n.total == 4 and n.completed + n.pruned + n.failed == 4
    assert n.completed >= 1
    assert 0.0 <= on_disk.final_test_accuracy <= 1.0
    assert on_disk.final_test_accuracy > 0.5  # 3 classes: well above chance after 3 epochs
    assert on_disk.selection_seconds > 0.0
    assert set(on_disk.best_params) == set(cfg.space.keys())
    assert summary.best_val_accuracy == on_disk.best_val_accuracy
    assert (out / "report.md").read_text().startswith("# automata run")
    # The final model is kept, and what it needs to be built again: it gives the run's result.
    assert on_disk.final_model == "final_model.pt"
    model = load_model(out / "final_model.pt")
    data = build_dataset(cfg.dataset)
    test_accuracy, _ = evaluate(model, data.test, torch.device("cpu"), 1024)
    assert test_accuracy == on_disk.final_test_accuracy
    # the options picked in each group, as on the command line, in the summary and config.yaml
    picked = {
        "dataset": "dna",
        "model": "mlp",
        "space": "mlp",
        "search": "tpe",
        "scheduler": "hyperband",
        "selector": "gradmatchpb",
        "experiment": None,
    }
    assert on_disk.choices == picked
    assert yaml.safe_load((out / "config.yaml").read_text())["hydra"]["runtime"] == {
        "choices": picked
    }
    # the study is a real Optuna SQLite study holding every trial
    study = optuna.load_study(study_name="automata", storage=f"sqlite:///{out / 'study.db'}")
    assert len(study.trials) == 4
    # TensorBoard: one folder of events per trial plus the hparams view
    tb = out / "tensorboard"
    trial_dirs = sorted(p.name for p in tb.iterdir() if p.name.startswith("trial_"))
    assert len(trial_dirs) == 4
    assert any((tb / "hparams").rglob("events.out.tfevents.*"))
    # costs are accounted per trial: subset epochs cost a fraction of a full epoch
    for t in on_disk.trials:
        if t.state != "fail":
            assert t.cost.epochs == t.epochs
            assert t.cost.full_equivalent_epochs <= 0.11 * t.epochs + 1e-6


def test_same_seed_same_best_params_and_subsets(tiny_cfg, tmp_path):
    a = run(tiny_cfg(TINY + ["selector.interval=1"], out=tmp_path / "a"))
    b = run(tiny_cfg(TINY + ["selector.interval=1"], out=tmp_path / "b"))
    assert a.best_params == b.best_params
    assert [t.value for t in a.trials] == [t.value for t in b.trials]

    cfg = tiny_cfg(["train.epochs=3"])
    from automata.build import build

    data = build("dataset", cfg.dataset)
    subsets = []
    for _ in range(2):
        trainer = Trainer(cfg, data, GradMatchPB(fraction=0.1, interval=1), torch.device("cpu"))
        chosen = []
        for _ in range(3):
            trainer.run_epoch()
            chosen.append(trainer.subset.indices.clone())
        subsets.append(chosen)
    for x, y in zip(*subsets):
        assert torch.equal(x, y)
    assert not torch.equal(subsets[0][0], subsets[0][1])  # reselection does change the subset


def test_all_trials_diverging_is_a_clear_error(tiny_cfg, tmp_path):
    # SGD with an absurd learning rate: every trial's loss overflows; each is recorded as
    # failed with its reason, failed configurations are replaced by new ones, and after
    # tuning.max_failures the run ends with one clear error.
    cfg = tiny_cfg(
        [
            "scheduler=none",
            "selector=full",
            "~space",
            "+space.lr={path: optimizer.lr, type: float, low: 1e12, high: 1e13}",
            "optimizer.name=sgd",
            "tuning.max_failures=3",
            "tuning.final_train=false",
        ]
    )
    with pytest.raises(AutomataError, match=r"3 trials failed \(tuning.max_failures=3\)"):
        run(cfg)
    study = optuna.load_study(
        study_name="automata", storage=f"sqlite:///{tmp_path / 'run' / 'study.db'}"
    )
    assert [t.state.name for t in study.trials] == ["FAIL", "FAIL", "FAIL"]
    assert all("loss" in t.user_attrs["fail_reason"] for t in study.trials)


@pytest.mark.slow
def test_multirun_sweep(tmp_path):
    res = subprocess.run(
        [
            sys.executable,
            "-m",
            "automata",
            "-m",
            *tiny_run(
                "selector=full,gradmatchpb",
                "seed=0,1",
                "scheduler=none",
                "tuning.final_train=false",
            ),
            f"hydra.sweep.dir={tmp_path}",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert res.returncode == 0, res.stderr[-2000:]
    summaries = sorted(tmp_path.rglob("summary.json"))
    assert len(summaries) == 4
    seen = {(RunSummary.read(p).selector.name, RunSummary.read(p).seed) for p in summaries}
    assert seen == {("full", 0), ("full", 1), ("gradmatchpb", 0), ("gradmatchpb", 1)}
    # under Hydra's command line the choices come from the running application
    choices = {RunSummary.read(p).choices["selector"] for p in summaries}
    assert choices == {"full", "gradmatchpb"}
    assert {RunSummary.read(p).choices["scheduler"] for p in summaries} == {"none"}


@pytest.mark.slow
def test_cli_default_run_prints_where_outputs_are(tmp_path):
    res = subprocess.run(
        [
            sys.executable,
            "-m",
            "automata",
            *tiny_run("tuning.n_trials=3"),
            f"hydra.run.dir={tmp_path}",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert res.returncode == 0, res.stderr[-2000:]
    log = res.stdout + res.stderr
    assert "outputs:" in log and "[3/3]" in log
    assert (tmp_path / "summary.json").exists()


@pytest.mark.slow
def test_multirun_goes_on_after_a_failed_job(tmp_path):
    res = subprocess.run(
        [
            sys.executable,
            "-m",
            "automata",
            "-m",
            *tiny_run(
                "selector.fraction=1.5,0.2",
                "tuning.n_trials=1",
                "train.epochs=1",
                "scheduler=none",
                "tuning.final_train=false",
            ),
            f"hydra.sweep.dir={tmp_path}",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    # The other job ran; then the sweep lists the failed one and exits non-zero.
    assert res.returncode == 1, res.stderr[-2000:]
    assert len(list(tmp_path.rglob("summary.json"))) == 1
    lines = res.stderr.strip().splitlines()
    assert lines[-2] == "error: 1 of 2 jobs of this sweep failed:"
    assert lines[-1].startswith("  0_") and lines[-1].endswith(
        ": selector.fraction must be in (0, 1], got 1.5"
    )
    assert (tmp_path / lines[-1].strip().split(":")[0] / "failed.txt").exists()


def test_asha_never_prunes_a_trial_at_its_last_epoch(tiny_cfg):
    """With eta=2 and T=8, epoch 8 is also a rung of Optuna's successive-halving pruner; a
    trial that trained all 8 epochs has finished and must end COMPLETE, not PRUNED."""
    summary = run(
        tiny_cfg(
            [
                "scheduler=asha",
                "scheduler.eta=2",
                "train.epochs=8",
                "tuning.n_trials=10",
                "selector=random",
                "tuning.final_train=false",
            ]
        )
    )
    at_end = [t for t in summary.trials if t.epochs == 8]
    assert at_end, "some trial must reach the last epoch"
    assert all(t.state == "complete" for t in at_end), at_end
    assert any(t.state == "pruned" for t in summary.trials)  # ASHA still stops others


def test_warm_start_costs_about_the_subset_epochs_it_replaces(tiny_cfg):
    """kappa=0.35, T=10, 10%: one full-data epoch stands in for epochs 0-2 (floor(3.5) = 3),
    so a configuration trained to the end costs 1 + 7 * 0.1 full-data epochs (not 1 + 10 *
    0.1), reports the schedule's epochs, and the summary records the warm start."""
    summary = run(
        tiny_cfg(
            [
                "scheduler=none",
                "train.epochs=10",
                "selector.kappa=0.35",
                "tuning.final_train=false",
            ]
        )
    )
    assert summary.selector.warm_full_epochs == 1
    assert summary.selector.warm_covers_epochs == 3
    assert summary.warm_epochs == 2.0
    for t in summary.trials:
        assert t.state == "complete" and t.epochs == 10
        cost = t.cost
        assert cost.epochs == 10 and cost.warm_epochs == 1
        # subset of floor(0.1 * 1400) = 140 examples of dna's 1400
        assert cost.full_equivalent_epochs == pytest.approx(1 + 7 * 0.1)


@pytest.mark.parametrize("scheduler", ["hyperband", "asha"])
def test_validation_only_where_the_scheduler_decides_changes_no_result(
    tiny_cfg, tmp_path, scheduler
):
    """Rung-only validation (the default) against validation after every epoch: same trial
    values, same best trial, same final test accuracy; fewer validation passes."""
    common = [
        f"scheduler={scheduler}",
        "train.epochs=9",
        "tuning.n_trials=8",
        "selector=gradmatchpb",
    ]
    rung = run(tiny_cfg(common, out=tmp_path / "rung"))
    every = run(tiny_cfg(common + ["train.eval_every=1"], out=tmp_path / "every"))
    assert rung.best_trial == every.best_trial
    assert rung.best_val_accuracy == every.best_val_accuracy
    assert rung.final_test_accuracy == every.final_test_accuracy
    assert [t.value for t in rung.trials] == [t.value for t in every.trials]
    assert [t.state for t in rung.trials] == [t.state for t in every.trials]
    # Every epoch of every trial was validated with eval_every=1; far fewer without.
    study = optuna.load_study(
        study_name="automata", storage=f"sqlite:///{tmp_path / 'rung/study.db'}"
    )
    full = optuna.load_study(
        study_name="automata", storage=f"sqlite:///{tmp_path / 'every/study.db'}"
    )
    n_rung = sum(len(t.intermediate_values) for t in study.trials)
    n_every = sum(len(t.intermediate_values) for t in full.trials)
    assert n_every == sum(t.last_step for t in full.trials)
    assert n_rung < n_every


def test_cost_model_in_summary_and_report(tiny_cfg, tmp_path):
    summary = run(tiny_cfg(TINY))
    cm = summary.cost_model
    assert cm.full_epoch_source == "final" and cm.full_epoch_seconds > 0
    e = cm.full_epoch_seconds
    epochs = summary.epochs_trained
    # The terms add back up to the measured tuning time.
    parts = (cm.c_train + cm.c_eval + cm.c_fix) * epochs * e
    parts += cm.c_sel * cm.rounds_per_epoch * epochs * e
    assert parts == pytest.approx(summary.tuning_seconds, rel=1e-6)
    limit = 1 / (cm.f + cm.c_sel * cm.rounds_per_epoch + cm.c_eval + cm.c_fix)
    assert cm.speedup_limit == pytest.approx(limit)
    assert 0 < cm.speedup_limit < 1 / cm.f
    report = (tmp_path / "run" / "report.md").read_text()
    assert f"Fastest speedup possible at fraction 0.1: **{cm.speedup_limit:.3g}x**" in report


def test_a_sweep_invalid_for_every_job_is_refused_before_any_job(tmp_path):
    res = subprocess.run(
        [sys.executable, "-m", "automata", "-m", "selector.fraction=1.5", "seed=0,1"]
        + [f"hydra.sweep.dir={tmp_path / 'sweep'}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert res.returncode == 2
    assert res.stderr.strip().splitlines() == [
        "error: every job of this sweep has invalid settings: "
        "selector.fraction must be in (0, 1], got 1.5"
    ]
    assert not (tmp_path / "sweep").exists(), "no job ran"


@pytest.mark.slow
def test_a_value_the_search_space_samples_is_warned_about(tmp_path):
    res = subprocess.run(
        [
            sys.executable,
            "-m",
            "automata",
            *tiny_run(
                "optimizer.lr=0.01",
                "tuning.n_trials=1",
                "train.epochs=1",
                "scheduler=none",
                "tuning.final_train=false",
            ),
            f"hydra.run.dir={tmp_path}",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert res.returncode == 0, res.stderr[-2000:]
    warnings = [line for line in res.stdout.splitlines() if "optimizer.lr=0.01" in line]
    assert len(warnings) == 1
    assert "the search space samples optimizer.lr for every trial (space.lr)" in warnings[0]
    trial_lr = RunSummary.read(tmp_path / "summary.json").trials[0].params["lr"]
    assert trial_lr != 0.01  # indeed replaced: the warning is true
