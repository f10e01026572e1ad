"""LIBSVM reader: sparse parsing, gzip, comments, label mapping, and file:line errors."""

from __future__ import annotations

import gzip
import re
from pathlib import Path

import numpy as np
import pytest
import torch

from automata.data.libsvm import _parse_fast, _parse_slow, encode_labels, format_labels, read_libsvm
from automata.errors import DataError

SAMPLE = "1 1:0.5 3:-2\n-1 2:1e-1\n\n3 4:7 1:1  # unordered indices and a comment\n2\n"
SAMPLE_DENSE = [
    [0.5, 0.0, -2.0, 0.0],
    [0.0, 0.1, 0.0, 0.0],
    [1.0, 0.0, 0.0, 7.0],
    [0.0, 0.0, 0.0, 0.0],
]


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_sparse_rows_become_dense(tmp_path: Path) -> None:
    x, labels = read_libsvm(_write(tmp_path / "a.txt", SAMPLE))
    assert x.dtype == torch.float32
    # Width is the largest index seen; absent features are 0, labels stay raw.
    assert torch.equal(x, torch.tensor(SAMPLE_DENSE))
    assert labels == [1.0, -1.0, 3.0, 2.0]


def test_n_features_sets_the_width(tmp_path: Path) -> None:
    x, _ = read_libsvm(_write(tmp_path / "a.txt", SAMPLE), n_features=6)
    assert x.shape == (4, 6)
    assert torch.equal(x[:, :4], torch.tensor(SAMPLE_DENSE))
    assert not x[:, 4:].any()


def test_blank_and_comment_lines_and_crlf(tmp_path: Path) -> None:
    text = "# header comment\r\n\r\n   \r\n+1 2:3\r\n\t\r\n-1 1:4 # trailing\r\n"
    x, labels = read_libsvm(_write(tmp_path / "a.txt", text))
    assert torch.equal(x, torch.tensor([[0.0, 3.0], [4.0, 0.0]]))
    assert labels == [1.0, -1.0]


@pytest.mark.parametrize("name", ["a.txt.gz", "no_suffix"])
def test_gzip_by_suffix_or_magic_bytes(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_bytes(gzip.compress(SAMPLE.encode()))
    x, labels = read_libsvm(path)
    assert torch.equal(x, torch.tensor(SAMPLE_DENSE))
    assert labels == [1.0, -1.0, 3.0, 2.0]


def test_gz_suffix_with_broken_content(tmp_path: Path) -> None:
    path = tmp_path / "bad.gz"
    path.write_bytes(gzip.compress(SAMPLE.encode())[:-12])  # truncated stream
    with pytest.raises(DataError, match=r"bad\.gz: not a valid gzip file"):
        read_libsvm(path)


def test_empty_file(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"empty\.txt: no examples"):
        read_libsvm(_write(tmp_path / "empty.txt", "\n# only a comment\n\n"))


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"nope\.txt: cannot read"):
        read_libsvm(tmp_path / "nope.txt")


@pytest.mark.parametrize(
    ("bad_line", "reason"),
    [
        ("abc 1:1", r"label 'abc' is not a number"),
        ("nan 1:1", r"label 'nan' is not a number"),
        ("1 5", r"'5' is not index:value"),
        ("1 1:2:3", r"'1:2:3' is not index:value"),
        ("1 a:1", r"feature index 'a' in 'a:1' is not an integer"),
        ("1 1.5:1", r"feature index '1.5' in '1.5:1' is not an integer"),
        ("1 :1", r"feature index '' in ':1' is not an integer"),
        ("1 1:x", r"value 'x' in '1:x' is not a number"),
        ("1 1:", r"value '' in '1:' is not a number"),
        ("1 1:1_0", r"value '1_0' in '1:1_0' is not a number"),
        ("1 1:inf", r"value 'inf' in '1:inf' is not a finite float32"),
        ("1 1:1e39", r"value '1e39' in '1:1e39' is not a finite float32"),
        ("1 0:1", r"feature index 0 in '0:1' is below 1"),
        ("1 -3:1", r"feature index -3 in '-3:1' is below 1"),
        ("1 9:1", r"feature index 9 in '9:1' is above the 8 features"),
        ("1 2:1 3:1 2:5", r"feature index 2 appears twice"),
    ],
)
def test_malformed_line_reports_file_and_line(tmp_path: Path, bad_line: str, reason: str) -> None:
    # Good lines before and after, a blank line before: the reported number is the physical line.
    path = _write(tmp_path / "data.txt", f"1 1:1\n\n2 2:1\n{bad_line}\n3 3:1\n")
    with pytest.raises(DataError) as info:
        read_libsvm(path, n_features=8)
    message = str(info.value)
    assert message.startswith(f"{path}:4: ")
    assert re.search(reason, message), message
    assert "\n" not in message


@pytest.mark.parametrize(
    "text", [SAMPLE, "1 1:1 2:2\n0 2:5 1:-1\n", "7\n8\n", "1 3:4\n\n\n-1 1:0.25 2:1e-3\n"]
)
def test_fast_and_slow_parsers_agree(tmp_path: Path, text: str) -> None:
    fast = _parse_fast(text, None)
    slow = _parse_slow(tmp_path / "x", text, None)
    assert fast is not None  # valid input must not need the line-by-line parser
    for field in ("labels", "rows", "index", "values"):
        assert np.array_equal(getattr(fast, field), getattr(slow, field)), field


def test_first_bad_line_is_reported(tmp_path: Path) -> None:
    path = _write(tmp_path / "data.txt", "1 1:1\n1 1:x\n1 x:1\n")
    with pytest.raises(DataError, match=r"data\.txt:2: value 'x'"):
        read_libsvm(path)


def test_malformed_line_in_gzip_file(tmp_path: Path) -> None:
    path = tmp_path / "data.gz"
    path.write_bytes(gzip.compress(b"1 1:1\n2 3:0\n2 oops\n"))
    with pytest.raises(DataError, match=r"data\.gz:3: 'oops' is not index:value"):
        read_libsvm(path)


def test_encode_labels_consistent_across_splits() -> None:
    (train, test), classes = encode_labels([[3.0, 1.0, 3.0], [-1.0, 2.0, 1.0]])
    # Sorted distinct values of both splits: -1 -> 0, 1 -> 1, 2 -> 2, 3 -> 3.
    assert classes == [-1.0, 1.0, 2.0, 3.0]
    assert train.dtype == torch.int64
    assert train.tolist() == [3, 1, 3]
    assert test.tolist() == [0, 2, 1]
    assert format_labels(classes) == "-1, 1, 2, 3"
    assert format_labels([0.5, 2.0]) == "0.5, 2"


def test_connect4_sized_file_is_exact(tmp_path: Path) -> None:
    # The size of LIBSVM's connect-4: 67,557 one-hot rows of 42 cells (126 features).
    rng = np.random.default_rng(0)
    n, cells = 67557, 42
    states = rng.integers(0, 3, size=(n, cells))
    labels = rng.integers(-1, 2, size=n)
    index = np.arange(cells) * 3 + states + 1
    body = "\n".join(
        f"{lab} " + " ".join(f"{i}:1" for i in row)
        for lab, row in zip(labels.tolist(), index.tolist())
    )
    path = _write(tmp_path / "connect-4", body + "\n")

    x, raw = read_libsvm(path, n_features=126)

    expected = np.zeros((n, 126), dtype=np.float32)
    np.put_along_axis(expected, index - 1, 1.0, axis=1)
    assert torch.equal(x, torch.from_numpy(expected))
    assert raw == labels.astype(float).tolist()
