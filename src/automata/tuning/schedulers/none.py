"""No early stopping: every configuration trains for the maximum number of epochs."""

from __future__ import annotations

from automata.tuning.schedulers.base import Engine, Scheduler


class NoScheduler(Scheduler):
    """Each configuration trains ``max_resource`` epochs; ``eta`` and ``min_resource`` unused."""

    name = "none"

    def __init__(self, max_resource: int = 20, eta: int = 3, min_resource: int = 1) -> None:
        super().__init__(
            eta=eta, min_resource=min(min_resource, max_resource), max_resource=max_resource
        )

    def run(self, engine: Engine) -> None:
        while (trial := engine.ask()) is not None:
            if engine.advance(trial, self.max_resource) is not None:
                engine.complete(trial)
