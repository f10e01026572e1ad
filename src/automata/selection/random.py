"""Random subsets: the strong baseline any claim about a smarter selector must beat."""

from __future__ import annotations

from automata.selection.base import SelectionContext, Selector, Subset


class RandomSelector(Selector):
    """A uniformly random subset of ``fraction`` of the training set, weight 1.

    Args:
        online: ``False`` draws one subset per configuration and keeps it (``random``);
            ``True`` draws a fresh subset every ``interval`` epochs (``random_online``, the
            online random baseline of the GRAD-MATCH and AUTOMATA papers).
    """

    randomized = True

    def __init__(
        self, fraction: float = 0.1, interval: int = 1, kappa: float = 0.0, online: bool = False
    ) -> None:
        super().__init__(fraction=fraction, interval=interval, kappa=kappa)
        self.online = bool(online)
        self.name = "random_online" if self.online else "random"

    def select(self, ctx: SelectionContext) -> Subset:
        sub = self.random_subset(ctx)
        sub.stats.pop("random_first")
        return sub
