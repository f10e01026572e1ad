"""Schedulers on simulated learning curves (no training): rung sizes and promotions equal the
tables worked out by hand from the papers' definitions."""

from __future__ import annotations

import math

import optuna
import pytest

from automata.build import build
from automata.errors import ConfigError
from automata.tuning.schedulers import ASHA, SHA, Hyperband, NoScheduler, OneEpoch
from automata.tuning.schedulers.successive_halving import hyperband_brackets, sha_rungs

from ..conftest import compose_config, options
from .simulated import FakeEngine, check_scheduler_contract

optuna.logging.set_verbosity(optuna.logging.WARNING)


def test_sha_rungs_by_hand():
    # n=27, r=1, R=27, eta=3: 27@1, 9@3, 3@9, 1@27 (Jamieson & Talwalkar 2016)
    assert sha_rungs(27, 1, 27, 3) == [(27, 1), (9, 3), (3, 9), (1, 27)]
    # R not a power of eta: the last rung is capped at R, and a rung that stops nothing
    # (one configuration at 18 epochs, still one at 20) is not a rung.
    assert sha_rungs(9, 2, 20, 3) == [(9, 2), (3, 6), (1, 20)]
    assert sha_rungs(10, 1, 8, 2) == [(10, 1), (5, 2), (2, 4), (1, 8)]
    # Ray Tune's survivor rule: ceil at each halving.
    assert sha_rungs(12, 20 / 9, 20, 3, keep="ceil") == [(12, 2), (4, 6), (2, 20)]


def test_rungs_come_from_the_unrounded_first_resource():
    # R=300, eta=3, bracket s=4: r = 300/81 = 3.7; rungs 3.7, 11.1, 33.3, 100, 300 -> whole
    # epochs 3, 11, 33, 100, 300 (rounding r first gave 4, 12, 36, 108).
    assert sha_rungs(98, 300 / 81, 300, 3) == [(98, 3), (32, 11), (10, 33), (3, 100), (1, 300)]
    # R=20, eta=3, r = 20/9: 2, 6, 20; no extra rung at 18.
    assert [e for _, e in sha_rungs(9, 20 / 9, 20, 3)] == [2, 6, 20]
    for n, r in hyperband_brackets(1, 300, 3):
        epochs = [e for _, e in sha_rungs(n, r, 300, 3)]
        assert epochs == [int(r * 3**i + 1e-6) for i in range(len(epochs) - 1)] + [300]


def _ray_tune_brackets(max_t: int, eta: int) -> list[tuple[int, int]]:
    """Ray Tune's HyperBandScheduler formulas, as its source states them: s_max_1 =
    round(log(max_t) / log(eta)) + 1, n0(s) = ceil(s_max_1 / (s + 1) * eta^s),
    r0(s) = int(max_t * eta^-s), brackets with r0 == 0 skipped; filled from s = 0 up."""
    s_max_1 = int(round(math.log(max_t) / math.log(eta))) + 1
    out = []
    for s in range(s_max_1):
        r0 = int(max_t * eta ** (-s))
        if r0 == 0:
            continue
        out.append((int(math.ceil(s_max_1 / (s + 1) * eta**s)), r0))
    return out


@pytest.mark.parametrize("max_t", [9, 20, 27, 50, 81, 100, 300])
@pytest.mark.parametrize("eta", [2, 3, 4])
def test_conservative_first_gives_ray_tunes_brackets(max_t, eta):
    hb = Hyperband(eta=eta, min_resource=1, max_resource=max_t, bracket_order="conservative_first")
    ours = [(n, int(r + 1e-9)) for n, r in hb.brackets()]
    assert ours == _ray_tune_brackets(max_t, eta)


def test_conservative_first_at_the_papers_settings():
    # T = 20, eta = 3 (text and tabular): s_max = round(2.73) = 3; the s = 3 bracket
    # (r = 0.74 epochs) is too small and skipped. T = 300 (images): 6 brackets.
    hb = Hyperband(eta=3, min_resource=1, max_resource=20, bracket_order="conservative_first")
    assert hb.rungs() == [[(4, 20)], [(6, 6), (2, 20)], [(12, 2), (4, 6), (2, 20)]]
    hb300 = Hyperband(eta=3, min_resource=1, max_resource=300, bracket_order="conservative_first")
    assert [n for n, _ in hb300.brackets()] == [6, 9, 18, 41, 98, 243]
    assert hb300.rungs()[4] == [(98, 3), (33, 11), (11, 33), (4, 100), (2, 300)]


