"""The speedup against full-data tuning and its bound, worked by hand (automata.bench.speedup)."""

from __future__ import annotations

import pytest

from automata.bench.speedup import against_full, config_cost, shape_of

FULL = {
    "tuning_s": 100.0,
    "plan_epochs": 200.0,
    "fe_epochs": 200.0,
    "train_s": 80.0,
    "eval_s": 10.0,
    "selection_s": 0.0,
}


def test_full_data_against_itself_is_one_and_its_own_bound():
    s = against_full(FULL, FULL)
    assert s is not None
    assert (s.raw, s.per_epoch, s.epochs_ratio, s.f) == (1.0, 1.0, 1.0, 1.0)
    assert s.bound == pytest.approx(1.0) and s.excess == pytest.approx(0.0)
    assert s.train_ratio == pytest.approx(1.0)


def test_a_subset_whose_epochs_train_faster_than_their_share_beats_the_bound():
    """full: 0.5 s per plan epoch, 0.4 s of training per epoch. row at 10%: 12 s over 200
    plan epochs (0.06 s each): 5 s training, 1 s selection, 4 s validation, 2 s other.
    B = 0.5 / (0.1 * 0.4 + 7 / 200) = 0.5 / 0.075; per-epoch speedup 0.5 / 0.06; the row's
    training, 0.025 s per plan epoch, is 0.625 of its share 0.04."""
    row = {**FULL, "tuning_s": 12.0, "fe_epochs": 20.0, "train_s": 5.0, "eval_s": 4.0}
    row["selection_s"] = 1.0
    s = against_full(row, FULL)
    assert s is not None
    assert s.raw == pytest.approx(100 / 12) and s.per_epoch == pytest.approx(0.5 / 0.06)
    assert s.bound == pytest.approx(0.5 / 0.075)
    assert s.excess == pytest.approx(0.5 / 0.06 - 0.5 / 0.075)
    assert s.f == pytest.approx(0.1) and s.train_ratio == pytest.approx(0.625)
    assert s.overhead_s_per_epoch == pytest.approx(7 / 200)


def test_raw_speedup_is_per_epoch_speedup_times_the_plan_epochs_ratio():
    """row at 10% trains 150 plan epochs in 15 s (0.1 s each): 6 s training, 6 s validation,
    3 s other. per-epoch 0.5 / 0.1 = 5; plan epochs 200 / 150; raw 100 / 15. Its training,
    0.04 s per plan epoch, is exactly its share: the per-epoch speedup is the bound."""
    row = {"tuning_s": 15.0, "plan_epochs": 150.0, "fe_epochs": 15.0, "train_s": 6.0}
    row.update(eval_s=6.0, selection_s=0.0)
    s = against_full(row, FULL)
    assert s is not None
    assert s.per_epoch == pytest.approx(5.0) and s.epochs_ratio == pytest.approx(200 / 150)
    assert s.raw == pytest.approx(s.per_epoch * s.epochs_ratio) == pytest.approx(100 / 15)
    assert s.bound == pytest.approx(5.0) and s.train_ratio == pytest.approx(1.0)


def test_other_seconds_never_below_zero_and_missing_figures_give_nothing():
    row = {**FULL, "tuning_s": 10.0, "fe_epochs": 20.0, "train_s": 9.0, "eval_s": 2.0}
    s = against_full(row, FULL)  # 9 + 2 > 10: other is 0, not -1
    assert s is not None and s.overhead_s_per_epoch == pytest.approx(2.0 / 200)
    assert against_full({**row, "plan_epochs": None}, FULL) is None
    assert against_full(row, {**FULL, "plan_epochs": 0.0}) is None


def test_cheaper_configurations_lower_the_floor_by_their_measured_cost():
    """The row of the second test trained configurations whose epoch on the full data costs
    0.625 of the full study's: its training share is 0.1 * 0.4 * 0.625 = 0.025 s per plan
    epoch, exactly what it trained, so B = 0.5 / (0.025 + 0.035) is its per-epoch speedup."""
    row = {**FULL, "tuning_s": 12.0, "fe_epochs": 20.0, "train_s": 5.0, "eval_s": 4.0}
    row["selection_s"] = 1.0
    s = against_full(row, FULL, mix=0.625)
    assert s is not None and s.mix == 0.625
    assert s.bound == pytest.approx(0.5 / 0.06) and s.excess == pytest.approx(0.0, abs=1e-12)
    assert s.train_ratio == pytest.approx(1.0)
    assert against_full(row, FULL, mix=None).bound == pytest.approx(0.5 / 0.075)


def test_a_configuration_s_shape_leaves_out_its_floats():
    a = {"lr": 0.01, "batch_size": 32, "hidden": 64, "optimizer": "adam", "wd": 1e-4}
    b = {**a, "lr": 0.09, "wd": 0.0}
    assert shape_of(a) == shape_of(b)
    assert shape_of(a) != shape_of({**a, "batch_size": 64})
    assert shape_of(a) != shape_of({**a, "optimizer": "sgd"})


def test_configuration_cost_weights_each_trial_by_its_full_data_epochs():
    s_per_epoch = {"small": 1.0, "big": 4.0}
    # 3 full-data-equivalent epochs of small, 1 of big: (3 * 1 + 1 * 4) / 4
    assert config_cost([("small", 2.0), ("big", 1.0), ("small", 1.0)], s_per_epoch) == 1.75
    assert config_cost([("small", 0.0), ("big", 2.0)], s_per_epoch) == 4.0  # nothing trained
    assert config_cost([("other", 1.0)], s_per_epoch) is None  # a shape not measured
    assert config_cost([], s_per_epoch) is None
