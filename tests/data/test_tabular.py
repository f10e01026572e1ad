"""Tabular loaders (dna, satimage, letter, connect-4), file helpers and their configs."""

from __future__ import annotations

import functools
import gzip
import http.server
import inspect
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch
from hydra.utils import get_method, instantiate
from omegaconf import OmegaConf

from automata.data import files
from automata.data.base import DataSplits
from automata.data.connect4 import CONNECT4_CELLS
from automata.data.files import (
    SHIPPED_DIR,
    read_sha256sums,
    require_files,
    sha256_file,
    shipped_sha256,
    verify_file,
    verify_sha256,
)
from automata.data.libsvm import read_libsvm
from automata.errors import DataError

from .configs import CONF_DATASET, dataset_loader
from .writers import board_rows, write_tsv

# The data sets are their YAMLs (conf/dataset/), read by the generic tabular loader.
load_dna, load_satimage, load_letter, load_connect4 = (
    dataset_loader(name) for name in ("dna", "satimage", "letter", "connect4")
)
LETTER_FILES = tuple(OmegaConf.load(CONF_DATASET / "letter.yaml").files.values())
# The published digests: the shipped SHA256SUMS (plus the content digest of each shipped .gz).
KNOWN_SHA256 = {**shipped_sha256("dna"), **shipped_sha256("satimage")}


def _class_counts(splits: DataSplits, split: str) -> list[int]:
    return torch.bincount(getattr(splits, split).labels).tolist()


def _rows(splits: DataSplits) -> tuple[torch.Tensor, torch.Tensor]:
    """Features and labels of all three splits, concatenated."""
    parts = [splits.train, splits.val, splits.test]
    return torch.cat([p.features for p in parts]), torch.cat([p.labels for p in parts])


# ---------------------------------------------------------------------------------------------
# A local HTTP server for the download tests
# ---------------------------------------------------------------------------------------------


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 (stdlib signature)
        pass


@pytest.fixture
def http_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Path, str]]:
    """A folder served on 127.0.0.1 (random free port): ``(folder, base URL)``."""
    for var in ("NO_PROXY", "no_proxy"):  # never send the local requests through a proxy
        monkeypatch.setenv(var, "127.0.0.1,localhost")
    served = tmp_path / "served"
    served.mkdir()
    handler = functools.partial(_QuietHandler, directory=str(served))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    try:
        yield served, f"http://127.0.0.1:{server.server_address[1]}/files"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def _serve(served: Path, names: list[str], source: Path) -> None:
    """Put ``source/<name>`` files under the served ``files/`` folder."""
    (served / "files").mkdir(exist_ok=True)
    for name in names:
        shutil.copy(source / name, served / "files" / name)


# ---------------------------------------------------------------------------------------------
# Small files in the real formats
# ---------------------------------------------------------------------------------------------

LETTER_FIRST_ROW = "1 1:0.5 7:0.25 16:-1"


