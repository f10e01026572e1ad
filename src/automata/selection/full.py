"""The full-data baseline: every example, weight 1."""

from __future__ import annotations

import torch

from automata.selection.base import SelectionContext, Selector, Subset


class FullSelector(Selector):
    """Train on the whole training set (the baseline AUTOMATA's speedup is measured against)."""

    name = "full"

    online = False
    is_full = True

    def __init__(self, fraction: float = 1.0, interval: int = 1, kappa: float = 0.0) -> None:
        # The subset settings mean nothing here; they are accepted (and ignored) so that an
        # experiment setting them for the subset selectors can switch to selector=full.
        del fraction, interval, kappa
        super().__init__(fraction=1.0, interval=1, kappa=0.0)

    def select(self, ctx: SelectionContext) -> Subset:
        n = len(ctx.data.train)
        return Subset(torch.arange(n), torch.ones(n), {"subset_size": float(n)})
