"""The selection schedule inside a trainer: warm start, first subset, reselection."""

from __future__ import annotations

import torch

from automata.build import build
from automata.selection.gradmatch import GradMatchPB
from automata.training.trainer import Trainer


def test_first_subset_random_without_warm_start_then_selected(make_cfg):
    cfg = make_cfg(["train.epochs=6"])
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


def test_first_subset_after_warm_start_is_selected(make_cfg):
    cfg = make_cfg(["train.epochs=20"])
    data = build("dataset", cfg.dataset)
    # kappa 0.5, T 20, fraction 0.1: round(1.0) = 1 full-data epoch first
    trainer = Trainer(
        cfg, data, GradMatchPB(fraction=0.1, interval=5, kappa=0.5), torch.device("cpu")
    )
    warm = trainer.run_epoch()
    assert warm.full_data and not warm.selected and warm.subset_size == len(data.train)
    first = trainer.run_epoch()
    assert first.selected and "matching_error" in first.selection_stats
    assert first.subset_size == GradMatchPB(fraction=0.1).budget(len(data.train))
    assert trainer.cost.full_equivalent_epochs == 1.0 + first.subset_size / len(data.train)
