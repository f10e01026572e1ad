"""Every data set and every model of ``conf/`` composes and runs a tiny tuning end to end.

The pairs come from ``conf/``: each data set with the model of the experiment that uses it
(``conf/experiment/``), else with a model that takes its kind of input; each model no
experiment uses, with a data set of its kind of input. The files are the shipped ones (dna,
satimage), the first lines of the shipped ones (TREC, SST), or generated in the real on-disk
format of the data set's reader (LIBSVM, the connect-4 TSV, GLUE's TSV, torchvision's CIFAR and
SVHN files): a new data set of a known format is tested as soon as its YAML exists.
"""

from __future__ import annotations

import gzip
import inspect
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from hydra.utils import get_method
from omegaconf import DictConfig, OmegaConf

from automata.build import build
from automata.data.base import MODEL_INPUTS
from automata.run import run
from automata.run_outputs.summary import RunSummary

from .conftest import CONF, options
from .data.test_images import write_cifar10, write_cifar100, write_svhn
from .data.test_tabular import _board_rows, _write_tsv
from .data.test_text import glue_rows

TINY = [
    "train.epochs=1",
    "scheduler=none",
    "selector=gradmatchpb",
    "selector.fraction=0.2",
    "selector.batch_size=4",  # candidate batches of 4: several even on the tiny image sets
]

SHIPPED = Path(__file__).resolve().parents[1] / "src" / "automata" / "data" / "shipped"


def _head(src: Path, dst: Path, n: int) -> None:
    """The first n lines of a shipped file, same format (keeps the end-to-end runs short)."""
    raw = gzip.decompress(src.read_bytes()) if src.suffix == ".gz" else src.read_bytes()
    dst.parent.mkdir(parents=True, exist_ok=True)
    dst.write_bytes(b"".join(raw.splitlines(keepends=True)[:n]))


# -- small files in each format: writer(dataset name, its config node, data_dir) -> overrides
def _libsvm(name: str, node: DictConfig, data_dir: Path) -> list[str]:
    if node.root is None:
        return []  # the shipped, checksummed copy
    rng = np.random.default_rng(7)
    root = Path(str(node.root))
    root.mkdir(parents=True, exist_ok=True)
    for value in node.files.values():
        file = value if isinstance(value, str) else value[-1]  # the plain-text variant
        rows = []
        for i in range(60):
            idx = np.sort(rng.choice(node.reader.n_features, size=5, replace=False)) + 1
            rows.append(f"{i % 4 + 1} " + " ".join(f"{j}:{rng.uniform(-1, 1):.4f}" for j in idx))
        (root / file).write_text("\n".join(rows) + "\n")
    return []


def _connect4(name: str, node: DictConfig, data_dir: Path) -> list[str]:
    cells, targets = _board_rows(120)
    _write_tsv(Path(str(node.root)) / node.files.all[0], cells, targets)
    return []


def _trec(name: str, node: DictConfig, data_dir: Path) -> list[str]:
    _head(SHIPPED / "trec" / "train_5500.label", data_dir / name / "train_5500.label", 600)
    _head(SHIPPED / "trec" / "TREC_10.label", data_dir / name / "TREC_10.label", 100)
    return [f"dataset.root={data_dir / name}"]


def _sst(name: str, node: DictConfig, data_dir: Path) -> list[str]:
    _head(SHIPPED / "sst" / "train.txt.gz", data_dir / name / "train.txt", 400)
    for split in ("dev", "test"):
        _head(SHIPPED / "sst" / f"{split}.txt", data_dir / name / f"{split}.txt", 100)
    return [f"dataset.root={data_dir / name}"]


def _text_columns(name: str, node: DictConfig, data_dir: Path) -> list[str]:
    """Every file of the YAML as a table with its reader's text and label columns (GLUE's
    TSV: ``sentence<TAB>label``), labels from its classes."""
    root = Path(str(node.root))
    root.mkdir(parents=True)
    classes = list(node.classes) if node.get("classes") is not None else [0, 1]
    for k, value in enumerate(node.files.values()):
        file = value if isinstance(value, str) else value[0]
        sep = "\t" if ".tsv" in file else ","
        rows = glue_rows(60 if k == 0 else 20, offset=100 * k).splitlines()[1:]
        lines = [f"{node.reader.text}{sep}{node.reader.label}"]
        for i, row in enumerate(rows):
            label = classes[i % len(classes)]
            label = label[0] if OmegaConf.is_list(label) else label
            lines.append(f"{row.rsplit(chr(9), 1)[0]}{sep}{label}")
        (root / file).write_text("\n".join(lines) + "\n", encoding="utf-8")
    return []


