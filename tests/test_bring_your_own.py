"""Bring your own data and model: a user's project outside the package (a CSV and a Parquet
table, a CSV of labelled sentences, a folder of PNG images, a Python module with a dataset
callable and one with model classes, YAMLs in a config folder of their own) selected on the
command line through Hydra's search path, tuned end to end; then one of them with every
selector and every scheduler."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from automata.data.base import DataSplits, build_dataset
from automata.errors import AutomataError, ConfigError, DataError
from automata.run import run
from automata.run_outputs.summary import RunSummary

from .conftest import ROOT, compose_config, importable, options, tiny_run

SELECTORS = options("selector")
SCHEDULERS = options("scheduler")

MODELS_PY = '''
"""A user's models: they follow automata's model contract."""
import torch
from torch import nn


class TinyNet(nn.Module):
    def __init__(self, input_dim: int, num_classes: int, width: int = 16):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(input_dim, width), nn.ReLU())
        self.classifier = nn.Linear(width, num_classes)

    def forward(self, x):
        features = self.body(x)
        return self.classifier(features), features


class TinyConv(nn.Module):
    def __init__(self, in_channels: int, num_classes: int, width: int = 8):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(in_channels, width, 3, padding=1), nn.ReLU(),
            nn.AdaptiveAvgPool2d(1), nn.Flatten(),
        )
        self.classifier = nn.Linear(width, num_classes)

    def forward(self, x):
        features = self.body(x)
        return self.classifier(features), features
'''

DATA_PY = '''
"""A user's own data: any callable that returns automata's DataSplits."""
import torch
from automata.data.base import DataSplits, TensorBatchDataset


def blobs(n_per_class: int = 30, dim: int = 5, seed: int = 0) -> DataSplits:
    g = torch.Generator().manual_seed(seed)
    centers = 3.0 * torch.randn(3, dim, generator=g)
    x = torch.cat([c + torch.randn(n_per_class, dim, generator=g) for c in centers])
    y = torch.arange(3).repeat_interleave(n_per_class)
    perm = torch.randperm(len(y), generator=g)
    x, y = x[perm], y[perm]
    cut = [int(0.6 * len(y)), int(0.8 * len(y))]
    parts = [TensorBatchDataset(x[a:b], y[a:b]) for a, b in zip([0, *cut], [*cut, len(y)])]
    return DataSplits("blobs", *parts, num_classes=3, model_kwargs={"input_dim": dim},
                      notes=["blobs: three Gaussian blobs from a user's module"])
'''

SPACE = """
lr:
  path: optimizer.lr
  type: float
  low: 1.0e-3
  high: 3.0e-2
  log: true
width:
  path: model.width
  type: categorical
  choices: [8, 16]
