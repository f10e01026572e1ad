"""Random subsets: the strong baseline any claim about a smarter selector must beat."""

from __future__ import annotations

from automata.selection.base import SelectionContext, Selector, Subset


class RandomSelector(Selector):
    """One uniformly random subset of ``fraction`` of the training set per configuration,
    drawn once and kept, weight 1 (``random``)."""

    name = "random"
    online = False
    randomized = True

    def __init__(self, fraction: float = 0.1, interval: int = 1, kappa: float = 0.0) -> None:
        super().__init__(fraction=fraction, interval=interval, kappa=kappa)

    def select(self, ctx: SelectionContext) -> Subset:
        sub = self.random_subset(ctx)
        sub.stats.pop("random_first")
        return sub


class OnlineRandomSelector(RandomSelector):
    """A fresh uniformly random subset every ``interval`` epochs, weight 1 (``random_online``,
    the online random baseline of the GRAD-MATCH and AUTOMATA papers)."""

    name = "random_online"
    online = True
