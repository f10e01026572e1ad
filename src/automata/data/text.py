"""Text data sets: one loader, :func:`load_text`, configured entirely by a dataset YAML.

A text data set is some files of labelled sentences in a format that a *reader* turns into
sentences and raw labels (:class:`TextRows`): ``TrecReader`` for TREC's ``COARSE:fine question``
lines (:mod:`automata.data.trec`), ``PtbTreeReader`` for the SST's labelled trees
(:mod:`automata.data.ptb_trees`), ``TextColumnReader`` for a CSV, TSV or Parquet table with a text
and a label column, GLUE's TSV files among them (:mod:`automata.data.columns`). Everything else
that makes a data set (file names, which file is which split, how splits are cut, which labels
are which class, where the files come from, which checksums apply, the vocabulary) is in its YAML
under ``conf/dataset/``, so a text data set of a known format is one YAML file, as a tabular one
is (:mod:`automata.data.tabular`). The YAMLs of trec6, sst5, sst2 and glue_sst2 are the examples.

Pipeline: raw text -> :func:`tokenize` -> :class:`Vocabulary` (built from the training split
only) -> token ids -> :class:`TextDataset`, whose batches are ``((ids, lengths), labels)`` with
``ids`` right-padded with ``0`` (``<pad>``) to the longest sequence *of that batch*. The LSTM
(:class:`automata.models.lstm.LSTMClassifier`) packs the sequences with their lengths, so the
padding never enters the recurrence: a sentence gets the same logits whatever it is batched with.
Word vectors (GloVe) are read by :mod:`automata.data.glove`.

Data sources: TREC-6 and the SST trees ship with the package (``automata/data/shipped/``, see
``README_text.md`` there); ``root: null`` reads that copy. GLUE SST-2 is not shipped: its YAML
reads ``train.tsv``/``dev.tsv`` from ``${paths.data_dir}/glue_sst2`` and can download the official
zip. Every file read is checked against the ``SHA256SUMS`` of its folder when that lists it
(:func:`automata.data.files.verify_file`), the shipped copies always.
"""

from __future__ import annotations

import math
import re
import urllib.parse
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from automata.data.base import BatchDataset, DataSplits
from automata.data.files import (
    SHIPPED_DIR,
    PathLike,
    data_dir_hint,
    require_files,
    unzip,
    verify_file,
)
from automata.data.files import download as download_file
from automata.data.splits import SPLITS, cut, file_entries, split_cuts
from automata.errors import ConfigError, DataError

__all__ = [
    "PAD",
    "PAD_ID",
    "UNK",
    "UNK_ID",
    "TextDataset",
    "TextReader",
    "TextRows",
    "Vocabulary",
    "load_text",
    "tokenize",
]

PAD = "<pad>"
UNK = "<unk>"
PAD_ID = 0
UNK_ID = 1

# ---------------------------------------------------------------------------------------------
# Tokeniser
# ---------------------------------------------------------------------------------------------

# Penn Treebank escapes used in the SST trees (and a few other corpora).
_PTB_ESCAPES = {
    "-LRB-": "(",
    "-RRB-": ")",
    "-LSB-": "[",
    "-RSB-": "]",
    "-LCB-": "{",
    "-RCB-": "}",
}
_PTB_RE = re.compile("|".join(re.escape(k) for k in _PTB_ESCAPES), flags=re.IGNORECASE)
_NOT_KEPT = re.compile(r"[^a-z0-9(),!?'`]")
_CONTRACTIONS = re.compile(r"('s|'ve|n't|'re|'d|'ll)")
_PUNCT = re.compile(r"([(),!?])")


