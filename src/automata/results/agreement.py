"""Agreement between two rankings of the same configurations (the ranking-agreement protocol,
:mod:`automata.ranking`): a selector's subsets against the full data, one seed against another.

Every statistic takes two score vectors over the same K configurations, in the same order,
``None`` where a configuration has no score in that study, and uses the configurations scored
in both (:func:`scored_pairs`). Kendall tau-b and Spearman rho are here; the figures that
tuning needs beside them (top-k overlap, the regret of one ranking's best configuration under
the other, agreement across seeds) belong here too.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from scipy import stats


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
        >>> rank_agreement([0.1, 0.2, 0.3], [0.2, 0.1, 0.3])["kendall_tau"]
        0.3333333333333334
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
