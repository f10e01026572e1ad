"""Command line: ``automata [group=option ...] [key=value ...] [-m]`` (or ``python -m automata``).

Examples::

    automata                                    # dna, MLP, TPE + Hyperband, gradmatchpb 10%
    automata selector=random selector.fraction=0.3 seed=1
    automata -m selector=full,random,gradmatchpb seed=0,1
    automata --cfg job                          # print the composed config

Exit status: 0 done; 2 invalid settings or data (one line on stderr); 1 a sweep in which some
jobs failed (listed at its end); 130 interrupted by Ctrl-C (SIGINT), 143 stopped by SIGTERM
(``kill``, ``timeout``, a cluster's preemption): one line says the command that continues the
study where it stopped.
"""

from __future__ import annotations

import logging
import os
import shlex
import sys
from pathlib import Path

import hydra
from hydra.errors import HydraException
from omegaconf import DictConfig

from automata import hydra_compat, signals, sweep
from automata.config import conf_dir, register_configs
from automata.errors import AutomataError
from automata.passwords import redact

register_configs()
log = logging.getLogger("automata")

INTERRUPTED = "interrupted: rerun the same command to continue"


class _Stopped(KeyboardInterrupt):
    """A run stopped by a signal, with the line that says how to continue it."""

    def __init__(self, line: str, exit_status: int) -> None:
        super().__init__(line)
        self.line = line
        self.exit_status = exit_status


@hydra.main(version_base="1.3", config_path=str(conf_dir()), config_name="config")
def _task(cfg: DictConfig) -> float | None:
    hydra_compat.config_composed()
    from automata.run import run  # imported here so `--help` and config errors stay fast
    from automata.tuning.search_space import overridden_by_space

    multirun = _multirun()
    if multirun:
        sweep.clear_failure(_job_dir())
    for warning in overridden_by_space(cfg.space, _task_overrides()):
        log.warning("%s", warning)
    try:
        summary = run(cfg)
    except KeyboardInterrupt as exc:
        status = exc.exit_status if isinstance(exc, signals.Interrupted) else 130
        raise _Stopped(_how_to_continue(multirun), status) from None
    except AutomataError as exc:
        message = redact(str(exc))
        print(f"error: {message}", file=sys.stderr)
        if multirun:
            # One failed job of a sweep: the others still run, and the sweep lists it at its
            # end and exits non-zero.
            _log_to_files(message)
            sweep.record_failure(_job_dir(), message)
            return None
        if not _discard_refused_run_dir(_job_dir()):
            _log_to_files(message)
        sys.exit(2)
    return summary.best_val_accuracy


def main() -> None:
    """The ``automata`` command (and ``python -m automata``)."""
    _import_from_working_dir()
    signals.install()
    try:
        with hydra_compat.composition_errors_raised():
            _task()
    except HydraException as exc:  # the config could not be composed
        if hydra_compat.full_errors_asked():
            raise
        print(f"error: {redact(hydra_compat.composition_error_line(exc))}", file=sys.stderr)
        sys.exit(2)
    except _Stopped as stop:
        # The study is in its storage: a rerun continues it (the interrupted trial resumes).
        print(stop.line, file=sys.stderr)
        sys.exit(stop.exit_status)
    except KeyboardInterrupt as exc:  # before or after the run itself
        print(INTERRUPTED, file=sys.stderr)
        sys.exit(exc.exit_status if isinstance(exc, signals.Interrupted) else 130)


def _how_to_continue(multirun: bool) -> str:
    """The one line a stopped run prints: the same command continues it when its folder was
    named on the command line; a run in a folder named after the time it started gets the
    command with that folder added (the same command alone would start a new study)."""
    from hydra.core.hydra_config import HydraConfig

    hydra_cfg = HydraConfig.get()
    if multirun:
        key, folder = "hydra.sweep.dir", hydra_cfg.sweep.dir
    else:
        key, folder = "hydra.run.dir", hydra_cfg.runtime.output_dir
    given = [
        str(o).split("=", 1)[0] for o in [*hydra_cfg.overrides.hydra, *hydra_cfg.overrides.task]
    ]
    if key in given or (not multirun and "paths.output_dir" in given):
        return INTERRUPTED
    path = Path(str(folder)).resolve()
    shown = os.path.relpath(path) if Path.cwd().resolve() in path.parents else str(path)
    program = (
        "python -m automata" if sys.argv[0].endswith("__main__.py") else Path(sys.argv[0]).name
    )
    command = shlex.join([*sys.argv[1:], f"{key}={shown}"])
    return f"interrupted: continue with: {redact(f'{program} {command}')}"


def _import_from_working_dir() -> None:
    """The user's own modules (a model or a dataset named by ``_target_``) are imported from
    the folder the command runs in: ``python -m automata`` puts it on ``sys.path``, and the
    installed ``automata`` command does the same here."""
    cwd = os.getcwd()
    if cwd not in sys.path and "" not in sys.path:
        sys.path.insert(0, cwd)


def _log_to_files(message: str) -> None:
    """The error in the run's log file; the terminal has it once, as the ``error:`` line."""
    record = log.makeRecord(log.name, logging.ERROR, __file__, 0, message, (), None)
    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.FileHandler):
            handler.handle(record)


def _discard_refused_run_dir(run_dir: Path) -> bool:
    """Remove the run directory of a run refused before it wrote anything (Hydra creates it,
    with its ``.hydra/`` records and the log file, before the run starts), and the folders
    above it that this leaves empty, up to the working directory. True if removed."""
    from hydra.core.hydra_config import HydraConfig

    hydra_cfg = HydraConfig.get()
    log_file = run_dir / f"{hydra_cfg.job.name}.log"
    records = run_dir / str(hydra_cfg.output_subdir) if hydra_cfg.output_subdir else None
    own = {log_file} | ({records} if records else set())
    if any(path not in own for path in run_dir.iterdir()):
        return False
    if records and any(p.name not in hydra_compat.RECORDS for p in records.iterdir()):
        return False
    for handler in list(logging.getLogger().handlers):
        if isinstance(handler, logging.FileHandler) and Path(handler.baseFilename) == log_file:
            logging.getLogger().removeHandler(handler)
            handler.close()
    log_file.unlink(missing_ok=True)
    if records:
        for path in records.iterdir():
            path.unlink()
        records.rmdir()
    cwd = Path.cwd().resolve()
    folder = run_dir.resolve()
    while folder != cwd and not any(folder.iterdir()):
        folder.rmdir()
        if cwd not in folder.parents:
            break
        folder = folder.parent
    return True


def _multirun() -> bool:
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    try:
        return HydraConfig.get().mode == RunMode.MULTIRUN
    except ValueError:
        return False


def _job_dir() -> Path:
    from hydra.core.hydra_config import HydraConfig

    return Path(HydraConfig.get().runtime.output_dir)


def _task_overrides() -> list[str]:
    from hydra.core.hydra_config import HydraConfig

    return [str(o) for o in HydraConfig.get().overrides.task]


if __name__ == "__main__":
    main()
