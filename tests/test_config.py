"""Every config option composes and instantiates; bad values fail early with the key named."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import optuna
import pytest
from hydra.errors import ConfigCompositionException
from omegaconf.errors import ConfigKeyError, ValidationError

from automata.build import build
from automata.errors import ConfigError
from automata.run import build_components
from automata.selection.base import Selector
from automata.tuning.schedulers.base import Scheduler

from .conftest import CONF, ROOT, compose_config


def _options(group: str) -> list[str]:
    return sorted(p.stem for p in (CONF / group).glob("*.yaml"))


@pytest.mark.parametrize("option", _options("selector"))
def test_every_selector_instantiates(option):
    cfg = compose_config([f"selector={option}"])
    assert isinstance(build("selector", cfg.selector), Selector)


@pytest.mark.parametrize("option", _options("scheduler"))
def test_every_scheduler_instantiates(option):
    cfg = compose_config([f"scheduler={option}"])
    sched = build("scheduler", cfg.scheduler)
    assert isinstance(sched, Scheduler)
    assert sched.max_resource == cfg.train.epochs


@pytest.mark.parametrize("option", _options("search"))
def test_every_search_instantiates(option):
    cfg = compose_config([f"search={option}"])
    assert isinstance(build("search", cfg.search), optuna.samplers.BaseSampler)


@pytest.mark.parametrize("option", _options("model"))
def test_every_model_has_a_space_and_composes(option):
    cfg = compose_config([f"model={option}"])
    assert cfg.space, f"space/{option}.yaml missing"
    for name, spec in cfg.space.items():
        assert "path" in spec and "type" in spec, name


@pytest.mark.parametrize("option", _options("dataset"))
def test_every_dataset_composes(option):
    cfg = compose_config([f"dataset={option}"])
    assert "_target_" in cfg.dataset


def test_default_components_build():
    cfg = compose_config()
    selector, scheduler, sampler = build_components(cfg)
    assert selector.name == "gradmatchpb" and selector.fraction == 0.1
    assert scheduler.name == "hyperband"
    assert isinstance(sampler, optuna.samplers.TPESampler)


@pytest.mark.parametrize(
    ("override", "key"),
    [
        ("selector.fraction=1.5", "selector.fraction"),
        ("selector.fraction=0", "selector.fraction"),
        ("train.epochs=-1", "train.epochs"),
        ("scheduler.eta=1", "scheduler.eta"),
        ("tuning.n_trials=0", "tuning.n_trials"),
        ("optimizer.lr=-0.1", "optimizer.lr"),
        ("train.lr_schedule=warmup", "train.lr_schedule"),
        ("selector.lam=-1", "selector.lam"),
        ("scheduler.min_resource=0", "scheduler.min_resource"),
    ],
)
def test_invalid_values_name_the_key(override, key):
    cfg = compose_config([override])
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        build_components(cfg)


def test_unknown_keys_fail_at_composition():
    with pytest.raises(ConfigCompositionException):
        compose_config(["train.epochz=3"])
    with pytest.raises(ConfigCompositionException):
        compose_config(["selector=gradmatchxx"])


def test_unknown_selector_option_is_named():
    cfg = compose_config(["+selector.fractoin=0.2"])
    with pytest.raises(ConfigError, match="fractoin"):
        build_components(cfg)


def test_wrong_type_rejected_by_schema():
    with pytest.raises((ConfigCompositionException, ValidationError, ConfigKeyError)):
        compose_config(["tuning.n_trials=many"])


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "automata", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_cli_bad_value_is_one_line_error(tmp_path):
    res = _cli("selector.fraction=2", f"hydra.run.dir={tmp_path}", cwd=ROOT)
    assert res.returncode != 0
    assert "selector.fraction must be in (0, 1]" in res.stderr
    assert "Traceback" not in res.stderr


def test_cli_unknown_option_is_clear(tmp_path):
    res = _cli("scheduler=hyperbandd", f"hydra.run.dir={tmp_path}", cwd=ROOT)
    assert res.returncode != 0
    assert "hyperbandd" in res.stderr and "Traceback" not in res.stderr