def tokenize(text: str) -> list[str]:
    """Split a sentence into lower-case tokens (the rule used for every text data set).

    The rule is Kim (2014)'s ``clean_str``, as used by CORDS, applied after lower-casing:

    1. lower-case; Penn Treebank escapes become brackets (``-LRB-`` -> ``(``, ``-RRB-`` -> ``)``,
       likewise ``-LSB-``/``-RSB-``/``-LCB-``/``-RCB-``) and ``\\/``, ``\\*`` lose the backslash;
    2. every character outside ``[a-z0-9(),!?'`]`` becomes a space (so ``.``, ``-``, ``/``,
       ``:``, ``"``, non-ASCII letters ... separate words and are dropped);
    3. the contractions ``'s 've n't 're 'd 'll`` are split off the word before them;
    4. ``( ) , ! ?`` are split off as tokens of their own;
    5. split on whitespace.

    Unlike Kim's code, brackets come out as ``(``/``)``, not as ``\\(``/``\\)`` (the original's
    replacement strings keep the backslash).

    Example:
        >>> tokenize("What's the capital of -LRB- France -RRB- ? I don't know.")
        ['what', "'s", 'the', 'capital', 'of', '(', 'france', ')', '?', 'i', 'do', "n't", 'know']
    """
    text = _PTB_RE.sub(lambda m: f" {_PTB_ESCAPES[m.group(0).upper()]} ", text)
    text = text.replace("\\/", "/").replace("\\*", "*").lower()
    text = _NOT_KEPT.sub(" ", text)
    text = _CONTRACTIONS.sub(r" \1", text)
    text = _PUNCT.sub(r" \1 ", text)
    return text.split()


# ---------------------------------------------------------------------------------------------
# Vocabulary and dataset
# ---------------------------------------------------------------------------------------------


class Vocabulary:
    """Token <-> id mapping: id 0 is ``<pad>``, id 1 is ``<unk>``, then the corpus tokens.

    Args:
        tokens: all tokens in id order; must start with ``<pad>``, ``<unk>`` and be unique.
    """

    def __init__(self, tokens: Sequence[str]) -> None:
        tokens = [str(t) for t in tokens]
        if tokens[:2] != [PAD, UNK]:
            raise ValueError(f"a vocabulary starts with {PAD!r}, {UNK!r}; got {tokens[:2]}")
        self.tokens = tokens
        self.index = {t: i for i, t in enumerate(tokens)}
        if len(self.index) != len(tokens):
            raise ValueError("vocabulary tokens are not unique")

    @classmethod
    def build(
        cls,
        sentences: Iterable[Sequence[str]],
        min_freq: int = 1,
        max_size: int | None = None,
    ) -> Vocabulary:
        """Build from tokenised sentences (pass the training split only, never val/test).

        Tokens are ordered by decreasing count, ties alphabetically, so the ids are the same on
        every run.

        Args:
            sentences: tokenised training sentences.
            min_freq: keep tokens seen at least this many times; rarer ones map to ``<unk>``.
            max_size: keep at most this many corpus tokens (the specials not counted).
        """
        if min_freq < 1:
            raise ConfigError(f"dataset.min_freq must be >= 1, got {min_freq}")
        counts = Counter(tok for sent in sentences for tok in sent)
        counts.pop(PAD, None)
        counts.pop(UNK, None)
        kept = sorted(
            (t for t, c in counts.items() if c >= min_freq), key=lambda t: (-counts[t], t)
        )
        if max_size is not None:
            kept = kept[:max_size]
        return cls([PAD, UNK, *kept])

    def __len__(self) -> int:
        return len(self.tokens)

    def __contains__(self, token: object) -> bool:
        return token in self.index

    def encode(self, tokens: Sequence[str]) -> list[int]:
        """Token ids; unknown tokens map to ``<unk>`` (1)."""
        return [self.index.get(t, UNK_ID) for t in tokens]