"""


def write_project(root: Path) -> Path:
    """A user's project: data files, two Python modules, and ``conf/`` with one YAML per
    dataset and model. Returns the config folder."""
    data = root / "data"
    data.mkdir(parents=True)
    rng = np.random.default_rng(0)
    centers = rng.normal(size=(3, 4)) * 3
    names = ("alpha", "beta", "gamma")
    rows = ["f1,f2,f3,f4,kind"]
    table = {f"f{j + 1}": [] for j in range(4)} | {"kind": []}
    for i in range(90):
        point = centers[i % 3] + rng.normal(size=4)
        rows.append(",".join(f"{v:.4f}" for v in point) + f",{names[i % 3]}")
        for j in range(4):
            table[f"f{j + 1}"].append(round(float(point[j]), 4))
        table["kind"].append(names[i % 3])
    (data / "points.csv").write_text("\n".join(rows) + "\n")
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq

        pq.write_table(pa.table(table), data / "points.parquet")
    except ImportError:
        pass
    for split, n in (("train", 6), ("val", 2), ("test", 2)):
        for k, name in enumerate(("circle", "square")):
            folder = data / "shapes" / split / name
            folder.mkdir(parents=True)
            for i in range(n):
                pixels = rng.integers(0, 120, size=(12, 12, 3), dtype=np.uint8)
                pixels[3:9, 3:9, k] = 255  # a bright patch in the red or the green channel
                Image.fromarray(pixels).save(folder / f"{i}.png")
    # Labelled sentences, quoted as CSV quotes them (commas inside, "" for a quote).
    opinions = {"good": "a fine, warm film", "bad": 'a dull plot, ""weak"" actors'}
    lines = ["id,review,verdict"]
    for i in range(60):
        verdict = ("good", "bad")[i % 2]
        lines.append(f'{i},"review {i}: {opinions[verdict]}",{verdict}')
    (data / "reviews.csv").write_text("\n".join(lines) + "\n")
    (root / "mymodels.py").write_text(MODELS_PY)
    (root / "mydata.py").write_text(DATA_PY)

    conf = root / "conf"
    for group in ("dataset", "model", "space"):
        (conf / group).mkdir(parents=True)
    table_yaml = """
        _target_: automata.data.tabular.load_table
        name: {name}
        root: {data}
        files: {{all: {file}}}
        reader: {{_target_: automata.data.columns.ColumnReader, label: kind}}
        split: {{test: 0.2, val: 0.25, train: rest}}
        standardize: true
    """
    for name, file in (("mine_csv", "points.csv"), ("mine_parquet", "points.parquet")):
        text = table_yaml.format(name=name, data=data, file=file)
        (conf / "dataset" / f"{name}.yaml").write_text(textwrap.dedent(text))
    (conf / "dataset" / "mine_images.yaml").write_text(
        textwrap.dedent(f"""
        _target_: automata.data.images.load_image_folder
        name: mine_images
        root: {data / "shapes"}
        augment: true
        flip: true
        """)
    )
    (conf / "dataset" / "mine_text.yaml").write_text(
        textwrap.dedent(f"""
        _target_: automata.data.text.load_text
        name: mine_text
        root: {data}
        files: {{all: reviews.csv}}
        reader: {{_target_: automata.data.columns.TextColumnReader, text: review, label: verdict}}
        classes: [bad, good]
        split: {{test: 0.2, val: 0.25, train: rest}}
        """)
    )
    (conf / "dataset" / "mine_callable.yaml").write_text(
        "_target_: mydata.blobs\nn_per_class: 20\nseed: 1\n"
    )
    (conf / "model" / "tiny.yaml").write_text("_target_: mymodels.TinyNet\nwidth: 16\n")
    (conf / "model" / "tiny_conv.yaml").write_text("_target_: mymodels.TinyConv\nwidth: 8\n")
    # A model without a search space of its own: tuned with space=generic.
    (conf / "model" / "spaceless.yaml").write_text("_target_: mymodels.TinyNet\nwidth: 8\n")
    (conf / "space" / "tiny.yaml").write_text(SPACE)
    (conf / "space" / "tiny_conv.yaml").write_text(SPACE)
    return conf


#: A tiny run on the user's tiny data: small batches, a subset of several of them.
SMALL = [
    "threads=1",
    "train.batch_size=8",
    "scheduler=none",
    "selector=gradmatchpb",
]
TINY = tiny_run(
    *SMALL,
    "tuning.n_trials=2",
    "selector.fraction=0.3",
    "selector.batch_size=4",
    "selector.interval=1",
)


def _check_summary(summary: dict, dataset: str, model: str) -> None:
    assert summary.dataset == dataset
    assert summary.model == model
    assert summary.n_trials.completed >= 1
    assert set(summary.best_params) == {"lr", "width"}
    assert 0.0 <= summary.final_test_accuracy <= 1.0
    complete = [t for t in summary.trials if t.state == "complete"]
    assert complete and all(t.cost.selection_rounds >= 1 for t in complete)


@pytest.mark.slow
def test_own_tables_callable_and_model_through_the_command_line(tmp_path: Path) -> None:
    pytest.importorskip("pyarrow")
    project = tmp_path / "project"
    conf = write_project(project)
    out = tmp_path / "sweep"
    cmd = [
        sys.executable,
        "-m",
        "automata",
        "-m",
        f"hydra.searchpath=[file://{conf}]",
        "dataset=mine_csv,mine_parquet,mine_callable",
        "model=tiny",
        *TINY,
        f"hydra.sweep.dir={out}",
    ]
    # Run from the user's project folder (python -m puts it on sys.path), outside the package.
    proc = subprocess.run(cmd, cwd=project, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    summaries = {}
    for path in out.glob("*/summary.json"):
        summary = RunSummary.read(path)
        summaries[summary.dataset] = (summary, path.parent)
    assert set(summaries) == {"mine_csv", "mine_parquet", "blobs"}
    for name, (summary, _) in summaries.items():
        _check_summary(summary, name, "TinyNet")
    csv_summary, csv_dir = summaries["mine_csv"]
    parquet_summary, _ = summaries["mine_parquet"]
    # The same table as CSV and Parquet, same seed: the same study.
    assert csv_summary.best_params == parquet_summary.best_params
    assert csv_summary.final_test_accuracy == parquet_summary.final_test_accuracy
    log = (csv_dir / "automata.log").read_text()
    assert "labels alpha, beta, gamma mapped to 0..2" in log


@pytest.mark.slow
def test_own_image_folder_and_model_through_the_command_line(tmp_path: Path) -> None:
    project = tmp_path / "project"
    conf = write_project(project)
    out = tmp_path / "run"
    cmd = [
        sys.executable,
        "-m",
        "automata",
        f"hydra.searchpath=[file://{conf}]",
        "dataset=mine_images",
        "model=tiny_conv",
        *TINY,
        f"hydra.run.dir={out}",
    ]
    proc = subprocess.run(cmd, cwd=project, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    _check_summary(RunSummary.read(out / "summary.json"), "mine_images", "TinyConv")
    assert "circle=0, square=1" in (out / "automata.log").read_text()


@pytest.mark.slow
def test_own_text_csv_through_the_command_line(tmp_path: Path) -> None:
    project = tmp_path / "project"
    conf = write_project(project)
    out = tmp_path / "run"
    cmd = [
        sys.executable,
        "-m",
        "automata",
        f"hydra.searchpath=[file://{conf}]",
        "dataset=mine_text",
        "model=lstm_glove",
        *TINY,
        f"hydra.run.dir={out}",
    ]
    proc = subprocess.run(cmd, cwd=project, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert _completed_params(out) == [{"lr", "hidden_size", "batch_size", "num_layers"}] * 2
    assert "labels bad, good mapped to 0..1" in (out / "automata.log").read_text()


def test_own_text_csv_is_one_yaml(user_conf: Path) -> None:
    cfg = compose_config([f"hydra.searchpath=[file://{user_conf}]", "dataset=mine_text"])
    data = build_dataset(cfg.dataset)
    assert data.modality == "text" and data.num_classes == 2
    assert data.sizes() == {"train": 36, "val": 12, "test": 12}
    assert {"fine", "warm", "dull", "weak"} <= set(data.model_kwargs["vocab"])
    assert set(data.train.labels.tolist()) == {0, 1}


@pytest.mark.slow
def test_a_breach_of_the_model_contract_is_one_line_on_the_command_line(tmp_path: Path) -> None:
    project = tmp_path / "project"
    conf = write_project(project)
    (project / "mymodels.py").write_text(
        MODELS_PY.replace(
            "self.classifier = nn.Linear(width, num_classes)",
            "self.head = nn.Linear(width, num_classes)",
        ).replace("self.classifier(features)", "self.head(features)")
    )
    cmd = [
        sys.executable,
        "-m",
        "automata",
        f"hydra.searchpath=[file://{conf}]",
        "dataset=mine_callable",
        "model=tiny",
        *TINY,
        f"hydra.run.dir={tmp_path / 'run'}",
    ]
    proc = subprocess.run(cmd, cwd=project, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 2
    assert (
        "error: model TinyNet: its last layer must be an nn.Linear attribute named" in proc.stderr
    )
    assert "Traceback" not in proc.stderr


@pytest.mark.slow
def test_the_installed_command_imports_own_modules_from_the_folder_it_runs_in(tmp_path: Path):
    """Like ``python -m automata``; run from elsewhere, one line says how to import them."""
    command = Path(sys.executable).parent / "automata"
    project = tmp_path / "project"
    conf = write_project(project)
    args = [str(command), f"hydra.searchpath=[file://{conf}]", "dataset=mine_callable"]
    args += ["model=tiny", *TINY]
    ran = subprocess.run(
        [*args, f"hydra.run.dir={tmp_path / 'run'}"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert ran.returncode == 0, ran.stderr[-3000:]
    assert (tmp_path / "run" / "summary.json").is_file()

    elsewhere = subprocess.run(
        [*args, f"hydra.run.dir={tmp_path / 'elsewhere'}"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert elsewhere.returncode == 2
    assert elsewhere.stderr.strip().splitlines() == [
        "error: dataset._target_: cannot import 'mydata.blobs': no module named 'mydata' (a "
        "module of your own: run from the folder that holds it, or set PYTHONPATH=<that folder>)"
    ]


def test_a_sweep_over_ones_own_configs_is_checked_before_its_jobs(tmp_path: Path):
    """The sweep's checks compose each job with the user's config folder too."""
    project = tmp_path / "project"
    conf = write_project(project)
    res = subprocess.run(
        [sys.executable, "-m", "automata", "-m", f"hydra.searchpath=[file://{conf}]"]
        + ["dataset=mine_csv", "model=tiny", "selector.fraction=1.5", "seed=0,1"]
        + [f"hydra.sweep.dir={tmp_path / 'sweep'}"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert res.returncode == 2, res.stderr[-2000:]
    assert res.stderr.strip().splitlines() == [
        "error: every job of this sweep has invalid settings: selector.fraction must be in "
        "(0, 1], got 1.5"
    ]
    assert not (tmp_path / "sweep").exists()


# --------------------------------------------------------------- every selector and scheduler


@pytest.fixture(scope="module")
def user_conf(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The user's project, with its folder on sys.path (as when running from it)."""
    project = tmp_path_factory.mktemp("project")
    conf = write_project(project)
    with importable(project, ("mymodels", "mydata")):
        yield conf


