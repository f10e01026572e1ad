"""Last-layer gradients in closed form (GRAD-MATCH Sec. 4, AUTOMATA Sec. 3), the algebra every
gradient-based selector (GRAD-MATCH, CRAIG, GLISTER) computes on.

For softmax cross-entropy on logits ``z = W h + b`` the gradient of one example's loss is
``p - y`` for ``b`` and ``(p - y) h^T`` for ``W`` (``p = softmax(z)``, ``y`` one-hot, ``h`` the
penultimate features). One forward pass, no backward pass through the network.

Layout of a gradient row (``d = C * (D + 1)``): the ``C`` bias entries first, then ``W``'s
``C x D`` entries row-major, the same order as ``torch.cat([b.grad, W.grad.flatten()])``.

Everything is computed in chunks of ``chunk_size`` examples, so memory stays bounded by the
output (``m x d``) plus one chunk, whatever the dataset size.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import torch
from torch import nn

from automata.data.base import BatchDataset
from automata.device import move_to
from automata.models.contract import classifier_of


def shuffled_batches(n: int, batch_size: int, generator: torch.Generator) -> list[torch.Tensor]:
    """Candidate mini-batches of per-batch selection: a seeded shuffle of ``range(n)`` cut into
    batches (never consecutive ranges of a possibly label-sorted file)."""
    return list(torch.randperm(n, generator=generator).split(batch_size))


def subtract_labels_(probs: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """``p - y`` in place (``y`` one-hot): the loss gradient with respect to the logits."""
    probs[torch.arange(labels.numel(), device=labels.device), labels] -= 1.0
    return probs


def gradient_rows(
    probs: torch.Tensor, labels: torch.Tensor, features: torch.Tensor
) -> torch.Tensor:
    """Per-example last-layer gradients ``[p - y, (p - y) h^T]`` as rows of an ``n x d`` matrix."""
    err = subtract_labels_(probs.clone(), labels)
    outer = (err.unsqueeze(2) * features.unsqueeze(1)).flatten(1)
    return torch.cat([err, outer], dim=1)


@torch.no_grad()
def last_layer_factors(
    model: nn.Module,
    dataset: BatchDataset,
    indices: torch.Tensor,
    device: torch.device,
    chunk_size: int = 1024,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Factors ``(E, H)`` of the per-example last-layer gradients of ``indices``.

    Row ``i`` of the gradient matrix of :func:`per_example_gradients` is
    ``[e_i, (e_i h_i^T).flatten()]`` with ``e_i = p_i - y_i`` (``E``, ``n x C``) and ``h_i`` the
    penultimate features (``H``, ``n x D``). Memory ``n (C + D)`` instead of ``n C (D + 1)``.
    """
    errs, feats = [], []
    for _, p, y, h in forward_outputs(model, dataset, indices, device, chunk_size):
        errs.append(subtract_labels_(p.clone(), y))
        feats.append(h)
    if not errs:
        c, dim = classifier_of(model).weight.shape
        return torch.empty(0, c, device=device), torch.empty(0, dim, device=device)
    return torch.cat(errs), torch.cat(feats)


def factored_gradient_sum(
    errs: torch.Tensor, feats: torch.Tensor, weights: torch.Tensor | None = None
) -> torch.Tensor:
    """``sum_i w_i g_i`` in the row layout of :func:`per_example_gradients` (bias first, then
    W), from the factors of :func:`last_layer_factors`."""
    we = errs if weights is None else errs * weights.to(errs.dtype).unsqueeze(1)
    return torch.cat([we.sum(0), (we.T @ feats).flatten()])


def relative_error(approx: torch.Tensor, target: torch.Tensor) -> float:
    """``||approx - target|| / ||target||``: how far a subset's gradient is from its target."""
    return float((approx - target).norm() / target.norm().clamp_min(1e-12))


@torch.no_grad()
def forward_outputs(
    model: nn.Module,
    dataset: BatchDataset,
    indices: torch.Tensor,
    device: torch.device,
    chunk_size: int,
) -> Iterator[tuple[int, torch.Tensor, torch.Tensor, torch.Tensor]]:
    """Yield (offset, probs, labels, features) for ``indices`` in chunks, model in eval mode."""
    was_training = model.training
    model.eval()
    try:
        for start in range(0, indices.numel(), chunk_size):
            x, y = dataset[indices[start : start + chunk_size]]
            logits, feats = model(move_to(x, device))
            yield start, torch.softmax(logits.float(), dim=1), y.to(device), feats.float()
    finally:
        model.train(was_training)


