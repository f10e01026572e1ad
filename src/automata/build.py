"""Instantiate config groups with clear one-line errors (never a deep traceback)."""

from __future__ import annotations

import importlib
import inspect
from typing import Any

from hydra.errors import InstantiationException
from hydra.utils import instantiate
from omegaconf import DictConfig

from automata.errors import AutomataError, ConfigError

#: What the value of a parameter annotated with one of these types must be; text is refused.
_KINDS = {"float": "a number", "int": "an integer", "bool": "true or false"}


def build(group: str, node: DictConfig, **kwargs: Any) -> Any:
    """``instantiate(node, **kwargs)``; unknown keys and bad values become ConfigError/DataError
    naming ``group``."""
    if not isinstance(node, DictConfig) or "_target_" not in node:
        raise ConfigError(f"{group}: config has no _target_ (pick one with {group}=<option>)")
    target = str(node._target_)
    fn = locate(target, f"{group}._target_")
    try:
        params = inspect.signature(fn).parameters
        accepts_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
    except (TypeError, ValueError):
        params, accepts_any = {}, True  # type: ignore[assignment]
    if not accepts_any:
        keys = [k for k in node.keys() if not str(k).startswith("_")] + list(kwargs)
        unknown = [k for k in keys if k not in params]
        if unknown:
            valid = ", ".join(k for k in params if k not in ("self", *kwargs))
            raise ConfigError(
                f"{group}: unknown option(s) {', '.join(map(str, unknown))} (valid: {valid})"
            )
    if not node.get("_partial_") and "_args_" not in node:
        _check_given(group, node, params, kwargs)
    try:
        if not kwargs:
            return instantiate(node)
        # Runtime arguments (e.g. a 15k-word vocabulary) go to the callable directly: passed
        # to instantiate(), Hydra would first convert them into an OmegaConf node (seconds).
        return instantiate(node, _partial_=True)(**kwargs)
    except InstantiationException as exc:
        cause = exc.__cause__
        if isinstance(cause, AutomataError):
            raise cause from None
        if isinstance(cause, (TypeError, ValueError)):
            raise ConfigError(f"{group}: {cause}") from None
        raise


def locate(target: str, key: str = "_target_") -> Any:
    """The object a dotted path names (``package.module.Class``), or one ConfigError line
    saying why it cannot be imported; ``key`` names the setting that holds the path.

    A module that no folder on the import path holds is most often the user's own, run from
    elsewhere: the message says how to make it importable.
    """
    parts = target.split(".")
    for cut in range(len(parts), 0, -1):
        module_name = ".".join(parts[:cut])
        try:
            obj = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name is not None and f"{module_name}.".startswith(f"{exc.name}."):
                continue  # no such module: the name's tail may be attributes
            raise ConfigError(f"{key}: cannot import '{target}': {_one_line(exc)}") from None
        except Exception as exc:  # noqa: BLE001 - whatever the module raises when imported
            raise ConfigError(f"{key}: cannot import '{target}': {_one_line(exc)}") from None
        for cut_at, attr in enumerate(parts[cut:], start=cut):
            if not hasattr(obj, attr):
                raise ConfigError(
                    f"{key}: cannot import '{target}': {'.'.join(parts[:cut_at])} has no '{attr}'"
                )
            obj = getattr(obj, attr)
        return obj
    raise ConfigError(
        f"{key}: cannot import '{target}': no module named '{parts[0]}' (a module of your own: "
        "run from the folder that holds it, or set PYTHONPATH=<that folder>)"
    )


def _check_given(group: str, node: DictConfig, params: Any, kwargs: dict[str, Any]) -> None:
    """Refuse a required argument the YAML lacks, and text given for a number or a flag (the
    constructor would fail on it with a message that names no key)."""
    for name, p in params.items():
        required = p.default is inspect.Parameter.empty and p.kind in (
            inspect.Parameter.POSITIONAL_OR_KEYWORD,
            inspect.Parameter.KEYWORD_ONLY,
        )
        if required and name not in node and name not in kwargs and name != "self":
            raise ConfigError(
                f"{group}.{name} is missing: {node._target_} needs it (add '{name}: ...' to "
                f"the {group} YAML, or {group}.{name}=... on the command line)"
            )
        if name not in node:
            continue
        ann = p.annotation
        text = ann if isinstance(ann, str) else getattr(ann, "__name__", str(ann))
        types = {t.strip() for t in text.split("|")}
        scalar = types - {"None"}
        if not scalar or not scalar <= set(_KINDS):
            continue
        try:
            value = node[name]
        except Exception:  # noqa: BLE001 - a broken interpolation fails later, with its key
            continue
        if isinstance(value, str):
            kind = _KINDS["float" if "float" in scalar else "int" if "int" in scalar else "bool"]
            null = " or null" if "None" in types else ""
            raise ConfigError(f"{group}.{name} must be {kind}{null}, got '{value}'")


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
