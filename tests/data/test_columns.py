"""A user's own table (CSV or Parquet) through the generic tabular loader and ColumnReader."""

from __future__ import annotations

import gzip
import re
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from automata.data.columns import ColumnReader
from automata.data.tabular import load_table
from automata.errors import ConfigError, DataError

SPECIES = ("setosa", "versicolor", "virginica")


def iris_like(n: int = 60, seed: int = 0) -> tuple[np.ndarray, list[str]]:
    """``n`` rows of 4 features and a species name each (every species present)."""
    rng = np.random.default_rng(seed)
    x = np.round(rng.normal(size=(n, 4)) * 3 + 5, 3)
    return x, [SPECIES[i % 3] for i in range(n)]


def write_csv(path: Path, x: np.ndarray, labels: list[str], label_first: bool = False) -> Path:
    cols = ["sepal_length", "sepal_width", "petal_length", "petal_width"]
    header = ["species", *cols] if label_first else [*cols, "species"]
    lines = [",".join(header)]
    for row, label in zip(x.tolist(), labels):
        values = [f"{v:g}" for v in row]
        lines.append(",".join([label, *values] if label_first else [*values, label]))
    path.write_text("\n".join(lines) + "\n")
    return path


def write_parquet(path: Path, x: np.ndarray, labels: list[str]) -> Path:
    import pyarrow as pa
    import pyarrow.parquet as pq

    cols = ["sepal_length", "sepal_width", "petal_length", "petal_width"]
    table = pa.table({**{c: x[:, j] for j, c in enumerate(cols)}, "species": labels})
    pq.write_table(table, path)
    return path


SPLIT = {"test": 0.2, "val": 0.25, "train": "rest"}


def load(root: Path, name: str, **kwargs: object):
    reader = kwargs.pop("reader", ColumnReader(label="species"))
    return load_table(
        name="iris", root=root, files={"all": name}, reader=reader, split=SPLIT, **kwargs
    )


def test_csv_rows_labels_and_split(tmp_path: Path) -> None:
    x, labels = iris_like()
    write_csv(tmp_path / "iris.csv", x, labels)
    data = load(tmp_path, "iris.csv")
    assert data.sizes() == {"train": 36, "val": 12, "test": 12}  # 12 test, 25% of 48 val
    assert data.num_classes == 3 and data.model_kwargs == {"input_dim": 4}
    assert data.modality == "tabular"
    # Independent reference: the rows of each split, from the permutation the loader documents.
    perm = np.random.default_rng(0).permutation(60)
    expected = {
        "test": np.sort(perm[:12]),
        "val": np.sort(perm[12:24]),
        "train": np.sort(perm[24:]),
    }
    for split, rows in expected.items():
        ds = getattr(data, split)
        assert torch.equal(ds.features, torch.tensor(x[rows], dtype=torch.float32))
        assert ds.labels.tolist() == [SPECIES.index(labels[r]) for r in rows]
    assert any("setosa, versicolor, virginica mapped to 0..2" in n for n in data.notes)
    assert any("test 0.2 of the rows left, then val 0.25" in n for n in data.notes)


def test_another_seed_another_split(tmp_path: Path) -> None:
    x, labels = iris_like()
    write_csv(tmp_path / "iris.csv", x, labels)
    a, b = load(tmp_path, "iris.csv"), load(tmp_path, "iris.csv", split_seed=1)
    assert a.sizes() == b.sizes() and not torch.equal(a.test.features, b.test.features)


def test_parquet_reads_the_same_table(tmp_path: Path) -> None:
    pytest.importorskip("pyarrow")
    x, labels = iris_like()
    write_csv(tmp_path / "iris.csv", x, labels)
    write_parquet(tmp_path / "iris.parquet", x, labels)
    from_csv, from_parquet = load(tmp_path, "iris.csv"), load(tmp_path, "iris.parquet")
    for split in ("train", "val", "test"):
        a, b = getattr(from_csv, split), getattr(from_parquet, split)
        assert torch.equal(a.features, b.features) and torch.equal(a.labels, b.labels)


def test_feature_columns_chosen_and_ordered(tmp_path: Path) -> None:
    x, labels = iris_like()
    write_csv(tmp_path / "iris.csv", x, labels, label_first=True)
    reader = ColumnReader(label="species", features=["petal_width", "sepal_length"])
    data = load(tmp_path, "iris.csv", reader=reader)
    rows = np.sort(np.random.default_rng(0).permutation(60)[24:])
    assert torch.equal(data.train.features, torch.tensor(x[rows][:, [3, 0]], dtype=torch.float32))


