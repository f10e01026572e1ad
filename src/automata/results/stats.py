"""Confidence intervals over seeds, shared by the benchmarks that report them."""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable


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