class TextDataset(BatchDataset):
    """Token-id sequences with labels, batched with per-batch right padding.

    ``get_batch(indices)`` returns ``((ids, lengths), labels)``: ``ids`` is a ``LongTensor
    [B, L]`` right-padded with 0, ``L`` the longest length *in this batch* (not in the data
    set), ``lengths`` a ``LongTensor [B]``. The LSTM packs the sequences by ``lengths``
    (``pack_padded_sequence``), so the padding costs nothing in the recurrence and cannot change
    a sentence's output.

    Args:
        sequences: token ids of each example (0 is reserved for padding).
        labels: class index of each example.
        max_len: keep only the first ``max_len`` tokens of each sequence; ``None`` keeps all.

    An empty sequence becomes a single ``<unk>``, since a zero-length sequence cannot be packed.
    """

    def __init__(
        self,
        sequences: Sequence[Sequence[int]],
        labels: Sequence[int] | torch.Tensor,
        max_len: int | None = None,
    ) -> None:
        if max_len is not None and max_len < 1:
            raise ConfigError(f"dataset.max_len must be >= 1 or null, got {max_len}")
        labels_t = torch.as_tensor(labels, dtype=torch.long).reshape(-1)
        if labels_t.numel() != len(sequences):
            raise ValueError(f"{len(sequences)} sequences but {labels_t.numel()} labels")
        seqs = [list(s[:max_len]) if max_len is not None else list(s) for s in sequences]
        seqs = [s if s else [UNK_ID] for s in seqs]
        lengths = torch.tensor([len(s) for s in seqs], dtype=torch.long)
        width = int(lengths.max()) if seqs else 1
        # One padded int32 matrix for the whole set: a batch is then a single gather + slice.
        ids = torch.zeros(len(seqs), width, dtype=torch.int32)
        for i, s in enumerate(seqs):
            ids[i, : len(s)] = torch.tensor(s, dtype=torch.int32)
        self.ids = ids
        self.lengths = lengths
        self.labels = labels_t
        self.max_len = max_len

    def get_batch(
        self, indices: torch.Tensor
    ) -> tuple[tuple[torch.Tensor, torch.Tensor], torch.Tensor]:
        lengths = self.lengths[indices]
        width = int(lengths.max()) if lengths.numel() else 0
        ids = self.ids[indices, :width].long()
        return (ids, lengths), self.labels[indices]


# ---------------------------------------------------------------------------------------------
# Loader
# ---------------------------------------------------------------------------------------------


@dataclass
class TextRows:
    """What a reader returns for one file: each row's sentence and raw label (a number or a
    name), and the line it is on (for error messages; ``None``: rows are only numbered)."""

    texts: list[str] = field(default_factory=list)
    labels: list[Any] = field(default_factory=list)
    lines: list[int] | None = field(default_factory=list)

    def add(self, text: str, label: Any, line: int) -> None:
        self.texts.append(text)
        self.labels.append(label)
        if self.lines is not None:
            self.lines.append(line)

    def where(self, path: Path, row: int) -> str:
        """``file:line`` of row ``row`` (``file: row N`` without lines)."""
        return f"{path}:{self.lines[row]}" if self.lines else f"{path}: row {row + 1}"

    def __len__(self) -> int:
        return len(self.texts)


#: ``reader(path) -> TextRows``: a text file format (a ``_target_`` in the dataset YAML).
TextReader = Callable[[Path], TextRows]

#: A raw label as it is compared: numbers by value (``"2"``, ``2`` and ``2.0`` are one label),
#: anything else by its text.
_LabelKey = tuple[int, float | str]


