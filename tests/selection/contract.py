"""The selector contract as one check: what every subset a selector returns must satisfy,
whoever wrote the selector (the package's, in test_contract.py, or a user's own)."""

from __future__ import annotations

import math

import torch

from automata.selection.base import Selector, Subset


def check_contract(sub: Subset, selector: Selector, n: int) -> None:
    """At most ``budget(n)`` unique in-range indices on the CPU, finite non-negative weights
    of positive sum, finite float statistics."""
    assert isinstance(sub, Subset)
    idx, w = sub.indices, sub.weights
    assert idx.device.type == "cpu" and w.device.type == "cpu"
    assert idx.dtype == torch.long and idx.ndim == 1
    assert w.is_floating_point() and w.shape == idx.shape
    assert 1 <= len(sub) <= selector.budget(n)
    assert torch.unique(idx).numel() == idx.numel(), "indices must be unique"
    assert int(idx.min()) >= 0 and int(idx.max()) < n
    assert bool(torch.isfinite(w).all()) and bool((w >= 0).all())
    assert float(w.sum()) > 0
    for key, value in sub.stats.items():
        assert isinstance(value, float) and math.isfinite(value), key
    if "subset_size" in sub.stats:
        assert sub.stats["subset_size"] == len(sub)
