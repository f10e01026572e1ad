"""A seed per trial (automata.tuning.sampling): a study continued by a new process draws what
the uninterrupted one drew, and trials of one study draw apart."""

from __future__ import annotations

import optuna

from automata.tuning.sampling import TrialSeededSampler, sampler_name, trial_seed


def _tpe(seed: int) -> optuna.samplers.TPESampler:
    return optuna.samplers.TPESampler(seed=seed, n_startup_trials=3, multivariate=False)


def _objective(trial: optuna.Trial) -> float:
    x = trial.suggest_float("x", -3.0, 3.0)
    kind = trial.suggest_categorical("kind", ["a", "b", "c"])
    return -((x - 1.0) ** 2) + (0.5 if kind == "b" else 0.0)


def _run(study: optuna.Study, n: int) -> None:
    for _ in range(n):
        trial = study.ask()
        study.tell(trial, _objective(trial))


def test_trial_seeds_are_fixed_and_apart():
    assert trial_seed(0, 5) == trial_seed(0, 5)
    assert len({trial_seed(s, n) for s in range(3) for n in range(50)}) == 150


def test_a_continued_study_draws_what_the_uninterrupted_one_drew(tmp_path):
    straight = optuna.create_study(direction="maximize", sampler=TrialSeededSampler(_tpe, 7))
    _run(straight, 8)

    storage = f"sqlite:///{tmp_path / 's.db'}"
    first = optuna.create_study(
        storage=storage, study_name="s", direction="maximize", sampler=TrialSeededSampler(_tpe, 7)
    )
    _run(first, 4)  # the first process stops here
    again = optuna.load_study(storage=storage, study_name="s", sampler=TrialSeededSampler(_tpe, 7))
    _run(again, 4)  # a new process, a new sampler object: the same draws
    assert [t.params for t in again.trials] == [t.params for t in straight.trials]

    # A sampler seeded once, as Optuna's own: the new process draws its first trial again.
    plain = optuna.create_study(storage=storage, study_name="p", sampler=_tpe(7))
    _run(plain, 2)
    continued = optuna.load_study(storage=storage, study_name="p", sampler=_tpe(7))
    _run(continued, 1)
    assert continued.trials[2].params == continued.trials[0].params


def test_the_name_is_the_configured_samplers():
    assert sampler_name(TrialSeededSampler(_tpe, 0)) == "TPESampler"
    assert sampler_name(optuna.samplers.RandomSampler()) == "RandomSampler"
