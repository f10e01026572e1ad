"""The weighted loss, one pass of training over index batches, and evaluation."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader

from automata.data.base import BatchDataset
from automata.device import move_to


def weighted_loss(
    logits: torch.Tensor,
    labels: torch.Tensor,
    weights: torch.Tensor,
    per_batch_normalised: bool = True,
) -> torch.Tensor:
    """Weighted cross-entropy of one mini-batch: ``sum_j w_j l_j / sum_j w_j`` (per-batch
    normalised, the reference code's form), else ``mean_j w_j l_j`` (weights already scaled
    over the whole subset, see :meth:`automata.selection.base.Selector.loss_weights`)."""
    losses = F.cross_entropy(logits.float(), labels, reduction="none")
    if per_batch_normalised:
        return (weights * losses).sum() / weights.sum().clamp_min(1e-12)
    return (weights * losses).mean()


def iter_batches(
    dataset: BatchDataset,
    index_batches: Iterable[torch.Tensor],
    num_workers: int = 0,
    pin_memory: bool = False,
) -> Iterator[tuple[Any, torch.Tensor]]:
    """Yield ``dataset[indices]`` for each index batch, in worker processes when asked."""
    if num_workers == 0 and not pin_memory:
        for idx in index_batches:
            yield dataset[idx]
        return
    loader = DataLoader(
        dataset,
        sampler=list(index_batches),
        batch_size=None,
        num_workers=num_workers,
        pin_memory=pin_memory,
    )
    yield from loader


@torch.no_grad()
def evaluate(
    model: nn.Module,
    dataset: BatchDataset,
    device: torch.device,
    batch_size: int = 1024,
    num_workers: int = 0,
    pin_memory: bool = False,
) -> tuple[float, float]:
    """Accuracy and mean cross-entropy of ``model`` on ``dataset``."""
    was_training = model.training
    model.eval()
    correct, total_loss, n = 0, 0.0, len(dataset)
    batches = torch.arange(n).split(batch_size)
    try:
        for x, y in iter_batches(dataset, batches, num_workers, pin_memory):
            y = y.to(device)
            logits, _ = model(move_to(x, device))
            total_loss += float(F.cross_entropy(logits.float(), y, reduction="sum"))
            correct += int((logits.argmax(1) == y).sum())
    finally:
        model.train(was_training)
    return correct / max(1, n), total_loss / max(1, n)