def test_given_split_files_and_numeric_labels(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    for split, n in (("train", 20), ("val", 8), ("test", 6)):
        lines = ["a;b;grade"] + [
            f"{rng.normal():.3f};{rng.normal():.3f};{[10, 2, 9][i % 3]}" for i in range(n)
        ]
        (tmp_path / f"{split}.csv").write_text("\n".join(lines) + "\n")
    data = load_table(
        name="grades",
        root=tmp_path,
        files={"train": "train.csv", "val": "val.csv", "test": "test.csv"},
        reader=ColumnReader(label="grade", delimiter=";"),
    )
    assert data.sizes() == {"train": 20, "val": 8, "test": 6}
    # Numeric labels sort as numbers: 2 -> 0, 9 -> 1, 10 -> 2.
    assert data.train.labels[:3].tolist() == [2, 0, 1]
    assert any("labels 2, 9, 10 mapped to 0..2" in n for n in data.notes)


def test_standardize_uses_the_training_statistics(tmp_path: Path) -> None:
    x, labels = iris_like()
    write_csv(tmp_path / "iris.csv", x, labels)
    x[:, 2] = 7.0  # a constant column is shifted, not divided by zero
    write_csv(tmp_path / "const.csv", x, labels)
    plain = load(tmp_path, "const.csv")
    data = load(tmp_path, "const.csv", standardize=True)
    train = plain.train.features.double().numpy()
    mean, std = train.mean(axis=0), train.std(axis=0)
    std[std == 0] = 1.0
    for split in ("train", "val", "test"):
        raw = getattr(plain, split).features.double().numpy()
        got = getattr(data, split).features.numpy()
        np.testing.assert_allclose(got, (raw - mean) / std, rtol=1e-6, atol=1e-6)
    assert np.allclose(data.train.features.mean(0).numpy()[[0, 1, 3]], 0, atol=1e-6)
    assert any("standardised" in n for n in data.notes)


def test_gzipped_csv(tmp_path: Path) -> None:
    x, labels = iris_like()
    text = write_csv(tmp_path / "iris.csv", x, labels).read_bytes()
    (tmp_path / "iris.csv.gz").write_bytes(gzip.compress(text))
    a, b = load(tmp_path, "iris.csv"), load(tmp_path, "iris.csv.gz")
    assert torch.equal(a.train.features, b.train.features)


# ------------------------------------------------------------------------------------- errors


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=rf"^iris: missing iris\.csv in {tmp_path};"):
        load(tmp_path, "iris.csv")


def test_missing_column(tmp_path: Path) -> None:
    x, labels = iris_like()
    write_csv(tmp_path / "iris.csv", x, labels)
    with pytest.raises(DataError, match=r"iris\.csv: no column 'kind' \(columns: sepal_length,"):
        load(tmp_path, "iris.csv", reader=ColumnReader(label="kind"))
    reader = ColumnReader(label="species", features=["sepal_length", "colour"])
    with pytest.raises(DataError, match=r"no column 'colour'"):
        load(tmp_path, "iris.csv", reader=reader)


@pytest.mark.parametrize(
    ("cell", "message"),
    [("abc", r"'abc', not a number"), ("", r"is empty"), ("1_0", r"'1_0', not a number")],
)
def test_non_numeric_feature_names_file_line_and_column(
    tmp_path: Path, cell: str, message: str
) -> None:
    x, labels = iris_like()
    path = write_csv(tmp_path / "iris.csv", x, labels)
    lines = path.read_text().splitlines()
    fields = lines[5].split(",")
    fields[1] = cell
    lines[5] = ",".join(fields)
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(DataError) as info:
        load(tmp_path, "iris.csv")
    text = str(info.value)
    assert text.startswith(f"{path}:6: feature column 'sepal_width' ")
    assert re.search(message, text)
    assert "\n" not in text


def test_ragged_row_and_empty_label(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("a,b,y\n1,2,x\n3,4\n")
    with pytest.raises(DataError, match=r"t\.csv:3: 2 values, expected 3"):
        load(tmp_path, "t.csv", reader=ColumnReader(label="y"))
    path.write_text("a,b,y\n1,2,x\n3,4,\n")
    with pytest.raises(DataError, match=r"t\.csv:3: label column 'y' is empty"):
        load(tmp_path, "t.csv", reader=ColumnReader(label="y"))


def test_parquet_without_pyarrow_says_how_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "t.parquet").write_bytes(b"PAR1")
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)
    with pytest.raises(DataError, match=r"needs pyarrow: pip install 'automata\[tabular\]'"):
        load(tmp_path, "t.parquet")


def test_split_spec_errors() -> None:
    with pytest.raises(ConfigError, match="exactly one split must be 'rest'"):
        load_table("t", {"all": "t.csv"}, ColumnReader("y"), root=".", split={"test": 0.2})
    with pytest.raises(ConfigError, match=r"dataset.split.val must be a fraction in \(0, 1\)"):
        load_table(
            "t", {"all": "t.csv"}, ColumnReader("y"), root=".", split={"val": 1.5, "train": "rest"}
        )
    with pytest.raises(ConfigError, match="no file and no cut for test"):
        load_table(
            "t", {"all": "t.csv"}, ColumnReader("y"), root=".", split={"val": 0.1, "train": "rest"}
        )
    with pytest.raises(ConfigError, match="no file for val, test"):
        load_table("t", {"train": "t.csv"}, ColumnReader("y"), root=".")
    with pytest.raises(ConfigError, match="label column"):
        ColumnReader(label="")