def test_hyperband_brackets_li_et_al():
    # Li et al. (2018), Table 1 with R=81, eta=3: s_max=4, n = 81, 34, 15, 8, 5;
    # r = 1, 3, 9, 27, 81.
    assert hyperband_brackets(1, 81, 3) == [(81, 1), (34, 3), (15, 9), (8, 27), (5, 81)]
    # R=27, eta=3: n = 27, 12, 6, 4; r = 1, 3, 9, 27.
    assert hyperband_brackets(1, 27, 3) == [(27, 1), (12, 3), (6, 9), (4, 27)]


def test_sha_promotes_best_third_and_resumes():
    q = [0.1 * (i + 1) for i in range(9)]  # trial 8 best
    eng = FakeEngine(q)
    SHA(eta=3, min_resource=1, max_resource=9).run(eng)
    # rung 1: all 9 to epoch 1; best 3 (6, 7, 8) continue to epoch 3; best 1 (8) to epoch 9.
    assert sorted(n for n, u in eng.advances if u == 1) == list(range(9))
    assert sorted(n for n, u in eng.advances if u == 3) == [6, 7, 8]
    assert [n for n, u in eng.advances if u == 9] == [8]
    assert eng.completed == [8]
    assert sorted(eng.pruned) == [0, 1, 2, 3, 4, 5, 6, 7]
    # promoted trials continue from where they stopped: epochs 1 -> 3 -> 9, never restarted
    assert eng.epochs[8] == 9 and eng.epochs[7] == 3 and eng.epochs[0] == 1
    # waiting trials are paused (checkpointed) after each non-final rung
    assert eng.paused.count(8) == 2


def test_sha_ties_broken_by_trial_number():
    eng = FakeEngine([0.5] * 9)
    SHA(eta=3, min_resource=1, max_resource=3).run(eng)
    assert sorted(n for n, u in eng.advances if u == 3) == [0, 1, 2]


def test_sha_survives_failed_trials():
    q = [0.1 * (i + 1) for i in range(9)]
    eng = FakeEngine(q, fail={8, 7})
    SHA(eta=3, min_resource=1, max_resource=9).run(eng)
    assert eng.completed == [6]
    assert sorted(n for n, u in eng.advances if u == 3) == [4, 5, 6]


def test_hyperband_brackets_and_order():
    # R=9, eta=3: brackets (9 @ 1), (5 @ 3), (3 @ 9) -> 17 configurations in one round.
    hb = Hyperband(eta=3, min_resource=1, max_resource=9)
    assert hb.brackets() == [(9, 1), (5, 3), (3, 9)]
    eng = FakeEngine([0.5 + 0.01 * i for i in range(17)])
    hb.run(eng)
    # bracket 0: trials 0-8 (rungs 1, 3, 9 -> 1 completes); bracket 1: trials 9-13 (3 -> 9);
    # bracket 2: trials 14-16 all to 9.
    assert eng.completed == [8, 13, 14, 15, 16]
    assert len(eng.pruned) == 12
    conservative = Hyperband(
        eta=3, min_resource=1, max_resource=9, bracket_order="conservative_first"
    )
    assert conservative.brackets() == [(3, 9), (5, 3), (9, 1)]
    eng2 = FakeEngine([0.5] * 4)  # only 4 trials: the first bracket (3 @ 9) and 1 of the next
    conservative.run(eng2)
    assert eng2.completed == [0, 1, 2, 3]  # a bracket of one configuration goes straight to R


def test_none_trains_everything_to_max():
    eng = FakeEngine([0.3, 0.9, 0.1])
    NoScheduler(max_resource=5).run(eng)
    assert eng.completed == [0, 1, 2] and all(e == 5 for e in eng.epochs.values())


