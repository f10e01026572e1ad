"""Comparisons at equal wall time: what an optimiser knew, and would return, at a given time.

An arm's run is a list of *evaluations*, each a dict with ``t`` (seconds since its tuning
started, when the optimiser learnt the result), ``epochs`` (the fidelity), ``value`` (the
validation accuracy, None for a failure) and ``params`` (the configuration). From it:

- :func:`best_so_far`: the anytime curve, the best value at the full fidelity known by a time;
- :func:`incumbent`: the configuration the arm would return at a time;
- :class:`Retrainer`: that configuration's test accuracy once retrained on the full data (the
  number compared across arms: subset and full-data validation accuracies are not comparable).

:func:`study_evaluations` reads the evaluations of a runner study from its storage.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from automata.bench.tables import write_json

if TYPE_CHECKING:
    from omegaconf import DictConfig

Evaluation = dict[str, Any]


def best_so_far(evaluations: list[Evaluation], top: int, until: float) -> float | None:
    """Best validation accuracy of the evaluations at ``top`` epochs known by ``until`` s."""
    vals = [
        e["value"]
        for e in evaluations
        if e["epochs"] >= top and e["t"] <= until and e["value"] is not None
    ]
    return max(vals) if vals else None


def incumbent(evaluations: list[Evaluation], top: int, until: float) -> Evaluation | None:
    """The evaluation whose configuration an arm would return at ``until`` s: the best one at
    ``top`` epochs; before any, the best one at the highest fidelity reached (HpBandSter's
    rule). Ties: the earlier one. ``fallback`` says which rule chose it."""
    known = [e for e in evaluations if e["t"] <= until and e["value"] is not None]
    if not known:
        return None
    highest = max(min(e["epochs"], top) for e in known)
    pool = [e for e in known if min(e["epochs"], top) == highest]
    best = max(pool, key=lambda e: (e["value"], -e["t"]))
    return {**best, "fallback": highest < top}


def anytime_matrix(
    runs: dict[int, dict[str, Any]], budgets: dict[int, float], grid: list[float]
) -> list[list[float]]:
    """Per seed (``runs[seed]`` holds ``evaluations`` and ``top``), the best validation
    accuracy at ``top`` known at each fraction of that seed's budget in ``grid`` (NaN before
    the first)."""
    out = []
    for seed, run in sorted(runs.items()):
        row = []
        for g in grid:
            best = best_so_far(run["evaluations"], run["top"], g * budgets[seed])
            row.append(math.nan if best is None else best)
        out.append(row)
    return out


def study_evaluations(storage: str, study_name: str) -> list[Evaluation]:
    """Every evaluation of a runner study with the time (s since its first trial started) at
    which the study recorded it: a completed trial's value at T when it completed; a pruned
    trial's last rung value when it was pruned (the study has no time per rung)."""
    import optuna
    from optuna.trial import TrialState

    study = optuna.load_study(study_name=study_name, storage=storage)
    trials = study.get_trials(deepcopy=False)
    starts = [t.datetime_start for t in trials if t.datetime_start is not None]
    if not starts:
        return []
    origin = min(starts)
    out = []
    for t in trials:
        if t.datetime_complete is None or t.state not in (TrialState.COMPLETE, TrialState.PRUNED):
            continue
        step = t.last_step
        value = t.value if t.state == TrialState.COMPLETE else None
        if value is None and step is not None:
            value = t.intermediate_values.get(step)
        if step is None or value is None:
            continue
        out.append(
            {
                "t": (t.datetime_complete - origin).total_seconds(),
                "epochs": int(step),
                "value": float(value),
                "params": dict(t.params),
                "state": t.state.name.lower(),
                "trial": t.number,
            }
        )
    return sorted(out, key=lambda e: e["t"])


class Retrainer:
    """Test accuracy of a configuration retrained on the full data for T epochs (as the
    runner's final training does), cached in a JSON file.

    Args:
        config: the run config of a seed, on the full data (``selector=full``); its
            ``train.epochs`` is T.
        path: the cache, keyed by seed and configuration.
    """

    def __init__(self, config: Callable[[int], DictConfig], path: Path) -> None:
        self.config, self.path = config, path
        self.cache: dict[str, float] = json.loads(path.read_text()) if path.exists() else {}
        self._data: dict[str, Any] = {}  # per dataset config (the splits do not depend on seed)

    def test_accuracy(self, params: dict[str, Any], seed: int) -> float:
        key = f"{seed}|{json.dumps(params, sort_keys=True)}"
        if key in self.cache:
            return self.cache[key]
        import torch
        from omegaconf import OmegaConf

        from automata.build import build
        from automata.device import resolve_device, set_determinism
        from automata.selection.full import FullSelector
        from automata.training.trainer import Trainer
        from automata.tuning import search_space

        cfg = self.config(seed)
        data_key = OmegaConf.to_yaml(cfg.dataset, resolve=True)
        if data_key not in self._data:
            self._data[data_key] = build("dataset", cfg.dataset)
        set_determinism(bool(cfg.deterministic))
        if cfg.threads:
            torch.set_num_threads(int(cfg.threads))
        top = int(cfg.train.epochs)
        trainer = Trainer(
            search_space.apply(cfg, cfg.space, params),
            self._data[data_key],
            FullSelector(),
            resolve_device(str(cfg.device)),
            top,
        )
        for _ in range(top):
            trainer.run_epoch(validate=lambda _, after: after >= top)
        acc = float(trainer.test_accuracy())
        self.cache[key] = acc
        write_json(self.path, self.cache)
        return acc
