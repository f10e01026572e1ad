"""Ranking agreement against closed forms and brute force on tiny hand-made rankings: tau and
rho, the regret of a subset's pick, the top-k overlap, and the noise ceiling's jackknife
interval over seeds."""

from __future__ import annotations

import itertools
import math
import statistics

import pytest
from scipy import stats

from automata.results.agreement import (
    across_seeds,
    difference_ci95,
    jackknife_ci95,
    mean_over_pairs,
    pair_statistics,
    ranked,
    ratio_ci95,
    regret,
    seed_pairs_ci95,
    top_k_overlap,
)

T_2 = 4.302652729911275  # t(0.975, 2 degrees of freedom)
T_3 = 3.182446305284263  # t(0.975, 3)


def test_identical_rankings_agree_fully_and_reversed_ones_not_at_all():
    full = [0.91, 0.85, 0.40, 0.77, 0.60]
    same = pair_statistics(full, [x / 2 for x in full])  # same order, other scale
    assert same == {
        "tau": pytest.approx(1.0),
        "rho": pytest.approx(1.0),
        "regret": 0.0,
        "top_k": 1.0,
    }
    reverse = pair_statistics(full, [-x for x in full])
    assert reverse["tau"] == pytest.approx(-1.0) and reverse["rho"] == pytest.approx(-1.0)
    # the reversed ranking picks the worst: 0.91 - 0.40; its top 3 (0.40, 0.60, 0.77) holds
    # one of the full data's (0.91, 0.85, 0.77)
    assert reverse["regret"] == pytest.approx(0.51)
    assert reverse["top_k"] == pytest.approx(1 / 3)


def test_ties_rank_in_the_configurations_order():
    assert ranked([0.5, 0.7, 0.5, 0.7]) == [1, 3, 0, 2]
    # a constant subset ranking picks the first configuration: its regret under the full data
    assert regret([0.6, 0.9, 0.8], [0.5, 0.5, 0.5]) == pytest.approx(0.3)


def test_regret_and_overlap_by_hand():
    full = [0.90, 0.95, 0.80, 0.85, 0.70]
    subset = [0.60, 0.55, 0.70, 0.65, 0.50]
    # the subset ranks configuration 2 first (0.70): 0.95 - 0.80 = 0.15 under the full data
    assert regret(full, subset) == pytest.approx(0.15)
    # top 3: full {1, 0, 3}, subset {2, 3, 0}: {0, 3} shared
    assert top_k_overlap(full, subset, k=3) == pytest.approx(2 / 3)
    assert top_k_overlap(full, subset, k=1) == 0.0
    assert top_k_overlap(full, subset, k=5) == 1.0


def test_figures_use_the_configurations_scored_in_both():
    full = [0.90, None, 0.80, 0.85]
    subset = [0.60, 0.99, None, 0.65]
    # configuration 1 (the subset's best) has no full-data score, 2 no subset score: of 0 and
    # 3 the subset picks 3, 0.90 - 0.85 under the full data
    assert regret(full, subset) == pytest.approx(0.05)
    assert top_k_overlap(full, subset, k=3) is None  # 2 configurations scored in both
    assert top_k_overlap(full, subset, k=2) == 1.0
    assert regret([None, None], [0.1, 0.2]) is None


def test_cross_seed_pairs_leave_out_the_same_seed():
    full = {0: [0.9, 0.8, 0.7], 1: [0.8, 0.9, 0.7], 2: [0.9, 0.7, 0.8]}
    subset = {0: [0.9, 0.8, 0.7], 1: [0.7, 0.8, 0.9]}
    cross = across_seeds(full, subset)
    assert set(cross["tau"]) == {(0, 1), (0, 2), (1, 0), (1, 2)}
    for (s, r), tau in cross["tau"].items():
        assert tau == pytest.approx(stats.kendalltau(full[r], subset[s]).statistic)
    # the ceiling: every ordered pair of distinct full-data seeds
    ceiling = across_seeds(full)
    assert set(ceiling["tau"]) == {(a, b) for a in full for b in full if a != b}
    # regret is not symmetric: seed 1's pick (config 1) under seed 0 costs 0.1, seed 0's pick
    # (config 0) under seed 1 costs 0.1 too, seed 1's pick under seed 2 costs 0.2
    assert ceiling["regret"][(1, 2)] == pytest.approx(0.2)
    assert ceiling["regret"][(2, 1)] == pytest.approx(0.1)


