"""Typed configuration schema and value checks.

The schema is registered in Hydra's ConfigStore as ``automata_schema`` and is the first entry of
``conf/config.yaml``'s defaults list, so a misspelt key or a wrong type in ``train``,
``optimizer``, ``tuning`` or ``paths`` fails at composition time. A key added with ``+``
bypasses that check (Hydra suggests ``+key=value`` for a key it does not know), so
:func:`validate` refuses keys that the schema does not have, then checks values (ranges,
choices) before any data is loaded or any model trained, and raises
:class:`~automata.errors.ConfigError` naming the key.
"""

from __future__ import annotations

import difflib
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hydra.core.config_store import ConfigStore
from omegaconf import MISSING, DictConfig, OmegaConf, open_dict

from automata.errors import ConfigError
from automata.passwords import redact


def conf_dir() -> Path:
    """The folder of config groups (``config.yaml``, ``dataset/``, ``model/``, ...).

    The repository keeps them in its top-level ``conf/``; a wheel ships that folder inside the
    package as ``automata/conf`` (``setup.py``). An installed package uses its own copy, a
    source checkout (editable install, ``python -m automata`` from the repository) the
    top-level folder, so there is one copy of every YAML file in the repository.
    """
    package = Path(__file__).resolve().parent
    candidates = (package / "conf", package.parents[1] / "conf")
    for candidate in candidates:
        if (candidate / "config.yaml").is_file():
            return candidate
    raise ConfigError(
        "automata's config folder is missing (looked in "
        + " and ".join(str(c) for c in candidates)
        + "); reinstall the package"
    )


@dataclass
class TrainConfig:
    epochs: int = 20
    batch_size: int = 32
    eval_batch_size: int = 1024
    lr_schedule: str = "cosine"
    step_size: int = 10
    gamma: float = 0.1
    num_workers: int = 0
    pin_memory: bool = False
    precision: str = "fp32"
    grad_clip: float | None = None
    eval_every: int | None = None


@dataclass
class OptimizerConfig:
    name: str = "adam"
    lr: float = 1e-3
    weight_decay: float = 0.0
    momentum: float = 0.9
    nesterov: bool = False


@dataclass
class TuningConfig:
    n_trials: int = 27
    storage: str | None = None
    study_name: str = "automata"
    timeout: float | None = None
    final_train: bool = True
    max_failures: int = 10
    tensorboard: bool = True
    keep_checkpoints: bool = False
    enqueue: list[Any] | None = None
    worker: int = 0
    heartbeat_interval: int | None = None
    grace_period: int | None = None
    allow_changed_settings: bool = False
    confirm_top_k: int = 0


@dataclass
class PathsConfig:
    data_dir: str = "data"
    output_dir: str | None = None


@dataclass
class AutomataConfig:
    seed: int = 0
    device: str = "auto"
    deterministic: bool = True
    threads: int | None = 1
    flush_denormal: bool = True
    train: TrainConfig = field(default_factory=TrainConfig)
    optimizer: OptimizerConfig = field(default_factory=OptimizerConfig)
    tuning: TuningConfig = field(default_factory=TuningConfig)
    paths: PathsConfig = field(default_factory=PathsConfig)
    # Groups instantiated through `_target_`: their own constructors check their keys.
    dataset: Any = MISSING
    model: Any = MISSING
    space: Any = MISSING
    search: Any = MISSING
    scheduler: Any = MISSING
    selector: Any = MISSING
    experiment: Any = None


def register_configs() -> None:
    """Put the schema in Hydra's ConfigStore (``automata_schema``, first in ``config.yaml``'s
    defaults); every way of composing a run config calls it first."""
    ConfigStore.instance().store(name="automata_schema", node=AutomataConfig)


#: The config groups a run picks one option of (``conf/<group>/<option>.yaml``).
GROUPS = ("dataset", "model", "space", "search", "scheduler", "selector", "experiment")


def compose(overrides: Sequence[str] = ()) -> DictConfig:
    """The run config that ``python -m automata <overrides>`` composes, for code that calls
    :func:`automata.run.run` itself (tests, scripts, benchmarks, the ranking protocol).

    The config folder is :func:`conf_dir`; ``hydra.searchpath=[file:///my/conf]`` among the
    overrides adds a folder of one's own, as on the command line. The option chosen in each
    group (:data:`GROUPS`) is kept under ``hydra.runtime.choices``, where Hydra keeps it
    (see :func:`group_choices`).
    """
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir

    register_configs()
    with initialize_config_dir(version_base="1.3", config_dir=str(conf_dir())):
        cfg = hydra_compose(
            config_name="config", overrides=list(overrides), return_hydra_config=True
        )
    choices = OmegaConf.to_container(cfg.hydra.runtime.choices)
    assert isinstance(choices, dict)
    with open_dict(cfg):
        cfg.hydra = {"runtime": {"choices": {g: choices.get(g) for g in GROUPS}}}
    return cfg