def test_asha_stops_below_top_fraction_at_rungs():
    # ASHA with eta=2, grace 1: rungs at 1, 2, 4. The first trial is always promoted (it is
    # the top of its rung); a later worse trial stops at its first rung.
    asha = ASHA(eta=2, min_resource=1, max_resource=8)
    assert asha.rungs() == [1, 2, 4]
    eng = FakeEngine([0.9, 0.2, 0.95, 0.1], pruner=asha.pruner())
    asha.run(eng)
    assert 0 in eng.completed and 2 in eng.completed
    assert 1 in eng.pruned and 3 in eng.pruned
    assert eng.epochs[1] == 1 and eng.epochs[3] == 1


def test_invalid_settings_fail_with_key():
    with pytest.raises(ConfigError, match="scheduler.eta"):
        SHA(eta=1)
    with pytest.raises(ConfigError, match="scheduler.max_resource"):
        Hyperband(min_resource=5, max_resource=2)
    with pytest.raises(ConfigError, match="bracket_order"):
        Hyperband(bracket_order="random")


def test_hyperband_total_configs_matches_formula():
    for R, eta in [(27, 3), (81, 3), (16, 2), (20, 3)]:
        br = hyperband_brackets(1, R, eta)
        s_max = int(math.floor(math.log(R, eta) + 1e-9))
        assert len(br) == s_max + 1
        assert br[-1] == (s_max + 1, R)  # the last bracket never stops early


@pytest.mark.parametrize("n_trials", [1, 4, 9, 13, 27, 31])
@pytest.mark.parametrize(
    "scheduler",
    [
        SHA(eta=3, min_resource=1, max_resource=9),
        SHA(eta=3, min_resource=1, max_resource=9, n=5),
        SHA(eta=2, min_resource=2, max_resource=16),
        Hyperband(eta=3, min_resource=1, max_resource=27),
        Hyperband(eta=3, min_resource=1, max_resource=9, bracket_order="conservative_first"),
        NoScheduler(max_resource=7),
    ],
    ids=["sha", "sha-n5", "sha-eta2", "hyperband", "hyperband-conservative", "none"],
)
def test_planned_epochs_equal_the_epochs_a_run_trains(scheduler, n_trials):
    engine = FakeEngine([0.5 + 0.01 * ((7 * i) % 11) for i in range(n_trials)])
    scheduler.run(engine)
    assert scheduler.planned_epochs(n_trials) == sum(engine.epochs.values())


def test_asha_plan_is_an_upper_bound():
    asha = ASHA(eta=3, min_resource=1, max_resource=9)
    engine = FakeEngine([0.5 + 0.01 * ((7 * i) % 11) for i in range(12)], pruner=asha.pruner())
    asha.run(engine)
    assert sum(engine.epochs.values()) <= asha.planned_epochs(12) == 12 * 9


# ---------------------------------------------------------------- every scheduler's contract


@pytest.mark.parametrize("option", options("scheduler"))
def test_name_is_the_class_attribute_equal_to_the_yaml_stem(option):
    """Every option's scheduler is called by its YAML's stem (logs, the study, summary.json),
    and the name belongs to the class, not to one instance."""
    scheduler = build("scheduler", compose_config([f"scheduler={option}"]).scheduler)
    assert scheduler.name == option
    assert type(scheduler).name == option and "name" not in vars(scheduler)


def test_a_scheduler_class_without_a_name_is_called_by_its_class_name():
    class EveryTrialOnce(NoScheduler):
        pass

    assert EveryTrialOnce.name == "EveryTrialOnce" and EveryTrialOnce().name == "EveryTrialOnce"


@pytest.mark.parametrize("option", options("scheduler"))
def test_every_configured_scheduler_keeps_the_contract(option):
    scheduler = build(
        "scheduler", compose_config([f"scheduler={option}", "train.epochs=9"]).scheduler
    )
    check_scheduler_contract(scheduler)
    check_scheduler_contract(scheduler, fail=frozenset({1, 4}))


