"""The project's errors.

:class:`AutomataError` and its subclasses are user-facing: printed as one line by the
entrypoint, never as a traceback. :class:`TrialDiverged` is a trial's failure: the study
records it as the trial's fail reason and goes on.
"""

from __future__ import annotations


class AutomataError(Exception):
    """An error the user can fix (bad config value, missing data file, ...)."""


class ConfigError(AutomataError, ValueError):
    """An invalid configuration value; the message names the offending key."""


class DataError(AutomataError):
    """A missing, corrupt or malformed data file; the message names the file."""


class TooManyFailures(AutomataError):
    """More trials failed than ``tuning.max_failures`` allows: the study stops."""


class TrialDiverged(RuntimeError):
    """The training loss became NaN or infinite."""