def _write_letter(folder: Path, sizes: tuple[int, int, int] = (52, 26, 26)) -> None:
    """letter.scale.tr/.val/.t: 16 features, labels 1..26 (every class in every split)."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(7)
    for name, n in zip(LETTER_FILES, sizes):
        lines = []
        for i in range(n):
            idx = np.sort(rng.choice(16, size=5, replace=False)) + 1
            pairs = " ".join(f"{j}:{rng.uniform(-1, 1):.4f}" for j in idx)
            lines.append(f"{i % 26 + 1} {pairs}")
        if name == "letter.scale.tr":
            lines[0] = LETTER_FIRST_ROW
        (folder / name).write_text("\n".join(lines) + "\n")


def _write_connect4_libsvm(path: Path, cells: np.ndarray, labels: np.ndarray) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    index = np.arange(len(CONNECT4_CELLS)) * 3 + cells + 1
    lines = [
        f"{lab} " + " ".join(f"{i}:1" for i in row)
        for lab, row in zip(labels.tolist(), index.tolist())
    ]
    path.write_text("\n".join(lines) + "\n")
    return path


# ---------------------------------------------------------------------------------------------
# dna and satimage: the shipped real data
# ---------------------------------------------------------------------------------------------


def test_dna_matches_the_published_statistics() -> None:
    dna = load_dna()
    assert dna.sizes() == {"train": 1400, "val": 600, "test": 1186}
    assert dna.num_classes == 3
    assert dna.model_kwargs == {"input_dim": 180}
    assert dna.train.features.dtype == torch.float32
    assert dna.train.features.shape == (1400, 180)
    # Class counts of labels 1/2/3 from shared/data/README.md.
    assert _class_counts(dna, "train") == [331, 329, 740]
    assert _class_counts(dna, "val") == [133, 156, 311]
    assert _class_counts(dna, "test") == [303, 280, 603]
    features, _ = _rows(dna)
    assert set(features.unique().tolist()) == {0.0, 1.0}  # binary-coded nucleotides
    assert features[:, 179].any()  # index 180 is used, so the width is right
    assert any("published LIBSVM split" in n for n in dna.notes)
    assert any("sha256 of every file verified" in n for n in dna.notes)


def test_satimage_matches_the_published_statistics() -> None:
    sat = load_satimage()
    assert sat.sizes() == {"train": 3104, "val": 1331, "test": 2000}
    assert sat.num_classes == 6
    assert sat.model_kwargs == {"input_dim": 36}
    # satimage.scale holds 1072/479/961/415/470/1038; train and val partition it.
    train_val = np.add(_class_counts(sat, "train"), _class_counts(sat, "val")).tolist()
    assert train_val == [1072, 479, 961, 415, 470, 1038]
    assert _class_counts(sat, "test") == [461, 224, 397, 211, 237, 470]
    # LIBSVM scaled satimage.scale to [-1, 1]; the test file used the same factors, so it may not.
    train_val = torch.cat([sat.train.features, sat.val.features])
    assert train_val.min() == -1.0 and train_val.max() == 1.0
    assert any("not public" in n and "seeded random split" in n for n in sat.notes)


def test_satimage_split_is_deterministic_per_seed() -> None:
    a, b, c = load_satimage(split_seed=0), load_satimage(split_seed=0), load_satimage(split_seed=1)
    assert torch.equal(a.train.features, b.train.features)
    assert torch.equal(a.val.labels, b.val.labels)
    assert not torch.equal(a.train.features, c.train.features)
    assert c.sizes() == a.sizes()
    assert torch.equal(a.test.features, c.test.features)  # the test file is not resampled

    def train_val_rows(s: DataSplits) -> np.ndarray:
        rows = torch.cat([s.train.features, s.val.features]).numpy()
        return rows[np.lexsort(rows.T[::-1])]

    # Another seed regroups the same 4435 rows.
    assert np.array_equal(train_val_rows(a), train_val_rows(c))


def test_shipped_sha256sums_match_the_files_and_the_known_table() -> None:
    for folder in ("dna", "satimage"):
        sums = read_sha256sums(SHIPPED_DIR / folder / "SHA256SUMS")
        data_files = {p.name for p in (SHIPPED_DIR / folder).iterdir() if p.name != "SHA256SUMS"}
        assert set(sums) == data_files
        for name, digest in sums.items():
            assert KNOWN_SHA256[name] == digest
            assert sha256_file(SHIPPED_DIR / folder / name) == digest
    # satimage.scale's known digest is that of the gzipped file's content.
    content = sha256_file(SHIPPED_DIR / "satimage" / "satimage.scale.gz", gunzip=True)
    assert content == KNOWN_SHA256["satimage.scale"]


def test_corrupted_copy_fails_the_checksum(tmp_path: Path) -> None:
    root = tmp_path / "dna"
    shutil.copytree(SHIPPED_DIR / "dna", root)
    target = root / "dna.scale.tr"
    data = bytearray(target.read_bytes())
    assert data[0:1] == b"2"
    data[0:1] = b"1"  # first label 2 -> 1: still a valid LIBSVM file, but not the published one
    target.write_bytes(bytes(data))
    read_libsvm(target, 180)  # parses fine, so only the checksum can catch it

    with pytest.raises(DataError) as info:
        load_dna(root=str(root))
    message = str(info.value)
    assert message.startswith(f"checksum mismatch for {target}: expected sha256 101d8f3d")
    assert f"got {sha256_file(target)}" in message
    assert "delete it and re-download / re-copy" in message


def test_intact_copy_loads_from_another_root(tmp_path: Path) -> None:
    root = tmp_path / "sat"
    shutil.copytree(SHIPPED_DIR / "satimage", root)
    from_copy, shipped = load_satimage(root=str(root)), load_satimage()
    assert torch.equal(from_copy.train.features, shipped.train.features)
    assert str(root) in from_copy.notes[0]
    assert any("sha256 of every file verified" in n for n in from_copy.notes)


def test_satimage_recompressed_or_plain_copy_is_accepted(tmp_path: Path) -> None:
    content = gzip.decompress((SHIPPED_DIR / "satimage" / "satimage.scale.gz").read_bytes())
    test_file = SHIPPED_DIR / "satimage" / "satimage.scale.t"
    regz, plain, bad = tmp_path / "regz", tmp_path / "plain", tmp_path / "bad"
    for folder in (regz, plain, bad):
        folder.mkdir()
        shutil.copy(test_file, folder)
    # Other gzip bytes, same content: accepted through the content checksum.
    (regz / "satimage.scale.gz").write_bytes(gzip.compress(content, compresslevel=1, mtime=1))
    (plain / "satimage.scale").write_bytes(content)
    (bad / "satimage.scale.gz").write_bytes(gzip.compress(content.replace(b"6 ", b"5 ", 1)))

    reference = load_satimage()
    for folder in (regz, plain):
        assert torch.equal(load_satimage(root=folder).val.labels, reference.val.labels)
    with pytest.raises(DataError, match=r"checksum mismatch for .*bad/satimage\.scale\.gz"):
        load_satimage(root=bad)


def test_verification_is_cached_until_the_file_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "f.txt"
    path.write_bytes(b"hello\n")
    digest = sha256_file(path)
    calls: list[Path] = []
    real = files.sha256_file

    def counting(p: Path, *, gunzip: bool = False) -> str:
        calls.append(Path(p))
        return real(p, gunzip=gunzip)

    monkeypatch.setattr(files, "sha256_file", counting)
    verify_sha256(path, digest)
    verify_sha256(path, digest.upper())
    assert len(calls) == 1
    path.write_bytes(b"hullo\n")  # new content, new mtime: checked again, and it now fails
    with pytest.raises(DataError, match="checksum mismatch"):
        verify_sha256(path, digest)
    assert len(calls) == 2


def test_unknown_file_names_are_not_verified(tmp_path: Path) -> None:
    path = tmp_path / "letter.scale.tr"
    path.write_text("1 1:1\n")
    assert verify_file(path, shipped="dna") is False
    assert verify_file(SHIPPED_DIR / "dna" / "dna.scale.t", shipped="dna") is True


def test_missing_dna_files_suggest_the_shipped_copy(tmp_path: Path) -> None:
    (tmp_path / "dna.scale.val").write_text("1 1:1\n")
    with pytest.raises(DataError) as info:
        load_dna(root=tmp_path)
    message = str(info.value)
    assert message.startswith(f"dna: 2 files missing in {tmp_path}: dna.scale.tr, dna.scale.t;")
    assert "dataset.root=null" in message


# ---------------------------------------------------------------------------------------------
# letter
# ---------------------------------------------------------------------------------------------


def test_letter_loads_small_files(tmp_path: Path) -> None:
    _write_letter(tmp_path / "letter")
    letter = load_letter(root=str(tmp_path / "letter"))
    assert letter.sizes() == {"train": 52, "val": 26, "test": 26}
    assert letter.num_classes == 26
    assert letter.model_kwargs == {"input_dim": 16}
    expected = torch.zeros(16)
    expected[0], expected[6], expected[15] = 0.5, 0.25, -1.0  # LETTER_FIRST_ROW, 1-based indices
    assert torch.equal(letter.train.features[0], expected)
    assert letter.train.labels[:3].tolist() == [0, 1, 2]  # labels 1, 2, 3
    assert letter.test.labels[25].item() == 25  # label 26
    assert any("no published sha256" in n for n in letter.notes)


def test_letter_feature_index_above_16_names_file_and_line(tmp_path: Path) -> None:
    _write_letter(tmp_path)
    path = tmp_path / "letter.scale.val"
    lines = path.read_text().splitlines()
    lines[4] = "3 2:0.5 17:1"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(DataError, match=rf"^{path}:5: feature index 17 .* above the 16 features"):
        load_letter(root=tmp_path)


def test_letter_missing_files_are_listed_together(tmp_path: Path) -> None:
    folder = tmp_path / "letter"
    folder.mkdir()
    url = "https://www.csie.ntu.edu.tw/~cjlin/libsvmtools/datasets/multiclass"
    with pytest.raises(DataError) as info:
        load_letter(root=folder)
    message = str(info.value)
    assert message.startswith(
        f"letter: 3 files missing in {folder}: letter.scale.tr, letter.scale.val, letter.scale.t;"
    )
    assert f"{url}/letter.scale.tr" in message
    assert "dataset.download=true" in message
    assert "paths.data_dir=" in message and "AUTOMATA_DATA_DIR" in message
    assert "\n" not in message

    (folder / "letter.scale.val").write_text("1 1:1\n")
    with pytest.raises(DataError, match=r": letter\.scale\.tr, letter\.scale\.t;"):
        load_letter(root=folder)
    with pytest.raises(DataError, match=r"data folder .*nowhere does not exist"):
        load_letter(root=tmp_path / "nowhere")


def test_letter_download(tmp_path: Path, http_folder: tuple[Path, str]) -> None:
    served, base_url = http_folder
    _write_letter(tmp_path / "source")
    _serve(served, list(LETTER_FILES), tmp_path / "source")
    root = tmp_path / "data" / "letter"  # does not exist yet

    letter = load_letter(root=root, download=True, base_url=base_url)
    assert letter.sizes() == {"train": 52, "val": 26, "test": 26}
    assert sorted(p.name for p in root.iterdir()) == sorted(LETTER_FILES)  # no temporary files
    for name in LETTER_FILES:
        assert (root / name).read_bytes() == (tmp_path / "source" / name).read_bytes()


def test_letter_download_fetches_only_missing_files(
    tmp_path: Path, http_folder: tuple[Path, str]
) -> None:
    served, base_url = http_folder
    _write_letter(tmp_path / "source")
    _serve(served, ["letter.scale.tr", "letter.scale.val"], tmp_path / "source")
    root = tmp_path / "letter"
    _write_letter(root, sizes=(52, 26, 39))
    (root / "letter.scale.tr").unlink()
    (root / "letter.scale.val").unlink()
    # letter.scale.t is not served: requesting it would fail, so it must be the local one.
    letter = load_letter(root=root, download=True, base_url=base_url + "/")
    assert letter.sizes() == {"train": 52, "val": 26, "test": 39}


def test_failed_download_names_the_url_and_leaves_nothing(
    tmp_path: Path, http_folder: tuple[Path, str]
) -> None:
    _, base_url = http_folder  # serves nothing
    root = tmp_path / "letter"
    with pytest.raises(DataError) as info:
        load_letter(root=root, download=True, base_url=base_url)
    message = str(info.value)
    assert message.startswith(f"could not download {base_url}/letter.scale.tr to {root}")
    assert "HTTP 404" in message
    assert list(root.iterdir()) == []


# ---------------------------------------------------------------------------------------------
# connect-4
# ---------------------------------------------------------------------------------------------


def test_connect4_tsv_one_hot_encoding(tmp_path: Path) -> None:
    cells, targets = board_rows(60)
    special = np.zeros(len(CONNECT4_CELLS), dtype=np.int64)
    special[CONNECT4_CELLS.index("a1")] = 2  # x
    special[CONNECT4_CELLS.index("a2")] = 1  # o
    special[CONNECT4_CELLS.index("g6")] = 1  # o
    cells[17], targets[17] = special, 2
    write_tsv(tmp_path / "connect-4.tsv.gz", cells, targets)

    c4 = load_connect4(root=tmp_path)
    # 10% test = 6, then 10% of the other 54 = 5 (rounded) for validation.
    assert c4.sizes() == {"train": 49, "val": 5, "test": 6}
    assert c4.num_classes == 3
    assert c4.model_kwargs == {"input_dim": 126}

    # The special board by hand: cell-major [blank, o, x] triples in the order a1..a6, b1..g6.
    expected = torch.zeros(126)
    expected[0:3] = torch.tensor([0.0, 0.0, 1.0])  # a1 = x
    expected[3:6] = torch.tensor([0.0, 1.0, 0.0])  # a2 = o
    for cell in range(2, 41):
        expected[3 * cell] = 1.0  # a3 .. g5 blank
    expected[123:126] = torch.tensor([0.0, 1.0, 0.0])  # g6 = o
    features, labels = _rows(c4)
    matches = (features == expected).all(dim=1).nonzero().flatten().tolist()
    assert len(matches) == 1
    assert labels[matches[0]].item() == 2
    # Every cell has exactly one of its three features set, and the cells decode back.
    triples = features.view(-1, 42, 3)
    assert torch.equal(triples.sum(-1), torch.ones(60, 42))
    decoded = {tuple(row) for row in triples.argmax(-1).tolist()}
    assert decoded == {tuple(row) for row in cells.tolist()}


def test_connect4_tsv_columns_are_matched_by_name(tmp_path: Path) -> None:
    cells, targets = board_rows(40)
    header = ["target", *reversed(CONNECT4_CELLS)]
    a = load_connect4(root=write_tsv(tmp_path / "a" / "connect-4.tsv.gz", cells, targets).parent)
    b_path = write_tsv(tmp_path / "b" / "connect-4.tsv.gz", cells, targets, header=header)
    b = load_connect4(root=b_path.parent)
    assert torch.equal(a.train.features, b.train.features)
    assert torch.equal(a.test.labels, b.test.labels)


def test_connect4_split_is_deterministic_per_seed(tmp_path: Path) -> None:
    write_tsv(tmp_path / "connect-4.tsv.gz", *board_rows(100))
    a, b = load_connect4(root=tmp_path), load_connect4(root=tmp_path)
    c = load_connect4(root=tmp_path, split_seed=5)
    assert torch.equal(a.test.features, b.test.features)
    assert not torch.equal(a.test.features, c.test.features)
    assert a.sizes() == c.sizes() == {"train": 81, "val": 9, "test": 10}


@pytest.mark.parametrize(
    ("edit", "line", "reason"),
    [
        (
            lambda rows: rows.__setitem__(0, rows[0].replace("g6", "g7")),
            1,
            "missing g6; unexpected g7",
        ),
        (lambda rows: rows.__setitem__(0, rows[0] + "\ta1"), 1, "repeated a1"),
        (lambda rows: rows.__setitem__(0, "1\t" * 42 + "0"), 1, "missing a1 a2"),
        (lambda rows: rows.__setitem__(4, rows[4].replace("\t", "\t3\t", 1)), 5, "44 values"),
        (lambda rows: rows.__setitem__(3, "3" + rows[3][1:]), 4, "a1 is '3', expected 0, 1 or 2"),
        (lambda rows: rows.__setitem__(6, rows[6][:-1] + "x"), 7, "target is 'x'"),
        (lambda rows: rows.__setitem__(2, rows[2][:-1] + "1.0"), 3, "target is '1.0'"),
    ],
)
def test_connect4_tsv_errors_name_file_and_line(
    tmp_path: Path, edit, line: int, reason: str
) -> None:
    path = write_tsv(tmp_path / "connect-4.tsv.gz", *board_rows(20))
    rows = gzip.decompress(path.read_bytes()).decode().split("\n")
    edit(rows)
    path.write_bytes(gzip.compress("\n".join(rows).encode()))
    with pytest.raises(DataError) as info:
        load_connect4(root=tmp_path)
    assert str(info.value).startswith(f"{path}:{line}: ")
    assert reason in str(info.value)


def test_connect4_libsvm_file(tmp_path: Path) -> None:
    cells, _ = board_rows(50)
    labels = np.arange(50) % 3 - 1  # -1, 0, 1
    _write_connect4_libsvm(tmp_path / "connect-4", cells, labels)
    c4 = load_connect4(root=tmp_path)
    assert c4.num_classes == 3
    assert c4.model_kwargs == {"input_dim": 126}
    assert sum(c4.sizes().values()) == 50
    features, mapped = _rows(c4)
    decoded = features.view(-1, 42, 3).argmax(-1)
    by_board = {tuple(row): lab for row, lab in zip(cells.tolist(), labels.tolist())}
    for row, lab in zip(decoded.tolist(), mapped.tolist()):
        assert by_board[tuple(row)] + 1 == lab  # -1, 0, 1 -> 0, 1, 2
    assert any("labels -1, 0, 1 mapped to 0..2" in n for n in c4.notes)


def test_connect4_prefers_the_tsv(tmp_path: Path) -> None:
    cells, targets = board_rows(60)
    write_tsv(tmp_path / "connect-4.tsv.gz", cells, targets)
    _write_connect4_libsvm(tmp_path / "connect-4", cells[:30], targets[:30] - 1)
    c4 = load_connect4(root=tmp_path)
    assert sum(c4.sizes().values()) == 60
    assert "connect-4.tsv.gz" in c4.notes[0]


def test_connect4_missing_files(tmp_path: Path) -> None:
    with pytest.raises(DataError) as info:
        load_connect4(root=tmp_path)
    message = str(info.value)
    assert message.startswith(
        f"connect4: 1 file missing in {tmp_path}: connect-4.tsv.gz or connect-4;"
    )
    assert "https://www.csie.ntu.edu.tw/~cjlin/libsvmtools/datasets/multiclass/connect-4" in message


def test_connect4_download(tmp_path: Path, http_folder: tuple[Path, str]) -> None:
    served, base_url = http_folder
    cells, _ = board_rows(40)
    _write_connect4_libsvm(tmp_path / "source" / "connect-4", cells, np.arange(40) % 3 - 1)
    _serve(served, ["connect-4"], tmp_path / "source")
    root = tmp_path / "data" / "connect4"
    c4 = load_connect4(root=root, download=True, base_url=base_url)
    assert (root / "connect-4").is_file()
    assert sum(c4.sizes().values()) == 40


# ---------------------------------------------------------------------------------------------
# File helpers and configs
# ---------------------------------------------------------------------------------------------


def test_require_files_returns_first_present_choice(tmp_path: Path) -> None:
    (tmp_path / "b.gz").write_text("x")
    (tmp_path / "c").write_text("x")
    found = require_files(tmp_path, [("b", "b.gz"), "c"], "demo", "hint")
    assert found == [tmp_path / "b.gz", tmp_path / "c"]


@pytest.mark.parametrize("dataset", ["dna", "satimage", "letter", "connect4"])
def test_config_keys_match_the_loader(dataset: str) -> None:
    cfg = OmegaConf.load(CONF_DATASET / f"{dataset}.yaml")
    loader = get_method(cfg._target_)
    params = inspect.signature(loader).parameters
    keys = set(cfg) - {"_target_"}
    assert keys <= set(params)  # every key is a loader argument ...
    required = {k for k, p in params.items() if p.default is inspect.Parameter.empty}
    assert required <= keys  # ... and the YAML gives every argument without a default
    assert cfg.name == dataset


def test_configs_instantiate(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    _write_letter(data_dir / "letter")
    write_tsv(data_dir / "connect4" / "connect-4.tsv.gz", *board_rows(30))
    sizes = {}
    for dataset in ("dna", "satimage", "letter", "connect4"):
        cfg = OmegaConf.create(
            {
                "paths": {"data_dir": str(data_dir)},
                "dataset": OmegaConf.load(CONF_DATASET / f"{dataset}.yaml"),
            }
        )
        splits = instantiate(cfg.dataset)
        assert isinstance(splits, DataSplits)
        assert splits.name == dataset
        sizes[dataset] = sum(splits.sizes().values())
    assert sizes == {"dna": 3186, "satimage": 6435, "letter": 104, "connect4": 30}


def test_a_new_libsvm_dataset_is_one_yaml(tmp_path: Path) -> None:
    """A LIBSVM data set the package has never seen: files and one YAML, nothing else."""
    _write_letter(tmp_path / "files", sizes=(60, 26, 26))
    # One file with every row, cut into splits by the YAML.
    rows = [(tmp_path / "files" / n).read_text() for n in LETTER_FILES]
    (tmp_path / "files" / "all.libsvm").write_text("".join(rows))
    yaml = tmp_path / "mine.yaml"
    yaml.write_text(
        "_target_: automata.data.tabular.load_table\n"
        "name: mine\n"
        f"root: {tmp_path / 'files'}\n"
        "files: {all: all.libsvm}\n"
        "reader: {_target_: automata.data.libsvm.LibsvmReader, n_features: 16}\n"
        "split: {val: 0.25, test: 0.2, train: rest}\n"
        "split_seed: 5\n"
    )
    splits = instantiate(OmegaConf.load(yaml))
    assert splits.sizes() == {"train": 67, "val": 28, "test": 17}  # 112 rows: 28, then 17 of 84
    assert splits.num_classes == 26 and splits.model_kwargs == {"input_dim": 16}
    full, labels = read_libsvm(tmp_path / "files" / "all.libsvm", 16)
    perm = np.random.default_rng(5).permutation(112)
    assert torch.equal(splits.val.features, full[np.sort(perm[:28])])
    assert torch.equal(splits.test.features, full[np.sort(perm[28:45])])
    expected = torch.tensor([int(v) - 1 for v in np.asarray(labels)[np.sort(perm[45:])]])
    assert torch.equal(splits.train.labels, expected)
