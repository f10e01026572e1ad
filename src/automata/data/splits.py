"""Seeded random splits of a data file's rows (train/validation/test), for every loader, and
the ``files``/``split`` keys of the dataset YAMLs that say which file holds which split.

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

from collections.abc import Collection, Mapping, Sequence
from typing import Any, Literal

import numpy as np
import torch

from automata.errors import ConfigError, DataError

__all__ = ["SPLITS", "cut", "file_entries", "parse_split", "split_cuts"]

#: The three splits every data set provides.
SPLITS = ("train", "val", "test")

_REST = "rest"


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


def parse_split(
    split: Mapping[str, Any], given: Collection[str] = ()
) -> tuple[list[tuple[str, float]], str]:
    """The ``dataset.split`` config as :func:`cut` arguments: ``(cuts, rest)``.

    ``split`` maps split names to the fraction of the rows left when that split is cut, in
    cutting order, and one split to ``rest`` (``{test: 0.1, val: 0.1, train: rest}``). With
    ``given`` (splits that have files of their own), the cuts and the given splits together
    must make train, val and test, each once.

    Raises:
        ConfigError: an unknown split, a fraction outside (0, 1), not exactly one ``rest``, or
            a split made twice or never.
    """
    cuts: list[tuple[str, float]] = []
    rests: list[str] = []
    for key, value in split.items():
        key = str(key)
        if key not in SPLITS:
            raise ConfigError(f"dataset.split: unknown split '{key}' (train, val or test)")
        if key in given:
            raise ConfigError(f"dataset.split.{key}: {key} already has its own file or folder")
        if value == _REST:
            rests.append(key)
            continue
        try:
            fraction = float(value)
        except (TypeError, ValueError):
            fraction = float("nan")
        if not 0.0 < fraction < 1.0:
            raise ConfigError(
                f"dataset.split.{key} must be a fraction in (0, 1) or 'rest', got {value}"
            )
        cuts.append((key, fraction))
    if len(rests) != 1:
        raise ConfigError(f"dataset.split: exactly one split must be 'rest', got {len(rests)}")
    made = set(given) | {k for k, _ in cuts} | set(rests)
    missing = [s for s in SPLITS if s not in made]
    if missing:
        raise ConfigError(f"dataset.split: no file and no cut for {', '.join(missing)}")
    return cuts, rests[0]


def file_entries(name: str, files: Mapping[str, Any]) -> dict[str, tuple[str, ...]]:
    """A dataset YAML's ``files`` as ``{key: (alternatives...)}``, keys checked: ``train``,
    ``val``, ``test`` and/or ``all`` (the file ``split`` cuts splits from); a value is a file
    name or a list of alternatives (the first present one is read)."""
    if not isinstance(files, Mapping) or not files:
        raise ConfigError(f"dataset.files: {name} needs a mapping of split -> file name")
    entries: dict[str, tuple[str, ...]] = {}
    for key, value in files.items():
        if key not in (*SPLITS, "all"):
            raise ConfigError(
                f"dataset.files: unknown key '{key}' (use train, val, test, or all with split)"
            )
        choices = (value,) if isinstance(value, str) else tuple(str(v) for v in value)
        if not choices or not all(choices):
            raise ConfigError(f"dataset.files.{key}: give a file name or a list of alternatives")
        entries[str(key)] = choices
    return entries


def split_cuts(
    name: str, entries: Mapping[str, tuple[str, ...]], split: Mapping[str, Any] | None
) -> tuple[list[tuple[str, float]], str]:
    """A dataset YAML's ``split`` as :func:`cut` arguments (the ``(split, fraction)`` cuts and
    the ``rest`` split; none without ``split``), checking that the files of ``entries``
    (:func:`file_entries`) and the cuts make train, val and test each exactly once."""
    if split is None:
        if "all" in entries:
            raise ConfigError(f"dataset.split: {name} has files.all, so say how to split it")
        missing = [s for s in SPLITS if s not in entries]
        if missing:
            raise ConfigError(
                f"dataset.files: no file for {', '.join(missing)} (add it, or give files.all "
                f"and dataset.split)"
            )
        return [], ""
    if "all" not in entries:
        raise ConfigError("dataset.split: needs files.all, the file the splits are cut from")
    return parse_split(split, given=[k for k in entries if k != "all"])