def load_text(
    name: str,
    files: Mapping[str, str | Sequence[str]],
    reader: TextReader,
    classes: Sequence[Any] | None = None,
    drop: Sequence[Any] = (),
    root: PathLike | None = None,
    shipped: str | None = None,
    split: Mapping[str, float | str] | None = None,
    split_seed: int = 0,
    min_freq: int = 1,
    max_len: int | None = None,
    download: bool = False,
    url: str | None = None,
    archive_folder: str | None = None,
    description: str | None = None,
) -> DataSplits:
    """Read a text data set's files and make its train/validation/test splits.

    Args:
        name: data set name reported in results (and the folder name in error hints).
        files: which file holds which split: keys ``train``, ``val``, ``test`` and/or ``all``
            (the file that ``split`` cuts splits from). A value is a file name or a list of
            alternatives; the first one present is read.
        reader: turns one file into sentences and raw labels (a ``_target_`` in the YAML, e.g.
            :class:`~automata.data.trec.TrecReader`).
        classes: the raw label of each class, in class-index order (``[ABBR, DESC, ...]``); an
            entry that is a list makes those labels one class (SST-2: ``[[0, 1], [3, 4]]``).
            Labels are compared as numbers when they are numbers (``"1"`` is ``1``), else as
            text. ``None``: the distinct labels of all files, sorted (numbers by value first,
            then names).
        drop: raw labels whose rows are left out (SST-2: the neutral ``2``). Any other label
            that is not in ``classes`` is an error naming its file and line.
        root: folder holding the files; ``None``: the copy shipped with the package
            (``shipped`` must be set).
        shipped: folder under ``automata/data/shipped`` with the package's copy of these files,
            read (and checked against its ``SHA256SUMS``) when ``root`` is ``None``. Files in
            another folder are checked against that folder's own ``SHA256SUMS`` only (unlike
            a tabular data set's), so a shortened copy of a shipped file can be read from
            ``root``.
        split: the splits cut from the rows of ``files.all`` (after ``drop``), in cutting
            order: each value the fraction of the rows still left when that split is cut, and
            ``rest`` for the split that takes the remaining rows (``{val: 0.1, train: rest}``).
            One permutation, ``torch.randperm`` with a generator seeded with ``split_seed``;
            each split keeps the file's row order.
        split_seed: seed of that permutation.
        min_freq: the vocabulary (training split only) keeps tokens seen at least this often;
            rarer ones become ``<unk>``.
        max_len: truncate sentences to this many tokens; ``None`` keeps all.
        download: when files are missing in ``root``, download ``url`` (a zip archive) and
            unzip it there (the members under ``archive_folder`` only, without that folder).
        url: the zip archive that holds the files (also named in the missing-files error).
        archive_folder: the folder of the archive that holds the files (``SST-2``); the files
            are also found in ``root/<archive_folder>/``, where unzipping by hand puts them.
        description: a sentence about the data set's provenance, shown first in the notes.

    Raises:
        ConfigError: ``files``/``split`` do not describe exactly one train, val and test split,
            ``root`` is ``None`` without ``shipped``, ``classes`` name a label twice, fewer than
            two classes, a bad ``min_freq`` or ``max_len``.
        DataError: files missing (all listed, with the folder and how to get them), a download
            failed, a file fails its sha256 check or is malformed, a label that is neither a
            class nor dropped, or too few rows to split.
    """
    entries = file_entries(name, files)
    cuts, rest = split_cuts(name, entries, split)
    if root is None and shipped is None:
        raise ConfigError(f"dataset.root: {name} does not ship with the package; give its folder")
    if min_freq < 1:
        raise ConfigError(f"dataset.min_freq must be >= 1, got {min_freq}")
    if max_len is not None and max_len < 1:
        raise ConfigError(f"dataset.max_len must be >= 1 or null, got {max_len}")
    dropped = {_label_key(label) for label in drop}
    given = None if classes is None else _class_keys(classes, dropped)
    inner = str(archive_folder).strip("/") if archive_folder else ""
    folder = SHIPPED_DIR / str(shipped) if root is None else Path(root).expanduser()
    if root is not None:
        if inner and not _complete(folder, entries) and _complete(folder / inner, entries):
            folder = folder / inner
        if download and not _complete(folder, entries):
            if url is None:
                raise ConfigError(f"dataset.download: {name} has no url to download from")
            archive = folder / (Path(urllib.parse.urlsplit(url).path).name or "archive.zip")
            download_file(url, archive)
            unzip(archive, folder, prefix=f"{inner}/" if inner else "")
            archive.unlink()
    hint = _missing_hint(name, root, shipped, url, inner)
    paths = dict(zip(entries, require_files(folder, list(entries.values()), name, hint)))

    read: dict[str, TextRows] = {}
    verified: list[bool] = []
    for key, path in paths.items():
        verified.append(verify_file(path))
        read[key] = reader(path)
    kept = {key: _without(rows, dropped) for key, rows in read.items()}
    if given is None:
        found = {_label_key(label) for rows in kept.values() for label in rows.labels}
        given = {key: k for k, key in enumerate(sorted(found))}
    shown = _class_names(classes, given)
    parts: dict[str, tuple[list[list[str]], list[int]]] = {}
    for key, rows in kept.items():
        labels = [
            _class_of(given, shown, label, rows, i, paths[key])
            for i, label in enumerate(rows.labels)
        ]
        parts[key] = ([tokenize(t) for t in rows.texts], labels)
    num_classes = len(shown)
    if num_classes < 2:
        raise DataError(f"{name}: the files hold {num_classes} class(es), need at least 2")

    source = "the copy shipped with the package" if root is None else str(folder)
    listed = ", ".join(f"{p.name} ({len(read[k])} rows)" for k, p in paths.items())
    first = f"{name}: " + (f"{description}; " if description else "") + f"{listed} from {source}"
    if "all" in parts:
        tokens, labels = parts.pop("all")
        rows_cut = cut(
            len(labels), cuts, rest, split_seed, rng="torch", what=f"{name}: {paths['all']}"
        )
        for key, index in rows_cut.items():
            parts[key] = ([tokens[i] for i in index], [labels[i] for i in index])
        order = [key for key, _ in cuts] + [rest]
        how = ", then ".join(f"{key} {frac:g} of the rows left" for key, frac in cuts)
        first += (
            f"; {' / '.join(order)}: a seeded random split of {paths['all'].name} (torch "
            f"randperm, split_seed={split_seed}; {how}, {rest} the rest): "
            f"{' / '.join(str(len(rows_cut[k])) for k in order)}"
        )
    given_files = [f"{k} = {p.name}" for k, p in paths.items() if k != "all"]
    if given_files:
        first += f"; {', '.join(given_files)}"
    notes = [first, _checksum_note(name, verified), _classes_note(name, shown, read, kept)]
    in_train = set(parts["train"][1])
    absent = [shown[k] for k in range(num_classes) if k not in in_train]
    if absent:
        notes.append(f"{name}: classes {', '.join(absent)} never occur in the training split")
    return _text_splits(name, parts, num_classes, min_freq, max_len, notes)


