"""Search spaces written as YAML (``conf/space/``), sampled with a live Optuna trial.

Each entry is ``name: {path: <config key>, type: float|int|categorical, ...}``: ``float`` and
``int`` take ``low``, ``high`` and optional ``log``/``step``; ``categorical`` takes ``choices``.
The sampled value is written into the trial's copy of the config at ``path``.

A run tunes the space named like its model (``space: ${model}``) or the one chosen with
``space=...``; ``space=generic`` tunes the training keys every model has (learning rate, batch
size, weight decay). A model without a space of its own is refused before anything runs, with
one line naming the file to add (:func:`check_space`).
"""

from __future__ import annotations

from typing import Any

import optuna
from omegaconf import DictConfig, OmegaConf

from automata.config import TRIAL_KEYS
from automata.errors import ConfigError

_KEYS = {
    "float": {"path", "type", "low", "high", "log", "step"},
    "int": {"path", "type", "low", "high", "log", "step"},
    "categorical": {"path", "type", "choices"},
}


#: The space every model can use: the training keys (``conf/space/generic.yaml``).
GENERIC = "generic"


def check_space(
    space: DictConfig, settings: DictConfig, choices: dict[str, str | None] | None = None
) -> None:
    """Validate every entry before any trial runs (types, bounds, and that ``path`` exists in
    ``settings``, the config's :data:`~automata.config.TRIAL_KEYS` part).

    An empty space (the model has no ``space/<model>.yaml``: ``conf/config.yaml`` picks it as
    optional) is refused by :func:`nothing_to_tune`'s one line (``choices``: the option of each
    config group, to name the file to add).
    """
    if not space:
        raise ConfigError(nothing_to_tune(choices or {}))
    for key, spec in space.items():
        where = f"space.{key!s}"
        if not isinstance(spec, DictConfig) or "type" not in spec or "path" not in spec:
            raise ConfigError(f"{where} needs at least 'path' and 'type'")
        kind = spec.type
        if kind not in _KEYS:
            raise ConfigError(f"{where}.type must be float, int or categorical, got '{kind}'")
        unknown = {str(k) for k in spec.keys()} - _KEYS[kind]
        if unknown:
            raise ConfigError(f"{where}: unknown key(s) {sorted(unknown)} for type {kind}")
        if str(spec.path).split(".", 1)[0] not in TRIAL_KEYS:
            raise ConfigError(
                f"{where}.path: '{spec.path}' cannot vary per trial (tunable: "
                f"{', '.join(k + '.*' for k in TRIAL_KEYS[1:])})"
            )
        if OmegaConf.select(settings, spec.path, default="__missing__") == "__missing__":
            raise ConfigError(f"{where}.path: no config key '{spec.path}'")
        if kind == "categorical":
            if not spec.get("choices"):
                raise ConfigError(f"{where}.choices must be a non-empty list")
        else:
            if "low" not in spec or "high" not in spec:
                raise ConfigError(f"{where} needs 'low' and 'high'")
            if not spec.low <= spec.high:
                raise ConfigError(f"{where}: low ({spec.low}) must be <= high ({spec.high})")
            if spec.get("log") and spec.low <= 0:
                raise ConfigError(f"{where}: log scale needs low > 0, got {spec.low}")


def nothing_to_tune(choices: dict[str, str | None]) -> str:
    """The one line that refuses a run whose search space is empty: the ``space/`` file to add
    (named after the model, or after the ``space=...`` choice), or ``space=generic``."""
    from automata.config import conf_dir

    option, model = choices.get("space"), choices.get("model")
    generic = f"or run with space={GENERIC} to tune the learning rate, batch size and weight decay"
    if option is None:
        return f"space: the search space is empty: say what to tune in a space/ YAML, {generic}"
    if option == model:
        return (
            f"space: model {model} has no search space (space/{option}.yaml is missing or "
            f"empty): add it to the config folder that holds model/{model}.yaml, {generic}"
        )
    shipped = ", ".join(sorted(p.stem for p in (conf_dir() / "space").glob("*.yaml")))
    return (
        f"space: no search space space/{option}.yaml (missing or empty; the package has "
        f"{shipped}): add it to a config folder, {generic}"
    )


def suggest(trial: optuna.Trial, space: DictConfig) -> dict[str, Any]:
    """Sample every parameter of ``space`` with ``trial``; returns ``{name: value}``."""
    params: dict[str, Any] = {}
    for key, spec in space.items():
        name = str(key)
        if spec.type == "float":
            params[name] = trial.suggest_float(
                name, spec.low, spec.high, log=bool(spec.get("log", False)), step=spec.get("step")
            )
        elif spec.type == "int":
            params[name] = trial.suggest_int(
                name,
                spec.low,
                spec.high,
                log=bool(spec.get("log", False)),
                step=spec.get("step") or 1,
            )
        else:
            params[name] = trial.suggest_categorical(name, list(spec.choices))
    return params


def apply(cfg: DictConfig, space: DictConfig, params: dict[str, Any]) -> DictConfig:
    """The trial's config: ``cfg``'s :data:`~automata.config.TRIAL_KEYS`, resolved, with each
    parameter written at its ``path``."""
    out = OmegaConf.create(
        {
            k: OmegaConf.to_container(cfg[k], resolve=True)
            if OmegaConf.is_config(cfg[k])
            else cfg[k]
            for k in TRIAL_KEYS
        }
    )
    for name, value in params.items():
        OmegaConf.update(out, space[name].path, value, merge=False)
    return out


def overridden_by_space(space: DictConfig, overrides: list[str]) -> list[str]:
    """One warning per command-line setting that the search space samples for every trial.

    ``optimizer.lr=0.01`` while the space has an entry at ``optimizer.lr`` does nothing: each
    trial replaces the value with its own sample.
    """
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.errors import HydraException

    by_path = {str(spec.path): str(name) for name, spec in space.items() if "path" in spec}
    try:
        parsed = OverridesParser.create().parse_overrides(list(overrides))
    except HydraException:
        return []
    warnings = []
    for override in parsed:
        key = override.key_or_group
        if override.is_delete() or key not in by_path:
            continue
        name = by_path[key]
        warnings.append(
            f"{override.input_line} has no effect: the search space samples {key} for every "
            f"trial (space.{name}); remove space.{name} (~space.{name}) to fix the value"
        )
    return warnings
