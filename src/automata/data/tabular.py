"""Tabular workloads of the AUTOMATA paper: dna, satimage, letter and connect-4.

Every loader returns :class:`~automata.data.base.DataSplits` of dense ``float32`` features
(:class:`~automata.data.base.TensorBatchDataset`), with ``model_kwargs={"input_dim": F}`` for the
MLP and the class count. Labels are mapped to ``0..C-1`` by the sorted label values of all splits
together (:func:`~automata.data.libsvm.encode_labels`), so a class has the same index in every
split. ``notes`` say where the files came from and how any split was made.

Data:

* dna and satimage ship with the package (``automata/data/shipped/``, see its README.md for
  provenance); ``root=None`` reads that copy.
* letter and connect-4 are read from ``root`` (``${paths.data_dir}/letter`` and ``/connect4`` in
  the configs) and can be downloaded from the LIBSVM data page with ``download=True``.

Checksums: every file whose name is a published one with a known sha256 (:data:`KNOWN_SHA256`:
the dna and satimage files) is verified before it is read, whatever folder it is read from, once
per process per unchanged file. No checksum is published for the LIBSVM letter and connect-4
files, so those are only parsed strictly.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from automata.data.base import DataSplits, TensorBatchDataset
from automata.data.files import PathLike, data_dir_hint, read_text, require_files, verify_sha256
from automata.data.files import download as download_file
from automata.data.libsvm import encode_labels, format_labels, read_libsvm
from automata.errors import DataError

__all__ = [
    "CONNECT4_CELLS",
    "DNA_FILES",
    "KNOWN_SHA256",
    "LETTER_FILES",
    "LIBSVM_MULTICLASS_URL",
    "SHIPPED_DIR",
    "load_connect4",
    "load_dna",
    "load_letter",
    "load_satimage",
    "read_connect4_tsv",
    "verify_known_file",
]

#: The LIBSVM data page's multiclass folder (dna, satimage, letter and connect-4 live there).
LIBSVM_MULTICLASS_URL = "https://www.csie.ntu.edu.tw/~cjlin/libsvmtools/datasets/multiclass"

#: Data files that ship inside the package.
SHIPPED_DIR = Path(__file__).resolve().parent / "shipped"

#: sha256 of the published files, by file name (from shared/data/README.md). For
#: ``satimage.scale`` it is the digest of the uncompressed content of ``satimage.scale.gz``.
KNOWN_SHA256: dict[str, str] = {
    "dna.scale": "03d39477c5e48415e9cd18e006efc8f7a3b5c3deaee8289a72511c35070e3cfe",
    "dna.scale.tr": "101d8f3dc2b4da34263a9dd35694a3896df5830de16650f1307dfa4e0c47976c",
    "dna.scale.val": "5028d909949f791be3628f9f4f25a33de9c470ad5c7458a3f5d62a2e0eb9d2ba",
    "dna.scale.t": "d2eeed170e4e38ae2aba6aa4cd27a8ca4ecceb01a7751e8e509bb4e1a6bcef39",
    "satimage.scale": "df08755887b968a272b84247fa0b1543b8cd623442fbc1c7943144e459ef2eb6",
    "satimage.scale.gz": "a8d60ddedea725e303b79ab809aa90a9d954865cb3f98b14934e3a8551dcca20",
    "satimage.scale.t": "b04c60323488f5a7f571d40be5d750b279e8f3bd43729b4c109b8c013fcd8196",
}

_SPLITS = ("train", "val", "test")

DNA_FILES = ("dna.scale.tr", "dna.scale.val", "dna.scale.t")
DNA_FEATURES = 180

SATIMAGE_FILES = (("satimage.scale", "satimage.scale.gz"), "satimage.scale.t")
SATIMAGE_FEATURES = 36
# Sizes of LIBSVM's satimage.scale.tr / .val, whose split itself is not public.
_SATIMAGE_TRAIN, _SATIMAGE_VAL = 3104, 1331

LETTER_FILES = ("letter.scale.tr", "letter.scale.val", "letter.scale.t")
LETTER_FEATURES = 16

CONNECT4_TSV = "connect-4.tsv.gz"
CONNECT4_LIBSVM = "connect-4"
#: The 42 board cells in the column order of the TSV header and of the one-hot features.
CONNECT4_CELLS = tuple(f"{col}{row}" for col in "abcdefg" for row in range(1, 7))
CONNECT4_FEATURES = 3 * len(CONNECT4_CELLS)  # one-hot: blank, o, x per cell
_CONNECT4_TEST_FRACTION = 0.1
_CONNECT4_VAL_FRACTION = 0.1  # of what remains after the test split


# ---------------------------------------------------------------------------------------------
# Shared steps
# ---------------------------------------------------------------------------------------------


def verify_known_file(path: PathLike) -> bool:
    """Check a file named like a published one against its known sha256.

    A ``.gz`` file whose bytes differ is also accepted when its decompressed content has the
    known digest of the uncompressed file (someone gzipped the original themselves).

    Returns:
        ``True`` when the file was verified, ``False`` when no checksum is known for its name.

    Raises:
        DataError: checksum mismatch (the message names the file).
    """
    path = Path(path)
    expected = KNOWN_SHA256.get(path.name)
    if expected is None:
        return False
    try:
        verify_sha256(path, expected)
    except DataError as bytes_error:
        content = KNOWN_SHA256.get(path.name.removesuffix(".gz")) if path.suffix == ".gz" else None
        if content is None:
            raise
        try:
            verify_sha256(path, content, gunzip=True)
        except DataError:
            raise bytes_error from None
    return True


def _folder(root: PathLike | None, subdir: str) -> Path:
    return SHIPPED_DIR / subdir if root is None else Path(root).expanduser()


def _local_hint(root: PathLike | None, dataset: str, names: Sequence[str]) -> str:
    """How to fix missing files of a data set that also ships with the package."""
    if root is None:
        return "the data shipped with the package is missing; reinstall automata"
    urls = ", ".join(f"{LIBSVM_MULTICLASS_URL}/{n}" for n in names)
    return (
        f"set dataset.root=null to use the sha256-checked copy shipped with the package, "
        f"or download {urls} into that folder"
    )


def _read_checked(path: Path, n_features: int) -> tuple[torch.Tensor, np.ndarray, bool]:
    """Features, raw labels and whether a known checksum was verified, of one LIBSVM file."""
    verified = verify_known_file(path)
    x, labels = read_libsvm(path, n_features)
    return x, np.asarray(labels, dtype=np.float64), verified


def _download_missing(folder: Path, names: Sequence[str], base_url: str) -> None:
    base = base_url.rstrip("/")
    for file_name in names:
        if not (folder / file_name).is_file():
            download_file(f"{base}/{file_name}", folder / file_name)


def _permutation_split(n: int, sizes: Sequence[int], seed: int) -> list[np.ndarray]:
    """Cut a seeded permutation of ``range(n)`` into parts of ``sizes``, plus the rest.

    Each part is sorted, so every split keeps the file's order (the choice itself is random).
    """
    perm = np.random.default_rng(int(seed)).permutation(n)
    bounds = np.cumsum([0, *sizes])
    parts = [perm[a:b] for a, b in zip(bounds[:-1], bounds[1:])] + [perm[bounds[-1] :]]
    return [np.sort(p) for p in parts]


def _assemble(
    name: str, parts: dict[str, tuple[torch.Tensor, np.ndarray]], notes: list[str]
) -> DataSplits:
    """Build :class:`DataSplits` from per-split features and raw labels."""
    widths = {split: int(parts[split][0].shape[1]) for split in _SPLITS}
    if len(set(widths.values())) != 1:
        raise DataError(f"{name}: the splits have different feature counts {widths}")
    encoded, classes = encode_labels([parts[split][1] for split in _SPLITS])
    if len(classes) < 2:
        raise DataError(f"{name}: the files hold {len(classes)} class(es), need at least 2")
    notes.append(
        f"{name}: {len(classes)} classes, labels {format_labels(classes)} mapped to "
        f"0..{len(classes) - 1}; {widths['train']} features"
    )
    lacking = sorted(set(classes) - set(parts["train"][1].tolist()))
    if lacking:
        notes.append(f"{name}: labels {format_labels(lacking)} never occur in the training split")
    train, val, test = (
        TensorBatchDataset(parts[split][0], labels) for split, labels in zip(_SPLITS, encoded)
    )
    return DataSplits(
        name=name,
        train=train,
        val=val,
        test=test,
        num_classes=len(classes),
        model_kwargs={"input_dim": widths["train"]},
        notes=notes,
    )


def _checksum_note(name: str, verified: Sequence[bool]) -> str:
    if all(verified):
        return f"{name}: sha256 of every file verified"
    return f"{name}: no published sha256 for these files; they were parsed strictly, not verified"


# ---------------------------------------------------------------------------------------------
# Loaders
# ---------------------------------------------------------------------------------------------


def load_dna(root: PathLike | None = None, name: str = "dna", split_seed: int = 0) -> DataSplits:
    """Statlog DNA splice junctions, LIBSVM scaled version, with its published split.

    1400 train (``dna.scale.tr``) / 600 validation (``dna.scale.val``) / 1186 test
    (``dna.scale.t``), 180 binary features, 3 classes.

    Args:
        root: folder with the three files; ``None``: the copy shipped with the package.
        name: data set name reported in results.
        split_seed: unused (the split is the published one); accepted so that every tabular
            config has the same keys.

    Raises:
        DataError: a file is missing, fails its sha256 check or is malformed.
    """
    del split_seed  # the published split is used as is
    folder = _folder(root, "dna")
    paths = require_files(folder, DNA_FILES, name, _local_hint(root, "dna", DNA_FILES))
    read = [_read_checked(p, DNA_FEATURES) for p in paths]
    source = "the copy shipped with the package" if root is None else str(folder)
    notes = [
        f"{name}: published LIBSVM split dna.scale.tr/.val/.t "
        f"({' / '.join(str(r[0].shape[0]) for r in read)} examples) from {source}",
        _checksum_note(name, [r[2] for r in read]),
    ]
    parts = {split: (r[0], r[1]) for split, r in zip(_SPLITS, read)}
    return _assemble(name, parts, notes)


def load_satimage(
    root: PathLike | None = None, name: str = "satimage", split_seed: int = 0
) -> DataSplits:
    """Statlog Landsat satellite, LIBSVM scaled version: 3104 / 1331 / 2000, 36 features, 6 classes.

    LIBSVM's own ``satimage.scale.tr`` / ``.val`` split is not public, so train and validation
    are a seeded random split of ``satimage.scale`` (4435 examples) with the same sizes: a
    permutation from ``numpy.random.default_rng(split_seed)``, its first 3104 entries for
    training and the other 1331 for validation. The test set is ``satimage.scale.t`` (2000).

    Args:
        root: folder with ``satimage.scale`` (or ``satimage.scale.gz``) and ``satimage.scale.t``;
            ``None``: the copy shipped with the package.
        name: data set name reported in results.
        split_seed: seed of the train/validation permutation.

    Raises:
        DataError: a file is missing, fails its sha256 check or is malformed.
    """
    folder = _folder(root, "satimage")
    hint = _local_hint(root, "satimage", ("satimage.scale", "satimage.scale.t"))
    full_path, test_path = require_files(folder, SATIMAGE_FILES, name, hint)
    full_x, full_y, full_ok = _read_checked(full_path, SATIMAGE_FEATURES)
    test_x, test_y, test_ok = _read_checked(test_path, SATIMAGE_FEATURES)

    n = full_x.shape[0]
    # Same proportions as LIBSVM's split (exactly 3104 / 1331 for the 4435 published rows).
    n_train = round(n * _SATIMAGE_TRAIN / (_SATIMAGE_TRAIN + _SATIMAGE_VAL))
    if not 1 <= n_train < n:
        raise DataError(f"{name}: {full_path} has {n} examples, too few to split train/val")
    train_idx, val_idx = _permutation_split(n, [n_train], split_seed)
    source = "the copy shipped with the package" if root is None else str(folder)
    notes = [
        f"{name}: LIBSVM's own satimage.scale.tr/.val split is not public; train/val is a "
        f"seeded random split of {full_path.name} ({n} examples, from {source}) of the same "
        f"sizes: {len(train_idx)} train / {len(val_idx)} val (numpy default_rng("
        f"split_seed={split_seed}) permutation); test = {test_path.name} ({test_x.shape[0]})",
        _checksum_note(name, [full_ok, test_ok]),
    ]
    parts = {
        "train": (full_x[train_idx], full_y[train_idx]),
        "val": (full_x[val_idx], full_y[val_idx]),
        "test": (test_x, test_y),
    }
    return _assemble(name, parts, notes)


def load_letter(
    root: PathLike,
    name: str = "letter",
    split_seed: int = 0,
    download: bool = False,
    base_url: str = LIBSVM_MULTICLASS_URL,
) -> DataSplits:
    """Letter recognition, LIBSVM scaled version, with its published split.

    ``letter.scale.tr`` (train), ``letter.scale.val`` (validation) and ``letter.scale.t``
    (test): 16 features, 26 classes.

    Args:
        root: folder with the three files (``${paths.data_dir}/letter`` in the config).
        name: data set name reported in results.
        split_seed: unused (the split is the published one).
        download: fetch missing files from ``<base_url>/<file name>`` first.
        base_url: where to download from (the LIBSVM data page by default).

    Raises:
        DataError: files missing (all listed, with the folder and the URLs), a download failed,
            or a file is malformed.
    """
    del split_seed  # the published split is used as is
    folder = Path(root).expanduser()
    if download:
        _download_missing(folder, LETTER_FILES, base_url)
    urls = [f"{base_url.rstrip('/')}/{n}" for n in LETTER_FILES]
    paths = require_files(folder, LETTER_FILES, name, data_dir_hint("letter", urls))
    read = [_read_checked(p, LETTER_FEATURES) for p in paths]
    notes = [
        f"{name}: published LIBSVM split letter.scale.tr/.val/.t "
        f"({' / '.join(str(r[0].shape[0]) for r in read)} examples) from {folder}",
        _checksum_note(name, [r[2] for r in read]),
    ]
    parts = {split: (r[0], r[1]) for split, r in zip(_SPLITS, read)}
    return _assemble(name, parts, notes)


def load_connect4(
    root: PathLike,
    name: str = "connect4",
    split_seed: int = 0,
    download: bool = False,
    base_url: str = LIBSVM_MULTICLASS_URL,
) -> DataSplits:
    """Connect-4 opening positions: 67,557 boards, 126 one-hot features, 3 classes.

    Reads ``connect-4.tsv.gz`` (gzipped TSV with header ``a1 ... g6 target``, cells coded
    0 blank / 1 o / 2 x, target 0/1/2; see :func:`read_connect4_tsv`) when present, else the
    LIBSVM file ``connect-4`` (126 binary features, labels -1/0/1). Class indices are the sorted
    label values of the file read, so they mean the same outcome within one file's data only.

    No split is published: 10% of the examples form the test set, then 10% of the rest the
    validation set, by one permutation from ``numpy.random.default_rng(split_seed)``.

    Args:
        root: folder with either file (``${paths.data_dir}/connect4`` in the config).
        name: data set name reported in results.
        split_seed: seed of the test/validation/train permutation.
        download: when neither file is present, fetch ``<base_url>/connect-4`` (LIBSVM).
        base_url: where to download from (the LIBSVM data page by default).

    Raises:
        DataError: no file (the message names both, the folder and the URL), a download
            failed, or a file is malformed (``file:line: reason``).
    """
    folder = Path(root).expanduser()
    base = base_url.rstrip("/")
    choices = (CONNECT4_TSV, CONNECT4_LIBSVM)
    if download and not any((folder / c).is_file() for c in choices):
        download_file(f"{base}/{CONNECT4_LIBSVM}", folder / CONNECT4_LIBSVM)
    hint = data_dir_hint("connect4", [f"{base}/{CONNECT4_LIBSVM}"])
    [path] = require_files(folder, [choices], name, hint)
    if path.name == CONNECT4_TSV:
        x, raw = read_connect4_tsv(path)
        source = f"{path} (cells one-hot encoded: blank, o, x per cell, a1..g6)"
    else:
        x, labels = read_libsvm(path, CONNECT4_FEATURES)
        raw = np.asarray(labels, dtype=np.float64)
        source = f"{path} (LIBSVM, 126 binary features)"

    n = x.shape[0]
    n_test = round(n * _CONNECT4_TEST_FRACTION)
    n_val = round((n - n_test) * _CONNECT4_VAL_FRACTION)
    if min(n_test, n_val, n - n_test - n_val) < 1:
        raise DataError(
            f"{name}: {path} has {n} examples, too few for 10% test and 10% validation splits"
        )
    test_idx, val_idx, train_idx = _permutation_split(n, [n_test, n_val], split_seed)
    notes = [
        f"{name}: {n} examples from {source}; no published split, so 10% test then 10% of the "
        f"rest validation by a numpy default_rng(split_seed={split_seed}) permutation: "
        f"{len(train_idx)} train / {len(val_idx)} val / {len(test_idx)} test",
        _checksum_note(name, [False]),
    ]
    parts = {
        "train": (x[train_idx], raw[train_idx]),
        "val": (x[val_idx], raw[val_idx]),
        "test": (x[test_idx], raw[test_idx]),
    }
    return _assemble(name, parts, notes)


# ---------------------------------------------------------------------------------------------
# connect-4 TSV
# ---------------------------------------------------------------------------------------------


def read_connect4_tsv(path: PathLike) -> tuple[torch.Tensor, np.ndarray]:
    """Read the gzipped connect-4 TSV into one-hot features and raw targets.

    The header names the 42 cells ``a1 .. a6 b1 .. g6`` and ``target`` (in any order, each
    once); every row holds the cells coded 0 (blank), 1 (o), 2 (x) and a target in 0..2. Each
    cell becomes 3 features, cell-major in the order ``a1..g6``: ``[a1=blank, a1=o, a1=x,
    a2=blank, ...]``.

    Returns:
        ``(features, targets)``: ``float32`` tensor ``[N, 126]`` and ``float64`` array ``[N]``.

    Raises:
        DataError: a bad header or row (``file:line: reason``), or no rows.
    """
    path = Path(path)
    lines = read_text(path).split("\n")
    cell_cols, target_col = _connect4_columns(path, lines[0].split())
    width = len(CONNECT4_CELLS) + 1
    table = _int_table_fast(lines[1:], width)
    if table is None:
        table = _int_table_slow(path, lines, width, cell_cols, target_col)
    if table.shape[0] == 0:
        raise DataError(f"{path}: no examples after the header line")
    cells = table[:, cell_cols]
    targets = table[:, target_col]
    onehot = np.zeros((table.shape[0], len(CONNECT4_CELLS), 3), dtype=np.float32)
    np.put_along_axis(onehot, cells[:, :, None], 1.0, axis=2)
    features = torch.from_numpy(onehot.reshape(table.shape[0], CONNECT4_FEATURES))
    return features, targets.astype(np.float64)


def _connect4_columns(path: Path, header: list[str]) -> tuple[list[int], int]:
    """Column of each cell (in ``CONNECT4_CELLS`` order) and of the target, from the header."""
    expected = [*CONNECT4_CELLS, "target"]
    missing = [c for c in expected if c not in header]
    unexpected = [c for c in header if c not in expected]
    repeated = sorted({c for c in header if header.count(c) > 1})
    if missing or unexpected or repeated:
        problems = []
        if missing:
            problems.append(f"missing {' '.join(missing[:6])}{' ...' if len(missing) > 6 else ''}")
        if unexpected:
            shown = " ".join(unexpected[:6]) + (" ..." if len(unexpected) > 6 else "")
            problems.append(f"unexpected {shown}")
        if repeated:
            problems.append(f"repeated {' '.join(repeated)}")
        raise DataError(
            f"{path}:1: bad header ({'; '.join(problems)}); expected the column names "
            f"a1 a2 ... g6 target, tab-separated"
        )
    return [header.index(c) for c in CONNECT4_CELLS], header.index("target")


def _int_table_fast(body: list[str], width: int) -> np.ndarray | None:
    """All rows as an ``int64 [N, width]`` array of values 0..2, or ``None`` if anything is off."""
    text = "\n".join(body)
    if "_" in text:  # int("1_0") is 10 in Python: leave such input to the (strict) slow path
        return None
    if not text.strip():
        return np.zeros((0, width), dtype=np.int64)
    try:
        table = np.loadtxt(io.StringIO(text), dtype=np.int64, ndmin=2, comments=None)
    except ValueError:
        return None
    if table.shape[1] != width or table.min() < 0 or table.max() > 2:
        return None
    return table


def _int_table_slow(
    path: Path, lines: list[str], width: int, cell_cols: list[int], target_col: int
) -> np.ndarray:
    """Row-by-row parse of the lines after the header; raises at the first bad row."""
    names = {col: cell for col, cell in zip(cell_cols, CONNECT4_CELLS)}
    names[target_col] = "target"
    rows: list[list[int]] = []
    for lineno, line in enumerate(lines[1:], start=2):
        tokens = line.split()
        if not tokens:
            continue
        if len(tokens) != width:
            raise DataError(f"{path}:{lineno}: {len(tokens)} values, expected {width}")
        row = []
        for col, token in enumerate(tokens):
            value = None if "_" in token else _to_int(token)
            if value is None or not 0 <= value <= 2:
                raise DataError(f"{path}:{lineno}: {names[col]} is {token!r}, expected 0, 1 or 2")
            row.append(value)
        rows.append(row)
    return np.asarray(rows, dtype=np.int64).reshape(-1, width)


def _to_int(token: str) -> int | None:
    try:
        return int(token)
    except ValueError:
        return None
