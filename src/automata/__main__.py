"""Command line: ``python -m automata [group=option ...] [key=value ...] [-m]``.

Examples::

    python -m automata                          # dna, MLP, TPE + Hyperband, gradmatchpb 10%
    python -m automata selector=random selector.fraction=0.3 seed=1
    python -m automata -m selector=full,random,gradmatchpb seed=0,1
    python -m automata --cfg job                         # print the composed config
"""

from __future__ import annotations

import logging
import sys

import hydra
from omegaconf import DictConfig

from automata.config import conf_dir, register_configs
from automata.errors import AutomataError

register_configs()
log = logging.getLogger("automata")


@hydra.main(version_base="1.3", config_path=str(conf_dir()), config_name="config")
def main(cfg: DictConfig) -> float | None:
    from automata.run import run  # imported here so `--help` and config errors stay fast

    try:
        summary = run(cfg)
    except AutomataError as exc:
        log.error("%s", exc)
        print(f"error: {exc}", file=sys.stderr)
        if _multirun():
            return None  # one failed job of a sweep: the others still run (no summary.json)
        sys.exit(2)
    return summary["best_val_accuracy"]


def _multirun() -> bool:
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    try:
        return HydraConfig.get().mode == RunMode.MULTIRUN
    except ValueError:
        return False


if __name__ == "__main__":
    main()