def gradient_dim(model: nn.Module) -> int:
    """d = C * (D + 1) for the model's last layer ``classifier``."""
    c, dim = classifier_of(model).weight.shape
    return int(c * (dim + 1))


@torch.no_grad()
def per_example_gradients(
    model: nn.Module,
    dataset: BatchDataset,
    indices: torch.Tensor,
    device: torch.device,
    chunk_size: int = 1024,
) -> torch.Tensor:
    """``len(indices) x d`` matrix of per-example last-layer gradients (on ``device``)."""
    out = torch.empty(indices.numel(), gradient_dim(model), device=device)
    for start, p, y, h in forward_outputs(model, dataset, indices, device, chunk_size):
        out[start : start + p.shape[0]] = gradient_rows(p, y, h)
    return out


def _equal_size_runs(sizes: list[int], chunk_size: int) -> Iterator[tuple[int, int]]:
    """``(first, stop)`` ranges of consecutive batches of one size, each holding at most
    ``max(1, chunk_size // size)`` batches: the forward chunks of :func:`per_batch_gradients`."""
    first = 0
    while first < len(sizes):
        size = sizes[first]
        stop = first + 1
        per_chunk = max(1, chunk_size // max(1, size))
        while stop < len(sizes) and sizes[stop] == size and stop - first < per_chunk:
            stop += 1
        yield first, stop
        first = stop


@torch.no_grad()
def per_batch_gradients(
    model: nn.Module,
    dataset: BatchDataset,
    batches: list[torch.Tensor],
    device: torch.device,
    chunk_size: int = 1024,
    enough: Callable[[torch.Tensor], bool] | None = None,
) -> torch.Tensor:
    """``len(batches) x d`` matrix: row ``i`` is the mean gradient of the examples of batch ``i``.

    A forward chunk holds whole batches of one size (about ``chunk_size`` examples; the
    batches of a shuffle all have the same size but the last). For a batch with errors ``E``
    (``B x C``) and features ``H`` (``B x D``) the mean ``W`` gradient is ``E^T H / B``: one
    batched matrix product per chunk, so the ``B x C x D`` per-example outer products are
    never formed (they cost more memory traffic than the network's forward pass).

    ``enough(new_rows)``, if given, sees the rows of each chunk as they are computed; once it
    returns True no further batch is forwarded, and only the rows computed so far (the
    first batches) are returned.
    """
    sizes = [int(b.numel()) for b in batches]
    c = classifier_of(model).out_features
    out = torch.empty(len(batches), gradient_dim(model), device=device)
    was_training = model.training
    model.eval()
    try:
        for first, stop in _equal_size_runs(sizes, chunk_size):
            q, size = stop - first, sizes[first]
            x, y = dataset[torch.cat(batches[first:stop])]
            logits, feats = model(move_to(x, device))
            err = subtract_labels_(torch.softmax(logits.float(), dim=1), y.to(device))
            err = err.view(q, size, c)
            h = feats.float().view(q, size, -1)
            rows = out[first:stop]
            rows[:, :c] = err.mean(1)
            torch.bmm(err.transpose(1, 2), h, out=rows[:, c:].view(q, c, -1))
            rows[:, c:] /= size
            if enough is not None and stop < len(batches) and enough(rows):
                return out[:stop]
    finally:
        model.train(was_training)
    return out


@torch.no_grad()
def mean_gradient(
    model: nn.Module,
    dataset: BatchDataset,
    device: torch.device,
    chunk_size: int = 1024,
) -> torch.Tensor:
    """Mean last-layer gradient over a whole dataset (e.g. the validation set), length d."""
    idx = torch.arange(len(dataset))
    total = torch.zeros(gradient_dim(model), device=device)
    for _, p, y, h in forward_outputs(model, dataset, idx, device, chunk_size):
        total += gradient_rows(p, y, h).sum(0)
    return total / max(1, idx.numel())
