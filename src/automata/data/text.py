"""Text workloads: TREC-6, SST-5 / SST-2 (PTB trees) and GLUE SST-2.

Pipeline: raw text -> :func:`tokenize` -> :class:`Vocabulary` (built from the training split
only) -> token ids -> :class:`TextDataset`, whose batches are ``((ids, lengths), labels)`` with
``ids`` right-padded with ``0`` (``<pad>``) to the longest sequence *of that batch*. The LSTM
(:class:`automata.models.lstm.LSTMClassifier`) packs the sequences with their lengths, so the
padding never enters the recurrence: a sentence gets the same logits whatever it is batched with.
Word vectors (GloVe) are read by :mod:`automata.data.glove`.

Data sources:

* TREC-6 and the SST trees ship with the package (``automata/data/shipped/``, see
  ``README_text.md`` there); ``root=None`` reads that copy. Every file read is checked against
  the ``SHA256SUMS`` of its folder when that lists it (:func:`automata.data.files.verify_file`).
* GLUE SST-2 is not shipped: :func:`load_glue_sst2` reads ``train.tsv``/``dev.tsv`` from a
  folder (``${paths.data_dir}/glue_sst2``) and can download the official zip.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path

import torch

from automata.data.base import BatchDataset, DataSplits
from automata.data.files import SHIPPED_DIR, open_text, require_files, unzip, verify_file
from automata.data.files import download as download_file
from automata.data.splits import cut
from automata.errors import ConfigError, DataError

__all__ = [
    "GLUE_SST2_URL",
    "PAD",
    "PAD_ID",
    "TREC_CLASSES",
    "UNK",
    "UNK_ID",
    "TextDataset",
    "Vocabulary",
    "load_glue_sst2",
    "load_sst",
    "load_trec6",
    "tokenize",
]

#: Official GLUE SST-2 archive (train.tsv, dev.tsv, test.tsv under ``SST-2/``).
GLUE_SST2_URL = "https://dl.fbaipublicfiles.com/glue/data/SST-2.zip"

#: TREC coarse classes, in the fixed order that defines the class indices 0..5.
TREC_CLASSES = ("ABBR", "DESC", "ENTY", "HUM", "LOC", "NUM")

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
# Loaders
# ---------------------------------------------------------------------------------------------


def _check_fraction(val_fraction: float) -> None:
    if not 0.0 < val_fraction < 1.0:
        raise ConfigError(f"dataset.val_fraction must be in (0, 1), got {val_fraction}")


def _split_indices(n: int, val_fraction: float, seed: int) -> tuple[list[int], list[int]]:
    """Seeded train/validation split (torch permutation); each part in file order."""
    parts = cut(n, [("val", val_fraction)], "train", seed, rng="torch", what="validation split")
    return parts["train"].tolist(), parts["val"].tolist()


def _folder(root: str | Path | None, shipped: str) -> Path:
    """The folder to read: the copy shipped with the package when ``root`` is None."""
    return SHIPPED_DIR / shipped if root is None else Path(root).expanduser()


def _checked(paths: Sequence[Path]) -> list[Path]:
    """``paths``, each checked against the SHA256SUMS of its folder when that lists it."""
    for path in paths:
        verify_file(path)
    return list(paths)


def _make_splits(
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
        key: TextDataset([vocab.encode(t) for t in toks], labels, max_len=max_len)
        for key, (toks, labels) in parts.items()
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


def _read_trec(path: Path) -> tuple[list[list[str]], list[int]]:
    """``COARSE:fine question`` per line; Latin-1 (the train file has one 0xF0 byte)."""
    tokens: list[list[str]] = []
    labels: list[int] = []
    with open_text(path, encoding="latin-1") as fh:
        for lineno, line in enumerate(fh, start=1):
            line = line.strip()
            if not line:
                continue
            label, _, text = line.partition(" ")
            coarse = label.split(":", 1)[0]
            if ":" not in label or coarse not in TREC_CLASSES:
                raise DataError(f"{path}:{lineno}: expected 'COARSE:fine text', got {line[:40]!r}")
            tokens.append(tokenize(text))
            labels.append(TREC_CLASSES.index(coarse))
    return tokens, labels


def load_trec6(
    root: str | Path | None = None,
    name: str = "trec6",
    split_seed: int = 0,
    val_fraction: float = 0.1,
    min_freq: int = 1,
    max_len: int | None = None,
) -> DataSplits:
    """TREC-6 question classification (Li & Roth 2002), 6 coarse classes.

    ``train_5500.label`` (5452 questions) is split into train/val by a seeded permutation
    (``val_fraction`` of it held out: 4907/545 by default); ``TREC_10.label`` (500) is the test
    set. Class indices follow :data:`TREC_CLASSES` (ABBR DESC ENTY HUM LOC NUM).

    Args:
        root: folder with ``train_5500.label`` and ``TREC_10.label``; ``None``: the shipped copy.
        name: name in reports.
        split_seed: seed of the train/val permutation.
        val_fraction: fraction of ``train_5500.label`` held out as validation.
        min_freq: vocabulary keeps training tokens seen at least this often.
        max_len: truncate sequences to this many tokens; ``None`` keeps all.
    """
    _check_fraction(val_fraction)
    folder = _folder(root, "trec")
    files = ("train_5500.label", "TREC_10.label")
    hint = "get them from https://cogcomp.seas.upenn.edu/Data/QA/QC/"
    train_path, test_path = _checked(require_files(folder, files, name, hint))
    all_tokens, all_labels = _read_trec(train_path)
    test = _read_trec(test_path)
    tr, va = _split_indices(len(all_labels), val_fraction, split_seed)
    parts = {
        "train": ([all_tokens[i] for i in tr], [all_labels[i] for i in tr]),
        "val": ([all_tokens[i] for i in va], [all_labels[i] for i in va]),
        "test": test,
    }
    notes = [
        f"TREC-6 ({folder}): validation = seeded {val_fraction:g} of train_5500.label "
        f"(split_seed={split_seed}); test = TREC_10.label; classes {' '.join(TREC_CLASSES)}",
    ]
    return _make_splits(name, parts, len(TREC_CLASSES), min_freq, max_len, notes)


_LEAF_RE = re.compile(r"\(\d+ ([^()\s]+)\)")
_ROOT_RE = re.compile(r"\((\d+)\s")


def _read_sst_trees(path: Path) -> tuple[list[list[str]], list[int]]:
    """One PTB tree per line: sentence = leaves in order, label = root label (0-4)."""
    tokens: list[list[str]] = []
    labels: list[int] = []
    with open_text(path) as fh:
        for lineno, line in enumerate(fh, start=1):
            line = line.strip()
            if not line:
                continue
            root = _ROOT_RE.match(line)
            leaves = _LEAF_RE.findall(line)
            if root is None or not leaves or line.count("(") != line.count(")"):
                raise DataError(f"{path}:{lineno}: not a labelled PTB tree: {line[:40]!r}")
            label = int(root.group(1))
            if not 0 <= label <= 4:
                raise DataError(f"{path}:{lineno}: root label {label} outside 0..4")
            tokens.append(tokenize(" ".join(leaves)))
            labels.append(label)
    return tokens, labels


def load_sst(
    root: str | Path | None = None,
    name: str = "sst5",
    num_classes: int = 5,
    min_freq: int = 1,
    max_len: int | None = None,
) -> DataSplits:
    """Stanford Sentiment Treebank, sentence level, from the PTB trees (Socher et al. 2013).

    ``num_classes=5`` (SST-5): the root label 0-4; 8544/1101/2210 sentences.
    ``num_classes=2`` (SST-2): sentences with root label 2 (neutral) are dropped, 0/1 -> 0
    (negative) and 3/4 -> 1 (positive); 6920/872/1821 sentences. The standard train/dev/test
    files are used as train/val/test. (This is the standard SST-2, not CORDS's ``sst2``, which
    thresholds continuous phrase sentiment; see README_text.md.)

    Args:
        root: folder with ``train.txt`` (or ``train.txt.gz``), ``dev.txt``, ``test.txt``;
            ``None``: the shipped copy.
        name: name in reports.
        num_classes: 5 or 2.
        min_freq: vocabulary keeps training tokens seen at least this often.
        max_len: truncate sequences to this many tokens; ``None`` keeps all.
    """
    if num_classes not in (2, 5):
        raise ConfigError(f"dataset.num_classes must be 2 or 5 for SST, got {num_classes}")
    folder = _folder(root, "sst")
    hint = "unzip trees/ from https://nlp.stanford.edu/sentiment/trainDevTestTrees_PTB.zip there"
    files = (("train.txt", "train.txt.gz"), "dev.txt", "test.txt")
    paths = _checked(require_files(folder, files, name, hint))
    parts: dict[str, tuple[list[list[str]], list[int]]] = {}
    for key, path in zip(("train", "val", "test"), paths):
        toks, labels = _read_sst_trees(path)
        if num_classes == 2:
            keep = [i for i, y in enumerate(labels) if y != 2]
            toks = [toks[i] for i in keep]
            labels = [0 if labels[i] < 2 else 1 for i in keep]
        parts[key] = (toks, labels)
    rule = "root label 0-4" if num_classes == 5 else "neutral dropped, 0/1 -> 0, 3/4 -> 1"
    notes = [f"SST-{num_classes} from PTB trees ({folder}): {rule}; val = dev.txt"]
    return _make_splits(name, parts, num_classes, min_freq, max_len, notes)


def _read_glue_tsv(path: Path) -> tuple[list[list[str]], list[int]]:
    """GLUE SST-2 ``train.tsv``/``dev.tsv``: header ``sentence<TAB>label``, labels 0/1."""
    tokens: list[list[str]] = []
    labels: list[int] = []
    with open_text(path) as fh:
        header = fh.readline().rstrip("\r\n").split("\t")
        if header != ["sentence", "label"]:
            raise DataError(f"{path}:1: expected header 'sentence<TAB>label', got {header}")
        for lineno, line in enumerate(fh, start=2):
            line = line.rstrip("\r\n")
            if not line:
                continue
            sentence, sep, label = line.rpartition("\t")
            if not sep or label not in ("0", "1"):
                raise DataError(f"{path}:{lineno}: expected 'sentence<TAB>0|1', got {line[:40]!r}")
            tokens.append(tokenize(sentence))
            labels.append(int(label))
    return tokens, labels


def load_glue_sst2(
    root: str | Path,
    name: str = "glue_sst2",
    split_seed: int = 0,
    val_fraction: float = 0.1,
    download: bool = False,
    url: str = GLUE_SST2_URL,
    min_freq: int = 1,
    max_len: int | None = None,
) -> DataSplits:
    """GLUE SST-2 (67349 train phrases, 872 dev sentences), binary sentiment.

    GLUE's test labels are hidden, so ``dev.tsv`` is the test set and a seeded
    ``val_fraction`` of ``train.tsv`` is held out for validation.

    Args:
        root: folder with ``train.tsv`` and ``dev.tsv`` (or with the zip's ``SST-2/`` folder).
        name: name in reports.
        split_seed: seed of the train/val permutation.
        val_fraction: fraction of ``train.tsv`` held out as validation.
        download: when the files are missing, download ``url`` and unzip it into ``root``.
        url: the GLUE SST-2 zip.
        min_freq: vocabulary keeps training tokens seen at least this often.
        max_len: truncate sequences to this many tokens; ``None`` keeps all.
    """
    _check_fraction(val_fraction)
    folder = Path(root).expanduser()
    files = ("train.tsv", "dev.tsv")
    if not all((folder / f).is_file() for f in files) and all(
        (folder / "SST-2" / f).is_file() for f in files
    ):
        folder = folder / "SST-2"
    if download and not all((folder / f).is_file() for f in files):
        archive = folder / "SST-2.zip"
        download_file(url, archive)
        unzip(archive, folder, prefix="SST-2/")
        archive.unlink()
    hint = f"download {url} and unzip its SST-2/ files there, or set dataset.download=true"
    train_path, test_path = _checked(require_files(folder, files, name, hint))
    all_tokens, all_labels = _read_glue_tsv(train_path)
    test = _read_glue_tsv(test_path)
    tr, va = _split_indices(len(all_labels), val_fraction, split_seed)
    parts = {
        "train": ([all_tokens[i] for i in tr], [all_labels[i] for i in tr]),
        "val": ([all_tokens[i] for i in va], [all_labels[i] for i in va]),
        "test": test,
    }
    notes = [
        f"GLUE SST-2 ({folder}): test = dev.tsv (GLUE test labels are hidden); validation = "
        f"seeded {val_fraction:g} of train.tsv (split_seed={split_seed})",
    ]
    return _make_splits(name, parts, 2, min_freq, max_len, notes)
