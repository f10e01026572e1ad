"""Tables with named columns (CSV, TSV or Parquet) as a data set's ``reader``.

:class:`ColumnReader` turns one file into features and labels for
:func:`automata.data.tabular.load_table`: the label column, and the feature columns (listed, or
every other column); :class:`TextColumnReader` turns one into sentences and labels for
:func:`automata.data.text.load_text` (a text column and a label column). A user's own table is
then one YAML::

    _target_: automata.data.tabular.load_table
    name: iris
    root: /data/iris
    files: {all: iris.csv}
    split: {test: 0.2, val: 0.2, train: rest}
    standardize: true
    reader:
      _target_: automata.data.columns.ColumnReader
      label: species

Formats, by file name: ``.csv`` (also ``.csv.gz``; comma-separated unless ``delimiter`` says
otherwise; the first row names the columns) and ``.parquet``/``.pq`` (needs the optional
``pyarrow``: ``pip install 'automata[tabular]'``). Features must be numbers, with no empty cells;
labels may be anything (numbers or names): :func:`~automata.data.libsvm.encode_labels` maps them
to ``0..C-1`` and the data notes report the mapping.

Fields may be quoted (``"a, b"``, ``""`` for a quote), except in the TSV files of a text data set
(:class:`TextColumnReader`, ``quoting``): GLUE's hold quote characters in their sentences as
they are.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from automata.data.files import read_text
from automata.data.text import TextRows
from automata.errors import ConfigError, DataError

__all__ = ["ColumnReader", "TextColumnReader"]

_CSV = (".csv", ".csv.gz", ".tsv", ".tsv.gz", ".txt", ".txt.gz")
_PARQUET = (".parquet", ".pq")


class ColumnReader:
    """Read the label and feature columns of a CSV or Parquet file.

    Args:
        label: name of the label column.
        features: names of the feature columns, in the order the model sees them; ``None``:
            every column but the label, in file order.
        delimiter: CSV field separator (``","``; ``"\\t"`` for TSV files, the default for
            ``.tsv``).
    """

    def __init__(
        self, label: str, features: Sequence[str] | None = None, delimiter: str | None = None
    ) -> None:
        if not label:
            raise ConfigError("dataset.reader.label: name the label column")
        self.label = str(label)
        self.features = None if features is None else [str(f) for f in features]
        if self.features is not None and (not self.features or self.label in self.features):
            raise ConfigError(
                "dataset.reader.features: list the feature columns (not the label), or null "
                "for every other column"
            )
        self.delimiter = delimiter

    def __call__(self, path: Path) -> tuple[torch.Tensor, np.ndarray]:
        """``(float32 features [N, F], labels [N])`` of one file."""
        return self._select(path, _read_table(path, self.delimiter, quoting=True))

    def _select(
        self, path: Path, columns: dict[str, list[object]]
    ) -> tuple[torch.Tensor, np.ndarray]:
        wanted = self.features or [c for c in columns if c != self.label]
        missing = [c for c in [self.label, *wanted] if c not in columns]
        if missing:
            raise DataError(
                f"{path}: no column {', '.join(repr(c) for c in missing)} (columns: "
                f"{', '.join(columns)})"
            )
        if not wanted:
            raise DataError(f"{path}: no feature columns besides the label '{self.label}'")
        n = len(columns[self.label])
        if n == 0:
            raise DataError(f"{path}: no rows")
        matrix = np.empty((n, len(wanted)), dtype=np.float32)
        for j, column in enumerate(wanted):
            matrix[:, j] = _numbers(path, column, columns[column])
        labels = _labels(path, self.label, columns[self.label])
        return torch.from_numpy(matrix), labels


class TextColumnReader:
    """Read the text and label columns of a CSV, TSV or Parquet file (a text data set).

    Args:
        text: name of the column holding the sentences.
        label: name of the label column (numbers or names).
        delimiter: CSV field separator (``","``; ``"\\t"``, the default for ``.tsv``).
        quoting: whether fields may be quoted (``"a, b"``); ``None``: yes for CSV, no for TSV.
    """

    def __init__(
        self,
        text: str,
        label: str,
        delimiter: str | None = None,
        quoting: bool | None = None,
    ) -> None:
        if not text or not label or text == label:
            raise ConfigError(
                "dataset.reader: name the text column (text) and the label column (label)"
            )
        self.text = str(text)
        self.label = str(label)
        self.delimiter = delimiter
        self.quoting = quoting

    def __call__(self, path: Path) -> TextRows:
        """The sentences and raw labels of one file, with their lines."""
        columns = _read_table(path, self.delimiter, self.quoting)
        missing = [c for c in (self.text, self.label) if c not in columns]
        if missing:
            raise DataError(
                f"{path}:1: no column {', '.join(repr(c) for c in missing)} (columns: "
                f"{', '.join(columns)})"
            )
        texts, labels = columns[self.text], columns[self.label]
        for i, (text, label) in enumerate(zip(texts, labels)):
            where = _where(path, self.label, i, label)
            if label is None or label == "":
                raise DataError(f"{where}: label column '{self.label}' is empty")
            if text is None:
                raise DataError(f"{where}: text column '{self.text}' is empty")
        lines = [getattr(label, "line", None) for label in labels]
        return TextRows(
            [str(t) for t in texts],
            list(labels),
            None if None in lines else [int(line) for line in lines if line is not None],
        )


def _read_table(
    path: Path, delimiter: str | None, quoting: bool | None = None
) -> dict[str, list[object]]:
    """The columns of a CSV, TSV or Parquet file, by its name."""
    name = path.name.lower()
    if name.endswith(_PARQUET):
        return _read_parquet(path)
    if name.endswith(_CSV):
        tsv = ".tsv" in name
        delimiter = delimiter or ("\t" if tsv else ",")
        return _read_csv(path, delimiter, quoting=not tsv if quoting is None else quoting)
    raise DataError(f"{path}: unknown table format (name it .csv, .csv.gz, .tsv or .parquet)")


def _read_csv(path: Path, delimiter: str, quoting: bool = True) -> dict[str, list[object]]:
    """Columns of a CSV file with a header row, as strings; ragged rows are errors.
    ``quoting=False``: quote characters are part of the values."""
    rows = csv.reader(
        io.StringIO(read_text(path), newline=""),
        delimiter=delimiter,
        quoting=csv.QUOTE_MINIMAL if quoting else csv.QUOTE_NONE,
    )
    try:
        header = [h.strip() for h in next(rows)]
    except StopIteration:
        raise DataError(f"{path}: empty file (expected a header row naming the columns)") from None
    except csv.Error as exc:
        raise DataError(f"{path}:1: {exc}") from None
    repeated = sorted({h for h in header if header.count(h) > 1})
    if repeated or not all(header):
        what = f"repeated column names {', '.join(repeated)}" if repeated else "an empty name"
        raise DataError(f"{path}:1: the header has {what}")
    columns: dict[str, list[object]] = {h: [] for h in header}
    try:
        for row in rows:
            if not row or (len(row) == 1 and not row[0].strip()):
                continue  # blank line
            if len(row) != len(header):
                raise DataError(
                    f"{path}:{rows.line_num}: {len(row)} values, expected {len(header)} "
                    f"(one per column of the header)"
                )
            for h, value in zip(header, row):
                columns[h].append(_Cell(value.strip(), rows.line_num))
    except csv.Error as exc:
        raise DataError(f"{path}:{rows.line_num}: {exc}") from None
    return columns


class _Cell(str):
    """A CSV value that remembers its line, for error messages."""

    line: int

    def __new__(cls, value: str, line: int) -> _Cell:
        cell = super().__new__(cls, value)
        cell.line = line
        return cell


def _read_parquet(path: Path) -> dict[str, list[object]]:
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise DataError(
            f"{path}: reading Parquet needs pyarrow: pip install 'automata[tabular]' (or pip "
            f"install pyarrow), or save the table as CSV"
        ) from None
    try:
        table = pq.read_table(path)
    except (OSError, ValueError) as exc:  # pyarrow's ArrowInvalid is a ValueError
        raise DataError(f"{path}: cannot read as Parquet ({' '.join(str(exc).split())})") from None
    return {str(name): table.column(name).to_pylist() for name in table.column_names}


def _where(path: Path, column: str, index: int, value: object) -> str:
    line = getattr(value, "line", None)
    return f"{path}:{line}" if line is not None else f"{path}: row {index + 1}"


def _numbers(path: Path, column: str, values: list[object]) -> np.ndarray:
    """A feature column as float32; the first empty or non-numeric value is an error."""
    out = np.empty(len(values), dtype=np.float32)
    for i, value in enumerate(values):
        number = _number(value)
        if number is None:
            shown = "empty" if value is None or value == "" else f"{value!r}, not a number"
            raise DataError(
                f"{_where(path, column, i, value)}: feature column '{column}' is {shown} "
                f"(features must be numbers; missing values are not supported)"
            )
        out[i] = number
    return out


def _number(value: object) -> float | None:
    if isinstance(value, bool) or value is None:
        return float(value) if isinstance(value, bool) else None
    if isinstance(value, (int, float)):
        return float(value) if np.isfinite(value) else None
    text = str(value)
    if not text or "_" in text:  # float("1_0") is 10.0: not a number in a table
        return None
    try:
        number = float(text)
    except ValueError:
        return None
    return number if np.isfinite(number) else None


def _labels(path: Path, column: str, values: list[object]) -> np.ndarray:
    """The label column: numbers as float64 when every value is a number, else strings."""
    for i, value in enumerate(values):
        if value is None or value == "":
            raise DataError(f"{_where(path, column, i, value)}: label column '{column}' is empty")
    numbers = [_number(v) for v in values]
    if all(n is not None for n in numbers):
        return np.asarray(numbers, dtype=np.float64)
    return np.asarray([str(v) for v in values], dtype=str)
