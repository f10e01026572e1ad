"""A selector and a scheduler of a user's own, outside the package: a Python module and one
YAML each in a config folder of the user's (Hydra's search path), exactly the examples of
``docs/extending.md``. They keep the selector and scheduler contracts, tune from the command
line, and the report names and draws their runs by their options: nothing in the package lists
them."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

from automata.build import build
from automata.data.base import DataSplits, TensorBatchDataset
from automata.results import build_results
from automata.run_outputs.summary import RunSummary
from automata.selection.base import SelectionContext

from .conftest import ROOT, compose_config, importable, tiny_run
from .selection.contract import check_contract
from .tuning.simulated import check_scheduler_contract

EXTENDING = ROOT / "docs" / "extending.md"


def documented_example(section: str) -> tuple[str, str]:
    """The Python module and the YAML that ``docs/extending.md`` shows under ``section``."""
    text = EXTENDING.read_text().split(f"## {section}\n", 1)[1].split("\n## ", 1)[0]
    python = re.search(r"```python\n(.*?)```", text, re.S)
    yaml = re.search(r"```yaml\n(.*?)```", text, re.S)
    assert python and yaml, f"docs/extending.md: no example under '{section}'"
    return python.group(1), yaml.group(1)


def write_user_project(root: Path) -> Path:
    """The documented examples, as written: ``myselection.py`` and ``conf/selector/hardest.yaml``,
    ``myscheduling.py`` and ``conf/scheduler/top_half.yaml``."""
    conf = root / "conf"
    for section, module, group, option in (
        ("Adding a selector", "myselection", "selector", "hardest"),
        ("Adding a scheduler", "myscheduling", "scheduler", "top_half"),
    ):
        code, yaml = documented_example(section)
        assert f"# {module}.py" in code and f"conf/{group}/{option}.yaml" in yaml
        (root / f"{module}.py").write_text(code)
        (conf / group).mkdir(parents=True)
        (conf / group / f"{option}.yaml").write_text(yaml)
    return conf


@pytest.fixture(scope="module")
def user_conf(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The user's project, its folder on sys.path (as when running from it)."""
    project = tmp_path_factory.mktemp("project")
    conf = write_user_project(project)
    with importable(project, ("myselection", "myscheduling")):
        yield conf


def test_own_selector_keeps_the_selector_contract(user_conf: Path) -> None:
    node = compose_config([f"hydra.searchpath=[file://{user_conf}]", "selector=hardest"]).selector
    selector = build("selector", node)
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(120, 4, generator=g), torch.arange(3).repeat(40)
    data = DataSplits(
        "points",
        TensorBatchDataset(x[:80], y[:80]),
        TensorBatchDataset(x[80:100], y[80:100]),
        TensorBatchDataset(x[100:], y[100:]),
        num_classes=3,
        model_kwargs={"input_dim": 4},
    )
    model = build("model", compose_config(["model=mlp"]).model, input_dim=4, num_classes=3)
    ctx = SelectionContext(model, data, torch.device("cpu"), torch.Generator(), batch_size=32)
    sub = selector.select(ctx)
    check_contract(sub, selector, 80)
    assert selector.name == "HardestExamples" and len(sub) == 8  # 10% of 80


def test_own_scheduler_keeps_the_scheduler_contract(user_conf: Path) -> None:
    cfg = compose_config(
        [f"hydra.searchpath=[file://{user_conf}]", "scheduler=top_half", "train.epochs=4"]
    )
    engine = check_scheduler_contract(build("scheduler", cfg.scheduler), n_trials=6)
    assert len(engine.completed) == 3 and len(engine.pruned) == 3 and engine.paused


@pytest.mark.slow
def test_own_selector_and_scheduler_tune_and_are_reported_by_name(
    user_conf: Path, tmp_path: Path
) -> None:
    sweep = tmp_path / "sweep"
    cmd = [
        sys.executable,
        "-m",
        "automata",
        "-m",
        f"hydra.searchpath=[file://{user_conf}]",
        *tiny_run(
            "selector=hardest,full",
            "scheduler=top_half,none",
            "tuning.n_trials=4",
            "train.epochs=3",
            "threads=1",
        ),
        f"hydra.sweep.dir={sweep}",
    ]
    # From the user's project folder (python -m puts it on sys.path), outside the package.
    proc = subprocess.run(cmd, cwd=user_conf.parent, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    summaries = [RunSummary.read(p) for p in sweep.glob("*/summary.json")]
    picked = sorted((s.choices["selector"], s.choices["scheduler"]) for s in summaries)
    assert picked == [("full", "none"), ("full", "top_half"), ("hardest", "none")] + [
        ("hardest", "top_half")
    ]
    for s in summaries:
        states = sorted(t.state for t in s.trials)
        if s.choices["scheduler"] == "top_half":
            assert states == ["complete", "complete", "pruned", "pruned"]
            assert s.epochs_trained == 4 * 1 + 2 * 2  # the halving, as planned
        if s.choices["selector"] == "hardest":
            rounds = [t.cost.selection_rounds for t in s.trials]
            assert all(r >= 1 for r in rounds)

    report = build_results([sweep], out=tmp_path / "report", plots=True)
    rows = {(r["selector"], r["scheduler"]): r for r in report.rows}
    assert set(rows) == set(picked)
    for scheduler in ("none", "top_half"):
        assert rows[("full", scheduler)]["speedup"] == pytest.approx(1.0)
        assert rows[("hardest", scheduler)]["speedup"] is not None  # compared with full
        assert rows[("hardest", scheduler)]["fraction"] == 0.1
    assert rows[("hardest", "none")]["test_acc_mean"] is not None
    drawn = sorted(p.name for p in report.plots)
    assert "speedup_vs_gap_dna.png" in drawn and "time_breakdown_dna.png" in drawn
    assert "learning_curves_dna.png" in drawn
    text = report.markdown.read_text()
    assert "| hardest | 10% |" in text and "top_half" in text
