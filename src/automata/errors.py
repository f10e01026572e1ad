"""User-facing errors: printed as one line by the entrypoint, never as a traceback."""

from __future__ import annotations


class AutomataError(Exception):
    """An error the user can fix (bad config value, missing data file, ...)."""


class ConfigError(AutomataError, ValueError):
    """An invalid configuration value; the message names the offending key."""


class DataError(AutomataError):
    """A missing, corrupt or malformed data file; the message names the file."""
