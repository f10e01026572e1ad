"""Arms x seeds x data sets: one JSON record per cell, written atomically and resumed.

A benchmark names its cells (:class:`Cell`: data set, arm, seed) and gives one function that
runs a cell in its own folder and returns the cell's result (a small JSON-able dict).
:class:`Grid` runs the cells that have no finished record, one at a time (timed: a
quiet-machine check before each, its wall time recorded) or in a process pool (untimed), and
writes each cell's :class:`Record` to ``<out>/<dataset>[/<phase>]/<arm>/seed<seed>/record.json``.

Resuming is the rule, not an option:

- a cell with a finished record is not run again, unless its record was made under other
  settings (:meth:`Grid.plan` refuses, naming the folder): a benchmark's settings signature
  (device, threads, protocol overrides, ...) is stored in every record;
- a cell whose record says it started but not that it finished was interrupted: its folder
  is emptied and the cell runs afresh (a half-run's timing is not comparable);
- a cell folder with files but no record was not written by this harness (e.g. an older
  version of the benchmark): refused rather than deleted.

Example:
    >>> import tempfile
    >>> grid = Grid(Path(tempfile.mkdtemp()), settings=lambda cell: {"epochs": 3})
    >>> cells = [Cell("dna", arm, seed) for seed in (0, 1) for arm in ("full", "random")]
    >>> done = grid.run(cells, lambda cell, folder: {"acc": 0.9}, timed=False, quiet=True)
    >>> [r.result["acc"] for r in grid.records(cells).values()]
    [0.9, 0.9, 0.9, 0.9]
    >>> grid.plan(cells)  # resumed: nothing left to run
    []
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from automata.bench.machine import Quiet, quiet_check

RECORD_NAME = "record.json"
#: Version of the record's layout; a record of another version is refused like other settings.
FORMAT = 1


class BenchError(Exception):
    """A bad command line or outputs that cannot be used: printed as one line."""


@dataclass(frozen=True, order=True)
class Cell:
    """One run of a benchmark: an arm on a data set with a seed."""

    dataset: str
    arm: str
    seed: int

    def __str__(self) -> str:
        return f"{self.dataset} {self.arm} seed {self.seed}"


@dataclass
class Record:
    """What a cell produced (``result``) and under which settings and machine state.

    ``load_before``/``load_after``: the 1-minute load average around the run;
    ``busy_before``: cores that other processes kept busy just before it (None where it
    cannot be measured, or when the cell was not timed). ``finished`` is None while the cell
    runs: a record read in that state belongs to an interrupted run.
    """

    dataset: str
    arm: str
    seed: int
    settings: dict[str, Any]
    started: str
    finished: str | None = None
    wall_seconds: float | None = None
    load_before: float | None = None
    busy_before: float | None = None
    load_after: float | None = None
    result: dict[str, Any] = field(default_factory=dict)
    format: int = FORMAT

    @property
    def cell(self) -> Cell:
        return Cell(self.dataset, self.arm, self.seed)

    @classmethod
    def read(cls, path: Path) -> Record:
        try:
            data = json.loads(path.read_text())
            return cls(**data)
        except (OSError, ValueError, TypeError) as exc:
            raise BenchError(f"{path}: not a benchmark record ({exc}); remove it") from None

    def write(self, path: Path) -> None:
        write_text(path, json.dumps(asdict(self), indent=1) + "\n")


@dataclass
class Failure:
    """A cell whose function raised (with ``keep_going``): no record, so it runs again."""

    cell: Cell
    error: str


def write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically: a reader sees the old file or the new one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    tmp.write_text(text)
    os.replace(tmp, path)


def finished_records(folder: Path, pattern: str) -> list[Record]:
    """The finished records under ``folder`` whose paths match the glob ``pattern`` (ending in
    ``record.json``), in path order; an interrupted cell's record is left out. What a report
    made from committed records reads."""
    out = []
    for path in sorted(Path(folder).glob(pattern)):
        record = Record.read(path)
        if record.finished is not None:
            out.append(record)
    return out


def _plain(settings: Mapping[str, Any]) -> dict[str, Any]:
    """Settings as they read back from JSON (tuples become lists), for comparison."""
    return dict(json.loads(json.dumps(settings)))


def _call(fn: Callable[[Cell, Path], dict[str, Any]], cell: Cell, folder: Path) -> Any:
    """Run one cell (in this process or a pool worker) and time it."""
    t0 = time.perf_counter()
    result = fn(cell, folder)
    return result, time.perf_counter() - t0


class Grid:
    """The cells of a benchmark (or of one of its phases) under ``out``.

    Args:
        out: the benchmark's output folder.
        settings: the settings signature of a cell: what must be equal for two runs of it
            to be comparable (refused otherwise).
        phase: a sub-folder per data set for a benchmark with several phases.
    """

    def __init__(
        self,
        out: Path,
        settings: Callable[[Cell], Mapping[str, Any]],
        phase: str = "",
    ) -> None:
        self.out, self.settings, self.phase = Path(out), settings, phase

    def folder(self, cell: Cell) -> Path:
        base = self.out / cell.dataset
        return (base / self.phase if self.phase else base) / cell.arm / f"seed{cell.seed}"

    def record(self, cell: Cell) -> Record | None:
        """The cell's finished record; None when it has none (never run, or interrupted)."""
        path = self.folder(cell) / RECORD_NAME
        if not path.exists():
            return None
        record = Record.read(path)
        if record.finished is None:
            return None
        expected = {**_plain(self.settings(cell)), "record format": FORMAT}
        found = {**record.settings, "record format": record.format}
        if found != expected:
            changed = ", ".join(
                f"{key} {found.get(key)!r} (now {expected.get(key)!r})"
                for key in sorted(set(found) | set(expected))
                if found.get(key) != expected.get(key)
            )
            raise BenchError(
                f"{path.parent} was made with other settings: {changed}; use another --out"
            )
        return record

    def records(self, cells: Iterable[Cell]) -> dict[Cell, Record]:
        """The finished records of ``cells`` (cells without one are left out)."""
        out = {}
        for cell in cells:
            record = self.record(cell)
            if record is not None:
                out[cell] = record
        return out

    def plan(self, cells: Iterable[Cell]) -> list[Cell]:
        """The cells still to run, in order; refuses foreign files and other settings."""
        todo = []
        for cell in cells:
            folder = self.folder(cell)
            if self.record(cell) is not None:
                continue
            if folder.is_dir() and any(folder.iterdir()) and not (folder / RECORD_NAME).exists():
                raise BenchError(
                    f"{folder} holds files but no {RECORD_NAME}: not written by this benchmark "
                    "(or by an older version of it); use another --out or remove it"
                )
            todo.append(cell)
        return todo

    def clear(self, cells: Iterable[Cell]) -> None:
        """Forget ``cells``: their folders are removed (a fresh start without ``--resume``)."""
        for cell in cells:
            folder = self.folder(cell)
            if (folder / RECORD_NAME).exists():
                shutil.rmtree(folder)

    def _start(self, cell: Cell) -> tuple[Path, Record]:
        folder = self.folder(cell)
        shutil.rmtree(folder, ignore_errors=True)  # an interrupted run starts afresh
        folder.mkdir(parents=True)
        record = Record(
            cell.dataset,
            cell.arm,
            cell.seed,
            _plain(self.settings(cell)),
            started=time.strftime("%Y-%m-%d %H:%M:%S"),
        )
        record.write(folder / RECORD_NAME)
        return folder, record

    def _finish(self, record: Record, result: dict[str, Any], wall: float) -> Record:
        record.result, record.wall_seconds = result, wall
        record.finished = time.strftime("%Y-%m-%d %H:%M:%S")
        record.load_after = os.getloadavg()[0]
        record.write(self.folder(record.cell) / RECORD_NAME)
        return record

    def run(
        self,
        cells: Sequence[Cell],
        fn: Callable[[Cell, Path], dict[str, Any]],
        *,
        timed: bool = True,
        jobs: int = 1,
        warm_up: Callable[[Cell], None] | None = None,
        describe: Callable[[Record], str] = lambda record: "done",
        keep_going: bool = False,
        label: str = "",
        quiet: bool = False,
    ) -> list[Failure]:
        """Run the cells of ``cells`` that have no finished record.

        Args:
            cells: in the order to run them (interleave arms within a seed, so that a drift
                of the machine does not favour one arm).
            fn: ``fn(cell, folder) -> result``, run in the cell's (empty) folder.
            timed: each cell's wall time is a measurement: cells run one at a time, after a
                quiet-machine check (a warning when other processes are busy).
            jobs: cells at once in a process pool (untimed cells only; ``fn`` and its
                arguments must pickle).
            warm_up: called once with the first cell to run, before it, untimed (the first
                run of a process pays one-off costs).
            describe: one line on a finished cell's result, for the progress line.
            keep_going: a cell that raises is reported and the others run; otherwise the
                exception propagates.
            label: names the batch in the progress lines (e.g. a phase).
            quiet: no progress lines.

        Returns:
            The cells that failed (``keep_going``).
        """
        if jobs > 1 and timed:
            raise ValueError("timed cells run one at a time (jobs=1)")
        todo = self.plan(cells)
        say = (lambda text: None) if quiet else (lambda text: print(text, flush=True))
        say(f"== {label + ': ' if label else ''}{len(todo)} cells to run")
        if not todo:
            return []
        failures: list[Failure] = []

        def done(i: int, cell: Cell, out: Any, record: Record) -> None:
            if isinstance(out, BaseException):
                if not keep_going:
                    raise out
                failures.append(Failure(cell, f"{type(out).__name__}: {out}"))
                say(f"[{i}/{len(todo)}] {cell}: FAILED: {out}")
                return
            self._finish(record, *out)
            load = f" (load {record.load_before:.2f})" if timed else ""
            say(f"[{i}/{len(todo)}] {cell}: {describe(record)}{load}")

        if warm_up is not None:
            warm_up(todo[0])
        if jobs <= 1:
            for i, cell in enumerate(todo, 1):
                folder, record = self._start(cell)
                if timed:
                    check: Quiet = quiet_check()
                    record.load_before, record.busy_before = check.load, check.busy
                    if check.warning and not quiet:
                        print(f"warning: before {cell}: {check.warning}", flush=True)
                try:
                    out: Any = _call(fn, cell, folder)
                except Exception as exc:  # noqa: BLE001 - keep_going decides
                    out = exc
                done(i, cell, out, record)
            return failures
        from concurrent.futures import ProcessPoolExecutor, as_completed

        started = {cell: self._start(cell) for cell in todo}
        with ProcessPoolExecutor(max_workers=jobs) as pool:
            futures = {pool.submit(_call, fn, c, started[c][0]): c for c in todo}
            try:
                for i, fut in enumerate(as_completed(futures), 1):
                    cell = futures[fut]
                    error = fut.exception()
                    done(i, cell, error if error is not None else fut.result(), started[cell][1])
            except BaseException:
                pool.shutdown(wait=False, cancel_futures=True)  # the cells not started yet
                raise
        return failures
