"""The data contract every modality implements.

A dataset is *batch-indexable*: ``ds[indices]`` with a 1-D ``LongTensor`` of example indices
returns one ready mini-batch ``(inputs, labels)``. The training loop, the evaluation loop and
the selectors only use this contract, so tabular tensors, padded text and augmented images all
plug in the same way (``DataLoader(ds, sampler=BatchSampler(...), batch_size=None)``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch
from omegaconf import DictConfig
from torch.utils.data import Dataset

from automata.build import build
from automata.errors import ConfigError, DataError

#: The model argument each kind of data gives (``DataSplits.model_kwargs``), by modality.
MODEL_INPUTS = {"tabular": "input_dim", "text": "vocab", "image": "in_channels"}


class BatchDataset(Dataset):
    """A dataset indexed by a whole batch of example indices at once."""

    #: int64 tensor of shape (N,), class indices 0..C-1, for every example.
    labels: torch.Tensor

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    def __getitem__(self, indices: Any) -> tuple[Any, torch.Tensor]:
        idx = torch.as_tensor(indices, dtype=torch.long)
        return self.get_batch(idx)

    def get_batch(self, indices: torch.Tensor) -> tuple[Any, torch.Tensor]:
        raise NotImplementedError


class TensorBatchDataset(BatchDataset):
    """Dense features in memory (tabular data)."""

    def __init__(self, features: torch.Tensor, labels: torch.Tensor) -> None:
        if features.shape[0] != labels.shape[0]:
            raise ValueError(f"features have {features.shape[0]} rows but labels {labels.shape[0]}")
        self.features = features.float().contiguous()
        self.labels = labels.long().contiguous()

    def get_batch(self, indices: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.features[indices], self.labels[indices]


@dataclass
class DataSplits:
    """Train, validation and test sets of one dataset, plus what a model needs to be built.

    ``train_eval`` is the training set without augmentation: selectors compute gradients on it.
    ``model_kwargs`` are passed to the model constructor, with ``num_classes``: ``input_dim``
    for tabular data, ``vocab`` (the token list, ``<pad>`` and ``<unk>`` first) for text,
    ``in_channels`` for images (:data:`MODEL_INPUTS`). ``modality`` names the kind of data
    (``tabular``, ``text``, ``image``, or anything else for data of one's own); left ``None``,
    it is the modality whose argument ``model_kwargs`` holds, else ``custom``.
    """

    name: str
    train: BatchDataset
    val: BatchDataset
    test: BatchDataset
    num_classes: int
    model_kwargs: dict[str, Any] = field(default_factory=dict)
    # None at construction means `train` (set in __post_init__), so it is never None after.
    train_eval: BatchDataset = None  # type: ignore[assignment]
    notes: list[str] = field(default_factory=list)
    # None at construction means "from model_kwargs" (set in __post_init__).
    modality: str = None  # type: ignore[assignment]

    def __post_init__(self) -> None:
        if self.train_eval is None:
            self.train_eval = self.train
        if self.modality is None:
            given = [kind for kind, key in MODEL_INPUTS.items() if key in self.model_kwargs]
            self.modality = given[0] if given else "custom"

    def sizes(self) -> dict[str, int]:
        return {"train": len(self.train), "val": len(self.val), "test": len(self.test)}

    def check(self) -> None:
        """Raise one :class:`DataError` line when the splits break the data contract: every
        split a non-empty :class:`BatchDataset` whose labels are class indices
        ``0..num_classes-1``, at least two classes."""
        if int(self.num_classes) < 2:
            raise DataError(f"{self.name}: num_classes must be >= 2, got {self.num_classes}")
        for split in ("train", "val", "test", "train_eval"):
            ds = getattr(self, split)
            if not isinstance(ds, BatchDataset):
                raise DataError(
                    f"{self.name}: {split} is a {type(ds).__name__}, not an "
                    f"automata.data.base.BatchDataset (ds[indices] -> (inputs, labels))"
                )
            labels = getattr(ds, "labels", None)
            if not isinstance(labels, torch.Tensor) or labels.dim() != 1 or labels.numel() == 0:
                raise DataError(f"{self.name}: {split}.labels must be a non-empty 1-D tensor")
            if labels.dtype != torch.long:
                raise DataError(f"{self.name}: {split}.labels must be int64, got {labels.dtype}")
            low, high = int(labels.min()), int(labels.max())
            if low < 0 or high >= self.num_classes:
                raise DataError(
                    f"{self.name}: {split} labels range {low}..{high}, expected class indices "
                    f"0..{self.num_classes - 1}"
                )


def build_dataset(node: DictConfig) -> DataSplits:
    """Instantiate a dataset config (a loader of the package's or a user's own callable) and
    check that it returned consistent :class:`DataSplits`.

    Raises:
        ConfigError: the callable returned something else.
        DataError: the splits break the data contract (:meth:`DataSplits.check`).
    """
    data = build("dataset", node)
    if not isinstance(data, DataSplits):
        raise ConfigError(
            f"dataset: {node._target_} returned a {type(data).__name__}, not "
            f"automata.data.base.DataSplits"
        )
    data.check()
    return data
