"""Command line: ``automata [group=option ...] [key=value ...] [-m]`` (or ``python -m automata``).

Examples::

    automata                                    # dna, MLP, TPE + Hyperband, gradmatchpb 10%
    automata selector=random selector.fraction=0.3 seed=1
    automata -m selector=full,random,gradmatchpb seed=0,1
    automata --cfg job                          # print the composed config

Exit status: 0 done; 2 invalid settings or data (one line on stderr); 1 a sweep in which some
jobs failed (listed at its end); 130 interrupted (Ctrl-C): rerun the same command to continue.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import hydra
from omegaconf import DictConfig

from automata import sweep
from automata.config import conf_dir, register_configs
from automata.errors import AutomataError

register_configs()
log = logging.getLogger("automata")

INTERRUPTED = "interrupted: rerun the same command to continue"


@hydra.main(version_base="1.3", config_path=str(conf_dir()), config_name="config")
def _task(cfg: DictConfig) -> float | None:
    from automata.run import run  # imported here so `--help` and config errors stay fast
    from automata.tuning.search_space import overridden_by_space

    multirun = _multirun()
    if multirun:
        sweep.clear_failure(_job_dir())
    for warning in overridden_by_space(cfg.space, _task_overrides()):
        log.warning("%s", warning)
    try:
        summary = run(cfg)
    except AutomataError as exc:
        log.error("%s", exc)
        print(f"error: {exc}", file=sys.stderr)
        if multirun:
            # One failed job of a sweep: the others still run, and the sweep lists it at its
            # end and exits non-zero.
            sweep.record_failure(_job_dir(), exc)
            return None
        sys.exit(2)
    return summary.best_val_accuracy


def main() -> None:
    """The ``automata`` command (and ``python -m automata``)."""
    try:
        _task()
    except KeyboardInterrupt:
        # The study is in its storage: a rerun continues it (the interrupted trial resumes).
        print(INTERRUPTED, file=sys.stderr)
        sys.exit(130)
    if sweep.failed_jobs:
        sys.exit(1)


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
