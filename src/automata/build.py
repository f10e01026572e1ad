"""Instantiate config groups with clear one-line errors (never a deep traceback)."""

from __future__ import annotations

import inspect
from typing import Any

from hydra.errors import InstantiationException
from hydra.utils import get_method, instantiate
from omegaconf import DictConfig

from automata.errors import AutomataError, ConfigError


def build(group: str, node: DictConfig, **kwargs: Any) -> Any:
    """``instantiate(node, **kwargs)``; unknown keys and bad values become ConfigError/DataError
    naming ``group``."""
    if not isinstance(node, DictConfig) or "_target_" not in node:
        raise ConfigError(f"{group}: config has no _target_ (pick one with {group}=<option>)")
    target = str(node._target_)
    try:
        fn = get_method(target)
    except Exception as exc:  # noqa: BLE001
        raise ConfigError(f"{group}._target_: cannot import '{target}'") from exc
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