def _label_key(label: Any) -> _LabelKey:
    """How a raw label is compared: a number by value, anything else by its text."""
    if isinstance(label, (int, float)) and not isinstance(label, bool):
        if math.isfinite(label):
            return (0, float(label))
    text = str(label).strip()
    if "_" not in text:
        try:
            number = float(text)
        except ValueError:
            pass
        else:
            if math.isfinite(number):
                return (0, number)
    return (1, text)


def _show(key: _LabelKey) -> str:
    value = key[1]
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    return value


def _class_keys(classes: Sequence[Any], dropped: set[_LabelKey]) -> dict[_LabelKey, int]:
    """``{label: class index}`` from the ``classes`` setting (an entry may list labels)."""
    if isinstance(classes, (str, bytes)) or len(classes) < 2:
        raise ConfigError("dataset.classes: list at least two classes (or null: every label)")
    out: dict[_LabelKey, int] = {}
    for k, entry in enumerate(classes):
        labels = [entry] if isinstance(entry, (str, int, float)) else list(entry)
        if not labels:
            raise ConfigError(f"dataset.classes: class {k} lists no label")
        for label in labels:
            key = _label_key(label)
            if key in out or key in dropped:
                where = "dropped too" if key in dropped else "in two classes"
                raise ConfigError(f"dataset.classes: label {_show(key)} is {where}")
            out[key] = k
    return out


