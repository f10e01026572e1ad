"""The benchmarks' 95% interval over seeds against closed forms."""

from __future__ import annotations

import math

import pytest

from automata.results.stats import ci95, paired_ci95, paired_differences


def test_two_values_give_the_tabulated_t_quantile():
    # mean 1, sample sd sqrt(2), n = 2: half-width t(0.975, 1) * sqrt(2) / sqrt(2) = 12.7062
    mean, half = ci95([0.0, 2.0])
    assert mean == 1.0
    assert half == pytest.approx(12.7062047, rel=1e-6)


def test_five_seeds():
    values = [1.0, 2.0, 3.0, 4.0, 5.0]  # sd sqrt(2.5), t(0.975, 4) = 2.776445
    mean, half = ci95(values)
    assert mean == 3.0
    assert half == pytest.approx(2.776445 * math.sqrt(2.5) / math.sqrt(5), rel=1e-6)


def test_missing_and_non_finite_values_are_left_out():
    assert ci95([]) == (None, None)
    assert ci95([None, float("nan")]) == (None, None)
    assert ci95([3.0, None, float("inf")]) == (3.0, None)


def test_paired_differences_pair_by_seed_and_skip_missing_ones():
    a = {0: 0.90, 1: 0.92, 2: None, 3: 0.95}
    b = {0: 0.89, 1: 0.90, 2: 0.91, 4: 0.99}
    assert paired_differences(a, b) == pytest.approx([0.01, 0.02])
    assert paired_ci95(a, {}) == (None, None, 0)


def test_paired_interval_against_closed_forms():
    # t with 1 degree of freedom is Cauchy: t(0.975, 1) = tan(0.475 pi)
    mean, half, n = paired_ci95({0: 3.0, 1: 5.0}, {0: 1.0, 1: 2.0})  # differences 2, 3
    assert (mean, n) == (2.5, 2)
    assert half == pytest.approx(math.tan(0.475 * math.pi) * math.sqrt(0.5) / math.sqrt(2))
    # 2 degrees of freedom: t(p, 2) = (2p - 1) / sqrt(2 p (1 - p))
    t2 = 0.95 / math.sqrt(2 * 0.975 * 0.025)
    mean, half, n = paired_ci95({s: 10.0 + s for s in range(3)}, {s: 9.0 - s for s in range(3)})
    assert (mean, n) == (3.0, 3)  # differences 1, 3, 5: sd 2
    assert half == pytest.approx(t2 * 2 / math.sqrt(3))


def test_pairing_removes_what_the_seeds_share():
    """Two arms whose seeds move together: their separate intervals overlap widely, the
    interval of the paired difference is narrow and excludes 0."""
    a = {0: 0.80, 1: 0.90, 2: 0.85, 3: 0.95}
    b = {s: v - 0.01 for s, v in a.items()}
    _, half_a = ci95(a.values())
    mean, half, _ = paired_ci95(a, b)
    assert mean == pytest.approx(0.01) and half == pytest.approx(0.0, abs=1e-12)
    assert half_a is not None and half_a > 0.05
