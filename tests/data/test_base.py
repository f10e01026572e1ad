"""The data contract (automata.data.base): batch-indexed datasets, DataSplits' defaults and
the one-line error of each way splits can break the contract."""

from __future__ import annotations

import pytest
import torch

from automata.data.base import DataSplits, TensorBatchDataset
from automata.errors import DataError


def _ds(labels: list[int]) -> TensorBatchDataset:
    return TensorBatchDataset(torch.arange(2.0 * len(labels)).view(-1, 2), torch.tensor(labels))


def test_a_batch_is_indexed_by_a_tensor_of_indices():
    ds = _ds([0, 1, 2])
    x, y = ds[torch.tensor([2, 0])]
    assert x.tolist() == [[4.0, 5.0], [0.0, 1.0]] and y.tolist() == [2, 0]
    assert x.dtype == torch.float32 and y.dtype == torch.long and len(ds) == 3
    with pytest.raises(ValueError, match="features have 2 rows but labels 3"):
        TensorBatchDataset(torch.zeros(2, 1), torch.zeros(3))


def test_splits_default_train_eval_and_modality():
    data = DataSplits("d", _ds([0, 1]), _ds([1]), _ds([0]), 2, {"input_dim": 2})
    assert data.train_eval is data.train and data.modality == "tabular"
    assert data.sizes() == {"train": 2, "val": 1, "test": 1}
    assert DataSplits("d", _ds([0]), _ds([1]), _ds([0]), 2).modality == "custom"
    assert DataSplits("d", _ds([0]), _ds([1]), _ds([0]), 2, {"vocab": []}).modality == "text"
    data.check()


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda d: setattr(d, "num_classes", 1), "d: num_classes must be >= 2, got 1"),
        (
            lambda d: setattr(d, "val", [0, 1]),
            "d: val is a list, not an automata.data.base.BatchDataset",
        ),
        (lambda d: setattr(d.test, "labels", torch.tensor([])), "d: test.labels must be a"),
        (
            lambda d: setattr(d.test, "labels", torch.tensor([0.0])),
            "d: test.labels must be int64, got torch.float32",
        ),
        (
            lambda d: setattr(d.train, "labels", torch.tensor([0, 3])),
            r"d: train labels range 0..3, expected class indices 0..1",
        ),
    ],
)
def test_each_breach_of_the_contract_is_one_line(edit, message):
    data = DataSplits("d", _ds([0, 1]), _ds([1]), _ds([0]), 2)
    edit(data)
    with pytest.raises(DataError, match=rf"^{message}") as err:
        data.check()
    assert "\n" not in str(err.value)
