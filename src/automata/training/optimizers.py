"""Optimizers and lr schedules (learning-rate schedules) by name: ``optimizer.name`` and
``train.lr_schedule``.

Each is one entry of a registry (a name and a constructor from the config), so adding one is
an entry here; the names the config accepts are the registries' keys.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import torch
from omegaconf import DictConfig

from automata.errors import ConfigError

Optimizer = torch.optim.Optimizer
LRSchedule = torch.optim.lr_scheduler.LRScheduler

#: ``optimizer.name`` -> constructor from the parameters and the ``optimizer`` section.
OPTIMIZERS: dict[str, Callable[[Iterable[Any], DictConfig], Optimizer]] = {
    "sgd": lambda params, o: torch.optim.SGD(
        params,
        lr=o.lr,
        momentum=o.momentum,
        nesterov=bool(o.nesterov and o.momentum > 0),
        weight_decay=o.weight_decay,
    ),
    "adam": lambda params, o: torch.optim.Adam(params, lr=o.lr, weight_decay=o.weight_decay),
    "adamw": lambda params, o: torch.optim.AdamW(params, lr=o.lr, weight_decay=o.weight_decay),
}

#: ``train.lr_schedule`` -> constructor from the optimizer, the ``train`` section and T.
LR_SCHEDULES: dict[str, Callable[[Optimizer, DictConfig, int], LRSchedule]] = {
    "none": lambda opt, t, total: torch.optim.lr_scheduler.LambdaLR(opt, lambda _: 1.0),
    "cosine": lambda opt, t, total: torch.optim.lr_scheduler.CosineAnnealingLR(
        opt, T_max=max(1, total)
    ),
    "step": lambda opt, t, total: torch.optim.lr_scheduler.StepLR(
        opt, step_size=t.step_size, gamma=t.gamma
    ),
}


def _named(registry: dict[str, Any], key: str, name: str) -> Any:
    if name not in registry:
        raise ConfigError(f"{key} must be one of {', '.join(registry)}, got '{name}'")
    return registry[name]


def check_names(optimizer: DictConfig, train: DictConfig) -> None:
    """Refuse an unknown ``optimizer.name`` or ``train.lr_schedule`` before anything runs."""
    _named(OPTIMIZERS, "optimizer.name", str(optimizer.name))
    _named(LR_SCHEDULES, "train.lr_schedule", str(train.lr_schedule))


def build_optimizer(params: Iterable[Any], cfg: DictConfig) -> Optimizer:
    """The optimizer of ``cfg.optimizer`` over ``params``."""
    return _named(OPTIMIZERS, "optimizer.name", str(cfg.optimizer.name))(params, cfg.optimizer)


def build_lr_schedule(optimizer: Optimizer, cfg: DictConfig, total_epochs: int) -> LRSchedule:
    """The lr schedule of ``cfg.train`` over ``total_epochs`` epochs (T)."""
    make = _named(LR_SCHEDULES, "train.lr_schedule", str(cfg.train.lr_schedule))
    return make(optimizer, cfg.train, total_epochs)
