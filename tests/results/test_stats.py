"""The benchmarks' 95% interval over seeds against closed forms."""

from __future__ import annotations

import math

import pytest

from automata.results.stats import ci95


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
