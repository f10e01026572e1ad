"""Stopping cleanly on SIGINT (Ctrl-C) and SIGTERM (``kill``, ``timeout``, Slurm preemption,
``docker stop``).

:func:`install` makes both signals raise :class:`Interrupted` (a ``KeyboardInterrupt``), so a
run stops the same way whichever arrives: the study keeps what its storage holds and a rerun
continues it (:mod:`automata.tuning.study`). A signal that arrives inside a :func:`critical`
section (a trial being asked and sampled, a trial's result being told, a checkpoint being
written) waits until the section ends, so no trial is left half-sampled or half-told: the rerun
replays the study exactly as the uninterrupted run would have continued it.

Only the command line installs the handlers; a program that calls :func:`automata.run.run`
keeps its own.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from types import FrameType

#: Exit status of a run stopped by each signal (128 + the signal number, as shells report it).
EXIT_STATUS = {signal.SIGINT: 130, signal.SIGTERM: 143}

_deferred = 0
_pending: int | None = None


class Interrupted(KeyboardInterrupt):
    """The run was asked to stop by ``signum``."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum

    @property
    def exit_status(self) -> int:
        return EXIT_STATUS.get(signal.Signals(self.signum), 128 + self.signum)


def _handler(signum: int, _frame: FrameType | None) -> None:
    global _pending
    if _deferred:
        _pending = signum
        return
    raise Interrupted(signum)


def install() -> None:
    """Make SIGINT and SIGTERM raise :class:`Interrupted` in this process (main thread only).
    A SIGINT that the process was started ignoring (a job started in the background) stays
    ignored, as Python itself does."""
    if threading.current_thread() is not threading.main_thread():
        return
    for sig in (signal.SIGINT, signal.SIGTERM):
        if signal.getsignal(sig) is signal.SIG_IGN:
            continue
        signal.signal(sig, _handler)


@contextlib.contextmanager
def critical() -> Iterator[None]:
    """A section that a signal must not cut in two: a signal that arrives inside it is
    raised as :class:`Interrupted` when it ends."""
    global _deferred, _pending
    _deferred += 1
    try:
        yield
    finally:
        _deferred -= 1
        if not _deferred and _pending is not None:
            signum, _pending = _pending, None
            raise Interrupted(signum)
