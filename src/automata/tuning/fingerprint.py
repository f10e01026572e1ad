"""The fingerprint of a run's settings: what gives a study's trials their meaning.

A study is continued whenever a run finds it in its storage (same run directory, or the same
``tuning.storage`` and ``tuning.study_name``). Its trials only mean something under the settings
they were trained with, so the study stores the *fingerprint* of those settings (dataset, model,
search space, selector, scheduler, training and optimizer settings, seed) the first time, and a
run with a different one is refused before any training (:mod:`automata.tuning.study`).
"""

from __future__ import annotations

import json
from typing import Any

from omegaconf import DictConfig, OmegaConf

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


def shown(recorded: dict[str, Any], current: dict[str, Any], changed: list[str]) -> str:
    """The first keys of ``changed`` with their old and new values, for a one-line message."""
    parts = [
        f"{k}: {_show(k, recorded.get(k, _ABSENT))} -> {_show(k, current.get(k, _ABSENT))}"
        for k in changed[:4]
    ]
    more = f", and {len(changed) - 4} more" if len(changed) > 4 else ""
    return "; ".join(parts) + more
