"""Confidence intervals over seeds, shared by the results and the benchmarks that report them."""

from __future__ import annotations

import math
import statistics
from collections.abc import Hashable, Iterable, Mapping


def ci95(values: Iterable[float | None]) -> tuple[float | None, float | None]:
    """Mean and the half-width of its 95% Student-t interval over the finite ``values``.

    ``(None, None)`` when there is none; the half-width is None for a single value.
    """
    from scipy import stats

    vals = [float(v) for v in values if v is not None and math.isfinite(v)]
    if not vals:
        return None, None
    mean = statistics.fmean(vals)
    if len(vals) < 2:
        return mean, None
    half = float(stats.t.ppf(0.975, len(vals) - 1)) * statistics.stdev(vals) / math.sqrt(len(vals))
    return mean, half


def paired_differences(
    a: Mapping[Hashable, float | None], b: Mapping[Hashable, float | None]
) -> list[float]:
    """``a[s] - b[s]`` for every key ``s`` (a seed) with a value in both, in ``a``'s order."""
    return [
        float(va) - float(vb)
        for s, va in a.items()
        if va is not None and (vb := b.get(s)) is not None
    ]


def paired_ci95(
    a: Mapping[Hashable, float | None], b: Mapping[Hashable, float | None]
) -> tuple[float | None, float | None, int]:
    """Mean, 95% half-width (:func:`ci95`) and count of the paired differences ``a - b``.

    Pairing by seed removes what both arms of a seed share (its data split, its initial
    weights), so the interval is the one of the difference, not of two separate means.

    Example:
        >>> paired_ci95({0: 0.91, 1: 0.93}, {0: 0.90, 1: 0.90, 2: 0.95})[2]
        2
    """
    diffs = paired_differences(a, b)
    mean, half = ci95(diffs)
    return mean, half, len(diffs)
