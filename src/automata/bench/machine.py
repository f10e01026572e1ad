"""The machine under a measurement: is it quiet, how long did a call take, how much memory.

Timings are only comparable on a machine that runs nothing else. :func:`quiet_check` looks
before each timed cell: the 1-minute load average (recorded; it also counts this process's own
recent work) and, on Linux, the cores that *other* processes kept busy over a short sample
(``/proc/stat`` minus this process's CPU time), with a warning above half a core.
"""

from __future__ import annotations

import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")
#: Cores other processes may keep busy before a timed cell without a warning.
BUSY_LIMIT = 0.5
#: The environment variable through which a child measurement returns its result.
CHILD_OUT = "AUTOMATA_BENCH_CHILD_OUT"


@dataclass(frozen=True)
class Quiet:
    """The machine before a timed cell: load average, other processes' busy cores, and a
    warning when they are above :data:`BUSY_LIMIT` (empty when quiet)."""

    load: float
    busy: float | None
    warning: str = ""


def cpu_jiffies(stat: str) -> tuple[int, int]:
    """(busy, total) clock ticks of all CPUs from the ``cpu`` line of ``/proc/stat``."""
    fields = [int(x) for x in stat.split("\n", 1)[0].split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    total = sum(fields[:8])  # user..steal (guest time is already in user)
    return total - idle, total


def busy_cores(before: str, after: str, seconds: float, own_cpu_seconds: float) -> float:
    """Cores kept busy by other processes between two ``/proc/stat`` samples ``seconds``
    apart, during which this process used ``own_cpu_seconds`` of CPU."""
    busy0, _ = cpu_jiffies(before)
    busy1, _ = cpu_jiffies(after)
    ticks = os.sysconf("SC_CLK_TCK")
    return max(0.0, ((busy1 - busy0) / ticks - own_cpu_seconds) / seconds)


def quiet_check(sample_seconds: float = 0.5) -> Quiet:
    """Look at the machine before a timed cell (sleeps ``sample_seconds`` on Linux)."""
    load = os.getloadavg()[0]
    stat = Path("/proc/stat")
    if not stat.exists():
        return Quiet(load, None)
    own0, before, t0 = time.process_time(), stat.read_text(), time.perf_counter()
    time.sleep(sample_seconds)
    after, own = stat.read_text(), time.process_time() - own0
    busy = busy_cores(before, after, time.perf_counter() - t0, own)
    warning = ""
    if busy > BUSY_LIMIT:
        warning = (
            f"other processes kept {busy:.1f} cores busy (load average {load:.2f}): "
            "timings are not from a quiet machine"
        )
    return Quiet(load, busy, warning)


def machine_summary() -> str:
    """What a table was measured on: processor, cores, Python and torch versions."""
    from importlib.metadata import PackageNotFoundError, version

    try:  # the version of the torch in use (with its build tag) where it is imported
        torch = f", torch {getattr(sys.modules.get('torch'), '__version__', version('torch'))}"
    except PackageNotFoundError:
        torch = ""
    cpu = platform.processor() or platform.machine()
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}{torch}"


def load_average() -> float:
    """The 1-minute load average."""
    return os.getloadavg()[0]


def time_calls(
    fn: Callable[[], T],
    repeats: int,
    warmup: Callable[[], object] | None = None,
    sync: Callable[[], None] = lambda: None,
) -> tuple[list[float], T]:
    """Wall times of ``repeats`` calls of ``fn`` and its last output.

    Args:
        warmup: called once first, untimed (``None``: no warm-up); may be a shorter run.
        sync: waits for asynchronous work (e.g. ``torch.cuda.synchronize``) before each
            clock reading.
    """
    if warmup is not None:
        warmup()
        sync()
    times: list[float] = []
    out: Any = None
    for _ in range(repeats):
        sync()
        t0 = time.perf_counter()
        out = fn()
        sync()
        times.append(time.perf_counter() - t0)
    return times, out


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, in MiB."""
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / 2**20 if sys.platform == "darwin" else rss / 1024  # bytes vs KiB


@dataclass
class Child:
    """A measurement run in a fresh interpreter: its result, or why there is none."""

    result: dict[str, Any] | None
    error: str
    wall_seconds: float


def run_child(
    cmd: Sequence[str], env: dict[str, str] | None = None, cwd: Path | None = None
) -> Child:
    """Run ``cmd`` (a Python script in child mode) in a fresh process, so that its peak
    memory is its own; the child returns its result with :func:`child_result`."""
    with tempfile.TemporaryDirectory(prefix="bench-child-") as tmp:
        out = Path(tmp) / "result.json"
        t0 = time.perf_counter()
        proc = subprocess.run(
            list(cmd),
            env={**(env or os.environ), CHILD_OUT: str(out)},
            cwd=cwd,
            capture_output=True,
            text=True,
            check=False,
        )
        wall = time.perf_counter() - t0
        if proc.returncode != 0 or not out.exists():
            tail = (proc.stderr or proc.stdout).strip().splitlines()[-5:]
            return Child(None, " | ".join(tail) or f"exit status {proc.returncode}", wall)
        return Child(json.loads(out.read_text()), "", wall)


def child_result(result: dict[str, Any]) -> None:
    """In a child started by :func:`run_child`: hand ``result`` back to the parent."""
    Path(os.environ[CHILD_OUT]).write_text(json.dumps(result))