def group_choices(cfg: DictConfig) -> dict[str, str | None]:
    """The option picked in each of :data:`GROUPS` (``None``: no option, or not known).

    From ``cfg.hydra.runtime.choices`` (a config from :func:`compose`), else from the running
    Hydra application (``python -m automata``, whose task config has no ``hydra`` node).
    """
    node = OmegaConf.select(cfg, "hydra.runtime.choices")
    if node is None:
        from hydra.core.hydra_config import HydraConfig

        if HydraConfig.initialized():
            node = HydraConfig.get().runtime.choices
    found = OmegaConf.to_container(node) if node is not None else {}
    assert isinstance(found, dict)
    return {g: None if found.get(g) is None else str(found[g]) for g in GROUPS}


PRECISIONS = ("fp32", "bf16", "fp16")


def _check(ok: bool, message: str) -> None:
    if not ok:
        raise ConfigError(message)


#: Sections whose keys the schema fixes (the groups' keys are checked by their constructors).
_SCHEMA_SECTIONS = ("train", "optimizer", "tuning", "paths")


def check_known_keys(cfg: DictConfig) -> None:
    """Refuse keys the schema does not have, e.g. ``+tuning.n_trail=3`` or ``+selectr=random``.

    Hydra's ``+`` adds a key even to a typed config, and nothing would ever read it: the run
    would silently use the default it meant to change.
    """
    schema = OmegaConf.structured(AutomataConfig)
    top = [str(k) for k in schema.keys()]  # (`in` would miss the MISSING group entries)
    for key in cfg.keys():
        if key != "hydra" and key not in top:
            _unknown(str(key), top, "")
    for section in _SCHEMA_SECTIONS:
        if section in cfg and isinstance(cfg[section], DictConfig):
            known = [str(k) for k in schema[section].keys()]
            for key in cfg[section].keys():
                if key not in known:
                    _unknown(str(key), known, f"{section}.")


def _unknown(key: str, known: list[str], prefix: str) -> None:
    close = difflib.get_close_matches(key, known, n=1)
    hint = f" (did you mean '{prefix}{close[0]}'?)" if close else ""
    raise ConfigError(
        f"unknown setting '{prefix}{key}'{hint}: nothing reads it; a '+' override adds a key "
        "without checking it (python -m automata --cfg job lists the settings)"
    )


def validate(cfg: DictConfig) -> None:
    """Check keys and values that the schema's types cannot express. Raises ConfigError naming
    the key."""
    check_known_keys(cfg)
    t, o, tu = cfg.train, cfg.optimizer, cfg.tuning
    _check(t.epochs >= 1, f"train.epochs must be >= 1, got {t.epochs}")
    _check(t.batch_size >= 1, f"train.batch_size must be >= 1, got {t.batch_size}")
    _check(t.eval_batch_size >= 1, f"train.eval_batch_size must be >= 1, got {t.eval_batch_size}")
    _check(t.step_size >= 1, f"train.step_size must be >= 1, got {t.step_size}")
    _check(0 < t.gamma <= 1, f"train.gamma must be in (0, 1], got {t.gamma}")
    _check(t.num_workers >= 0, f"train.num_workers must be >= 0, got {t.num_workers}")
    _check(
        t.precision in PRECISIONS,
        f"train.precision must be one of {', '.join(PRECISIONS)}, got '{t.precision}'",
    )
    _check(
        t.grad_clip is None or t.grad_clip > 0, f"train.grad_clip must be > 0, got {t.grad_clip}"
    )
    _check(
        t.eval_every is None or t.eval_every >= 1,
        f"train.eval_every must be >= 1 (or null: only where the scheduler decides), "
        f"got {t.eval_every}",
    )
    _check(o.lr > 0, f"optimizer.lr must be > 0, got {o.lr}")
    _check(o.weight_decay >= 0, f"optimizer.weight_decay must be >= 0, got {o.weight_decay}")
    _check(0 <= o.momentum < 1, f"optimizer.momentum must be in [0, 1), got {o.momentum}")
    _check(tu.n_trials >= 1, f"tuning.n_trials must be >= 1, got {tu.n_trials}")
    _check(tu.max_failures >= 1, f"tuning.max_failures must be >= 1, got {tu.max_failures}")
    _check(tu.timeout is None or tu.timeout > 0, f"tuning.timeout must be > 0, got {tu.timeout}")
    _check(bool(tu.study_name), "tuning.study_name must not be empty")
    _check(tu.worker >= 0, f"tuning.worker must be >= 0, got {tu.worker}")
    _check(tu.confirm_top_k >= 0, f"tuning.confirm_top_k must be >= 0, got {tu.confirm_top_k}")
    _check(
        tu.heartbeat_interval is None or tu.heartbeat_interval >= 1,
        f"tuning.heartbeat_interval must be >= 1 second, got {tu.heartbeat_interval}",
    )
    _check(cfg.threads is None or cfg.threads >= 1, f"threads must be >= 1, got {cfg.threads}")
    device = str(cfg.device)
    _check(
        device in ("auto", "cpu") or device.startswith("cuda"),
        f"device must be auto, cpu, cuda or cuda:N, got '{device}'",
    )
    _check(
        t.precision == "fp32" or device != "cpu",
        f"train.precision={t.precision} needs a CUDA device (device={device})",
    )


