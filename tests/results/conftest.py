"""Many runs to aggregate, made once per session: tiny but real runs (dna, 3 trials of 2
epochs, no early stopping; full, random and gradmatchpb, 2 seeds), a run directory without
summary.json standing for a crashed run, ranking results, and the report built from them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from automata.results import build_results
from automata.run import run

from ..conftest import compose_config, tiny_run

SELECTORS = {
    "full": ["selector=full"],
    "random": ["selector=random", "selector.fraction=0.1"],
    "gradmatchpb": ["selector=gradmatchpb", "selector.fraction=0.1"],
}
SEEDS = (0, 1)


@pytest.fixture(scope="session")
def sweep(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """6 finished runs plus one crashed run (random, seed 2: config.yaml, no summary.json)."""
    root = tmp_path_factory.mktemp("sweep")
    for name, over in SELECTORS.items():
        for seed in SEEDS:
            out = root / f"{name}_seed{seed}"
            run(
                compose_config(
                    tiny_run(
                        "dataset=dna",
                        "tuning.n_trials=3",
                        "train.epochs=2",
                        "scheduler=none",
                        *over,
                        f"seed={seed}",
                        f"paths.output_dir={out}",
                        f"paths.data_dir={root / 'data'}",
                    )
                )
            )
    broken = root / "crashed" / "random_seed2"
    broken.mkdir(parents=True)
    cfg = yaml.safe_load((root / "random_seed0" / "config.yaml").read_text())
    cfg["seed"] = 2
    (broken / "config.yaml").write_text(yaml.safe_dump(cfg))
    (broken / "__main__.log").write_text(
        "[2026-01-01 00:00:00,000][automata][ERROR] - no trial completed (see the log)\n"
    )
    return root


@pytest.fixture(scope="session")
def ranking_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A ranking.json as automata.ranking writes it (numbers made up), and a ranking folder
    whose run never finished (plan, no result)."""
    root = tmp_path_factory.mktemp("rankings")
    done = root / "dna"
    done.mkdir()
    entry = {
        "selector": "random",
        "label": "random",
        "fraction": 0.1,
        "kappa": 0.0,
        "kendall_tau": 0.5,
        "kendall_tau_std": None,
        "spearman_rho": 0.6,
        "spearman_rho_std": None,
        "n_seeds": 1,
        "per_seed": [],
    }
    result = {"dataset": "dna", "k": 5, "epochs": 2, "entries": [entry], "failed": []}
    (done / "ranking.json").write_text(json.dumps(result))
    (done / "ranking_plan.json").write_text(json.dumps(result))
    # the ranking's own studies live below it and must not count as tuning runs
    (done / "runs" / "full" / "seed0").mkdir(parents=True)
    (done / "runs" / "full" / "seed0" / "config.yaml").write_text("seed: 0\n")
    unfinished = root / "satimage"
    unfinished.mkdir()
    (unfinished / "ranking_plan.json").write_text(json.dumps({"dataset": "satimage"}))
    return root


@pytest.fixture(scope="session")
def report(sweep: Path, ranking_dir: Path, tmp_path_factory: pytest.TempPathFactory):
    out = tmp_path_factory.mktemp("report")
    return build_results([sweep, ranking_dir], out=out, plots=True, notes=["a test note"])
