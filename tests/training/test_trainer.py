"""The training plan inside a trainer: warm start, first subset, reselection."""

from __future__ import annotations

import math

import pytest
import torch

from automata.build import build
from automata.selection.gradmatch import GradMatchPB
from automata.training.trainer import Trainer


def test_first_subset_random_without_warm_start_then_selected(tiny_cfg):
    cfg = tiny_cfg(["train.epochs=6"])
    data = build("dataset", cfg.dataset)
    trainer = Trainer(
        cfg, data, GradMatchPB(fraction=0.1, interval=2, kappa=0.0), torch.device("cpu")
    )
    first = trainer.run_epoch()
    assert first.selected and first.selection_stats.get("random_first") == 1.0
    assert torch.equal(trainer.subset.weights, torch.ones(len(trainer.subset)))
    assert not trainer.run_epoch().selected  # epoch 1: reuse (interval 2)
    third = trainer.run_epoch()  # epoch 2: the first gradient-matching round
    assert third.selected and "matching_error" in third.selection_stats
    assert "random_first" not in third.selection_stats


def _cosine_lr(lr0: float, epoch: int, total: int) -> float:
    return lr0 * (1 + math.cos(math.pi * epoch / total)) / 2


def test_first_subset_after_warm_start_is_selected(tiny_cfg):
    cfg = tiny_cfg(["train.epochs=20", "train.lr_schedule=cosine"])
    data = build("dataset", cfg.dataset)
    # kappa 0.5, T 20, fraction 0.1: ceil(floor(10) * 0.1) = 1 full-data epoch standing in
    # for plan epochs 0-9; training continues at epoch 10, lr schedule included.
    trainer = Trainer(
        cfg, data, GradMatchPB(fraction=0.1, interval=5, kappa=0.5), torch.device("cpu")
    )
    warm = trainer.run_epoch()
    assert warm.warm and warm.full_data and not warm.selected
    assert warm.subset_size == len(data.train) and warm.epoch == 10
    lr = trainer.optimizer.param_groups[0]["lr"]
    assert lr == pytest.approx(_cosine_lr(float(cfg.optimizer.lr), 10, 20))
    first = trainer.run_epoch()
    assert first.epoch == 11 and not first.warm
    assert first.selected and "matching_error" in first.selection_stats
    assert first.subset_size == GradMatchPB(fraction=0.1).budget(len(data.train))
    cost = trainer.cost
    assert cost.full_equivalent_epochs == 1.0 + first.subset_size / len(data.train)
    assert cost.epochs == 11 and cost.warm_epochs == 1


def test_several_warm_epochs_spread_over_the_epochs_they_cover(tiny_cfg):
    cfg = tiny_cfg(["train.epochs=20", "train.lr_schedule=cosine"])
    data = build("dataset", cfg.dataset)
    # fraction 0.3: ceil(10 * 0.3) = 3 full epochs for plan epochs 0-9, reported at
    # floor(j * 10 / 3) = 3, 6, 10; the learning rate steps once per warm epoch (as the
    # reference trains them) and reaches epoch 10's value after the last.
    trainer = Trainer(
        cfg, data, GradMatchPB(fraction=0.3, interval=5, kappa=0.5), torch.device("cpu")
    )
    lr0 = float(cfg.optimizer.lr)
    results = [trainer.run_epoch() for _ in range(3)]
    assert [r.epoch for r in results] == [3, 6, 10]
    assert all(r.warm and r.full_data for r in results)
    assert trainer.optimizer.param_groups[0]["lr"] == pytest.approx(_cosine_lr(lr0, 10, 20))
    nxt = trainer.run_epoch()
    assert nxt.selected and not nxt.warm and nxt.epoch == 11
    assert trainer.cost.warm_epochs == 3 and trainer.cost.epochs == 11
