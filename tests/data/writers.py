"""Small data files in the real on-disk formats of the data sets' readers, for the data tests
and the end-to-end runs: torchvision's CIFAR-10/100 pickles and SVHN .mat files, the gzipped
connect-4 TSV, GLUE's TSV, and :func:`write_test_files`, which writes the files of any data set
of ``conf/dataset/`` from its YAML (a new data set of a known format needs no edit here).
"""

from __future__ import annotations

import gzip
import io
import pickle
import struct
from collections.abc import Callable
from pathlib import Path

import numpy as np
import scipy.io
from omegaconf import DictConfig, OmegaConf

from automata.data.connect4 import CONNECT4_CELLS
from automata.data.files import SHIPPED_DIR

# -- images ----------------------------------------------------------------------------------

PER_BATCH = 8  # CIFAR10 images per data_batch_i: 5 x 8 = 40 training images
N_TEST = 10
N_CIFAR100 = 30
N_SVHN = 20


class _Py2Pickler(pickle._Pickler):
    """Write ``bytes`` as Python 2 ``str`` opcodes, as the real CIFAR files (cPickle) do.

    Loaded with ``encoding="latin1"`` (torchvision) they become ``str``; with
    ``encoding="bytes"`` (the CIFAR web page's recipe) the keys are ``b'data'``, ``b'labels'``.
    The stdlib's pure-Python pickler is the only one whose dispatch table can be extended.
    """

    dispatch = pickle._Pickler.dispatch.copy()

    def save_str8(self, obj: bytes) -> None:
        n = len(obj)
        if n < 256:
            self.write(pickle.SHORT_BINSTRING + bytes([n]) + obj)
        else:
            self.write(pickle.BINSTRING + struct.pack("<i", n) + obj)
        self.memoize(obj)

    dispatch[bytes] = save_str8


def _dump_py2(obj: object, path: Path) -> None:
    buf = io.BytesIO()
    _Py2Pickler(buf, protocol=2).dump(obj)
    path.write_bytes(buf.getvalue())


def _rows(n: int, seed: int) -> np.ndarray:
    """n images as CIFAR rows: uint8 N x 3072, channel-major (1024 R, 1024 G, 1024 B)."""
    return np.random.default_rng(seed).integers(0, 256, size=(n, 3072), dtype=np.uint8)


def write_cifar10(root: Path) -> dict[str, np.ndarray]:
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    train_rows, train_labels = [], []
    for i in range(1, 6):
        rows = _rows(PER_BATCH, seed=i)
        labels = [(3 * j + i) % 10 for j in range(PER_BATCH)]
        _dump_py2(
            {
                b"batch_label": f"training batch {i} of 5".encode(),
                b"labels": labels,
                b"data": rows,
                b"filenames": [f"img_{i}_{j}.png".encode() for j in range(PER_BATCH)],
            },
            folder / f"data_batch_{i}",
        )
        train_rows.append(rows)
        train_labels += labels
    test_rows = _rows(N_TEST, seed=99)
    test_labels = [j % 10 for j in range(N_TEST)]
    _dump_py2(
        {b"batch_label": b"testing batch 1 of 1", b"labels": test_labels, b"data": test_rows},
        folder / "test_batch",
    )
    names = [n.encode() for n in ("airplane", "automobile", "bird", "cat", "deer")]
    names += [n.encode() for n in ("dog", "frog", "horse", "ship", "truck")]
    _dump_py2(
        {b"num_cases_per_batch": PER_BATCH, b"label_names": names, b"num_vis": 3072},
        folder / "batches.meta",
    )
    return {
        "train": np.vstack(train_rows),
        "train_labels": np.array(train_labels),
        "test": test_rows,
        "test_labels": np.array(test_labels),
    }


def write_cifar100(root: Path) -> dict[str, np.ndarray]:
    folder = root / "cifar-100-python"
    folder.mkdir(parents=True)
    out = {}
    for split, n, seed in (("train", N_CIFAR100, 7), ("test", N_TEST, 8)):
        rows = _rows(n, seed)
        fine = [(37 * j + seed) % 100 for j in range(n)]
        _dump_py2(
            {
                b"filenames": [f"{split}_{j}.png".encode() for j in range(n)],
                b"batch_label": f"{split} batch".encode(),
                b"fine_labels": fine,
                b"coarse_labels": [f // 5 for f in fine],
                b"data": rows,
            },
            folder / split,
        )
        out[split], out[f"{split}_labels"] = rows, np.array(fine)
    _dump_py2(
        {
            b"fine_label_names": [f"fine{i}".encode() for i in range(100)],
            b"coarse_label_names": [f"coarse{i}".encode() for i in range(20)],
        },
        folder / "meta",
    )
    return out


def write_svhn(root: Path) -> dict[str, np.ndarray]:
    root.mkdir(parents=True, exist_ok=True)
    out = {}
    for split, n, seed in (("train", N_SVHN, 3), ("test", N_TEST, 4)):
        rng = np.random.default_rng(seed)
        x = rng.integers(0, 256, size=(32, 32, 3, n), dtype=np.uint8)  # H x W x C x N
        digits = np.arange(n) % 10
        y = np.where(digits == 0, 10, digits).astype(np.uint8).reshape(n, 1)  # 10 means digit 0
        scipy.io.savemat(root / f"{split}_32x32.mat", {"X": x, "y": y})
        out[split], out[f"{split}_labels"] = x, digits
    return out


# -- connect-4 ------------------------------------------------------------------------------


def board_rows(n: int, seed: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """``n`` random boards (cells 0..2) and targets cycling 0, 1, 2."""
    cells = np.random.default_rng(seed).integers(0, 3, size=(n, len(CONNECT4_CELLS)))
    return cells, np.arange(n) % 3


def write_tsv(
    path: Path, cells: np.ndarray, targets: np.ndarray, header: list[str] | None = None
) -> Path:
    """The gzipped connect-4 TSV, columns in ``header`` order."""
    header = header or [*CONNECT4_CELLS, "target"]
    lines = ["\t".join(header)]
    for row, target in zip(cells.tolist(), targets.tolist()):
        value = dict(zip(CONNECT4_CELLS, row), target=target)
        lines.append("\t".join(str(value[h]) for h in header))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(("\n".join(lines) + "\n").encode()))
    return path


# -- GLUE ------------------------------------------------------------------------------------


def glue_rows(n: int, offset: int = 0) -> str:
    rows = [
        f"phrase number {i + offset} is {'good' if i % 2 else 'bad'} \t{i % 2}" for i in range(n)
    ]
    return "sentence\tlabel\n" + "\n".join(rows) + "\n"


# -- every data set of conf/dataset/ ---------------------------------------------------------

SHIPPED = SHIPPED_DIR


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
    cells, targets = board_rows(120)
    write_tsv(Path(str(node.root)) / node.files.all[0], cells, targets)
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