def _class_names(classes: Sequence[Any] | None, given: Mapping[_LabelKey, int]) -> list[str]:
    """Each class as the notes show it: its label, or its labels joined by ``/``."""
    count = max(given.values(), default=-1) + 1 if classes is None else len(classes)
    names: list[list[str]] = [[] for _ in range(count)]
    for key, k in given.items():
        names[k].append(_show(key))
    return ["/".join(n) for n in names]


def _without(rows: TextRows, dropped: set[_LabelKey]) -> TextRows:
    if not dropped:
        return rows
    keep = [i for i, label in enumerate(rows.labels) if _label_key(label) not in dropped]
    lines = None if rows.lines is None else [rows.lines[i] for i in keep]
    return TextRows([rows.texts[i] for i in keep], [rows.labels[i] for i in keep], lines)


def _class_of(
    given: Mapping[_LabelKey, int],
    shown: Sequence[str],
    label: Any,
    rows: TextRows,
    row: int,
    path: Path,
) -> int:
    k = given.get(_label_key(label))
    if k is None:
        raise DataError(
            f"{rows.where(path, row)}: label {_show(_label_key(label))} is not one of the classes "
            f"{', '.join(shown)} (add it to dataset.classes, or to dataset.drop to leave its rows "
            f"out)"
        )
    return k


def _classes_note(
    name: str, shown: Sequence[str], read: Mapping[str, TextRows], kept: Mapping[str, TextRows]
) -> str:
    note = (
        f"{name}: {len(shown)} classes, labels {', '.join(shown)} mapped to "
        f"0..{len(shown) - 1} in that order"
    )
    left_out = sum(len(read[k]) - len(kept[k]) for k in read)
    if left_out:
        note += f"; {left_out} rows with dropped labels left out"
    return note


def _complete(folder: Path, entries: Mapping[str, tuple[str, ...]]) -> bool:
    """Whether ``folder`` holds a file for every entry."""
    return all(any((folder / c).is_file() for c in choices) for choices in entries.values())


def _missing_hint(
    name: str, root: PathLike | None, shipped: str | None, url: str | None, inner: str
) -> str:
    """How to get the files, for the missing-files error."""
    if root is None:
        return "the data shipped with the package is missing; reinstall automata"
    fetch = None
    if url is not None:
        what = f"its {inner}/ files" if inner else "it"
        fetch = f"download {url} and unzip {what} there, or set dataset.download=true"
    if shipped is not None:
        hint = "set dataset.root=null to use the sha256-checked copy shipped with the package"
        return hint + (f", or {fetch}" if fetch else "")
    return fetch or data_dir_hint(name, downloadable=False)


def _checksum_note(name: str, verified: Sequence[bool]) -> str:
    if all(verified):
        return f"{name}: sha256 of every file verified"
    return f"{name}: no published sha256 for these files; they were parsed strictly, not verified"


def _text_splits(
    name: str,
    parts: dict[str, tuple[list[list[str]], list[int]]],
    num_classes: int,
    min_freq: int,
    max_len: int | None,
    notes: list[str],
) -> DataSplits:
    """Vocabulary from ``parts['train']`` only, then one TextDataset per split."""
    vocab = Vocabulary.build(parts["train"][0], min_freq=min_freq)
    sets = {
        key: TextDataset([vocab.encode(t) for t in parts[key][0]], parts[key][1], max_len=max_len)
        for key in SPLITS
    }
    unk_rate = {
        key: float((ds.ids == UNK_ID).sum()) / max(1, int(ds.lengths.sum()))
        for key, ds in sets.items()
    }
    notes = [
        *notes,
        f"vocabulary: {len(vocab)} tokens from the training split only (min_freq={min_freq}); "
        f"<unk> rate val {unk_rate['val']:.1%}, test {unk_rate['test']:.1%}",
        "tokeniser: automata.data.text.tokenize (lower-case, Kim-style clean_str)",
    ]
    return DataSplits(
        name=name,
        train=sets["train"],
        val=sets["val"],
        test=sets["test"],
        num_classes=num_classes,
        model_kwargs={"vocab": list(vocab.tokens)},
        notes=notes,
    )