def _user_cfg(conf: Path, out: Path, overrides: list[str]):
    cfg = compose_config(
        [
            f"hydra.searchpath=[file://{conf}]",
            "dataset=mine_csv",
            "model=tiny",
            *tiny_run(*SMALL, "train.epochs=3", "tuning.n_trials=3"),
            f"paths.output_dir={out}",
            *overrides,
        ]
    )
    for key, value in (("fraction", 0.3), ("batch_size", 4), ("interval", 1)):
        if key in cfg.selector:
            cfg.selector[key] = value
    return cfg


@pytest.mark.slow
@pytest.mark.parametrize("selector", SELECTORS)
def test_own_data_and_model_with_every_selector(user_conf: Path, tmp_path: Path, selector: str):
    cfg = _user_cfg(user_conf, tmp_path / "run", [f"selector={selector}"])
    summary = run(cfg)
    assert summary.dataset == "mine_csv" and summary.model == "TinyNet"
    assert summary.n_trials.completed >= 1
    assert 0.0 <= summary.final_test_accuracy <= 1.0
    on_disk = RunSummary.read(tmp_path / "run" / "summary.json")
    assert on_disk.selector.fraction == cfg.selector.get("fraction", 1.0)


@pytest.mark.slow
@pytest.mark.parametrize("scheduler", SCHEDULERS)
def test_own_data_and_model_with_every_scheduler(user_conf: Path, tmp_path: Path, scheduler: str):
    cfg = _user_cfg(user_conf, tmp_path / "run", [f"scheduler={scheduler}"])
    summary = run(cfg)
    assert summary.dataset == "mine_csv"
    assert summary.n_trials.completed + summary.n_trials.pruned >= 1
    assert 0.0 <= summary.final_test_accuracy <= 1.0


