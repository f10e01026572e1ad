"""Every dataset x model pair of the paper composes and runs a tiny tuning end to end:
real shipped files for dna, satimage, TREC and SST; files generated in the real on-disk
formats for letter, connect-4, GLUE SST-2 and the image sets (read by the real loaders,
torchvision's classes for images)."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from automata.run import run

from .data.test_images import write_cifar10, write_cifar100, write_svhn
from .data.test_tabular import _board_rows, _write_letter, _write_tsv
from .data.test_text import glue_rows

TINY = [
    "tuning.n_trials=2",
    "train.epochs=1",
    "scheduler=none",
    "tuning.tensorboard=false",
    "selector=gradmatchpb",
    "selector.fraction=0.2",
]


SHIPPED = Path(__file__).resolve().parents[1] / "src" / "automata" / "data" / "shipped"


def _head(src: Path, dst: Path, n: int) -> None:
    """The first n lines of a shipped file, same format (keeps the end-to-end runs short)."""
    raw = gzip.decompress(src.read_bytes()) if src.suffix == ".gz" else src.read_bytes()
    dst.parent.mkdir(parents=True, exist_ok=True)
    dst.write_bytes(b"".join(raw.splitlines(keepends=True)[:n]))


def _generate(name: str, data_dir) -> None:
    if name == "trec6":
        _head(SHIPPED / "trec" / "train_5500.label", data_dir / "trec6" / "train_5500.label", 600)
        _head(SHIPPED / "trec" / "TREC_10.label", data_dir / "trec6" / "TREC_10.label", 100)
    elif name in ("sst2", "sst5"):
        _head(SHIPPED / "sst" / "train.txt.gz", data_dir / name / "train.txt", 400)
        for split in ("dev", "test"):
            _head(SHIPPED / "sst" / f"{split}.txt", data_dir / name / f"{split}.txt", 100)
    elif name == "letter":
        _write_letter(data_dir / "letter")
    elif name == "connect4":
        cells, targets = _board_rows(120)
        _write_tsv(data_dir / "connect4" / "connect-4.tsv.gz", cells, targets)
    elif name == "glue_sst2":
        (data_dir / "glue_sst2").mkdir(parents=True)
        (data_dir / "glue_sst2" / "train.tsv").write_text(glue_rows(60), encoding="utf-8")
        (data_dir / "glue_sst2" / "dev.tsv").write_text(glue_rows(20, offset=100), encoding="utf-8")
    elif name == "cifar10":
        write_cifar10(data_dir / "cifar10")
    elif name == "cifar100":
        write_cifar100(data_dir / "cifar100")
    elif name == "svhn":
        write_svhn(data_dir / "svhn")


PAIRS = [
    ("dna", "mlp", []),  # the shipped files, whole
    ("satimage", "mlp", ["tuning.final_train=false"]),
    ("letter", "mlp", []),
    ("connect4", "mlp", []),
    ("trec6", "lstm_glove", ["dataset.root=${paths.data_dir}/trec6"]),
    ("sst2", "lstm_glove", ["dataset.root=${paths.data_dir}/sst2"]),
    ("sst5", "lstm_glove", ["dataset.root=${paths.data_dir}/sst5"]),
    ("glue_sst2", "lstm_glove", []),
    ("cifar10", "resnet18", ["dataset.verify_checksums=false", "selector.batch_size=4"]),
    (
        "cifar100",
        "resnet18",
        ["dataset.verify_checksums=false", "selector.batch_size=4", "tuning.final_train=false"],
    ),
    (
        "svhn",
        "resnet18",
        ["dataset.verify_checksums=false", "selector.batch_size=4", "tuning.final_train=false"],
    ),
    (
        "cifar10",
        "resnet50",
        [
            "dataset.verify_checksums=false",
            "selector.batch_size=4",
            "tuning.n_trials=1",
            "tuning.final_train=false",
        ],
    ),
]


@pytest.mark.slow
@pytest.mark.parametrize(
    ("dataset", "model", "extra"), PAIRS, ids=[f"{d}-{m}" for d, m, _ in PAIRS]
)
def test_tiny_tuning_end_to_end(make_cfg, tmp_path, dataset, model, extra):
    _generate(dataset, tmp_path / "data")
    cfg = make_cfg([f"dataset={dataset}", f"model={model}", *TINY, *extra])
    summary = run(cfg)
    on_disk = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert on_disk["dataset"] == dataset
    assert on_disk["n_trials"]["completed"] >= 1
    assert set(summary["best_params"]) == set(cfg.space.keys())
    assert 0.0 <= summary["best_val_accuracy"] <= 1.0
    if cfg.tuning.final_train:
        assert 0.0 <= summary["final_test_accuracy"] <= 1.0
    rounds = [t for t in on_disk["trials"] if t["state"] == "complete"]
    assert all(t["cost"]["selection_rounds"] >= 1 for t in rounds)
