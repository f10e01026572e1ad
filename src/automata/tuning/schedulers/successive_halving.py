"""Synchronous successive halving (SHA; Jamieson & Talwalkar, AISTATS 2016) and Hyperband
(Li et al., JMLR 2018), on Optuna's ask/tell.

SHA starts ``n`` configurations with ``r`` epochs; after each rung the best ``1/eta`` (ties broken
by trial number) continue from their own saved state to ``r * eta`` epochs, until the maximum.
Hyperband runs SHA brackets that trade ``n`` against ``r``, so the result depends less on the
choice of ``n``. Configurations stopped at a rung are recorded as pruned.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import optuna

from automata.errors import ConfigError
from automata.tuning.schedulers.base import Engine, Scheduler

KEEP_RULES = ("floor", "ceil")


def _epochs(x: float) -> int:
    """Whole epochs of a possibly fractional resource (floor, as Ray Tune's ``int()``),
    forgiving the rounding of ``R * eta^-s * eta^i`` just below an integer."""
    return int(math.floor(x + 1e-9 * max(1.0, x)))


def sha_rungs(
    n: int, r: float, max_resource: int, eta: int, keep: str = "floor"
) -> list[tuple[int, int]]:
    """``[(configurations, epochs), ...]`` of one SHA bracket.

    Rung ``i`` trains to ``min(max_resource, floor(r * eta^i))`` epochs, computed from the
    unrounded ``r`` (rounding ``r`` first and multiplying the rounded value drifts: at
    R = 300 it gives rungs 4, 12, 36, 108 instead of 3, 11, 33, 100); the last rung is at
    ``max_resource``. It holds ``floor(n / eta^i)`` configurations (``keep="floor"``, Li et
    al.) or ``ceil`` of the previous count over eta (``keep="ceil"``, Ray Tune), at least 1. A
    rung that would stop nothing (the next rung keeps as many configurations) is dropped.
    """
    if keep not in KEEP_RULES:
        raise ValueError(f"keep must be one of {KEEP_RULES}, got {keep!r}")
    rungs: list[tuple[int, int]] = []
    i, count = 0, n
    while True:
        epochs = min(max_resource, _epochs(r * eta**i))
        if rungs and rungs[-1][0] == max(1, count):
            rungs.pop()  # the previous rung decided nothing
        rungs.append((max(1, count), epochs))
        if epochs >= max_resource:
            return rungs
        i += 1
        count = n // eta**i if keep == "floor" else math.ceil(count / eta)


def hyperband_brackets(
    min_resource: int, max_resource: int, eta: int, ray: bool = False
) -> list[tuple[int, float]]:
    """``[(n, r), ...]`` for brackets s = s_max .. 0 of Hyperband (Li et al. 2018, Alg. 1).

    ``n = ceil((s_max + 1) / (s + 1) * eta^s)`` configurations start with ``r = R * eta^-s``
    epochs (``R = max_resource / min_resource`` in units of ``min_resource``; ``r`` is kept
    unrounded, :func:`sha_rungs` rounds each rung). Li et al.: ``s_max = floor(log_eta(R))``.
    ``ray=True`` gives the brackets of Ray Tune's ``HyperBandScheduler``, which the AUTOMATA
    reference code ran: ``s_max = round(log_eta(R))``, and brackets whose first rung would be
    under ``min_resource`` are skipped (at R = 20, eta = 3: n = 4, 6, 12 with r = 20, 6.7, 2.2).
    """
    ratio = max_resource / min_resource
    log = math.log(ratio, eta)
    s_max = int(round(log)) if ray else int(math.floor(log + 1e-9))
    out = []
    for s in range(s_max, -1, -1):
        n = int(math.ceil((s_max + 1) / (s + 1) * eta**s))
        r = max_resource * eta ** (-s)
        if r < min_resource - 1e-9:
            continue  # only possible with ray=True (Ray: "bracket too small")
        out.append((n, r))
    return out


def bracket_epochs(n: int, r: float, max_resource: int, eta: int, keep: str = "floor") -> int:
    """Epochs one SHA bracket of ``n`` configurations trains (trials resume between rungs)."""
    total, before = 0, 0
    for configs, epochs in sha_rungs(n, r, max_resource, eta, keep):
        total += configs * (epochs - before)
        before = epochs
    return total


def bracket_trainings(n: int, r: float, max_resource: int, eta: int, keep: str = "floor") -> int:
    """Trainings one SHA bracket of ``n`` configurations runs when each rung is a training of
    its own (the data as the resource: every rung trains T epochs on its subset)."""
    return sum(configs for configs, _ in sha_rungs(n, r, max_resource, eta, keep))


def agree(now: dict[int, float], before: dict[int, float], tolerance: float) -> bool:
    """Whether the top configurations of two rungs agree within ``tolerance`` (soft rankings,
    as PASHA's: scores that close count as tied). ``now`` and ``before`` hold the scores, at
    the larger rung and at the one below, of the configurations that reached the larger one:
    the best of each rung must be within ``tolerance`` of the best at the other."""
    if len(now) < 2:
        return False
    top_now = max(now, key=lambda n: (now[n], -n))
    top_before = max(before, key=lambda n: (before[n], -n))
    return (
        before[top_now] >= before[top_before] - tolerance
        and now[top_before] >= now[top_now] - tolerance
    )


def run_bracket(
    engine: Engine,
    trials: list[optuna.Trial],
    r: float,
    max_resource: int,
    eta: int,
    keep: str = "floor",
    stable: Callable[[Engine, dict[int, float], dict[int, float]], bool] | None = None,
) -> None:
    """Run one synchronous SHA bracket over ``trials`` (already asked). With ``stable``,
    stop before the next rung once ``stable(engine, now, before)`` says the last two rungs
    agree (scores by trial number at the last rung and the one before): the best of the last
    rung completes there, the others are stopped."""
    alive = list(trials)
    plan = sha_rungs(len(trials), r, max_resource, eta, keep)
    before: dict[int, float] = {}
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
        now = {n: score for score, n, _ in scores}
        if stable is not None and i > 0 and stable(engine, now, before):
            engine.complete(scores[0][2])  # stable: the data need not grow further
            for _, _, trial in scores[1:]:
                engine.prune(trial)
            return
        before = now
        survivors = plan[i + 1][0]
        for _, _, trial in scores[survivors:]:
            engine.prune(trial)
        alive = [trial for _, _, trial in scores[:survivors]]
        if not alive:
            return


class _Halving(Scheduler):
    """What SHA and Hyperband share: the epochs one bracket trains, in either resource."""

    def _brackets(self) -> list[tuple[int, float, str]]:
        """``(n, r, keep)`` of the brackets, ``n`` as large as any study's."""
        return [(10**6, float(self.min_resource), "floor")]

    def levels(self) -> list[int]:
        return sorted(
            {
                e
                for n, r, keep in self._brackets()
                for _, e in sha_rungs(n, r, self.max_resource, self.eta, keep)
            }
        )

    def _work(self, n: int, r: float, keep: str) -> int:
        if self.data_rungs:
            return self.epochs * bracket_trainings(n, r, self.max_resource, self.eta, keep)
        return bracket_epochs(n, r, self.max_resource, self.eta, keep)


def _ask_many(engine: Engine, n: int) -> list[optuna.Trial]:
    trials = []
    for _ in range(n):
        trial = engine.ask()
        if trial is None:
            break
        trials.append(trial)
    return trials


class SHA(_Halving):
    """Synchronous successive halving.

    Args:
        n: configurations per bracket; ``null`` puts all ``tuning.n_trials`` in one bracket.
        stop_when_stable: stop growing the resource once the top configurations of the last
            two rungs agree within ``tolerance`` (PASHA's soft ranking, Bohdal et al. 2023):
            the best of the last rung wins there.
        tolerance: scores this close count as tied; ``null``: twice the standard error of the
            rung's best validation accuracy (its validation set's binomial noise).
        eta, min_resource, max_resource, resource, min_fraction, growth, rung_fractions: see
            :class:`~automata.tuning.schedulers.base.Scheduler`.
    """

    name = "sha"
    synchronous = True

    def __init__(
        self,
        eta: int = 3,
        min_resource: int = 1,
        max_resource: int = 20,
        n: int | None = None,
        resource: str = "epochs",
        min_fraction: float | None = None,
        growth: str = "restart",
        stop_when_stable: bool = False,
        tolerance: float | None = None,
        rung_fractions: Sequence[float] | None = None,
    ) -> None:
        super().__init__(
            eta, min_resource, max_resource, resource, min_fraction, growth, rung_fractions
        )
        if n is not None and n < 1:
            raise ConfigError(f"scheduler.n must be >= 1, got {n}")
        if tolerance is not None and not 0.0 <= tolerance < 1.0:
            raise ConfigError(f"scheduler.tolerance must be in [0, 1), got {tolerance}")
        self.n = n
        self.stop_when_stable = bool(stop_when_stable)
        self.tolerance = None if tolerance is None else float(tolerance)

    def run(self, engine: Engine) -> None:
        while True:
            trials = _ask_many(engine, self.n or 10**9)
            if not trials:
                return
            run_bracket(
                engine,
                trials,
                self.min_resource,
                self.max_resource,
                self.eta,
                "floor",
                stable=self._stable if self.stop_when_stable else None,
            )

    def _stable(self, engine: Engine, now: dict[int, float], before: dict[int, float]) -> bool:
        """The top configurations of the last two rungs agree within the tolerance: the one
        set, or twice the standard error of the best score of the last rung (its validation
        set's binomial noise, :meth:`Engine.noise`)."""
        tolerance = self.tolerance
        if tolerance is None:
            tolerance = 2.0 * engine.noise(max(now.values()))
        return agree(now, before, tolerance)

    def planned_epochs(self, n_trials: int) -> int:
        total, left = 0, n_trials
        while left > 0:
            n = min(self.n or left, left)
            total += self._work(n, self.min_resource, "floor")
            left -= n
        return total


BRACKET_ORDERS = ("aggressive_first", "conservative_first")


class Hyperband(_Halving):
    """Synchronous Hyperband: SHA brackets with the n and r of Li et al. (2018).

    Args:
        bracket_order: ``aggressive_first`` (Li et al.: the bracket with the most
            configurations and the earliest stops first) or ``conservative_first`` (the
            AUTOMATA reference code, through Ray Tune's ``HyperBandScheduler``: the bracket
            that never stops early first, Ray's brackets (``s_max = round(log_eta R)``, too
            small ones skipped) and ``ceil(n / eta)`` survivors at each halving).
        eta, min_resource, max_resource, resource, min_fraction, growth, rung_fractions: see
            :class:`~automata.tuning.schedulers.base.Scheduler`.

    Brackets are filled in order until ``tuning.n_trials`` configurations were asked for (the
    last one may hold fewer than its n); with more trials than one round of brackets, the
    round repeats.
    """

    name = "hyperband"
    synchronous = True

    def __init__(
        self,
        eta: int = 3,
        min_resource: int = 1,
        max_resource: int = 20,
        bracket_order: str = "aggressive_first",
        resource: str = "epochs",
        min_fraction: float | None = None,
        growth: str = "restart",
        rung_fractions: Sequence[float] | None = None,
    ) -> None:
        super().__init__(
            eta, min_resource, max_resource, resource, min_fraction, growth, rung_fractions
        )
        if bracket_order not in BRACKET_ORDERS:
            raise ConfigError(
                f"scheduler.bracket_order must be one of {', '.join(BRACKET_ORDERS)}, "
                f"got '{bracket_order}'"
            )
        self.bracket_order = bracket_order

    @property
    def _ray(self) -> bool:
        return self.bracket_order == "conservative_first"

    def _brackets(self) -> list[tuple[int, float, str]]:
        keep = "ceil" if self._ray else "floor"
        return [(n, r, keep) for n, r in self.brackets()]

    def brackets(self) -> list[tuple[int, float]]:
        out = hyperband_brackets(self.min_resource, self.max_resource, self.eta, ray=self._ray)
        return out[::-1] if self._ray else out

    def rungs(self) -> list[list[tuple[int, int]]]:
        """Every bracket's ``[(configurations, epochs), ...]``, in the order they run."""
        keep = "ceil" if self._ray else "floor"
        return [sha_rungs(n, r, self.max_resource, self.eta, keep) for n, r in self.brackets()]

    def run(self, engine: Engine) -> None:
        keep = "ceil" if self._ray else "floor"
        while True:
            for n, r in self.brackets():
                trials = _ask_many(engine, n)
                if not trials:
                    return
                run_bracket(engine, trials, r, self.max_resource, self.eta, keep)

    def planned_epochs(self, n_trials: int) -> int:
        total, left = 0, n_trials
        while left > 0:
            for n, r in self.brackets():
                if left <= 0:
                    break
                k = min(n, left)  # the last bracket holds what is left of n_trials
                total += self._work(k, r, "ceil" if self._ray else "floor")
                left -= k
        return total

    def settings(self) -> dict[str, float | str | bool]:
        return {**super().settings(), "bracket_order": self.bracket_order}


class Ladder(Hyperband):
    """Hyperband over the data's size, the default (``conf/scheduler/ladder.yaml``): each rung
    trains a configuration for T epochs on a growing share of the training data, from
    ``min_fraction`` (1/81) by ``eta`` to all of it, whose best model is the final one
    (docs/fidelity.md). The same as ``scheduler=hyperband scheduler.resource=data
    scheduler.min_fraction=...``, named apart so that a run, its study and its summary say
    which it was.

    Args: those of :class:`Hyperband`, with ``resource`` always ``data``.
    """

    name = "ladder"

    def __init__(
        self,
        eta: int = 3,
        min_resource: int = 1,
        max_resource: int = 20,
        bracket_order: str = "aggressive_first",
        resource: str = "data",
        min_fraction: float | None = 1 / 81,
        growth: str = "restart",
        rung_fractions: Sequence[float] | None = None,
    ) -> None:
        if resource != "data":
            raise ConfigError(
                f"scheduler=ladder has the data as its resource, got resource={resource}: "
                "use scheduler=hyperband for epochs"
            )
        super().__init__(
            eta,
            min_resource,
            max_resource,
            bracket_order,
            resource,
            min_fraction,
            growth,
            rung_fractions,
        )
