"""Reading run directories (automata.results.runs): a run is named by its command line's
options, a summary of another version makes a failed run with its reason, warm-start epochs as
recorded."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from automata.results import collect
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
