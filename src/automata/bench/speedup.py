"""A subset study's tuning speedup against full-data tuning, and the bound it must stay under,
both in one unit: the full-data study's measured tuning seconds per epoch of its training plan.

A study's *plan epochs* are the epochs its scheduler counted, summed over trials
(``RunSummary.epochs_trained``). Two studies of the same search and scheduler need not train
as many (a failed trial, a warm start's covered epochs), so the raw speedup splits in two::

    raw speedup = full tuning s / row tuning s
                = per-epoch speedup x (full plan epochs / row plan epochs)
    per-epoch speedup = (full tuning s / full plan epochs) / (row tuning s / row plan epochs)

The bound compares the full study's seconds per plan epoch (its validation and fixed costs
included) with what a plan epoch of the row costs at best: its share ``f`` of the full study's
training seconds per epoch, plus the row's own selection, validation and other seconds per
plan epoch (these do not shrink with the subset)::

    B = (full tuning s / full plan epochs)
        / (f x full training s per epoch + (row selection + validation + other s) / row plan epochs)

``f`` is the share of the data the row's plan epochs really trained on (full-data-equivalent
epochs per plan epoch: the configured fraction, raised by a warm start's full-data epochs).
The per-epoch speedup exceeds B exactly when the row's training seconds per plan epoch are
below ``f`` times the full study's (``train_ratio`` < 1): when its configurations train faster
per epoch than the full study's (a larger batch size promoted, a smaller model), which
a subset does not explain. The figures come from a benchmark's record of each study
(:func:`~automata.bench.arms.study_figures`): ``tuning_s``, ``plan_epochs``, ``fe_epochs``,
``train_s``, ``eval_s`` and ``selection_s``.

The same configurations on both sides: a subset study's search need not try the configurations
the full study tried, and a configuration's epoch on the full data costs what its shape asks
(batch size, width, depth, optimizer; a float such as the learning rate changes the values an
epoch computes, not how much it computes, once denormal floats are flushed
(``flush_denormal``): :func:`shape_of`). Given each shape's measured
full-data training seconds per epoch, ``mix`` is the full-data cost per epoch of the row's
configurations over the full study's (:func:`config_cost`, each trial weighted by the
full-data-equivalent epochs it trained), and the floor's training part becomes
``f x full training s per epoch x mix``. With ``mix`` 1 (or unknown) this is B above.

Example:
    >>> full = dict(tuning_s=100, plan_epochs=200, fe_epochs=200, train_s=80, eval_s=10,
    ...             selection_s=0)
    >>> row = dict(tuning_s=12, plan_epochs=200, fe_epochs=20, train_s=5, eval_s=4,
    ...            selection_s=1)
    >>> s = against_full(row, full)
    >>> round(s.per_epoch, 2), round(s.bound, 2), round(s.train_ratio, 3)
    (8.33, 6.67, 0.625)
    >>> s = against_full(row, full, mix=0.625)  # its configurations cost 0.625 of the full's
    >>> round(s.bound, 2), round(s.train_ratio, 3)
    (8.33, 1.0)
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

#: The figures of a study's record that the comparison reads.
FIELDS = ("tuning_s", "plan_epochs", "fe_epochs", "train_s", "eval_s", "selection_s")


@dataclass(frozen=True)
class Speedup:
    """One subset study against the full-data study of the same seed (see the module)."""

    raw: float  # full tuning s / row tuning s
    per_epoch: float  # full s per plan epoch / row s per plan epoch
    epochs_ratio: float  # full plan epochs / row plan epochs: raw = per_epoch x epochs_ratio
    bound: float  # B
    excess: float  # per_epoch - B: above 0, the row beat the bound
    f: float  # the share of the data a plan epoch of the row trained on
    train_ratio: float | None  # row training s per plan epoch / (f x full training s per epoch)
    full_s_per_epoch: float  # the unit: full tuning s per full plan epoch
    row_s_per_epoch: float
    overhead_s_per_epoch: float  # the row's selection + validation + other s per plan epoch
    #: full-data cost per epoch of the row's configurations over the full study's (None:
    #: not measured, taken as 1)
    mix: float | None = None

    def as_dict(self) -> dict[str, float | None]:
        return asdict(self)


def shape_of(params: Mapping[str, Any]) -> str:
    """What of a configuration decides how much an epoch computes: its parameters that are
    not floats (batch size, width, depth, optimizer), as a key.

    Example:
        >>> shape_of({"lr": 0.01, "batch_size": 32, "optimizer": "adam"})
        '{"batch_size": 32, "optimizer": "adam"}'
    """
    return json.dumps(
        {k: v for k, v in sorted(params.items()) if not isinstance(v, float)}, sort_keys=True
    )


def config_cost(
    trials: Iterable[tuple[str, float]], s_per_epoch: Mapping[str, float]
) -> float | None:
    """The full-data training seconds per epoch of a study's configurations: each trial's
    shape's measured cost (``s_per_epoch``), weighted by the full-data-equivalent epochs the
    trial trained. ``trials``: ``(shape, full-data-equivalent epochs)``. None when a trial's
    shape was not measured or nothing was trained.

    Example:
        >>> config_cost([("a", 2.0), ("b", 1.0)], {"a": 3.0, "b": 6.0})
        4.0
    """
    weighted = total = 0.0
    for shape, fe in trials:
        if fe <= 0:
            continue
        if shape not in s_per_epoch:
            return None
        weighted += fe * s_per_epoch[shape]
        total += fe
    return weighted / total if total > 0 else None


def against_full(
    row: Mapping[str, Any], full: Mapping[str, Any], mix: float | None = None
) -> Speedup | None:
    """The speedup of ``row`` against ``full`` and its bound, from their records' figures
    (:data:`FIELDS`); None when a figure is missing or a study trained nothing. ``mix``: the
    full-data cost per epoch of the row's configurations over the full study's (see the
    module); None takes them as equal."""
    if any(row.get(k) is None or full.get(k) is None for k in FIELDS):
        return None
    r = {k: float(row[k]) for k in FIELDS}
    u = {k: float(full[k]) for k in FIELDS}
    if min(r["plan_epochs"], u["plan_epochs"], u["fe_epochs"], r["tuning_s"]) <= 0:
        return None
    full_per_epoch = u["tuning_s"] / u["plan_epochs"]
    full_train_per_epoch = u["train_s"] / u["fe_epochs"]
    row_per_epoch = r["tuning_s"] / r["plan_epochs"]
    other = max(0.0, r["tuning_s"] - r["train_s"] - r["selection_s"] - r["eval_s"])
    overhead = (r["selection_s"] + r["eval_s"] + other) / r["plan_epochs"]
    f = r["fe_epochs"] / r["plan_epochs"]
    share = f * full_train_per_epoch * (1.0 if mix is None else mix)
    floor = share + overhead
    if floor <= 0:
        return None
    per_epoch = full_per_epoch / row_per_epoch
    bound = full_per_epoch / floor
    return Speedup(
        raw=u["tuning_s"] / r["tuning_s"],
        per_epoch=per_epoch,
        epochs_ratio=u["plan_epochs"] / r["plan_epochs"],
        bound=bound,
        excess=per_epoch - bound,
        f=f,
        train_ratio=(r["train_s"] / r["plan_epochs"]) / share if share > 0 else None,
        full_s_per_epoch=full_per_epoch,
        row_s_per_epoch=row_per_epoch,
        overhead_s_per_epoch=overhead,
        mix=mix,
    )
