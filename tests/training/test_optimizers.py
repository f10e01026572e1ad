"""Optimizers and lr schedules by name (automata.training.optimizers)."""

from __future__ import annotations

import math

import pytest
import torch
from omegaconf import OmegaConf

from automata.errors import ConfigError
from automata.run import build_components
from automata.training.optimizers import (
    LR_SCHEDULES,
    OPTIMIZERS,
    build_lr_schedule,
    build_optimizer,
)

from ..conftest import compose_config

EXPECTED = {"sgd": torch.optim.SGD, "adam": torch.optim.Adam, "adamw": torch.optim.AdamW}


def _params() -> list[torch.nn.Parameter]:
    return [torch.nn.Parameter(torch.zeros(3))]


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_every_optimizer_name_builds_with_the_config_settings(name):
    cfg = compose_config([f"optimizer.name={name}", "optimizer.lr=0.05"])
    cfg.optimizer.weight_decay = 0.01
    opt = build_optimizer(_params(), cfg)
    assert type(opt) is EXPECTED[name]
    group = opt.param_groups[0]
    assert group["lr"] == 0.05 and group["weight_decay"] == 0.01
    if name == "sgd":
        assert group["momentum"] == 0.9 and group["nesterov"] is False


def test_sgd_nesterov_only_with_momentum():
    cfg = compose_config(["optimizer.name=sgd", "optimizer.nesterov=true"])
    assert build_optimizer(_params(), cfg).param_groups[0]["nesterov"] is True
    cfg.optimizer.momentum = 0.0
    assert build_optimizer(_params(), cfg).param_groups[0]["nesterov"] is False


def _lrs(schedule: str, steps: int, total: int = 10) -> list[float]:
    cfg = compose_config([f"train.lr_schedule={schedule}", "train.step_size=3", "train.gamma=0.5"])
    opt = torch.optim.SGD(_params(), lr=1.0)
    sched = build_lr_schedule(opt, cfg, total)
    out = []
    for _ in range(steps):
        out.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    return out


def test_lr_schedules_against_their_closed_forms():
    assert set(LR_SCHEDULES) == {"none", "cosine", "step"}
    assert _lrs("none", 5) == [1.0] * 5
    assert _lrs("step", 7) == [1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.25]
    cosine = _lrs("cosine", 11)
    expected = [(1 + math.cos(math.pi * e / 10)) / 2 for e in range(11)]
    assert cosine == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("optimizer.name=rmsprop", "optimizer.name must be one of sgd, adam, adamw, got 'rmsprop'"),
        ("train.lr_schedule=warmup", "train.lr_schedule must be one of none, cosine, step"),
    ],
)
def test_unknown_names_are_one_line_errors_before_anything_runs(override, message):
    with pytest.raises(ConfigError, match=message):
        build_components(compose_config([override]))
    cfg = OmegaConf.create({"optimizer": {"name": "rmsprop"}, "train": {"lr_schedule": "warmup"}})
    with pytest.raises(ConfigError, match="optimizer.name"):
        build_optimizer(_params(), cfg)
