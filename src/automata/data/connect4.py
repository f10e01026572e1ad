"""Connect-4 opening positions (UCI): the board TSV and the LIBSVM file, as 126 one-hot features.

:class:`Connect4Reader` is the ``reader`` of ``conf/dataset/connect4.yaml`` (see
:func:`automata.data.tabular.load_table`): it reads ``connect-4.tsv.gz`` (gzipped TSV with header
``a1 ... g6 target``, cells coded 0 blank / 1 o / 2 x, target 0/1/2; see
:func:`read_connect4_tsv`) or the LIBSVM file ``connect-4`` (126 binary features, labels
-1/0/1). Both give the same 126 features: blank, o, x for each cell, cells in the order a1..g6.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import torch

from automata.data.files import PathLike, read_text
from automata.data.libsvm import read_libsvm
from automata.errors import DataError

__all__ = ["CONNECT4_CELLS", "CONNECT4_FEATURES", "Connect4Reader", "read_connect4_tsv"]

#: The 42 board cells in the column order of the TSV header and of the one-hot features.
CONNECT4_CELLS = tuple(f"{col}{row}" for col in "abcdefg" for row in range(1, 7))
CONNECT4_FEATURES = 3 * len(CONNECT4_CELLS)  # one-hot: blank, o, x per cell


class Connect4Reader:
    """Features and raw labels of a connect-4 file: the board TSV (``*.tsv``, ``*.tsv.gz``) or
    the LIBSVM file (any other name)."""

    def __call__(self, path: Path) -> tuple[torch.Tensor, np.ndarray]:
        if path.name.endswith((".tsv", ".tsv.gz")):
            return read_connect4_tsv(path)
        features, labels = read_libsvm(path, CONNECT4_FEATURES)
        return features, np.asarray(labels, dtype=np.float64)


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