def _images(write: Callable[[Path], object]) -> Callable[[str, DictConfig, Path], list[str]]:
    def writer(name: str, node: DictConfig, data_dir: Path) -> list[str]:
        write(Path(str(node.root)))
        return ["dataset.verify_checksums=false"]

    return writer


#: Writers by format: the reader of a table or a text, the torchvision class of images.
WRITERS = {
    "automata.data.libsvm.LibsvmReader": _libsvm,
    "automata.data.connect4.Connect4Reader": _connect4,
    "automata.data.trec.TrecReader": _trec,
    "automata.data.ptb_trees.PtbTreeReader": _sst,
    "automata.data.columns.TextColumnReader": _text_columns,
    "torchvision.datasets.CIFAR10": _images(write_cifar10),
    "torchvision.datasets.CIFAR100": _images(write_cifar100),
    "torchvision.datasets.SVHN": _images(write_svhn),
}


def data_format(node: DictConfig) -> str:
    if "reader" in node:
        return str(node.reader._target_)
    return str(node.get("source") or node._target_)


def write_test_files(node: DictConfig, data_dir: Path) -> list[str]:
    """Small files of the data set of config ``node`` in its real format, under ``data_dir``
    (nothing for a shipped copy); returns the overrides that make a run read them."""
    fmt = data_format(node)
    assert fmt in WRITERS, f"no test files for format {fmt}: add a writer to WRITERS"
    return WRITERS[fmt](str(node.name), node, data_dir)


def model_input(model: str) -> str | None:
    """The kind of data a model option is for: the MODEL_INPUTS argument its constructor
    takes (``input_dim``: tabular, ``vocab``: text, ``in_channels``: images)."""
    target = str(OmegaConf.load(CONF / "model" / f"{model}.yaml")._target_)
    params = inspect.signature(get_method(target)).parameters
    return next((kind for kind, arg in MODEL_INPUTS.items() if arg in params), None)


def _pairs() -> list[tuple[str, str | None, list[str]]]:
    by_experiment: dict[str, str] = {}
    for experiment in options("experiment"):
        node = OmegaConf.load(CONF / "experiment" / f"{experiment}.yaml")
        picked = {k: v for d in node.defaults for k, v in d.items()}
        by_experiment.setdefault(picked["override /dataset"], picked["override /model"])
    pairs: list[tuple[str, str | None, list[str]]] = []
    seen_formats: set[str] = set()
    for dataset in options("dataset"):
        fmt = data_format(OmegaConf.load(CONF / "dataset" / f"{dataset}.yaml"))
        # Final training once per format (it retrains on the full data: the slow part).
        extra = [] if fmt not in seen_formats else ["tuning.final_train=false"]
        seen_formats.add(fmt)
        pairs.append((dataset, by_experiment.get(dataset), extra))  # None: chosen by its data
    kinds = {model_input(m): d for d, m, _ in pairs if m is not None}
    for model in options("model"):
        if model not in by_experiment.values() and model_input(model) in kinds:
            pairs.append((kinds[model_input(model)], model, FEWER))
    return pairs


FEWER = ["tuning.n_trials=1", "tuning.final_train=false"]
PAIRS = _pairs()


def test_every_model_is_paired():
    assert {m for _, m, _ in PAIRS} >= set(options("model"))


@pytest.mark.slow
@pytest.mark.parametrize(
    ("dataset", "model", "extra"), PAIRS, ids=[f"{d}-{m or 'auto'}" for d, m, _ in PAIRS]
)
def test_tiny_tuning_end_to_end(tiny_cfg, tmp_path, dataset, model, extra):
    data_dir = tmp_path / "data"
    node = tiny_cfg([f"dataset={dataset}"]).dataset
    extra = [*write_test_files(node, data_dir), *extra]
    if model is None:  # a data set no experiment uses: a model that takes its input
        data = build("dataset", tiny_cfg([f"dataset={dataset}", *extra]).dataset)
        model = next(m for m in options("model") if model_input(m) == data.modality)
    cfg = tiny_cfg([f"dataset={dataset}", f"model={model}", *TINY, *extra])
    summary = run(cfg)
    on_disk = RunSummary.read(tmp_path / "run" / "summary.json")
    assert on_disk.dataset == dataset
    assert on_disk.choices["dataset"] == dataset and on_disk.choices["model"] == model
    assert on_disk.n_trials.completed >= 1
    assert set(summary.best_params) == set(cfg.space.keys())
    assert 0.0 <= summary.best_val_accuracy <= 1.0
    if cfg.tuning.final_train:
        assert 0.0 <= summary.final_test_accuracy <= 1.0
    rounds = [t for t in on_disk.trials if t.state == "complete"]
    assert all(t.cost.selection_rounds >= 1 for t in rounds)