def test_jackknife_interval_worked_by_hand():
    """Three seeds, one figure per pair: (0, 1) 0.6, (0, 2) 0.3, (1, 2) 0.9. Mean 0.6. Leaving
    out seed 0 leaves 0.9, seed 1 0.3, seed 2 0.6; pseudo-values 3 * 0.6 - 2 * (0.9, 0.3, 0.6)
    = (0, 1.2, 0.6), standard deviation 0.6: half-width t(0.975, 2) * 0.6 / sqrt(3)."""
    values = {(0, 1): 0.6, (0, 2): 0.3, (1, 2): 0.9}
    mean, half, n = seed_pairs_ci95(values)
    assert (mean, n) == (pytest.approx(0.6), 3)
    assert half == pytest.approx(T_2 * 0.6 / math.sqrt(3))
    # the jackknife's own form: t * sqrt((n - 1) / n * sum((theta_i - mean theta_i)^2))
    left = [0.9, 0.3, 0.6]
    spread = sum((v - statistics.fmean(left)) ** 2 for v in left)
    assert half == pytest.approx(T_2 * math.sqrt(2 / 3 * spread))


def test_jackknife_of_a_pair_mean_against_brute_force():
    """Four seeds, ordered pairs: the interval from leaving out each seed's pairs by hand."""
    values = {(a, b): math.sin(3 * a + b) for a in range(4) for b in range(4) if a != b}
    mean, half, n = seed_pairs_ci95(values)
    assert n == 4 and mean == pytest.approx(statistics.fmean(values.values()))
    left = [
        statistics.fmean(v for (a, b), v in values.items() if i not in (a, b)) for i in range(4)
    ]
    assert statistics.fmean(left) == pytest.approx(mean)  # a U-statistic: no bias correction
    spread = sum((v - statistics.fmean(left)) ** 2 for v in left)
    assert half == pytest.approx(T_3 * math.sqrt(3 / 4 * spread))


def test_too_few_seeds_give_no_interval():
    assert seed_pairs_ci95({(0, 1): 0.5, (1, 0): 0.5}) == (0.5, None, 2)
    assert seed_pairs_ci95({}) == (None, None, 0)
    assert jackknife_ci95(lambda kept: 1.0, [7]) == (1.0, None, 1)


def test_mean_over_pairs_keeps_pairs_of_kept_seeds_only():
    values = {(0, 1): 0.2, (1, 2): 0.4, (2, 0): None, (0, 2): float("nan")}
    assert mean_over_pairs(values, [0, 1, 2]) == pytest.approx(0.3)
    assert mean_over_pairs(values, [1, 2]) == pytest.approx(0.4)
    assert mean_over_pairs(values, [0]) is None


def test_ratio_and_difference_leave_each_seed_out_of_both_means():
    ceiling = {(a, b): 0.5 + 0.1 * (a + b) for a in range(3) for b in range(3) if a != b}
    sel = {(a, b): 0.25 + 0.05 * (a + b) for a in range(3) for b in range(3) if a != b}
    ratio, half, n = ratio_ci95(sel, ceiling)
    assert ratio == pytest.approx(0.5) and n == 3
    assert half == pytest.approx(0.0, abs=1e-12)  # every leave-one-out ratio is 0.5 too
    diff, dhalf, _ = difference_ci95(ceiling, sel)
    assert diff == pytest.approx(statistics.fmean(ceiling.values()) / 2)
    left = [
        statistics.fmean(v / 2 for (a, b), v in ceiling.items() if i not in (a, b))
        for i in range(3)
    ]
    spread = sum((v - statistics.fmean(left)) ** 2 for v in left)
    assert dhalf == pytest.approx(T_2 * math.sqrt(2 / 3 * spread))


def test_noise_ceiling_of_rankings_that_differ_by_one_swap():
    """Brute force: four configurations, each seed swaps one adjacent pair of the true order;
    every figure against the closed form of its pair."""
    truth = [0.9, 0.8, 0.7, 0.6]
    swaps = {0: (0, 1), 1: (1, 2), 2: (2, 3)}
    full = {}
    for seed, (i, j) in swaps.items():
        scores = list(truth)
        scores[i], scores[j] = scores[j], scores[i]
        full[seed] = scores
    ceiling = across_seeds(full)
    for (s, r), tau in ceiling["tau"].items():
        assert tau == pytest.approx(stats.kendalltau(full[r], full[s]).statistic)
        discordant = sum(
            (full[r][a] - full[r][b]) * (full[s][a] - full[s][b]) < 0
            for a, b in itertools.combinations(range(4), 2)
        )
        assert tau == pytest.approx(1 - 2 * discordant / 6)
    # seed 0 ranks configuration 1 first; under seed 1 its score is 0.7, the best 0.9
    assert ceiling["regret"][(0, 1)] == pytest.approx(0.2)


def test_the_null_spread_of_tau_is_that_of_every_permutation():
    """Kendall's closed form against brute force: tau of every ordering of k items against one
    (all equally likely for unrelated rankings)."""
    import itertools
    import statistics as st

    from scipy import stats as sst

    from automata.results.agreement import null_tau_sd

    for k in (4, 5, 6):
        taus = [
            sst.kendalltau(range(k), perm).statistic for perm in itertools.permutations(range(k))
        ]
        assert null_tau_sd(k) == pytest.approx(st.pstdev(taus))
