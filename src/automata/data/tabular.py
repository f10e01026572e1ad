"""Tabular data sets: one loader, :func:`load_table`, configured entirely by a dataset YAML.

A tabular data set is some files of rows (features and a label per row) in a format that a
*reader* turns into a dense ``float32`` matrix and raw labels: ``LibsvmReader`` for LIBSVM files,
``Connect4Reader`` for the connect-4 board TSV. Everything else that makes a data set (file
names, which file is which split, how splits are cut, where the files come from, which
checksums apply) is in its YAML under ``conf/dataset/``, so adding a data set of a known format
is one YAML file. The YAMLs of dna, satimage, letter and connect4 are the examples.

Every loader call returns :class:`~automata.data.base.DataSplits` of dense ``float32`` features
(:class:`~automata.data.base.TensorBatchDataset`), with ``model_kwargs={"input_dim": F}`` for the
MLP and the class count. Labels are mapped to ``0..C-1`` by the sorted label values of all splits
together (:func:`~automata.data.libsvm.encode_labels`), so a class has the same index in every
split. ``notes`` say where the files came from, how any split was made and which files were
sha256-checked.

Checksums (:func:`automata.data.files.verify_file`): a file listed in the ``SHA256SUMS`` of its
folder is checked before it is read; for a data set that ships with the package (``shipped``),
files named like the shipped ones are checked against the shipped ``SHA256SUMS`` in any folder.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import numpy as np
import torch

from automata.data.base import DataSplits, TensorBatchDataset
from automata.data.files import SHIPPED_DIR, PathLike, data_dir_hint, require_files, verify_file
from automata.data.files import download as download_file
from automata.data.libsvm import encode_labels, format_labels
from automata.data.splits import SPLITS, cut, file_entries, split_cuts
from automata.errors import ConfigError, DataError

__all__ = ["Reader", "load_table"]

#: ``reader(path) -> (features float32 [N, F], raw labels [N])``.
Reader = Callable[[Path], tuple[torch.Tensor, np.ndarray]]


def load_table(
    name: str,
    files: Mapping[str, str | Sequence[str]],
    reader: Reader,
    root: PathLike | None = None,
    shipped: str | None = None,
    split: Mapping[str, float | str] | None = None,
    split_seed: int = 0,
    standardize: bool = False,
    download: bool = False,
    base_url: str | None = None,
    description: str | None = None,
) -> DataSplits:
    """Read a tabular data set's files and make its train/validation/test splits.

    Args:
        name: data set name reported in results (and the folder name in error hints).
        files: which file holds which split: keys ``train``, ``val``, ``test`` and/or ``all``
            (the file that ``split`` cuts splits from). A value is a file name or a list of
            alternatives; the first one present is read, and the last one is the one
            ``download`` fetches.
        reader: turns one file into features and raw labels (a ``_target_`` in the YAML, e.g.
            :class:`~automata.data.libsvm.LibsvmReader`).
        root: folder holding the files; ``None``: the copy shipped with the package
            (``shipped`` must be set).
        shipped: folder under ``automata/data/shipped`` with the package's copy of these files;
            its ``SHA256SUMS`` also checks files of the same names read from ``root``.
        split: the splits cut from the rows of ``files.all``, in cutting order: each value the
            fraction of the rows still left when that split is cut, and ``rest`` for the split
            that takes the remaining rows (``{test: 0.1, val: 0.1, train: rest}``: 10% test,
            then 10% of the other rows validation, the rest training). One permutation from
            ``numpy.random.default_rng(split_seed)``; each split keeps the file's row order.
        split_seed: seed of that permutation.
        standardize: rescale every feature to mean 0 and standard deviation 1 on the training
            split (the same shift and scale for val and test; constant features are only
            shifted).
        download: when no alternative of a ``files`` entry is in ``root``, fetch its last one
            from ``<base_url>/<file name>`` first.
        base_url: where the files can be downloaded from (also named in error hints).
        description: a sentence about the data set's provenance, shown first in the notes.

    Raises:
        ConfigError: ``files``/``split`` do not describe exactly one train, val and test split,
            or ``root`` is ``None`` without ``shipped``.
        DataError: files missing (all listed, with the folder and how to get them), a download
            failed, a file fails its sha256 check or is malformed, or too few rows to split.
    """
    entries = file_entries(name, files)
    parts_spec, rest = split_cuts(name, entries, split)
    if root is None and shipped is None:
        raise ConfigError(f"dataset.root: {name} does not ship with the package; give its folder")
    folder = SHIPPED_DIR / str(shipped) if root is None else Path(root).expanduser()
    base = base_url.rstrip("/") if base_url else None
    if download and root is not None and base is not None:
        for choices in entries.values():
            if not any((folder / c).is_file() for c in choices):
                download_file(f"{base}/{choices[-1]}", folder / choices[-1])
    hint = _missing_hint(name, root, shipped, base, entries)
    paths = dict(zip(entries, require_files(folder, list(entries.values()), name, hint)))

    read: dict[str, tuple[torch.Tensor, np.ndarray]] = {}
    verified: list[bool] = []
    for key, path in paths.items():
        verified.append(verify_file(path, shipped))
        features, labels = reader(path)
        read[key] = (features, np.asarray(labels))

    source = "the copy shipped with the package" if root is None else str(folder)
    listed = ", ".join(f"{p.name} ({read[k][0].shape[0]} rows)" for k, p in paths.items())
    first = f"{name}: " + (f"{description}; " if description else "") + f"{listed} from {source}"
    if "all" in read:
        features, labels = read.pop("all")
        n = int(features.shape[0])
        rows = cut(n, parts_spec, rest, split_seed, rng="numpy", what=f"{name}: {paths['all']}")
        for key, index in rows.items():
            read[key] = (features[torch.from_numpy(index)], labels[index])
        order = [key for key, _ in parts_spec] + [rest]
        how = ", then ".join(f"{key} {frac:g} of the rows left" for key, frac in parts_spec)
        first += (
            f"; {' / '.join(order)}: a seeded random split of {paths['all'].name} (numpy "
            f"default_rng(split_seed={split_seed}) permutation; {how}, {rest} the rest): "
            f"{' / '.join(str(len(rows[k])) for k in order)}"
        )
    given = [f"{k} = {p.name}" for k, p in paths.items() if k != "all"]
    if given:
        first += f"; {', '.join(given)}"
    notes = [first, _checksum_note(name, verified)]
    if standardize:
        _standardize(read)
        notes.append(f"{name}: features standardised with the training split's mean and std")
    return _assemble(name, read, notes)


def _standardize(parts: dict[str, tuple[torch.Tensor, np.ndarray]]) -> None:
    """Shift and scale every split's features by the training split's mean and std."""
    train = parts["train"][0].double()
    mean = train.mean(dim=0)
    std = train.std(dim=0, unbiased=False)
    std = torch.where(std > 0, std, torch.ones_like(std))
    for key, (features, labels) in parts.items():
        parts[key] = (((features.double() - mean) / std).float(), labels)


def _missing_hint(
    name: str,
    root: PathLike | None,
    shipped: str | None,
    base: str | None,
    entries: Mapping[str, tuple[str, ...]],
) -> str:
    """How to get the files, for the missing-files error."""
    if root is None:
        return "the data shipped with the package is missing; reinstall automata"
    urls = [f"{base}/{choices[-1]}" for choices in entries.values()] if base else []
    if shipped is not None:
        hint = "set dataset.root=null to use the sha256-checked copy shipped with the package"
        return hint + (f", or download {', '.join(urls)} into that folder" if urls else "")
    return data_dir_hint(name, urls, downloadable=base is not None, folder=root)


def _assemble(
    name: str, parts: dict[str, tuple[torch.Tensor, np.ndarray]], notes: list[str]
) -> DataSplits:
    """Build :class:`DataSplits` from per-split features and raw labels."""
    widths = {split: int(parts[split][0].shape[1]) for split in SPLITS}
    if len(set(widths.values())) != 1:
        raise DataError(f"{name}: the splits have different feature counts {widths}")
    encoded, classes = encode_labels([parts[split][1] for split in SPLITS])
    if len(classes) < 2:
        raise DataError(f"{name}: the files hold {len(classes)} class(es), need at least 2")
    notes.append(
        f"{name}: {len(classes)} classes, labels {format_labels(classes)} mapped to "
        f"0..{len(classes) - 1} in that order; {widths['train']} features"
    )
    present = set(encoded[0].tolist())
    lacking: list[float | str] = [c for k, c in enumerate(classes) if k not in present]
    if lacking:
        notes.append(f"{name}: labels {format_labels(lacking)} never occur in the training split")
    train, val, test = (
        TensorBatchDataset(parts[split][0], labels) for split, labels in zip(SPLITS, encoded)
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
