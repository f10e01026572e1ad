"""Reader for the LIBSVM sparse text format, into dense ``float32`` tensors.

One example per line: ``<label> <index>:<value> <index>:<value> ...`` with 1-based feature
indices; absent features are 0. Blank lines are skipped and anything after ``#`` is a comment.
Files may be gzipped (``.gz`` suffix or gzip magic bytes).

Speed: a fast path hands all ``index:value`` pairs to numpy's C text parser at once (the 67,557
lines of LIBSVM's connect-4 take well under a second). When that parser rejects anything, a
line-by-line parser reads the file again; it is the reference for what a valid file is, and it
names the first bad line as ``file:line: reason``. The fast path accepts a subset of what the
slow one accepts, so both give the same result on any file they both read.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from automata.data.files import PathLike, read_text
from automata.errors import DataError

__all__ = ["LibsvmReader", "encode_labels", "format_labels", "read_libsvm"]

#: Largest feature index accepted (dense matrices far below this size are the practical limit).
MAX_INDEX = 2**31 - 1
# Values must fit a float32 (the dtype of the dense matrix) without becoming infinite.
_F32_MAX = float(np.finfo(np.float32).max)
# Dense matrices above this many cells (8 GiB of float32) are refused with a clear message.
_MAX_CELLS = 2**31
# Whitespace between pairs becomes a line break: numpy then reads one "index:value" per line.
_TO_NEWLINE = str.maketrans({" ": "\n", "\t": "\n", "\r": "\n", "\v": "\n", "\f": "\n"})


@dataclass
class _Parsed:
    labels: np.ndarray  # float64 [N]
    rows: np.ndarray  # int64 [P], example of each pair
    index: np.ndarray  # int64 [P], 1-based feature index
    values: np.ndarray  # float64 [P]


def read_libsvm(path: PathLike, n_features: int | None = None) -> tuple[torch.Tensor, list[float]]:
    """Read a LIBSVM file into a dense matrix and its raw labels.

    Args:
        path: the file, plain or gzipped.
        n_features: width of the matrix; an index above it is an error. ``None``: the largest
            index in the file (pass the data set's feature count so that splits agree).

    Returns:
        ``(features, labels)``: ``float32`` tensor ``[N, F]`` and the ``N`` labels as floats
        (map them to class indices with :func:`encode_labels`).

    Raises:
        DataError: unreadable file, no examples, or a malformed line (``file:line: reason``).
    """
    path = Path(path)
    if n_features is not None and not 1 <= n_features <= MAX_INDEX:
        raise ValueError(f"n_features must be in 1..{MAX_INDEX}, got {n_features}")
    text = read_text(path)
    parsed = _parse_fast(text, n_features)
    if parsed is None:
        parsed = _parse_slow(path, text, n_features)
    n = parsed.labels.shape[0]
    if n == 0:
        raise DataError(f"{path}: no examples (the file is empty or only blank/comment lines)")
    width = n_features if n_features is not None else int(parsed.index.max(initial=0))
    if n * width > _MAX_CELLS:
        raise DataError(f"{path}: {n} examples x {width} features is too large for a dense matrix")
    dense = np.zeros((n, width), dtype=np.float32)
    dense[parsed.rows, parsed.index - 1] = parsed.values
    return torch.from_numpy(dense), parsed.labels.tolist()


class LibsvmReader:
    """The ``reader`` of a LIBSVM data set's config (see :func:`automata.data.tabular.load_table`).

    Args:
        n_features: width of the feature matrix (the data set's feature count, so that every
            split has the same width); ``None``: the largest index in each file.
    """

    def __init__(self, n_features: int | None = None) -> None:
        self.n_features = n_features

    def __call__(self, path: Path) -> tuple[torch.Tensor, np.ndarray]:
        """``(float32 features [N, F], float64 raw labels [N])`` of one file."""
        features, labels = read_libsvm(path, self.n_features)
        return features, np.asarray(labels, dtype=np.float64)


def _split_lines(text: str) -> tuple[list[str], list[str]]:
    """Label token and the rest, for each line that is not blank after removing comments."""
    lines = text.split("\n")
    if "#" in text:
        lines = [line.partition("#")[0] for line in lines]
    labels: list[str] = []
    rests: list[str] = []
    for line in lines:
        head = line.split(None, 1)
        if head:
            labels.append(head[0])
            rests.append(head[1] if len(head) == 2 else "")
    return labels, rests


def _parse_fast(text: str, n_features: int | None) -> _Parsed | None:
    """Vectorised parse; ``None`` when anything looks wrong (the slow parser then decides)."""
    if "_" in text:  # Python's float() accepts "1_0", numpy's C parser does not: stay consistent
        return None
    label_tokens, rests = _split_lines(text)
    try:
        labels = np.array(label_tokens, dtype=np.float64).reshape(-1)
    except ValueError:
        return None
    if not np.isfinite(labels).all():
        return None
    # In a valid line every whitespace-separated pair holds exactly one ':'.
    counts = np.fromiter((r.count(":") for r in rests), dtype=np.int64, count=len(rests))
    total = int(counts.sum())
    if total == 0:
        if any(rests):  # tokens without any ':'
            return None
        pairs = np.zeros((0, 2), dtype=np.float64)
    else:
        stream = "\n".join(rests).translate(_TO_NEWLINE)
        try:
            # Blank lines (runs of whitespace) are skipped; a token without or with two ':'
            # changes the column count, which loadtxt rejects.
            pairs = np.loadtxt(
                io.StringIO(stream), delimiter=":", comments=None, dtype=np.float64, ndmin=2
            )
        except ValueError:
            return None
        if pairs.shape != (total, 2):
            return None
    index_f, values = pairs[:, 0], pairs[:, 1]
    limit = n_features if n_features is not None else MAX_INDEX
    # NaN fails every comparison, so the negated forms also catch it.
    if not ((index_f >= 1) & (index_f <= limit) & (index_f == np.floor(index_f))).all():
        return None
    if not (np.abs(values) <= _F32_MAX).all():
        return None
    index = index_f.astype(np.int64)
    rows = np.repeat(np.arange(labels.shape[0], dtype=np.int64), counts)
    if _has_duplicates(rows, index):
        return None
    return _Parsed(labels, rows, index, values)


def _has_duplicates(rows: np.ndarray, index: np.ndarray) -> bool:
    """Whether a feature index appears twice in one example."""
    same_row = rows[1:] == rows[:-1]
    if not (index[1:][same_row] <= index[:-1][same_row]).any():
        return False  # strictly increasing in every row (the LIBSVM norm): no duplicates
    order = np.lexsort((index, rows))
    r, i = rows[order], index[order]
    return bool(((r[1:] == r[:-1]) & (i[1:] == i[:-1])).any())


def _number(token: str) -> float | None:
    """``float(token)``, or ``None`` when it is not a plain number (underscores rejected)."""
    if "_" in token:
        return None
    try:
        return float(token)
    except ValueError:
        return None


def _check_pair(token: str, n_features: int | None, seen: set[int]) -> str | tuple[int, float]:
    """``(index, value)`` of one ``index:value`` token, or the reason it is malformed."""
    index_s, sep, value_s = token.partition(":")
    if not sep or ":" in value_s:
        return f"{token!r} is not index:value"
    index_f = _number(index_s)
    if index_f is None or not math.isfinite(index_f) or not index_f.is_integer():
        return f"feature index {index_s!r} in {token!r} is not an integer"
    index = int(index_f)
    if index < 1:
        return f"feature index {index} in {token!r} is below 1 (indices are 1-based)"
    limit = n_features if n_features is not None else MAX_INDEX
    if index > limit:
        return f"feature index {index} in {token!r} is above the {limit} features"
    value = _number(value_s)
    if value is None:
        return f"value {value_s!r} in {token!r} is not a number"
    if not abs(value) <= _F32_MAX:
        return f"value {value_s!r} in {token!r} is not a finite float32"
    if index in seen:
        return f"feature index {index} appears twice"
    seen.add(index)
    return index, value


def _parse_line(
    tokens: list[str], n_features: int | None
) -> str | tuple[float, list[int], list[float]]:
    """``(label, indices, values)`` of one line's tokens, or the reason the line is malformed."""
    label = _number(tokens[0])
    if label is None or not math.isfinite(label):
        return f"label {tokens[0]!r} is not a number"
    index: list[int] = []
    values: list[float] = []
    seen: set[int] = set()
    for token in tokens[1:]:
        pair = _check_pair(token, n_features, seen)
        if isinstance(pair, str):
            return pair
        index.append(pair[0])
        values.append(pair[1])
    return label, index, values


def _parse_slow(path: Path, text: str, n_features: int | None) -> _Parsed:
    """Line-by-line parse; raises :class:`DataError` at the first malformed line."""
    labels: list[float] = []
    rows: list[int] = []
    index: list[int] = []
    values: list[float] = []
    for lineno, line in enumerate(text.split("\n"), start=1):
        tokens = line.partition("#")[0].split()
        if not tokens:
            continue
        result = _parse_line(tokens, n_features)
        if isinstance(result, str):
            raise DataError(f"{path}:{lineno}: {result}")
        label, line_index, line_values = result
        rows.extend([len(labels)] * len(line_index))
        labels.append(label)
        index.extend(line_index)
        values.extend(line_values)
    return _Parsed(
        np.asarray(labels, dtype=np.float64),
        np.asarray(rows, dtype=np.int64),
        np.asarray(index, dtype=np.int64),
        np.asarray(values, dtype=np.float64),
    )


def encode_labels(
    splits: Sequence[Sequence[float] | Sequence[str] | np.ndarray],
) -> tuple[list[torch.Tensor], list[float | str]]:
    """Map raw labels to class indices ``0..C-1``, the same way in every split.

    The classes are the sorted distinct label values of all splits together, so a label gets the
    same index in train, validation and test even when a split lacks some classes. Labels are
    compared as numbers when every label of every split is one (``"2"`` and ``2.0`` are the same
    class, ``10`` sorts after ``9``), else as strings.

    Args:
        splits: the raw labels of each split.

    Returns:
        ``(indices, classes)``: an ``int64`` tensor per split, and the sorted label values
        (``classes[k]`` is the raw label of class ``k``).
    """
    try:
        arrays = [np.asarray(s, dtype=np.float64).reshape(-1) for s in splits]
    except (TypeError, ValueError):  # names, not numbers
        arrays = [np.asarray(s, dtype=str).reshape(-1) for s in splits]
    classes = np.unique(np.concatenate(arrays)) if arrays else np.zeros(0)
    encoded = [torch.from_numpy(np.searchsorted(classes, a).astype(np.int64)) for a in arrays]
    return encoded, classes.tolist()


def format_labels(classes: Sequence[float | str]) -> str:
    """Label values for messages: integers without a trailing ``.0`` (``"-1, 0, 1"``), names
    as they are."""
    return ", ".join(
        c if isinstance(c, str) else str(int(c)) if float(c).is_integer() else repr(float(c))
        for c in classes
    )
