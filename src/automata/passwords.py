"""Passwords kept out of what a run prints and writes: :func:`redact`.

A storage URL may carry a password (``postgresql://user:secret@host/db``); every message, log
line and file of a run shows it as ``***`` (``automata.redaction`` does Hydra's records and the
log, the run its own files).
"""

from __future__ import annotations

import re

# The password of a URL's user (as SQLAlchemy parses it: up to the first "@", "/" allowed), and a
# "password=" query parameter (libpq also reads one there); also in the form Hydra gives a sweep
# job's overrides, with ":" and "=" escaped by a backslash.
_PASSWORD = re.compile(r"(?P<head>[\w+]+\\?://[^:/@\s\\]*\\?:)(?P<secret>[^@\s]*)(?=@)")
_PASSWORD_PARAM = re.compile(r"(?P<head>[?&]password\\?=)(?P<secret>[^&\s]*)")


def redact(text: str) -> str:
    """``text`` with the password of every URL in it replaced by ``***``; scheme, user, host,
    port, database and other parameters kept: ``postgresql://user:secret@host/db`` ->
    ``postgresql://user:***@host/db``. A ``${...}`` interpolation (the password read from the
    environment when the config is resolved) is no secret and stays.

    >>> redact("cannot open 'postgresql://me:pa/ss@db:5432/study?password=x&sslmode=require'")
    "cannot open 'postgresql://me:***@db:5432/study?password=***&sslmode=require'"
    """

    def hide(match: re.Match[str]) -> str:
        secret = match["secret"]
        return match[0] if not secret or secret.startswith("${") else f"{match['head']}***"

    return _PASSWORD_PARAM.sub(hide, _PASSWORD.sub(hide, text))
