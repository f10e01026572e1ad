"""Agreement between two rankings of the same configurations (the ranking-agreement protocol,
:mod:`automata.ranking`): a selector's subsets against the full data, one seed against another.

Every statistic takes two score vectors over the same K configurations, in the same order,
``None`` where a configuration has no score in that study, and uses the configurations scored
in both (:func:`scored_pairs`):

- Kendall tau-b and Spearman rho (:func:`rank_agreement`);
- what tuning needs beside them, since tau over uniformly drawn configurations is dominated by
  the many easy pairs: the full-data regret of the configuration a subset ranks first
  (:func:`regret`) and the top-k overlap (:func:`top_k_overlap`);
- across seeds (:func:`across_seeds`): the *noise ceiling*, the agreement of the full data
  with itself under another seed (how well any subset could agree), and a selector's
  cross-seed agreement (subset seed s against full seed s' != s), which compares with it; their
  means over seed pairs come with a leave-one-seed-out jackknife interval
  (:func:`jackknife_ci95`), since pairs that share a seed are not independent.

Example (three configurations, the full data under three seeds):
    >>> full = {0: [0.9, 0.8, 0.7], 1: [0.8, 0.9, 0.7], 2: [0.9, 0.7, 0.8]}
    >>> ceiling = across_seeds(full)
    >>> round(ceiling["tau"][(0, 1)], 3), round(ceiling["tau"][(1, 2)], 3)
    (0.333, -0.333)
    >>> tau, half, n = seed_pairs_ci95(ceiling["tau"])
    >>> round(tau, 3), round(half, 2), n
    (0.111, 1.91, 3)
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Collection, Hashable, Iterable, Mapping, Sequence
from typing import Any

from scipy import stats

from automata.results.stats import ci95


def _finite(x: float) -> float | None:
    return float(x) if x is not None and math.isfinite(float(x)) else None


def scored_pairs(
    reference: Sequence[float | None], other: Sequence[float | None]
) -> tuple[list[float], list[float]]:
    """The scores of the configurations scored in both vectors, as two aligned lists."""
    if len(reference) != len(other):
        raise ValueError(f"length mismatch: {len(reference)} != {len(other)}")
    pairs = [(a, b) for a, b in zip(reference, other) if a is not None and b is not None]
    return [p[0] for p in pairs], [p[1] for p in pairs]


def rank_agreement(
    reference: Sequence[float | None], other: Sequence[float | None]
) -> dict[str, float | int | None]:
    """Kendall tau-b and Spearman rho between two score vectors over the same configurations.

    Args:
        reference: score of each configuration on the full data (``None``: not evaluated).
        other: score of the same configurations, in the same order, on a subset.

    Returns:
        ``{"n", "kendall_tau", "kendall_p", "spearman_rho", "spearman_p"}`` over the
        configurations scored in both; a coefficient is ``None`` when it is undefined (fewer
        than two pairs, or a constant vector).

    Example:
        >>> round(rank_agreement([0.1, 0.2, 0.3], [0.2, 0.1, 0.3])["kendall_tau"], 4)
        0.3333
    """
    x, y = scored_pairs(reference, other)
    out: dict[str, float | int | None] = {
        "n": len(x),
        "kendall_tau": None,
        "kendall_p": None,
        "spearman_rho": None,
        "spearman_p": None,
    }
    if len(x) < 2:
        return out
    if len(set(x)) < 2 or len(set(y)) < 2:
        return out  # a constant ranking has no defined correlation
    kt = stats.kendalltau(x, y)
    sr = stats.spearmanr(x, y)
    out.update(
        kendall_tau=_finite(kt.statistic),
        kendall_p=_finite(kt.pvalue),
        spearman_rho=_finite(sr.statistic),
        spearman_p=_finite(sr.pvalue),
    )
    return out


# -- what tuning needs beside the rank correlation --------------------------------------------
def ranked(scores: Sequence[float]) -> list[int]:
    """Indices of ``scores``, best (highest) first; ties keep the configurations' order (the
    one drawn first ranks first), so every figure below is a deterministic function of the
    scores.

    Example:
        >>> ranked([0.2, 0.9, 0.2, 0.5])
        [1, 3, 0, 2]
    """
    return sorted(range(len(scores)), key=lambda i: (-scores[i], i))


def regret(reference: Sequence[float | None], other: Sequence[float | None]) -> float | None:
    """How much worse, under ``reference``, the configuration ``other`` ranks first is than
    ``reference``'s own best: ``max(reference) - reference[top of other]``, over the
    configurations scored in both (in the scores' units; 0 when ``other`` picks a best one).

    With ``reference`` the full data's validation accuracies and ``other`` a subset's, it is
    what picking by the subset costs on the full data (the full-data regret).

    Example:
        >>> round(regret([0.90, 0.95, 0.80], [0.7, 0.6, 0.8]), 2)  # other picks the 0.80
        0.15
    """
    x, y = scored_pairs(reference, other)
    if not x:
        return None
    return max(x) - x[ranked(y)[0]]


def top_k_overlap(
    reference: Sequence[float | None], other: Sequence[float | None], k: int = 3
) -> float | None:
    """``|top_k(other) ∩ top_k(reference)| / k`` over the configurations scored in both
    (None when fewer than ``k`` are): the share of ``reference``'s ``k`` best configurations
    that ``other`` also puts among its ``k`` best.

    Example:
        >>> top_k_overlap([0.9, 0.8, 0.7, 0.1], [0.9, 0.1, 0.7, 0.8], k=2)
        0.5
    """
    x, y = scored_pairs(reference, other)
    if k < 1 or len(x) < k:
        return None
    return len(set(ranked(x)[:k]) & set(ranked(y)[:k])) / k


def pair_statistics(
    reference: Sequence[float | None], other: Sequence[float | None], k: int = 3
) -> dict[str, float | None]:
    """Every figure of one pair of rankings: Kendall tau-b, Spearman rho, the regret of
    ``other``'s best under ``reference`` and the top-``k`` overlap (keys ``tau``, ``rho``,
    ``regret``, ``top_k``)."""
    agree = rank_agreement(reference, other)
    return {
        "tau": _num(agree["kendall_tau"]),
        "rho": _num(agree["spearman_rho"]),
        "regret": regret(reference, other),
        "top_k": top_k_overlap(reference, other, k),
    }


def _num(x: float | int | None) -> float | None:
    return None if x is None else float(x)


# -- across seeds: the noise ceiling and its interval ------------------------------------------
#: A figure per pair of seeds, ``(seed of the ranking compared, seed of the reference)``.
SeedPairs = Mapping[tuple[Hashable, Hashable], float | None]


def mean_over_pairs(values: SeedPairs, seeds: Collection[Hashable]) -> float | None:
    """Mean of the figures of the seed pairs whose two seeds are both in ``seeds`` (None when
    there is none)."""
    kept = [
        float(v)
        for (a, b), v in values.items()
        if a in seeds and b in seeds and v is not None and math.isfinite(v)
    ]
    return statistics.fmean(kept) if kept else None


def jackknife_ci95(
    statistic: Callable[[list[Hashable]], float | None], seeds: Iterable[Hashable]
) -> tuple[float | None, float | None, int]:
    """A statistic of all ``seeds`` with the 95% interval of the leave-one-seed-out jackknife.

    Figures over pairs of seeds are not independent (seed 0 is in every pair (0, s)), so the
    t-interval of their mean would be too narrow. The jackknife leaves out one seed at a time,
    with every pair it is in: with ``theta`` the statistic of all n seeds and ``theta_i`` the
    one without seed i, the pseudo-values ``n theta - (n - 1) theta_i`` have the jackknife's
    variance (Quenouille, Tukey), and :func:`~automata.results.stats.ci95` of them is the
    Student-t interval with n - 1 degrees of freedom: half-width ``t * sqrt((n - 1) / n *
    sum((theta_i - mean theta_i)^2))``. For a mean over pairs, the pseudo-values' mean is
    ``theta`` itself; for a ratio of two such means it is the jackknife's bias-corrected
    estimate, and ``theta`` is reported with the half-width.

    Returns:
        ``(theta, half-width, n)``: the half-width is None when a seed left out leaves the
        statistic undefined (fewer than 3 seeds for pairs of distinct seeds).
    """
    pool = sorted(set(seeds), key=repr)
    theta = statistic(pool)
    n = len(pool)
    if theta is None or n < 2:
        return theta, None, n
    left_out = [statistic([s for s in pool if s != i]) for i in pool]
    if any(v is None for v in left_out):
        return theta, None, n
    pseudo = [n * theta - (n - 1) * float(v) for v in left_out if v is not None]
    return theta, ci95(pseudo)[1], n


def seeds_of(values: SeedPairs) -> list[Hashable]:
    """Every seed named in a pair."""
    return sorted({s for pair in values for s in pair}, key=repr)


def seed_pairs_ci95(values: SeedPairs) -> tuple[float | None, float | None, int]:
    """Mean of a figure over pairs of distinct seeds and its jackknife interval
    (:func:`jackknife_ci95`); the count is of seeds, not of pairs.

    Example:
        >>> tau = {(0, 1): 0.6, (0, 2): 0.3, (1, 2): 0.9}
        >>> theta, half, n = seed_pairs_ci95(tau)
        >>> round(theta, 2), round(half, 3), n
        (0.6, 1.49, 3)
    """
    return jackknife_ci95(lambda kept: mean_over_pairs(values, kept), seeds_of(values))


def ratio_ci95(
    numerator: SeedPairs, denominator: SeedPairs
) -> tuple[float | None, float | None, int]:
    """``mean(numerator) / mean(denominator)`` over seed pairs (e.g. a selector's cross-seed
    tau over the noise ceiling), with the jackknife interval of the ratio: each seed left out
    of both means at once."""

    def ratio(kept: list[Hashable]) -> float | None:
        a, b = mean_over_pairs(numerator, kept), mean_over_pairs(denominator, kept)
        return None if a is None or not b else a / b

    return jackknife_ci95(ratio, seeds_of(numerator) + seeds_of(denominator))


def difference_ci95(a: SeedPairs, b: SeedPairs) -> tuple[float | None, float | None, int]:
    """``mean(a) - mean(b)`` over seed pairs (two arms ranked against the same full-data
    seeds), with the jackknife interval of the difference."""

    def diff(kept: list[Hashable]) -> float | None:
        x, y = mean_over_pairs(a, kept), mean_over_pairs(b, kept)
        return None if x is None or y is None else x - y

    return jackknife_ci95(diff, seeds_of(a) + seeds_of(b))


def across_seeds(
    reference: Mapping[Hashable, Sequence[float | None]],
    other: Mapping[Hashable, Sequence[float | None]] | None = None,
    k: int = 3,
) -> dict[str, dict[tuple[Hashable, Hashable], float | None]]:
    """Every figure of :func:`pair_statistics` per pair of distinct seeds.

    Args:
        reference: the full data's scores per seed.
        other: a selector's scores per seed, each compared with the full data of every other
            seed (``(s, s')``: subset seed s against full seed s'); None: the noise ceiling,
            the full data of each seed against every other (each unordered pair once, as
            ``(s, s')`` with s before s').

    Returns:
        ``{figure: {(s, s'): value}}`` for ``tau``, ``rho``, ``regret`` and ``top_k``.
    """
    compared = reference if other is None else other
    pairs = [(s, r) for s in compared for r in reference if s != r]
    out: dict[str, dict[tuple[Hashable, Hashable], float | None]] = {
        key: {} for key in ("tau", "rho", "regret", "top_k")
    }
    for s, r in pairs:
        for key, value in pair_statistics(reference[r], compared[s], k).items():
            out[key][(s, r)] = value
    return out


#: A figure over seed pairs as :func:`seed_pairs_ci95` gives it: mean, half-width, seeds.
Interval = tuple[float | None, float | None, int]


def ceiling_summary(full: Mapping[Hashable, Sequence[float | None]]) -> dict[str, Interval]:
    """The noise ceiling, each figure of :func:`pair_statistics` between the full data's
    rankings of different seeds, with its jackknife interval (:func:`seed_pairs_ci95`)."""
    return {fig: seed_pairs_ci95(v) for fig, v in across_seeds(full).items()}


def cross_seed_summary(
    full: Mapping[Hashable, Sequence[float | None]],
    other: Mapping[Hashable, Sequence[float | None]],
) -> dict[str, Any]:
    """A selector's rankings (``other``, per seed) against the full data's of every other
    seed: each figure with its jackknife interval (``across_seeds``), and its tau over the
    noise ceiling (``tau_over_ceiling``, :func:`ratio_ci95`), the figures comparable with
    :func:`ceiling_summary`."""
    cross = across_seeds(full, other)
    return {
        "across_seeds": {fig: seed_pairs_ci95(v) for fig, v in cross.items()},
        "tau_over_ceiling": ratio_ci95(cross["tau"], across_seeds(full)["tau"]),
    }


def null_tau_sd(k: int) -> float:
    """Standard deviation of Kendall's tau between two unrelated rankings of ``k`` items
    (no ties): ``sqrt(2 (2k + 5) / (9 k (k - 1)))`` (Kendall 1938), the spread a measured tau
    must clear to mean anything.

    Example:
        >>> [round(null_tau_sd(k), 3) for k in (18, 27, 54)]
        [0.173, 0.137, 0.094]
    """
    return math.sqrt(2 * (2 * k + 5) / (9 * k * (k - 1)))