# -- the data as the resource -----------------------------------------------------------------
def test_data_rungs_are_shares_of_the_data_in_units_of_the_smallest():
    hb = Hyperband(eta=3, max_resource=20, resource="data", min_fraction=1 / 27)
    # 27 units make the full data: rung u trains T = 20 epochs on u/27 of it.
    assert hb.max_resource == 27 and hb.epochs == 20 and hb.min_fraction == 1 / 27
    assert [hb.budget(u) for u in (1, 3, 9, 27)] == [
        (1 / 27, 20),
        (1 / 9, 20),
        (1 / 3, 20),
        (1.0, 20),
    ]
    assert hb.rungs()[0] == [(27, 1), (9, 3), (3, 9), (1, 27)]
    assert hb.levels() == [1, 3, 9, 27] and hb.fractions() == [1 / 27, 1 / 9, 1 / 3]
    # Every rung is a whole training of T epochs: 27 + 9 + 3 + 1 trainings in the first bracket.
    assert hb.planned_epochs(27) == 40 * 20
    # 0.01: 100 units, rungs 1, 3, 9, 27, 81 and the full data.
    sha = SHA(eta=3, max_resource=10, resource="data", min_fraction=0.01)
    assert sha.levels() == [1, 3, 9, 27, 81, 100]
    assert sha.budget(27) == (0.27, 10)
    asha = ASHA(eta=3, max_resource=10, resource="data", min_fraction=1 / 9)
    assert asha.decision_epochs() == [1, 3] and asha.levels() == [1, 3, 9]
    assert asha.settings()["resource"] == "data" and asha.settings()["growth"] == "restart"
    # Epochs as the resource: nothing changes.
    assert Hyperband(eta=3, max_resource=20).budget(6) == (None, 6)


def test_rungs_at_the_shares_the_user_lists():
    hb = Hyperband(eta=3, max_resource=20, resource="data", rung_fractions=[0.05, 0.2, 1])
    # three rungs: eta^0, eta^1, eta^2 units of the arithmetic, each the listed share
    assert hb.max_resource == 9 and hb.min_fraction == 0.05
    assert [hb.budget(u) for u in hb.levels()] == [(0.05, 20), (0.2, 20), (1.0, 20)]
    assert hb.fractions() == [0.05, 0.2]
    assert hb.rungs()[0] == [(9, 1), (3, 3), (1, 9)]  # eta still sets how many continue
    assert hb.settings()["rung_fractions"] == "0.05, 0.2, 1"
    asha = ASHA(eta=2, max_resource=5, resource="data", rung_fractions=[0.1, 0.25, 0.5, 1.0])
    assert asha.decision_epochs() == [1, 2, 4] and asha.max_resource == 8
    assert [asha.budget(u)[0] for u in (1, 2, 4, 8)] == [0.1, 0.25, 0.5, 1.0]
    # the list replaces min_fraction (the ladder's YAML sets one)
    sha = SHA(eta=3, max_resource=4, resource="data", min_fraction=0.0123, rung_fractions=[0.5, 1])
    assert sha.levels() == [1, 3] and sha.budget(1) == (0.5, 4)


