"""Simulated trials for the scheduler tests (no training): an engine whose trial ``i`` scores
``quality[i] * (1 - 0.5 ** epoch)``, and the contract every scheduler keeps on it, whoever wrote
the scheduler (the package's, in test_schedulers.py, or a user's own)."""

from __future__ import annotations

import optuna


class FakeEngine:
    """Simulated trials: trial i's score at epoch e is quality[i] * (1 - 0.5 ** e)."""

    def __init__(self, qualities: list[float], fail: set[int] = frozenset(), pruner=None):
        self.study = optuna.create_study(direction="maximize", pruner=pruner)
        self.q = qualities
        self.fail = set(fail)
        self.epochs: dict[int, int] = {}
        self.advances: list[tuple[int, int]] = []  # (trial, until)
        self.completed: list[int] = []
        self.pruned: list[int] = []
        self.paused: list[int] = []

    def score(self, number: int, epoch: int) -> float:
        return self.q[number] * (1 - 0.5**epoch)

    def ask(self):
        if len(self.study.trials) >= len(self.q):
            return None
        return self.study.ask()

    def advance(self, trial, until, prune_check=False):
        n = trial.number
        self.advances.append((n, until))
        if n in self.fail:
            self.study.tell(trial, state=optuna.trial.TrialState.FAIL)
            return None
        start = self.epochs.get(n, 0)
        assert until > start, "a trial is never asked to train backwards"
        for e in range(start + 1, until + 1):
            trial.report(self.score(n, e), e)
            self.epochs[n] = e
            if prune_check and trial.should_prune():
                self.prune(trial)
                return None
        return self.score(n, until)

    def pause(self, trial):
        self.paused.append(trial.number)

    def complete(self, trial):
        self.completed.append(trial.number)
        self.study.tell(trial, self.score(trial.number, self.epochs[trial.number]))

    def noise(self, score: float) -> float:
        return 0.01  # a validation set of a few thousand examples

    def prune(self, trial):
        self.pruned.append(trial.number)
        self.study.tell(trial, state=optuna.trial.TrialState.PRUNED)


def check_scheduler_contract(scheduler, n_trials: int = 10, fail: frozenset[int] = frozenset()):
    """What every scheduler must do on a study of ``n_trials`` simulated configurations:
    stop asking only when the engine says so, end every trial it started exactly once
    (complete or prune; failed ones are told by the engine), never train past
    ``max_resource``, take at least one configuration to ``max_resource``, and plan at least
    the epochs it trains (``planned_epochs``, for the progress bar). Returns the engine."""
    qualities = [0.5 + 0.01 * ((7 * i) % 11) for i in range(n_trials)]
    engine = FakeEngine(qualities, fail=set(fail), pruner=scheduler.pruner())
    scheduler.run(engine)
    assert len(engine.study.trials) == n_trials, "asks until the engine stops it"
    ended = engine.completed + engine.pruned
    assert len(ended) == len(set(ended)), "every trial is ended once"
    assert set(ended) | set(fail) == set(range(n_trials)), "no trial left running"
    assert all(until <= scheduler.max_resource for _, until in engine.advances)
    assert any(engine.epochs[n] == scheduler.max_resource for n in engine.completed)
    assert sum(engine.epochs.values()) <= scheduler.planned_epochs(n_trials)
    return engine
