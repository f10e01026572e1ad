"""ASHA: asynchronous successive halving (Li et al., "A System for Massively Parallel
Hyperparameter Tuning", MLSys 2020), stop-only.

Rungs at ``min_resource * eta^i`` epochs. A configuration reaching a rung continues only if its
score is in the top ``1/eta`` of the scores recorded at that rung so far, so no worker ever
waits for others: it runs unchanged in many processes sharing one study. Implemented with
Optuna's :class:`~optuna.pruners.SuccessiveHalvingPruner`, which is exactly this rule.
"""

from __future__ import annotations

import optuna

from automata.tuning.schedulers.base import Engine, Scheduler


class ASHA(Scheduler):
    """Args: eta (reduction factor), min_resource (grace period, epochs), max_resource."""

    name = "asha"

    def pruner(self) -> optuna.pruners.BasePruner:
        return optuna.pruners.SuccessiveHalvingPruner(
            min_resource=self.min_resource,
            reduction_factor=self.eta,
            min_early_stopping_rate=0,
            bootstrap_count=0,
        )

    def decision_epochs(self) -> list[int]:
        return self.rungs()

    def rungs(self) -> list[int]:
        """Epoch counts at which a configuration can be stopped."""
        out, r = [], self.min_resource
        while r < self.max_resource:
            out.append(r)
            r *= self.eta
        return out

    def run(self, engine: Engine) -> None:
        while (trial := engine.ask()) is not None:
            if engine.advance(trial, self.max_resource, prune_check=True) is not None:
                engine.complete(trial)
