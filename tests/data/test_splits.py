"""Seeded splits of a file's rows and the ``files``/``split`` keys of a dataset YAML
(automata.data.splits): cut sizes worked by hand, a partition of the rows, each config error
naming its key."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from automata.data.splits import cut, file_entries, parse_split, split_cuts
from automata.errors import ConfigError, DataError


def test_cut_sizes_worked_by_hand():
    """Each part takes round(fraction * rows left) rows, at least one; the rest the others."""
    parts = cut(100, [("test", 0.1), ("val", 0.1)], "train", seed=0)
    assert {k: len(v) for k, v in parts.items()} == {"test": 10, "val": 9, "train": 81}
    # round() is Python's (half to even): 0.5 * 5 = 2.5 gives 2; a tiny fraction still 1.
    assert [len(v) for v in cut(5, [("val", 0.5)], "train", seed=0).values()] == [2, 3]
    assert [len(v) for v in cut(10, [("val", 0.01)], "train", seed=0).values()] == [1, 9]


@pytest.mark.parametrize("rng", ["numpy", "torch"])
def test_cut_is_one_seeded_permutation_cut_in_order(rng):
    """The parts partition the rows, each sorted; they are consecutive stretches of the
    seed's permutation (numpy's default_rng or torch.randperm), in cutting order."""
    parts = cut(50, [("test", 0.2), ("val", 0.25)], "train", seed=7, rng=rng)
    if rng == "numpy":
        perm = np.random.default_rng(7).permutation(50)
    else:
        perm = torch.randperm(50, generator=torch.Generator().manual_seed(7)).numpy()
    assert list(parts) == ["test", "val", "train"]
    np.testing.assert_array_equal(parts["test"], np.sort(perm[:10]))
    np.testing.assert_array_equal(parts["val"], np.sort(perm[10:20]))
    np.testing.assert_array_equal(parts["train"], np.sort(perm[20:]))
    assert all(v.dtype == np.int64 for v in parts.values())
    again = cut(50, [("test", 0.2), ("val", 0.25)], "train", seed=7, rng=rng)
    assert all(np.array_equal(parts[k], again[k]) for k in parts)
    other = cut(50, [("test", 0.2), ("val", 0.25)], "train", seed=8, rng=rng)
    assert not np.array_equal(parts["test"], other["test"])


def test_too_few_rows_name_the_data_and_the_sizes():
    with pytest.raises(DataError) as err:
        cut(2, [("test", 0.5), ("val", 0.5)], "train", seed=0, what="tiny.csv")
    assert str(err.value) == (
        "tiny.csv: 2 rows are too few to cut test 1, val 1 and leave rows for train (each "
        "split needs at least one)"
    )


def test_parse_split_keeps_the_cutting_order():
    assert parse_split({"test": 0.1, "val": "0.2", "train": "rest"}) == (
        [("test", 0.1), ("val", 0.2)],
        "train",
    )
    assert parse_split({"val": 0.25, "train": "rest"}, given=["test"]) == ([("val", 0.25)], "train")


@pytest.mark.parametrize(
    ("split", "given", "message"),
    [
        ({"dev": 0.1, "train": "rest"}, (), "dataset.split: unknown split 'dev'"),
        ({"val": 1.0, "test": 0.1, "train": "rest"}, (), "dataset.split.val must be a fraction"),
        ({"val": 0, "test": 0.1, "train": "rest"}, (), "dataset.split.val must be a fraction"),
        ({"val": "half", "test": 0.1, "train": "rest"}, (), "dataset.split.val must be a"),
        (
            {"val": "rest", "test": 0.1, "train": "rest"},
            (),
            "dataset.split: exactly one split must be 'rest', got 2",
        ),
        ({"val": 0.1, "test": 0.1}, (), "dataset.split: exactly one split must be 'rest', got 0"),
        ({"val": 0.1, "train": "rest"}, (), "dataset.split: no file and no cut for test"),
        ({"test": 0.1, "train": "rest"}, ("test",), "dataset.split.test: test already has"),
    ],
)
def test_parse_split_errors_name_the_key(split, given, message):
    with pytest.raises(ConfigError, match=rf"^{message}"):
        parse_split(split, given=given)


def test_file_entries_are_alternatives_per_key():
    assert file_entries("d", {"train": "a.csv", "test": ["b.csv.gz", "b.csv"]}) == {
        "train": ("a.csv",),
        "test": ("b.csv.gz", "b.csv"),
    }
    for files, message in (
        ({}, "dataset.files: d needs a mapping"),
        ("a.csv", "dataset.files: d needs a mapping"),
        ({"dev": "a.csv"}, "dataset.files: unknown key 'dev'"),
        ({"all": ""}, "dataset.files.all: give a file name"),
        ({"all": []}, "dataset.files.all: give a file name"),
    ):
        with pytest.raises(ConfigError, match=rf"^{message}"):
            file_entries("d", files)


def test_split_cuts_checks_files_and_split_together():
    three = {s: (f"{s}.csv",) for s in ("train", "val", "test")}
    assert split_cuts("d", three, None) == ([], "")
    both = {"all": ("all.csv",), "test": ("test.csv",)}
    assert split_cuts("d", both, {"val": 0.1, "train": "rest"}) == ([("val", 0.1)], "train")
    with pytest.raises(ConfigError, match=r"^dataset.split: d has files.all, so say how"):
        split_cuts("d", {"all": ("all.csv",)}, None)
    with pytest.raises(ConfigError, match=r"^dataset.files: no file for val, test \(add it"):
        split_cuts("d", {"train": ("train.csv",)}, None)
    with pytest.raises(ConfigError, match=r"^dataset.split: needs files.all"):
        split_cuts("d", three, {"val": 0.1, "train": "rest"})
