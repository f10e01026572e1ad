"""What a study records about itself, so that results are never credited to the wrong settings.

A study is continued whenever a run finds it in its storage (same run directory, or the same
``tuning.storage`` and ``tuning.study_name``). Its trials only mean something under the settings
they were trained with, so the study stores a *fingerprint* of those settings (dataset, model,
search space, selector, scheduler, training and optimizer settings, seed) the first time, and a
run with a different fingerprint is refused before any training, naming the keys that differ,
unless ``tuning.allow_changed_settings=true``.

The study also carries what other tools show (optuna-dashboard, ``optuna.visualization``): the
objective's metric name and the dataset, model, selector, fraction, scheduler and search; and the
tuning time spent on it, per worker, so a rerun of a finished study reports the time the study
took rather than the few milliseconds of the rerun.
"""

from __future__ import annotations

import json
import logging
import warnings
from typing import Any

import optuna
from omegaconf import DictConfig, OmegaConf

from automata.errors import ConfigError

log = logging.getLogger("automata")

FINGERPRINT = "fingerprint"
CHANGED = "changed_settings"
METRIC = "val_accuracy"
TUNING_SECONDS = "tuning_seconds.worker"

#: Config sections whose values change what a trial's score means.
_SECTIONS = ("dataset", "model", "space", "selector", "scheduler", "train", "optimizer")
#: Keys of those sections that change where data is read from or how fast a trial runs, not
#: what it computes (workers on other machines may keep their data elsewhere).
_NOT_MEANING = frozenset(
    {
        "dataset.root",
        "dataset.download",
        "train.eval_batch_size",
        "train.num_workers",
        "train.pin_memory",
        "train.eval_every",  # validation where nothing is decided changes no result
    }
)
_ABSENT = "(absent)"


def fingerprint(cfg: DictConfig) -> dict[str, Any]:
    """``{dotted key: value}`` of every setting that changes what a trial means."""
    flat: dict[str, Any] = {"seed": int(cfg.seed)}
    for section in _SECTIONS:
        node = cfg.get(section)
        value = OmegaConf.to_container(node, resolve=True) if OmegaConf.is_config(node) else node
        _flatten(value, section, flat)
    return {k: v for k, v in sorted(flat.items()) if k not in _NOT_MEANING}


def _flatten(value: Any, prefix: str, out: dict[str, Any]) -> None:
    if isinstance(value, dict) and value:
        for key, item in value.items():
            _flatten(item, f"{prefix}.{key}", out)
    else:
        out[prefix] = value


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


def _show(key: str, value: Any) -> str:
    if value is _ABSENT:
        return _ABSENT
    if key.endswith("_target_") and isinstance(value, str):
        return value.rsplit(".", 1)[-1]
    text = _canonical(value)
    return text if len(text) <= 30 else text[:29] + "..."


def differences(recorded: dict[str, Any], current: dict[str, Any]) -> list[str]:
    """Keys whose values differ between two fingerprints (a key missing on one side too)."""
    keys = set(recorded) | set(current)
    return sorted(
        k
        for k in keys
        if k not in recorded
        or k not in current
        or _canonical(recorded[k]) != _canonical(current[k])
    )


def check_settings(study: optuna.Study, cfg: DictConfig) -> list[str]:
    """Record the fingerprint of a new study, or compare it with the one the study holds.

    Returns the keys that differ (empty unless ``tuning.allow_changed_settings``). Raises
    ConfigError, in one line naming those keys, when the study was tuned with other settings.
    """
    current = fingerprint(cfg)
    attrs = study.user_attrs
    recorded = attrs.get(FINGERPRINT)
    if recorded is None or not study.get_trials(deepcopy=False):
        # A new study, one without trials (nothing to credit wrongly: e.g. its first run
        # stopped on a missing data file), or one of an older version, which stored none.
        study.set_user_attr(FINGERPRINT, current)
        return []
    changed = differences(recorded, current)
    if not changed:
        return []
    shown = [
        f"{k}: {_show(k, recorded.get(k, _ABSENT))} -> {_show(k, current.get(k, _ABSENT))}"
        for k in changed[:4]
    ]
    more = f", and {len(changed) - 4} more" if len(changed) > 4 else ""
    detail = "; ".join(shown) + more
    if not cfg.tuning.get("allow_changed_settings", False):
        raise ConfigError(
            f"tuning.study_name: study '{study.study_name}' was tuned with other settings "
            f"({detail}); start a new study (another hydra.run.dir or tuning.study_name), or "
            "set tuning.allow_changed_settings=true to continue it anyway"
        )
    log.warning(
        "continuing study '%s' with other settings than it was tuned with (%s), as "
        "tuning.allow_changed_settings=true asks",
        study.study_name,
        detail,
    )
    study.set_user_attr(CHANGED, sorted(set(attrs.get(CHANGED, [])) | set(changed)))
    return changed


def describe(study: optuna.Study, info: dict[str, Any]) -> None:
    """Store the metric name and ``info`` (dataset, model, selector, ...) on a study without
    trials; a continued study keeps what it was started with."""
    attrs = study.user_attrs
    fresh = not study.get_trials(deepcopy=False)
    for key, value in info.items():
        if fresh or key not in attrs:
            study.set_user_attr(key, value)
    if study.metric_names is None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            study.set_metric_names([METRIC])


def add_tuning_seconds(study: optuna.Study, worker: int, seconds: float) -> None:
    """Add this process's tuning time to its worker's total on the study (one key per worker,
    so workers never overwrite each other's time)."""
    key = f"{TUNING_SECONDS}{worker}"
    study.set_user_attr(key, float(study.user_attrs.get(key, 0.0)) + float(seconds))


def tuning_seconds(study: optuna.Study) -> float:
    """The study's tuning time: the longest worker total (workers run side by side; one
    process resumed several times adds up its sessions)."""
    totals = [float(v) for k, v in study.user_attrs.items() if k.startswith(TUNING_SECONDS)]
    return max(totals, default=0.0)
