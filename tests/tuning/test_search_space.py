"""Search spaces (automata.tuning.search_space): what each entry asks Optuna for, how a trial's
values reach its config, and the one-line errors of a bad entry, against hand-written
expectations."""

from __future__ import annotations

import optuna
import pytest
from omegaconf import OmegaConf
from optuna.distributions import (
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)

from automata.config import TRIAL_KEYS, group_choices
from automata.errors import ConfigError
from automata.tuning.search_space import apply, check_space, suggest

from ..conftest import compose_config

SPACE = {
    "lr": {"path": "optimizer.lr", "type": "float", "low": 1e-4, "high": 1e-1, "log": True},
    "dropout": {"path": "model.dropout", "type": "float", "low": 0.0, "high": 0.5, "step": 0.1},
    "hidden_dim": {"path": "model.hidden_dim", "type": "int", "low": 16, "high": 256, "log": True},
    "batch_size": {"path": "train.batch_size", "type": "int", "low": 16, "high": 64, "step": 16},
    "optimizer": {"path": "optimizer.name", "type": "categorical", "choices": ["adam", "sgd"]},
}


def _space(entries=None):
    return OmegaConf.create(SPACE if entries is None else entries)


def test_suggest_asks_optuna_for_each_entry_as_written():
    study = optuna.create_study(study_name="space", sampler=optuna.samplers.RandomSampler(seed=0))
    for _ in range(20):
        trial = study.ask()
        params = suggest(trial, _space())
        assert trial.distributions == {
            "lr": FloatDistribution(1e-4, 1e-1, log=True),
            "dropout": FloatDistribution(0.0, 0.5, step=0.1),
            "hidden_dim": IntDistribution(16, 256, log=True),
            "batch_size": IntDistribution(16, 64, step=16),
            "optimizer": CategoricalDistribution(["adam", "sgd"]),
        }
        assert params == trial.params
        assert 1e-4 <= params["lr"] <= 1e-1
        assert min(abs(params["dropout"] - 0.1 * k) for k in range(6)) < 1e-12  # a step of 0.1
        assert params["batch_size"] in {16, 32, 48, 64}
        assert params["optimizer"] in {"adam", "sgd"}
        study.tell(trial, 0.5)


def test_apply_writes_each_value_at_its_path_in_a_copy_of_the_trial_keys():
    cfg = compose_config(["optimizer.lr=0.001"])
    params = {"lr": 0.02, "dropout": 0.3, "hidden_dim": 64, "batch_size": 48, "optimizer": "sgd"}
    trial_cfg = apply(cfg, _space(), params)
    assert set(trial_cfg.keys()) == set(TRIAL_KEYS)  # only what a trial's training reads
    assert trial_cfg.optimizer.lr == 0.02 and trial_cfg.optimizer.name == "sgd"
    assert trial_cfg.model.dropout == 0.3 and trial_cfg.model.hidden_dim == 64
    assert trial_cfg.train.batch_size == 48
    assert trial_cfg.optimizer.momentum == cfg.optimizer.momentum  # the rest as configured
    assert trial_cfg.seed == cfg.seed
    assert cfg.optimizer.lr == 0.001 and cfg.optimizer.name == "adam"  # the run's config unchanged
    # resolved: the LSTM's `seed: ${seed}` is the run's seed in the trial's copy
    text = compose_config(["model=lstm_glove", "seed=7"])
    lstm = apply(text, text.space, {"hidden_size": 32})
    assert not OmegaConf.is_interpolation(lstm.model, "seed") and lstm.model.seed == 7
    assert lstm.model.hidden_size == 32


def test_the_default_spaces_pass_their_checks():
    for model in ("mlp", "lstm_glove", "resnet18"):
        cfg = compose_config([f"model={model}"])
        check_space(cfg.space, cfg, group_choices(cfg))


@pytest.mark.parametrize("model", ["mlp", "lstm_glove", "resnet18"])
def test_the_generic_space_fits_every_model(model):
    cfg = compose_config([f"model={model}", "space=generic"])
    assert set(cfg.space) == {"lr", "batch_size", "weight_decay"}
    check_space(cfg.space, cfg, group_choices(cfg))
    assert {str(spec.path) for spec in cfg.space.values()} == {
        "optimizer.lr",
        "train.batch_size",
        "optimizer.weight_decay",
    }


GENERIC = "or run with space=generic to tune the learning rate, batch size and weight decay"


def test_an_empty_space_names_the_file_to_add_or_space_generic():
    cfg = compose_config()  # model=mlp, so space/mlp.yaml
    with pytest.raises(ConfigError) as info:
        check_space(_space({}), cfg, group_choices(cfg))
    assert str(info.value) == (
        "space: model mlp has no search space (space/mlp.yaml is missing or empty): add it to "
        f"the config folder that holds model/mlp.yaml, {GENERIC}"
    )


def test_a_space_option_that_does_not_exist_is_one_line_too():
    cfg = compose_config(["space=mpl"])
    assert not cfg.space  # the space group is optional: a missing option leaves it empty
    with pytest.raises(ConfigError, match=r"^space: no search space space/mpl.yaml \(missing or "):
        check_space(cfg.space, cfg, group_choices(cfg))
    with pytest.raises(ConfigError, match=f"the package has generic, lstm_glove, mlp.*{GENERIC}$"):
        check_space(cfg.space, cfg, group_choices(cfg))


@pytest.mark.parametrize(
    ("entries", "message"),
    [
        ({"lr": {"path": "optimizer.lr"}}, "space.lr needs at least 'path' and 'type'"),
        (
            {"lr": {"path": "optimizer.lr", "type": "uniform", "low": 0, "high": 1}},
            "space.lr.type must be float, int or categorical, got 'uniform'",
        ),
        (
            {"lr": {"path": "optimizer.lr", "type": "float", "low": 0, "high": 1, "choices": [1]}},
            r"space.lr: unknown key\(s\) \['choices'\] for type float",
        ),
        (
            {"n": {"path": "tuning.n_trials", "type": "int", "low": 1, "high": 9}},
            r"space.n.path: 'tuning.n_trials' cannot vary per trial \(tunable: train.\*, "
            r"optimizer.\*, model.\*\)",
        ),
        (
            {"lr": {"path": "optimizer.learning_rate", "type": "float", "low": 0, "high": 1}},
            "space.lr.path: no config key 'optimizer.learning_rate'",
        ),
        (
            {"opt": {"path": "optimizer.name", "type": "categorical", "choices": []}},
            "space.opt.choices must be a non-empty list",
        ),
        ({"lr": {"path": "optimizer.lr", "type": "float", "low": 0.1}}, "space.lr needs 'low'"),
        (
            {"lr": {"path": "optimizer.lr", "type": "float", "low": 0.5, "high": 0.1}},
            r"space.lr: low \(0.5\) must be <= high \(0.1\)",
        ),
        (
            {"lr": {"path": "optimizer.lr", "type": "float", "low": 0.0, "high": 1, "log": True}},
            "space.lr: log scale needs low > 0, got 0.0",
        ),
    ],
)
def test_bad_entries_are_one_line_errors_naming_the_entry(entries, message):
    cfg = compose_config()
    with pytest.raises(ConfigError, match=f"^{message}"):
        check_space(_space(entries), cfg, group_choices(cfg))