def _completed_params(run_dir: Path) -> list[set[str]]:
    """The parameter names of each completed trial of a run's study (in its study.db)."""
    import optuna

    study = optuna.load_study(
        study_name="automata", storage=f"sqlite:///{(run_dir / 'study.db').resolve()}"
    )
    return [set(t.params) for t in study.trials if t.state.name == "COMPLETE"]


# ------------------------------------------------------------ a model without a search space

NO_SPACE = (
    "error: space: model spaceless has no search space (space/spaceless.yaml is missing or "
    "empty): add it to the config folder that holds model/spaceless.yaml, or run with "
    "space=generic to tune the learning rate, batch size and weight decay"
)


def test_a_model_without_a_space_is_refused_in_one_line_or_tuned_with_space_generic(
    user_conf: Path,
) -> None:
    base = [f"hydra.searchpath=[file://{user_conf}]", "dataset=mine_callable", "model=spaceless"]
    from automata.run import build_components

    with pytest.raises(ConfigError) as info:
        build_components(compose_config(base))
    assert f"error: {info.value}" == NO_SPACE
    cfg = compose_config([*base, "space=generic"])
    build_components(cfg)
    assert set(cfg.space) == {"lr", "batch_size", "weight_decay"}


@pytest.mark.slow
def test_a_model_without_a_space_on_the_command_line(tmp_path: Path) -> None:
    project = tmp_path / "project"
    conf = write_project(project)
    cmd = [
        sys.executable,
        "-m",
        "automata",
        f"hydra.searchpath=[file://{conf}]",
        "dataset=mine_callable",
        "model=spaceless",
        *TINY,
    ]
    refused = subprocess.run(
        [*cmd, f"hydra.run.dir={tmp_path / 'refused'}"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert refused.returncode == 2
    assert refused.stderr.strip().splitlines()[-1] == NO_SPACE
    assert "Traceback" not in refused.stderr
    out = tmp_path / "run"
    tuned = subprocess.run(
        [*cmd, "space=generic", f"hydra.run.dir={out}"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert tuned.returncode == 0, tuned.stderr[-3000:]
    assert _completed_params(out) == [{"lr", "batch_size", "weight_decay"}] * 2


# ------------------------------------------------------------------- a callable's wrong result


def test_a_dataset_callable_must_return_data_splits(user_conf: Path) -> None:
    cfg = compose_config([f"hydra.searchpath=[file://{user_conf}]", "dataset=mine_callable"])
    data = build_dataset(cfg.dataset)
    assert isinstance(data, DataSplits) and data.name == "blobs" and data.modality == "tabular"
    cfg.dataset._target_ = "builtins.dict"
    with pytest.raises(ConfigError, match=r"^dataset: builtins.dict returned a dict, not "):
        build_dataset(cfg.dataset)


def test_splits_with_labels_out_of_range_are_named(user_conf: Path) -> None:
    cfg = compose_config([f"hydra.searchpath=[file://{user_conf}]", "dataset=mine_callable"])
    data = build_dataset(cfg.dataset)
    data.num_classes = 2
    with pytest.raises(DataError, match=r"^blobs: train labels range 0..2, expected .* 0..1$"):
        data.check()
    assert issubclass(DataError, AutomataError) and ROOT.is_dir()


@pytest.mark.parametrize(
    ("dataset", "expected"),
    [
        ("mine_csv", r"mine_csv: data folder .*nowhere does not exist \(it must hold points.csv\)"),
        ("mine_images", r"mine_images: image folder .*nowhere does not exist"),
    ],
)
def test_a_missing_folder_of_ones_own_names_dataset_root(
    user_conf: Path, tmp_path, dataset, expected
):
    """A user's YAML gives its folder as ``root``, not under ``paths.data_dir``: the message
    names the key that YAML uses."""
    cfg = compose_config([f"hydra.searchpath=[file://{user_conf}]", f"dataset={dataset}"])
    cfg.dataset.root = str(tmp_path / "nowhere")
    with pytest.raises(DataError, match=expected) as info:
        build_dataset(cfg.dataset)
    assert "set dataset.root (in the dataset's YAML) to the folder that holds" in str(info.value)
    assert "paths.data_dir" not in str(info.value)
