"""Progress within trials: a tqdm bar over training epochs (done, planned total, elapsed, ETA).

The log keeps one line per finished trial; a Hyperband round can train for minutes between two
such lines, so the bar shows the epochs trained of the study's planned total while it runs. It
is drawn only when its stream (stderr) is a terminal: logs, pipes, CI and multirun job files get
nothing from it.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from typing import IO, Any

from tqdm import tqdm
from tqdm.contrib.logging import logging_redirect_tqdm

_FORMAT = (
    "{desc}: {percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt} epochs "
    "[{elapsed} elapsed, {remaining} left]{postfix}"
)


class EpochProgress:
    """A bar over ``total`` epochs starting at ``initial`` (epochs a resumed study had done).

    Args:
        total: planned epochs (the scheduler's plan; an upper bound when trials may be pruned).
        initial: epochs already trained before this process started.
        desc: what is being trained ("tuning", "final training").
        stream: where the bar is drawn (stderr).
        enabled: draw it; None: only when ``stream`` is a terminal.
    """

    def __init__(
        self,
        total: int,
        initial: int = 0,
        desc: str = "tuning",
        stream: IO[str] | None = None,
        enabled: bool | None = None,
    ) -> None:
        stream = sys.stderr if stream is None else stream
        if enabled is None:
            enabled = bool(getattr(stream, "isatty", lambda: False)())
        self.enabled = enabled
        self._bar: Any = tqdm(
            total=max(int(total), int(initial)),
            initial=int(initial),
            desc=desc,
            file=stream,
            disable=not self.enabled,
            bar_format=_FORMAT,
            dynamic_ncols=True,
            leave=False,
            # Not drawn before the first epoch or `logging()`: a bar drawn at once would stay
            # on the line where the next log line (printed outside `logging()`) then starts.
            delay=1e-9,
        )

    def epoch(self, note: str = "", epochs: int = 1) -> None:
        """``epochs`` more epochs of the schedule trained (a warm-start epoch can stand in for
        several); ``note`` (e.g. "trial 7, epoch 3/9") is shown after the bar."""
        if not self.enabled:
            return
        if note:
            self._bar.set_postfix_str(note, refresh=False)
        self._bar.update(epochs)

    def sync(self, done: int, total: int) -> None:
        """Set the epochs done and the planned total (e.g. from the study, with many workers)."""
        if not self.enabled:
            return
        self._bar.total = max(int(total), int(done))
        self._bar.n = int(done)
        self._bar.refresh()

    @property
    def done(self) -> int:
        return int(self._bar.n)

    @property
    def total(self) -> int:
        return int(self._bar.total or 0)

    def close(self) -> None:
        self._bar.close()

    @contextlib.contextmanager
    def logging(self) -> Iterator[None]:
        """Log lines printed while the bar is drawn go above it instead of through it."""
        if not self.enabled:
            yield
            return
        with logging_redirect_tqdm():
            self._bar.refresh()
            yield
