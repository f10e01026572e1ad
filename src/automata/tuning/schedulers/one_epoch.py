"""One epoch, then the best few (Egele et al., "Is One Epoch All You Need For Multi-Fidelity
Hyperparameter Optimization?", arXiv 2307.15422): every configuration trains ``min_resource``
epochs (one), the ``k`` best of them train to ``max_resource``. A baseline that multi-fidelity
tuners must beat: in their experiments it matched them at about a tenth of the compute.
"""

from __future__ import annotations

from automata.errors import ConfigError
from automata.tuning.schedulers.base import Engine, Scheduler


class OneEpoch(Scheduler):
    """Args: k (configurations trained to the end), min_resource (the first epochs),
    max_resource (T)."""

    name = "one_epoch"
    synchronous = True

    def __init__(
        self, k: int = 3, min_resource: int = 1, max_resource: int = 20, eta: int = 3
    ) -> None:
        super().__init__(eta=eta, min_resource=min_resource, max_resource=max_resource)
        if k < 1:
            raise ConfigError(f"scheduler.k must be >= 1, got {k}")
        self.k = int(k)

    def run(self, engine: Engine) -> None:
        started, scores = [], {}
        while (trial := engine.ask()) is not None:
            score = engine.advance(trial, self.min_resource)
            if score is None:
                continue  # failed: already told
            if self.min_resource >= self.max_resource:
                engine.complete(trial)
                continue
            engine.pause(trial)
            started.append(trial)
            scores[trial.number] = score
        ranked = sorted(started, key=lambda t: (-scores[t.number], t.number))
        keep = {t.number for t in ranked[: self.k]}
        for trial in started:
            if trial.number not in keep:
                engine.prune(trial)
        for trial in ranked[: self.k]:
            if engine.advance(trial, self.max_resource) is not None:
                engine.complete(trial)

    def planned_epochs(self, n_trials: int) -> int:
        rest = self.max_resource - self.min_resource
        return n_trials * self.min_resource + min(self.k, n_trials) * rest

    def settings(self) -> dict[str, float | str | bool]:
        return {**super().settings(), "k": self.k}
