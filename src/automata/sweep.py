"""Multirun sweeps: settings checked for every job before the first one runs, and failed jobs
listed, with a non-zero exit status, once the sweep is over.

:class:`SweepChecks` is a Hydra callback (``hydra.callbacks`` in ``conf/config.yaml``). Jobs may
run in other processes (joblib, submitit), so a job that fails with an
:class:`~automata.errors.AutomataError` leaves ``failed.txt`` (its one-line error) in its run
directory; the callback collects those files at the end of the sweep, lists them and ends the
process with status 1.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

from hydra.errors import HydraException
from hydra.experimental.callback import Callback
from omegaconf import DictConfig

from automata import hydra_compat
from automata.errors import AutomataError, ConfigError
from automata.hydra_compat import expand
from automata.passwords import redact

FAILED_FILE = "failed.txt"


def job_overrides(config: DictConfig) -> list[list[str]] | None:
    """The task overrides of every job of the sweep, as Hydra's basic sweeper expands them
    (None for sweeps it cannot expand, e.g. ranges of another sweeper)."""
    params = config.hydra.sweeper.get("params") or {}
    arguments = [f"{k}={v}" for k, v in params.items()]
    return expand([*arguments, *(str(o) for o in config.hydra.overrides.task)])


def check_jobs(configs: list[DictConfig]) -> None:
    """Refuse a sweep that cannot do what it is asked, before any job runs.

    - every job has invalid settings: the first job's error;
    - several jobs share one study (same ``tuning.storage`` and ``tuning.study_name``) and would
      each retrain the final model, on whatever part of the study it sees then.
    """
    from automata.config import check
    from automata.run import build_components  # torch: imported only when a sweep starts

    errors: list[str] = []
    for cfg in configs:
        try:
            build_components(cfg, check(cfg))
        except AutomataError as exc:
            errors.append(str(exc))
    if configs and len(errors) == len(configs):
        others = len(set(errors)) - 1
        more = f" (and {others} other error(s) in other jobs)" if others else ""
        raise ConfigError(f"every job of this sweep has invalid settings: {errors[0]}{more}")

    shared: dict[tuple[str, str], int] = {}
    for cfg in configs:
        if cfg.tuning.storage and cfg.tuning.final_train:
            key = (str(cfg.tuning.storage), str(cfg.tuning.study_name))
            shared[key] = shared.get(key, 0) + 1
    for (storage, name), jobs in shared.items():
        if jobs > 1:
            raise ConfigError(
                f"{jobs} jobs of this sweep share study '{name}' ({redact(storage)}) and each "
                "would retrain the final model: add tuning.final_train=false, and run the final "
                "training once afterwards (the same command without -m and the sweep)"
            )


class SweepChecks(Callback):
    """Checks every job's settings when a sweep starts; lists failed jobs when it ends, and
    then ends the process with status 1."""

    def __init__(self) -> None:
        self.started = time.time()
        self.jobs: int | None = None

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        from hydra import compose

        hydra_compat.config_composed()
        self.started = time.time()
        jobs = job_overrides(config)
        if jobs is None:
            return
        self.jobs = len(jobs)
        config_name = kwargs.get("config_name") or "config"
        # The user's config folders (hydra.searchpath) are an override of Hydra's, not a task's.
        searchpath = [
            str(o) for o in config.hydra.overrides.hydra if str(o).startswith("hydra.searchpath=")
        ]
        try:
            configs = [compose(config_name, overrides=[*job, *searchpath]) for job in jobs]
        except HydraException:
            # Composed otherwise than the sweeper will (its sweep values are checked when the
            # sweep's config is composed): the sweeper reports what it finds.
            return
        try:
            check_jobs(configs)
        except AutomataError as exc:
            print(f"error: {redact(str(exc))}", file=sys.stderr)
            sys.exit(2)

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        sweep_dir = Path(str(config.hydra.sweep.dir))
        failed = sorted(
            (str(path.parent.relative_to(sweep_dir)), path.read_text().strip())
            for path in sweep_dir.rglob(FAILED_FILE)
            if path.stat().st_mtime >= self.started - 1
        )
        if failed:
            of = f" of {self.jobs}" if self.jobs else ""
            lines = [f"error: {len(failed)}{of} jobs of this sweep failed:"]
            lines += [f"  {where}: {message}" for where, message in failed]
            print("\n".join(lines), file=sys.stderr)
            # The last callback to end (Hydra ends them in reverse order, and this one is the
            # first of conf/config.yaml's): the exit status says that the sweep failed.
            sys.exit(1)


def record_failure(run_dir: Path, message: str) -> None:
    """Leave a failed job's one-line error in its run directory (read at the sweep's end)."""
    (run_dir / FAILED_FILE).write_text(f"{message}\n")


def clear_failure(run_dir: Path) -> None:
    """A job that runs again starts without the failure of an earlier attempt."""
    (run_dir / FAILED_FILE).unlink(missing_ok=True)
