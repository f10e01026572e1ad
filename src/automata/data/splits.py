"""Seeded random splits of a data file's rows (train/validation/test), for every loader.

One rule everywhere: a permutation of the rows from a generator seeded with ``seed`` is cut into
parts in a given order, each part taking ``round(fraction * rows not yet taken)`` rows (at least
one), and a last part taking what is left. Each part is returned sorted, so every split keeps the
file's order (the choice itself is random).

Two permutation sources exist because the shipped data sets' published splits were made with
them and must not change: ``numpy`` (``numpy.random.default_rng(seed).permutation``; tabular
files) and ``torch`` (``torch.randperm`` with a ``torch.Generator`` seeded with ``seed``; text
and torchvision images).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
import torch

from automata.errors import DataError

__all__ = ["cut"]


def cut(
    n: int,
    parts: Sequence[tuple[str, float]],
    rest: str,
    seed: int,
    *,
    rng: Literal["numpy", "torch"] = "numpy",
    what: str = "data",
) -> dict[str, np.ndarray]:
    """Cut ``range(n)`` into named parts by one seeded permutation.

    Args:
        n: number of rows.
        parts: ``(name, fraction)`` in cutting order; each fraction is of the rows still left
            when that part is cut, in (0, 1).
        rest: name of the part that takes the rows left at the end.
        seed: seed of the permutation.
        rng: ``"numpy"`` or ``"torch"`` permutation (see the module doc).
        what: the data's name, for the error message.

    Returns:
        ``{name: sorted int64 row indices}`` for every part and ``rest``.

    Raises:
        DataError: too few rows for every part to get at least one.
    """
    if rng == "numpy":
        perm = np.random.default_rng(int(seed)).permutation(n)
    else:
        perm = torch.randperm(n, generator=torch.Generator().manual_seed(int(seed))).numpy()
    out: dict[str, np.ndarray] = {}
    start = 0
    for name, fraction in parts:
        size = max(1, round(float(fraction) * (n - start)))
        out[name] = np.sort(perm[start : start + size])
        start += size
    if start >= n:
        sizes = ", ".join(f"{k} {len(v)}" for k, v in out.items())
        raise DataError(
            f"{what}: {n} rows are too few to cut {sizes} and leave rows for {rest} "
            f"(each split needs at least one)"
        )
    out[rest] = np.sort(perm[start:])
    return out
