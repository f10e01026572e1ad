"""Where automata relies on Hydra beyond ``@hydra.main``, ``compose`` and callbacks.

Each use is here, with its reason, and ``tests/test_hydra_compat.py`` checks it against the
Hydra version that ``constraints.txt`` pins, so that an upgrade which changes one fails there
rather than in a user's run. Nothing here imports ``hydra._internal``.

- :func:`expand`: the jobs of a sweep, as Hydra's basic sweeper expands its arguments, to check
  every job's settings before the first one runs (:mod:`automata.sweep`). Hydra has no public
  function for it (``BasicSweeper.split_arguments`` is internal), so this one is built from the
  public override parser (``hydra.core.override_parser``, the plugin API) and mirrors it.
- :func:`composition_errors_raised` and :func:`composition_error_line`: Hydra prints a config
  composition error (a misspelt key, a missing option) as several lines with a hint to use
  ``+``, which automata refuses (:func:`automata.config.check_known_keys`), and exits 1. With
  ``HYDRA_FULL_ERROR=1`` (documented) it raises the error instead; the entrypoint sets it while
  Hydra composes the config and turns the error into one line with a "did you mean", status 2.
- :data:`RECORDS`: the files in which Hydra records the command line's overrides verbatim
  (rewritten without a storage password by :mod:`automata.redaction`).
"""

from __future__ import annotations

import contextlib
import difflib
import itertools
import os
from collections.abc import Iterator

from hydra.errors import HydraException, MissingConfigException
from omegaconf import DictConfig
from omegaconf.errors import ConfigAttributeError, ConfigKeyError, ValidationError

#: Files of a job's ``hydra.output_subdir`` (``.hydra/``) that hold the overrides, and the file
#: of the sweep folder that the basic sweeper writes the sweep's config to.
RECORDS = ("config.yaml", "hydra.yaml", "overrides.yaml")
SWEEP_RECORD = "multirun.yaml"

_FULL_ERROR = "HYDRA_FULL_ERROR"
# Whether composition_errors_raised() set HYDRA_FULL_ERROR (and config_composed() unsets it).
_set_here = False


def expand(arguments: list[str]) -> list[list[str]] | None:
    """``["seed=0,1", "x=2"]`` -> ``[["seed=0", "x=2"], ["seed=1", "x=2"]]``: the task overrides
    of every job, as Hydra's basic sweeper expands them (a later value of a key replaces an
    earlier one, then the cartesian product in order of first appearance); None when it cannot
    expand them (e.g. the ranges and intervals of other sweepers)."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    choices: dict[str, list[str]] = {}
    try:
        for override in OverridesParser.create().parse_overrides(arguments):
            key = override.get_key_element()
            if not override.is_sweep_override():
                choices[key] = [f"{key}={override.get_value_element_as_str()}"]
            elif override.is_discrete_sweep():
                choices[key] = [f"{key}={value}" for value in override.sweep_string_iterator()]
            else:
                return None
    except HydraException:
        return None
    return [list(job) for job in itertools.product(*choices.values())]


@contextlib.contextmanager
def composition_errors_raised() -> Iterator[None]:
    """While the block runs, Hydra raises a config composition error instead of printing it,
    until :func:`config_composed` (the config is composed; later errors are Hydra's to report
    as usual). Nothing changes where the user has set ``HYDRA_FULL_ERROR=1`` themselves."""
    global _set_here
    if os.environ.get(_FULL_ERROR) != "1":
        os.environ[_FULL_ERROR] = "1"
        _set_here = True
    try:
        yield
    finally:
        config_composed()


def config_composed() -> None:
    """The config is composed: stop raising Hydra's errors (see
    :func:`composition_errors_raised`); a launcher's job processes do not inherit it."""
    global _set_here
    if _set_here:
        os.environ.pop(_FULL_ERROR, None)
        _set_here = False


def full_errors_asked() -> bool:
    """Whether the user asked Hydra for full tracebacks (``HYDRA_FULL_ERROR=1``)."""
    return os.environ.get(_FULL_ERROR) == "1" and not _set_here


def composition_error_line(exc: HydraException) -> str:
    """One line for a config composition error: the key or option at fault, what would be
    right (a close match), where to look."""
    cause = exc.__cause__
    if isinstance(exc, MissingConfigException) and exc.options is not None:
        group, _, option = str(exc.missing_cfg_file).rpartition("/")
        options = [str(o) for o in exc.options]
        close = difflib.get_close_matches(option, options, n=1)
        mean = f"did you mean {group}={close[0]}? " if close else ""
        return f"{group}={option}: no such option ({mean}options: {', '.join(options)})"
    if isinstance(cause, (ConfigAttributeError, ConfigKeyError)) and cause.full_key:
        key, full_key = str(cause.key), str(cause.full_key)
        prefix = full_key[: len(full_key) - len(key)]
        parent = cause.parent_node
        known = (
            [str(k) for k in parent.keys() if not str(k).startswith("_") and k != "hydra"]
            if isinstance(parent, DictConfig)
            else []
        )
        close = difflib.get_close_matches(key, known, n=1)
        mean = f" (did you mean '{prefix}{close[0]}'?)" if close else ""
        return (
            f"unknown setting '{full_key}'{mean}: python -m automata --cfg job lists the settings"
        )
    if isinstance(cause, ValidationError) and cause.full_key:
        return f"{cause.full_key}: {_first_line(cause)}"
    line = _first_line(exc)
    return f"{line}: {_first_line(cause)}" if cause is not None else line


def _first_line(exc: BaseException) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[0] if lines else type(exc).__name__
