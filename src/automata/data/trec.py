"""TREC question classification files (Li & Roth 2002) as a text data set's ``reader``.

One question per line, ``COARSE:fine question text``, e.g. ``NUM:date When was Ozzy Osbourne
born ?``. :class:`TrecReader` turns one file into the questions and their labels for
:func:`automata.data.text.load_text`; ``conf/dataset/trec6.yaml`` is the example (TREC-6, the six
coarse classes; ``fine: true`` reads TREC-50's fine labels).
"""

from __future__ import annotations

from pathlib import Path

from automata.data.files import open_text
from automata.data.text import TextRows
from automata.errors import DataError

__all__ = ["TrecReader"]


class TrecReader:
    """Read a TREC ``.label`` file.

    Args:
        fine: label each question with its fine label ``COARSE:fine`` (TREC-50) instead of its
            coarse one ``COARSE`` (TREC-6).
        encoding: the files' encoding; Latin-1 (``train_5500.label`` has one 0xF0 byte).
    """

    def __init__(self, fine: bool = False, encoding: str = "latin-1") -> None:
        self.fine = bool(fine)
        self.encoding = str(encoding)

    def __call__(self, path: Path) -> TextRows:
        rows = TextRows([], [], [])
        with open_text(path, encoding=self.encoding) as fh:
            for lineno, line in enumerate(fh, start=1):
                line = line.strip()
                if not line:
                    continue
                label, _, text = line.partition(" ")
                coarse, colon, _ = label.partition(":")
                if not colon or not coarse:
                    raise DataError(
                        f"{path}:{lineno}: expected 'COARSE:fine text', got {line[:40]!r}"
                    )
                rows.add(text, label if self.fine else coarse, lineno)
        return rows
