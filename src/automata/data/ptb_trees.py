"""Penn Treebank trees with a sentiment label on every node (the Stanford Sentiment Treebank,
Socher et al. 2013) as a text data set's ``reader``.

One tree per line, e.g. ``(3 (2 It) (4 (3 good) (2 fun)))``: the sentence is the leaves in
order, its label the root's. :class:`PtbTreeReader` turns one file into sentences and labels for
:func:`automata.data.text.load_text`; ``conf/dataset/sst5.yaml`` and ``sst2.yaml`` are the
examples.
"""

from __future__ import annotations

import re
from pathlib import Path

from automata.data.files import open_text
from automata.data.text import TextRows
from automata.errors import DataError

__all__ = ["PtbTreeReader"]

_LEAF_RE = re.compile(r"\(\d+ ([^()\s]+)\)")
_ROOT_RE = re.compile(r"\((\d+)\s")


class PtbTreeReader:
    """Read a file of labelled PTB trees, one per line: the sentence is the tree's leaves, the
    label its root's (an integer; SST: 0-4, very negative to very positive)."""

    def __call__(self, path: Path) -> TextRows:
        rows = TextRows([], [], [])
        with open_text(path) as fh:
            for lineno, line in enumerate(fh, start=1):
                line = line.strip()
                if not line:
                    continue
                root = _ROOT_RE.match(line)
                leaves = _LEAF_RE.findall(line)
                if root is None or not leaves or line.count("(") != line.count(")"):
                    raise DataError(f"{path}:{lineno}: not a labelled PTB tree: {line[:40]!r}")
                rows.add(" ".join(leaves), int(root.group(1)), lineno)
        return rows
