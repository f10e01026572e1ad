"""Synchronous successive halving (SHA; Jamieson & Talwalkar, AISTATS 2016) and Hyperband
(Li et al., JMLR 2018), on Optuna's ask/tell.

SHA starts ``n`` configurations with ``r`` epochs; after each rung the best ``1/eta`` (ties broken
by trial number) continue from their own saved state to ``r * eta`` epochs, until the maximum.
Hyperband runs SHA brackets that trade ``n`` against ``r``, so the result depends less on the
choice of ``n``. Configurations stopped at a rung are recorded as pruned.
"""

from __future__ import annotations

import math

import optuna

from automata.errors import ConfigError
from automata.tuning.schedulers.base import Engine, Scheduler


def sha_rungs(n: int, r: int, max_resource: int, eta: int) -> list[tuple[int, int]]:
    """``[(configurations, epochs), ...]`` of one SHA bracket.

    Rung ``i`` holds ``max(1, floor(n / eta^i))`` configurations trained to
    ``min(max_resource, r * eta^i)`` epochs; the last rung is at ``max_resource``.
    """
    rungs, i = [], 0
    while True:
        epochs = min(max_resource, r * eta**i)
        rungs.append((max(1, n // eta**i), epochs))
        if epochs >= max_resource:
            return rungs
        i += 1


def hyperband_brackets(min_resource: int, max_resource: int, eta: int) -> list[tuple[int, int]]:
    """``[(n, r), ...]`` for brackets s = s_max .. 0 of Hyperband (Li et al. 2018, Alg. 1).

    ``s_max = floor(log_eta(R / r_min))``, ``n = ceil((s_max + 1) / (s + 1) * eta^s)`` and
    ``r = R * eta^-s`` (rounded to whole epochs, at least ``min_resource``).
    """
    ratio = max_resource / min_resource
    s_max = int(math.floor(math.log(ratio, eta) + 1e-9))
    out = []
    for s in range(s_max, -1, -1):
        n = int(math.ceil((s_max + 1) / (s + 1) * eta**s))
        r = max(min_resource, int(round(max_resource * eta ** (-s))))
        out.append((n, r))
    return out


def run_bracket(
    engine: Engine, trials: list[optuna.Trial], r: int, max_resource: int, eta: int
) -> None:
    """Run one synchronous SHA bracket over ``trials`` (already asked)."""
    alive = list(trials)
    plan = sha_rungs(len(trials), r, max_resource, eta)
    for i, (_, epochs) in enumerate(plan):
        scores: list[tuple[float, int, optuna.Trial]] = []
        for trial in alive:
            score = engine.advance(trial, epochs)
            if score is not None:
                scores.append((score, trial.number, trial))
                if epochs < max_resource:
                    engine.pause(trial)  # frees memory while the rung's other trials train
        if epochs >= max_resource:
            for _, _, trial in scores:
                engine.complete(trial)
            return
        scores.sort(key=lambda s: (-s[0], s[1]))
        keep = plan[i + 1][0]
        for _, _, trial in scores[keep:]:
            engine.prune(trial)
        alive = [trial for _, _, trial in scores[:keep]]
        if not alive:
            return


def _ask_many(engine: Engine, n: int) -> list[optuna.Trial]:
    trials = []
    for _ in range(n):
        trial = engine.ask()
        if trial is None:
            break
        trials.append(trial)
    return trials


class SHA(Scheduler):
    """Synchronous successive halving.

    Args:
        n: configurations per bracket; ``null`` puts all ``tuning.n_trials`` in one bracket.
        eta, min_resource, max_resource: see :class:`Scheduler`.
    """

    def __init__(
        self, eta: int = 3, min_resource: int = 1, max_resource: int = 20, n: int | None = None
    ) -> None:
        super().__init__(eta, min_resource, max_resource)
        if n is not None and n < 1:
            raise ConfigError(f"scheduler.n must be >= 1, got {n}")
        self.n = n

    synchronous = True

    @property
    def name(self) -> str:
        return "sha"

    def run(self, engine: Engine) -> None:
        while True:
            trials = _ask_many(engine, self.n or 10**9)
            if not trials:
                return
            run_bracket(engine, trials, self.min_resource, self.max_resource, self.eta)


BRACKET_ORDERS = ("aggressive_first", "conservative_first")


class Hyperband(Scheduler):
    """Synchronous Hyperband: SHA brackets with the n and r of Li et al. (2018).

    Args:
        bracket_order: ``aggressive_first`` (Li et al.: the bracket with the most
            configurations and the earliest stops first) or ``conservative_first`` (the
            AUTOMATA reference code, through Ray Tune: the bracket that never stops early first).
        eta, min_resource, max_resource: see :class:`Scheduler`.

    Brackets are filled in order until ``tuning.n_trials`` configurations were asked for (the
    last one may hold fewer than its n); with more trials than one round of brackets, the
    round repeats.
    """

    def __init__(
        self,
        eta: int = 3,
        min_resource: int = 1,
        max_resource: int = 20,
        bracket_order: str = "aggressive_first",
    ) -> None:
        super().__init__(eta, min_resource, max_resource)
        if bracket_order not in BRACKET_ORDERS:
            raise ConfigError(
                f"scheduler.bracket_order must be one of {', '.join(BRACKET_ORDERS)}, "
                f"got '{bracket_order}'"
            )
        self.bracket_order = bracket_order

    synchronous = True

    @property
    def name(self) -> str:
        return "hyperband"

    def brackets(self) -> list[tuple[int, int]]:
        out = hyperband_brackets(self.min_resource, self.max_resource, self.eta)
        return out if self.bracket_order == "aggressive_first" else out[::-1]

    def run(self, engine: Engine) -> None:
        while True:
            for n, r in self.brackets():
                trials = _ask_many(engine, n)
                if not trials:
                    return
                run_bracket(engine, trials, r, self.max_resource, self.eta)

    def describe(self) -> dict[str, int | str]:
        return {**super().describe(), "bracket_order": self.bracket_order}
