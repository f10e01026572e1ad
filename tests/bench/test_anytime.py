"""Comparisons at equal wall time: the anytime curve and incumbent rules on made-up
histories, and the timestamps read from a study."""

from __future__ import annotations

import datetime
import random

import optuna
import pytest
from optuna.distributions import FloatDistribution
from optuna.trial import TrialState, create_trial

from automata.bench.anytime import anytime_matrix, best_so_far, incumbent, study_evaluations


def _ev(t: float, epochs: int, value: float | None, name: str = "") -> dict:
    return {"t": t, "epochs": epochs, "value": value, "params": {"name": name}}


def test_best_so_far_counts_only_results_at_T_known_by_then():
    evs = [
        _ev(1.0, 1, 0.9, "a"),  # low fidelity: not on the curve
        _ev(2.0, 20, 0.7, "b"),
        _ev(3.0, 20, None, "failed"),
        _ev(5.0, 20, 0.8, "c"),
        _ev(6.0, 20, 0.75, "d"),
    ]
    assert best_so_far(evs, 20, 1.5) is None
    assert best_so_far(evs, 20, 2.0) == 0.7
    assert best_so_far(evs, 20, 4.9) == 0.7
    assert best_so_far(evs, 20, 5.0) == 0.8
    assert best_so_far(evs, 20, 100.0) == 0.8


def test_incumbent_prefers_T_then_the_highest_fidelity_reached():
    evs = [
        _ev(1.0, 2, 0.6, "a"),
        _ev(2.0, 6, 0.5, "b"),
        _ev(3.0, 2, 0.9, "c"),
        _ev(4.0, 20, 0.4, "d"),
        _ev(5.0, 20, 0.7, "e"),
        _ev(6.0, 20, 0.7, "f"),  # tie: the earlier one stays
    ]
    assert incumbent(evs, 20, 0.5) is None
    first = incumbent(evs, 20, 1.0)
    assert first["params"]["name"] == "a" and first["fallback"]
    assert incumbent(evs, 20, 3.5)["params"]["name"] == "b"  # 6 epochs beats 2 epochs
    at_t = incumbent(evs, 20, 4.0)
    assert at_t["params"]["name"] == "d" and not at_t["fallback"]
    assert incumbent(evs, 20, 10.0)["params"]["name"] == "e"


def test_incumbent_and_curve_agree_with_brute_force_on_random_histories():
    rng = random.Random(0)
    for _ in range(200):
        evs = [
            _ev(rng.uniform(0, 10), rng.choice([1, 3, 9]), rng.random(), str(i))
            for i in range(rng.randint(0, 12))
        ]
        until = rng.uniform(0, 10)
        known = [e for e in evs if e["t"] <= until]
        inc = incumbent(evs, 9, until)
        if not known:
            assert inc is None
            continue
        top = max(e["epochs"] for e in known)
        best = max(e["value"] for e in known if e["epochs"] == top)
        assert inc["value"] == best and inc["epochs"] == top and inc["fallback"] == (top < 9)
        curve = best_so_far(evs, 9, until)
        assert curve == (best if top == 9 else None)


def test_study_evaluations_time_each_result_from_the_first_trial_start(tmp_path):
    storage = f"sqlite:///{tmp_path / 'study.db'}"
    study = optuna.create_study(storage=storage, study_name="s", direction="maximize")
    t0 = datetime.datetime(2026, 1, 1, 12, 0, 0)
    dist = {"lr": FloatDistribution(1e-4, 1e-1, log=True)}

    def add(number_offset: float, done: float, state: TrialState, values: dict, value=None):
        trial = create_trial(
            state=state,
            value=value,
            params={"lr": 0.01 * (1 + number_offset)},
            distributions=dist,
            intermediate_values=values,
        )
        trial.datetime_start = t0 + datetime.timedelta(seconds=number_offset)
        trial.datetime_complete = t0 + datetime.timedelta(seconds=done)
        study.add_trial(trial)

    add(0.0, 4.0, TrialState.PRUNED, {1: 0.5, 3: 0.6})
    add(0.5, 9.5, TrialState.COMPLETE, {3: 0.6, 9: 0.8}, value=0.8)
    add(1.0, 2.0, TrialState.FAIL, {})
    evs = study_evaluations(storage, "s")
    assert [(e["t"], e["epochs"], e["value"], e["state"]) for e in evs] == [
        (4.0, 3, 0.6, "pruned"),
        (9.5, 9, 0.8, "complete"),
    ]
    assert evs[1]["params"] == {"lr": pytest.approx(0.015)}


def test_anytime_matrix_is_the_curve_at_fractions_of_each_seed_budget():
    runs = {
        1: {"top": 9, "evaluations": [_ev(5.0, 9, 0.6), _ev(8.0, 9, 0.7)]},
        0: {"top": 9, "evaluations": [_ev(1.0, 9, 0.5)]},
    }
    m = anytime_matrix(runs, {0: 10.0, 1: 20.0}, [0.0, 0.25, 0.5])
    assert m[0] == [pytest.approx(float("nan"), nan_ok=True), 0.5, 0.5]  # seed 0 first
    assert m[1][1:] == [0.6, 0.7] and m[1][0] != m[1][0]  # NaN before the first result