def check_subset_size(
    fraction: float, n_train: int, num_classes: int, batch_size: int
) -> str | None:
    """A warning line when the subset a configuration trains on is too small to mean much,
    once the data's size is known; None when it is fine.

    The subset holds ``max(1, floor(fraction * n_train))`` examples (``Selector.budget``). With
    fewer examples than the data has classes, some class is never trained on; with fewer than
    one mini-batch, every epoch is a single optimiser step. Both are warned about, not refused:
    tiny generated data sets in tests and smoke runs are legitimate.
    """
    subset = max(1, min(n_train, math.floor(fraction * n_train + 1e-9)))
    chosen = f"selector.fraction={fraction:g} selects {subset} of {n_train:,} training examples"
    if subset < num_classes:
        # The smallest fraction (two significant digits, rounded up) that covers every class.
        least = num_classes / n_train
        digits = 1 - math.floor(math.log10(least))
        least = math.ceil(least * 10**digits - 1e-9) / 10**digits
        fix = (
            f"use selector.fraction >= {least:g}"
            if least <= 1
            else "the training set itself has fewer examples than classes"
        )
        return (
            f"{chosen}, fewer than the data's {num_classes} classes (some are never trained "
            f"on): {fix}"
        )
    if subset < batch_size:
        return (
            f"{chosen}, fewer than one mini-batch (train.batch_size={batch_size}): every epoch "
            "is one optimiser step"
        )
    return None


#: The parts of the config one trial's training reads; only these can be tuned, and a trial's
#: config holds only these (copying the whole config per trial cost ~14 ms).
TRIAL_KEYS = ("seed", "train", "optimizer", "model")


def trial_settings(cfg: DictConfig) -> DictConfig:
    """The part of a run config that one trial's training reads (:data:`TRIAL_KEYS`),
    resolved."""
    return OmegaConf.create(
        {
            k: OmegaConf.to_container(cfg[k], resolve=True)
            if OmegaConf.is_config(cfg[k])
            else cfg[k]
            for k in TRIAL_KEYS
        }
    )


def record(cfg: DictConfig, choices: dict[str, str | None]) -> str:
    """``config.yaml`` of a run: the resolved config (no password), and the option picked in
    each group under ``hydra.runtime.choices`` (where Hydra keeps them), so that a run that
    stops before its summary is still known by its options."""
    resolved = OmegaConf.to_container(cfg, resolve=True)
    assert isinstance(resolved, dict)
    out = {k: v for k, v in resolved.items() if k != "hydra"}
    out["hydra"] = {"runtime": {"choices": choices}}
    return redact(OmegaConf.to_yaml(out))


# -- the fingerprint: what gives a study's trials their meaning ------------------------------
# A study is continued whenever a run finds it in its storage (same run directory, or the same
# tuning.storage and tuning.study_name). Its trials only mean something under the settings
# they were trained with, so the study stores the fingerprint of those settings (dataset,
# model, search space, selector, scheduler, training and optimizer settings, seed) the first
# time, and a run with a different one is refused before any training (automata.tuning.study).

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


@dataclass(frozen=True)
class CheckedConfig:
    """A run config that passed :func:`validate`, and what is read from it as a whole: the
    option of each group, the text of ``config.yaml``, the settings a trial's training reads
    and the :func:`fingerprint`. Every other part of a run gets the config section it reads."""

    choices: dict[str, str | None]
    record: str
    trial_settings: DictConfig
    fingerprint: dict[str, Any]


def check(cfg: DictConfig) -> CheckedConfig:
    """:func:`validate` ``cfg``, then read what the run needs from it whole."""
    validate(cfg)
    choices = group_choices(cfg)
    return CheckedConfig(choices, record(cfg, choices), trial_settings(cfg), fingerprint(cfg))