@pytest.mark.parametrize(
    ("rungs", "message"),
    [
        ([0.1, 0.5], r"must end with 1 \(the top rung is the full data\)"),
        ([0.5, 0.1, 1.0], r"must increase within \(0, 1\]"),
        ([0.0, 1.0], r"must increase within \(0, 1\]"),
        ([1.0], r"needs at least two rungs"),
        (["a", 1.0], r"must be a list of numbers"),
    ],
)
def test_bad_rung_lists_are_one_line(rungs, message):
    with pytest.raises(ConfigError, match=f"scheduler.rung_fractions {message}"):
        SHA(eta=3, max_resource=10, resource="data", rung_fractions=rungs)
    with pytest.raises(ConfigError, match="scheduler.rung_fractions is for scheduler.resource"):
        SHA(eta=3, max_resource=10, rung_fractions=[0.5, 1.0])


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"resource": "data"}, r"scheduler.min_fraction must be in \(0, 1\) with"),
        ({"resource": "data", "min_fraction": 1.5}, r"scheduler.min_fraction must be in \(0, 1\)"),
        ({"resource": "data", "min_fraction": 0.5}, r"leaves no rung below the full data"),
        ({"min_fraction": 0.1}, r"scheduler.min_fraction is for scheduler.resource=data"),
        ({"resource": "bytes"}, r"scheduler.resource must be one of epochs, data"),
        ({"growth": "grow"}, r"scheduler.growth must be one of restart, continue"),
    ],
)
def test_bad_data_rung_settings_are_one_line(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        SHA(eta=3, max_resource=10, **kwargs)


@pytest.mark.parametrize(
    "scheduler",
    [
        SHA(eta=3, max_resource=5, resource="data", min_fraction=1 / 9),
        Hyperband(eta=3, max_resource=5, resource="data", min_fraction=1 / 27),
        ASHA(eta=3, max_resource=5, resource="data", min_fraction=1 / 9),
    ],
    ids=["sha", "hyperband", "asha"],
)
def test_data_rung_schedulers_keep_the_contract(scheduler):
    engine = FakeEngine([0.5 + 0.01 * ((7 * i) % 11) for i in range(12)], pruner=scheduler.pruner())
    scheduler.run(engine)
    ended = engine.completed + engine.pruned
    assert sorted(ended) == list(range(12)) and len(set(ended)) == 12
    assert all(until in scheduler.levels() for _, until in engine.advances)
    assert any(engine.epochs[n] == scheduler.max_resource for n in engine.completed)


# -- a stop once the rungs agree (PASHA's soft ranking) and one epoch then the best few ---------
def test_agree_compares_the_tops_of_two_rungs_within_a_tolerance():
    from automata.tuning.schedulers.successive_halving import agree

    before = {0: 0.80, 1: 0.79, 2: 0.60}
    assert agree({0: 0.90, 1: 0.88, 2: 0.70}, before, tolerance=0.0)  # same top
    assert not agree({0: 0.88, 1: 0.90, 2: 0.70}, before, tolerance=0.0)  # swapped
    assert agree({0: 0.88, 1: 0.90, 2: 0.70}, before, tolerance=0.02)  # a tie within 0.02
    assert not agree({2: 0.95, 0: 0.90, 1: 0.88}, before, tolerance=0.05)  # overturned
    assert not agree({0: 0.9}, {0: 0.8}, tolerance=1.0)  # one configuration: nothing to agree


def test_sha_stops_growing_once_the_last_two_rungs_agree():
    # Simulated curves keep their order: the second rung agrees with the first, so the data
    # (or the epochs) stop growing there, the best of it completes and the rest stop.
    sha = SHA(eta=3, min_resource=1, max_resource=9, stop_when_stable=True, tolerance=0.0)
    engine = FakeEngine([0.5 + 0.01 * ((7 * i) % 11) for i in range(9)])
    sha.run(engine)
    assert max(engine.epochs.values()) == 3  # rungs 1 and 3, not 9
    assert len(engine.completed) == 1 and len(engine.pruned) == 8
    best = max(range(9), key=lambda i: engine.q[i])
    assert engine.completed == [best]
    # Without the stop: to the last rung.
    plain = FakeEngine(engine.q)
    SHA(eta=3, min_resource=1, max_resource=9).run(plain)
    assert max(plain.epochs.values()) == 9


def test_sha_goes_on_while_a_larger_rung_overturns_the_smaller():
    class Crossing(FakeEngine):
        def score(self, number: int, epoch: int) -> float:  # orders swap at every rung
            return self.q[number] * (1 - 0.5**epoch) * (1 if epoch < 3 else -1) + 1

    sha = SHA(eta=3, min_resource=1, max_resource=9, stop_when_stable=True)  # tolerance: noise
    engine = Crossing([0.5 + 0.05 * i for i in range(9)])
    sha.run(engine)
    assert max(engine.epochs.values()) == 9


def test_one_epoch_then_the_best_k():
    sched = OneEpoch(k=2, min_resource=1, max_resource=6)
    engine = check_scheduler_contract(sched, n_trials=7)
    assert sorted(n for n, e in engine.epochs.items() if e == 6) == sorted(
        sorted(range(7), key=lambda i: -engine.q[i])[:2]
    )
    assert sched.planned_epochs(7) == 7 + 2 * 5
