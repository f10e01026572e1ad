"""Reading run directories (automata.results.runs): a run is named by its command line's
options, a summary of another version makes a failed run with its reason, warm-start epochs as
recorded."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from automata.results import collect
from automata.results.runs import failure_reason
from automata.selection.base import warm_start


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


# -- hand-made run directories ----------------------------------------------------------------


def test_the_reason_of_a_failed_run_is_the_last_error_line_of_its_logs(tmp_path):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "config.yaml").write_text("seed: 3\n")
    assert "no summary.json" in failure_reason(run_dir)  # no log: the generic reason
    (run_dir / "a.log").write_text(
        "[t][automata][INFO] - tuning\n[t][automata][ERROR] - data set not found\n"
    )
    (run_dir / "b.log").write_text("error: selector.fraction must be in (0, 1], got 2\nbye\n")
    assert failure_reason(run_dir) == "error: selector.fraction must be in (0, 1], got 2"
    (run_dir / "b.log").unlink()
    assert failure_reason(run_dir) == "data set not found"
    (run,) = collect([tmp_path]).runs
    assert not run.ok and run.reason == "data set not found" and run.seed == 3


def test_a_run_refused_before_config_yaml_is_read_from_hydras_records(tmp_path):
    """Hydra writes .hydra/config.yaml and .hydra/hydra.yaml even for a config the run then
    refuses: the run is listed with its options, from there."""
    hydra = tmp_path / "job" / ".hydra"
    hydra.mkdir(parents=True)
    config = {
        "dataset": {"name": "satimage"},
        "selector": {"fraction": 0.3, "kappa": 0.5},
        "seed": 4,
        "train": {"epochs": 5},
        "tuning": {"n_trials": 7},
    }
    (hydra / "config.yaml").write_text(yaml.safe_dump(config))
    choices = {"selector": "craigpb", "search": "random", "scheduler": "asha"}
    (hydra / "hydra.yaml").write_text(yaml.safe_dump({"hydra": {"runtime": {"choices": choices}}}))
    (run,) = collect([tmp_path]).runs
    assert not run.ok and run.path == tmp_path / "job"
    assert (run.dataset, run.selector, run.search, run.scheduler) == (
        "satimage",
        "craigpb",
        "random",
        "asha",
    )
    assert (run.fraction, run.kappa, run.seed, run.epochs, run.n_trials) == (0.3, 0.5, 4, 5, 7)
    assert run.warm_epochs == warm_start(0.5, 5, 0.3).full_epochs == 1  # ceil(floor(2.5) 0.3)


def test_collect_lists_each_run_once_and_reads_failed_commands(tmp_path):
    for name in ("b", "a"):
        (tmp_path / "sweep" / name).mkdir(parents=True)
        (tmp_path / "sweep" / name / "config.yaml").write_text("seed: 0\n")
    (tmp_path / "sweep" / "failed_commands.txt").write_text("python -m automata -m x=1\n\n")
    (tmp_path / "sweep" / "plots" / "c").mkdir(parents=True)  # not searched
    (tmp_path / "sweep" / "plots" / "c" / "config.yaml").write_text("seed: 0\n")
    found = collect([tmp_path / "sweep", tmp_path / "sweep" / "a"])
    assert [r.path.name for r in found.runs] == ["a", "b"]
    assert found.failed_commands == ["python -m automata -m x=1"]
    assert found.missing == found.runs and found.ok == []
