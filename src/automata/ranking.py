"""Ranking agreement: does tuning on a subset rank configurations as tuning on the full data does?

The quantity behind subset-based tuning (AUTOMATA, Sec. 5, and the rank-correlation figure
published with the reference code): if a selector's subsets order the configurations as the
full data does, the search and the scheduler pick the same winners at a fraction of the cost.

Protocol (``docs/reproduce.md``):

1. draw K configurations from the search space (``cfg.space``) with a seeded Optuna
   :class:`~optuna.samplers.RandomSampler` (``--config-seed``), once, for everybody;
2. evaluate every configuration to the end (``scheduler=none``, no early stopping) on the full
   data and on each selector's subsets, one study per selector, fraction and seed, each with
   ``tuning.n_trials=K`` and ``tuning.final_train=false``. The same K configurations reach
   every study enqueued in it through ``tuning.enqueue`` (``--via enqueue``, the default), or
   through :class:`FixedConfigurationsSampler` (``--via sampler``: the study's search is
   replaced by a sampler that proposes them in order);
3. for each selector, fraction and seed, compare the validation accuracies of the K
   configurations with those of the full-data study of the same seed: Kendall tau (tau-b,
   ties allowed) and Spearman rho (:mod:`automata.results.agreement`);
4. write ``ranking.json`` (everything, including the K configurations and every value) and
   ``ranking.csv`` (one row per selector, fraction and seed) into ``--out``.

Usage (argparse over Hydra's compose API; positional arguments are Hydra overrides, exactly as
for ``python -m automata``)::

    python -m automata.ranking experiment=tabular_dna --out outputs/ranking/dna
    python -m automata.ranking experiment=text_trec6 --k 27 --fractions 0.01 0.05 0.1 \\
        --selectors random craigpb gradmatchpb gradmatchpb:kappa=0.35 --seeds 0 1 2 \\
        --out outputs/ranking/trec6
    python -m automata.ranking dataset=dna train.epochs=3 --k 5 --fractions 0.1 \\
        --selectors random gradmatchpb --out /tmp/ranking

A selector spec is ``NAME`` or ``NAME:key=value[,key=value]`` (``selector.key=value``
overrides for that selector only), so ``gradmatchpb:kappa=0.35`` is GRAD-MATCH PB with warm
start. Configurations that fail in one study are left out of that study's correlations (the
pairs are the configurations both studies finished); a run that fails altogether is listed
under ``failed`` in ``ranking.json`` and makes the command exit with status 1.

This module is the protocol: the K configurations, the study configs, running them and the
command line. The statistics are :mod:`automata.results.agreement`'s.
:class:`FixedConfigurationsSampler` stays here until ``automata.tuning`` (its natural home, as
an Optuna sampler) is free to take it.
"""

from __future__ import annotations

import argparse
import csv
import inspect
import json
import logging
import math
import sys
import time
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import optuna
from hydra.errors import HydraException
from hydra.utils import get_method
from omegaconf import DictConfig, OmegaConf, open_dict

from automata.config import compose
from automata.errors import AutomataError
from automata.results.aggregate import mean_std
from automata.results.agreement import (
    Interval,
    ceiling_summary,
    cross_seed_summary,
    pair_statistics,
    rank_agreement,
)
from automata.run_outputs.summary import RunSummary, TrialRow
from automata.tuning import search_space

log = logging.getLogger("automata.ranking")

PLAN_FILE = "ranking_plan.json"
RESULT_FILE = "ranking.json"
CSV_FILE = "ranking.csv"
CSV_COLUMNS = [
    "dataset",
    "selector",
    "fraction",
    "kappa",
    "seed",
    "k",
    "n",
    "kendall_tau",
    "kendall_p",
    "spearman_rho",
    "spearman_p",
    "regret",
    "top_3",
    "run_dir",
]


# -- the K configurations -------------------------------------------------------------------
def draw_configurations(space: DictConfig, k: int, seed: int) -> list[dict[str, Any]]:
    """K configurations from ``space``, drawn by a seeded Optuna RandomSampler."""
    if k < 2:
        raise ValueError(f"--k must be >= 2 to rank configurations, got {k}")
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=seed))
    configs = []
    for _ in range(k):
        trial = study.ask()
        configs.append(search_space.suggest(trial, space))
        study.tell(trial, 0.0)
    return configs


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        try:
            return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-12)
        except (TypeError, ValueError):
            return False
    return bool(a == b)


def _configuration_of(
    params: dict[str, Any], configs: list[dict[str, Any]], taken: set[int]
) -> int | None:
    """The index of the first configuration not yet ``taken`` whose values ``params`` are."""
    for i, cfg in enumerate(configs):
        if (
            i not in taken
            and set(params) == set(cfg)
            and all(_same(params[key], cfg[key]) for key in cfg)
        ):
            return i
    return None


def values_by_configuration(
    trials: list[TrialRow], configs: list[dict[str, Any]]
) -> list[float | None]:
    """Validation score of each of ``configs`` in a run's trial rows (its summary's trials).

    Trials are matched on their parameters, not their numbers: a failed enqueued trial is
    replaced by a sampled one, which matches no configuration and is ignored.
    """
    out: list[float | None] = [None] * len(configs)
    for row in trials:
        if row.state != "complete" or row.value is None:
            continue
        i = _configuration_of(row.params, configs, {j for j, v in enumerate(out) if v is not None})
        if i is not None:
            out[i] = float(row.value)
    return out


def curves_by_configuration(
    trials: Sequence[optuna.trial.FrozenTrial], configs: list[dict[str, Any]], epochs: int
) -> list[list[float | None] | None]:
    """Each configuration's validation accuracy after every epoch 1..``epochs``, from the
    completed trials of a ranking study (their intermediate values: every epoch with
    ``train.eval_every=1``; None at an epoch that was not validated, and for a configuration
    no completed trial trained). Matched on parameters, as :func:`values_by_configuration`.

    Example:
        >>> from optuna.distributions import FloatDistribution
        >>> from optuna.trial import create_trial
        >>> t = create_trial(value=0.8, params={"lr": 0.1}, intermediate_values={1: 0.6, 2: 0.8},
        ...                  distributions={"lr": FloatDistribution(0.01, 1.0)})
        >>> curves_by_configuration([t], [{"lr": 0.5}, {"lr": 0.1}], epochs=3)
        [None, [0.6, 0.8, None]]
    """
    out: list[list[float | None] | None] = [None] * len(configs)
    for trial in trials:
        if trial.state != optuna.trial.TrialState.COMPLETE:
            continue
        i = _configuration_of(
            dict(trial.params), configs, {j for j, v in enumerate(out) if v is not None}
        )
        if i is not None:
            values = trial.intermediate_values
            out[i] = [
                float(values[e]) if e in values and values[e] is not None else None
                for e in range(1, epochs + 1)
            ]
    return out


def study_curves(
    storage: str, study_name: str, configs: list[dict[str, Any]], epochs: int
) -> list[list[float | None] | None]:
    """:func:`curves_by_configuration` of a ranking study read from its storage (a run's
    ``summary.json`` names both)."""
    study = optuna.load_study(study_name=study_name, storage=storage)
    return curves_by_configuration(study.get_trials(deepcopy=False), configs, epochs)


class FixedConfigurationsSampler(optuna.samplers.BaseSampler):
    """An Optuna sampler that proposes given configurations, one per trial, in order.

    The i-th new trial of the study gets ``configs[i % K]`` (a trial that failed and is retried
    moves on to the next configuration; after K the list starts again). Trials keep their
    configuration when the sampler is asked again for another parameter.

    Args:
        configs: ``[{param: value}, ...]``, the values the search space's distributions accept.

    Example:
        >>> s = FixedConfigurationsSampler([{"x": 0.1}, {"x": 0.2}])
        >>> study = optuna.create_study(sampler=s)
        >>> [study.ask().suggest_float("x", 0, 1) for _ in range(3)]
        [0.1, 0.2, 0.1]
    """

    def __init__(self, configs: list[dict[str, Any]]) -> None:
        if not configs:
            raise ValueError("FixedConfigurationsSampler needs at least one configuration")
        self.configs = [dict(c) for c in configs]
        self._assigned: dict[int, int] = {}

    def infer_relative_search_space(
        self, study: optuna.Study, trial: optuna.trial.FrozenTrial
    ) -> dict[str, optuna.distributions.BaseDistribution]:
        return {}

    def sample_relative(
        self,
        study: optuna.Study,
        trial: optuna.trial.FrozenTrial,
        search_space: dict[str, optuna.distributions.BaseDistribution],
    ) -> dict[str, Any]:
        return {}

    def sample_independent(
        self,
        study: optuna.Study,
        trial: optuna.trial.FrozenTrial,
        param_name: str,
        param_distribution: optuna.distributions.BaseDistribution,
    ) -> Any:
        if trial.number not in self._assigned:
            self._assigned[trial.number] = len(self._assigned) % len(self.configs)
        config = self.configs[self._assigned[trial.number]]
        if param_name not in config:
            raise ValueError(f"configuration has no value for '{param_name}'")
        return config[param_name]


# -- composing and running the studies -------------------------------------------------------
@dataclass
class SelectorSpec:
    """A selector of the comparison: config group option and its extra ``selector.*`` keys."""

    name: str
    options: dict[str, str] = field(default_factory=dict)

    @classmethod
    def parse(cls, text: str) -> SelectorSpec:
        name, _, rest = text.partition(":")
        options = {}
        for item in filter(None, rest.split(",")):
            key, eq, value = item.partition("=")
            if not eq:
                raise ValueError(f"selector spec '{text}': expected key=value, got '{item}'")
            options[key.strip()] = value.strip()
        if name == "full":
            raise ValueError("'full' is the reference of every comparison; do not list it")
        return cls(name.strip(), options)

    def overrides(self, fraction: float) -> list[str]:
        out = [f"selector={self.name}", f"selector.fraction={fraction}"]
        return out + [f"selector.{k}={v}" for k, v in self.options.items()]

    @property
    def label(self) -> str:
        extra = "".join(f"_{k}{v}" for k, v in self.options.items())
        return f"{self.name}{extra}"


def keep_accepted_keys(node: DictConfig) -> None:
    """Drop the keys a ``_target_`` does not accept (e.g. an experiment's ``selector.kappa``
    once ``selector=full``, or ``scheduler.bracket_order`` once ``scheduler=none``)."""
    params = inspect.signature(get_method(str(node._target_))).parameters
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return
    with open_dict(node):
        for key in [k for k in node.keys() if not str(k).startswith("_")]:
            if key not in params:
                del node[key]


def compose_run_config(
    overrides: Sequence[str],
    extra: Sequence[str],
    configs: list[dict[str, Any]],
    seed: int,
    out_dir: Path,
    via: str = "enqueue",
) -> DictConfig:
    """The config of one ranking study: ``overrides`` + ``extra``, no early stopping, the K
    configurations (``via`` ``sampler`` or ``enqueue``), no final training, outputs in
    ``out_dir``."""
    cfg = compose([*overrides, *extra, "scheduler=none", f"seed={seed}"])
    keep_accepted_keys(cfg.selector)
    keep_accepted_keys(cfg.scheduler)
    cfg.tuning.n_trials = len(configs)
    cfg.tuning.final_train = False
    cfg.tuning.tensorboard = False
    cfg.tuning.storage = None
    if via == "enqueue":
        cfg.tuning.enqueue = [dict(c) for c in configs]
    elif via == "sampler":
        cfg.search = OmegaConf.create(
            {
                "_target_": f"{__name__}.FixedConfigurationsSampler",
                "_convert_": "all",
                "configs": [dict(c) for c in configs],
            }
        )
    else:
        raise ValueError(f"--via must be sampler or enqueue, got '{via}'")
    cfg.paths.output_dir = str(out_dir)
    return cfg


def run_ranking(
    overrides: Sequence[str],
    out: Path,
    selectors: Sequence[SelectorSpec],
    fractions: Sequence[float],
    seeds: Sequence[int] = (0,),
    k: int = 27,
    config_seed: int = 0,
    via: str = "enqueue",
) -> dict[str, Any]:
    """Run the protocol and write ``ranking.json`` / ``ranking.csv`` into ``out``.

    Args:
        overrides: Hydra overrides shared by every study (``experiment=...``, ``train.epochs``).
        out: output folder; each study runs in ``out/runs/<selector>_f<fraction>/seed<seed>``.
        selectors: the subset selectors compared with the full data.
        fractions: subset sizes k / N.
        seeds: one full-data study and one study per selector and fraction for each seed.
        k: number of configurations.
        config_seed: seed of the RandomSampler drawing the configurations.
        via: how the configurations reach each study, ``sampler`` or ``enqueue``.

    Returns:
        The content written to ``ranking.json``.
    """
    from automata.run import run  # heavy (torch): imported when a ranking really runs

    out.mkdir(parents=True, exist_ok=True)
    base = compose(overrides)
    configs = draw_configurations(base.space, k, config_seed)
    experiment = OmegaConf.to_container(base.experiment) if base.get("experiment") else None
    result: dict[str, Any] = {
        "protocol": "ranking agreement: K fixed configurations trained to the end (no early "
        "stopping) on the full data and on each selector's subsets; Kendall tau-b "
        "and Spearman rho of the validation accuracies, per seed, against the "
        "full-data study of the same seed",
        "dataset": str(base.dataset.get("name", "?")),
        "experiment": experiment,
        "overrides": list(overrides),
        "k": k,
        "config_seed": config_seed,
        "via": via,
        "seeds": list(seeds),
        "fractions": list(fractions),
        "selectors": [s.label for s in selectors],
        "epochs": int(base.train.epochs),
        "configs": configs,
        "started": time.strftime("%Y-%m-%d %H:%M:%S"),
        "full": {},
        "entries": [],
        "failed": [],
    }
    (out / PLAN_FILE).write_text(json.dumps(result, indent=2, default=str) + "\n")

    def study(extra: list[str], seed: int, where: Path) -> tuple[list[float | None], RunSummary]:
        cfg = compose_run_config(overrides, extra, configs, seed, where, via)
        summary = run(cfg)
        return values_by_configuration(summary.trials, configs), summary

    full: dict[int, list[float | None]] = {}
    for seed in seeds:
        where = out / "runs" / "full" / f"seed{seed}"
        try:
            full[seed], _ = study(["selector=full"], seed, where)
            result["full"][str(seed)] = {"values": full[seed], "run_dir": str(where)}
        except Exception as exc:  # noqa: BLE001 - one broken study must not lose the others
            log.error("full-data study, seed %d failed: %s", seed, exc)
            result["failed"].append({"selector": "full", "seed": seed, "error": str(exc)})

    # The noise ceiling: the full data against itself under another seed.
    by_seed: dict[Hashable, Sequence[float | None]] = {s: v for s, v in full.items()}
    ceiling = ceiling_summary(by_seed) if len(full) >= 2 else None
    result["ceiling"] = _intervals(ceiling) if ceiling else None
    rows = []
    for spec in selectors:
        for fraction in fractions:
            per_seed: list[dict[str, Any]] = []
            kappa = None
            warm_full_epochs = 0
            for seed in seeds:
                where = out / "runs" / f"{spec.label}_f{fraction}" / f"seed{seed}"
                if seed not in full:
                    continue
                try:
                    values, summary = study(spec.overrides(fraction), seed, where)
                except Exception as exc:  # noqa: BLE001
                    log.error("%s fraction %s seed %d failed: %s", spec.label, fraction, seed, exc)
                    result["failed"].append(
                        {
                            "selector": spec.label,
                            "fraction": fraction,
                            "seed": seed,
                            "error": str(exc),
                        }
                    )
                    continue
                kappa = summary.selector.kappa
                warm_full_epochs = summary.selector.warm_full_epochs
                agree = rank_agreement(full[seed], values)
                tuning = pair_statistics(full[seed], values)
                agree = {**agree, "regret": tuning["regret"], "top_3": tuning["top_k"]}
                per_seed.append({"seed": seed, **agree, "values": values, "run_dir": str(where)})
                rows.append(
                    {
                        "dataset": result["dataset"],
                        "selector": spec.name,
                        "fraction": fraction,
                        "kappa": kappa,
                        "seed": seed,
                        "k": k,
                        **agree,
                        "run_dir": str(where),
                    }
                )
            if not per_seed:
                continue
            tau, tau_std = mean_std([p["kendall_tau"] for p in per_seed])
            rho, rho_std = mean_std([p["spearman_rho"] for p in per_seed])
            regrets = [p["regret"] for p in per_seed if p["regret"] is not None]
            tops = [p["top_3"] for p in per_seed if p["top_3"] is not None]
            subset: dict[Hashable, Sequence[float | None]] = {
                p["seed"]: p["values"] for p in per_seed
            }
            cross = cross_seed_summary(by_seed, subset) if len(full) >= 2 else None
            result["entries"].append(
                {
                    "selector": spec.name,
                    "label": spec.label,
                    "options": spec.options,
                    "fraction": fraction,
                    "kappa": kappa,
                    "warm_start": bool(kappa),
                    "warm_full_epochs": warm_full_epochs,
                    "kendall_tau": tau,
                    "kendall_tau_std": tau_std,
                    "spearman_rho": rho,
                    "spearman_rho_std": rho_std,
                    "regret": sum(regrets) / len(regrets) if regrets else None,
                    "top_3": sum(tops) / len(tops) if tops else None,
                    "cross_seed": _intervals(cross["across_seeds"]) if cross else None,
                    "tau_over_ceiling": _interval(cross["tau_over_ceiling"]) if cross else None,
                    "n_seeds": len(per_seed),
                    "per_seed": per_seed,
                }
            )
            log.info(
                "ranking %s fraction %s: Kendall tau %s, Spearman rho %s",
                spec.label,
                fraction,
                _fmt(tau),
                _fmt(rho),
            )

    result["finished"] = time.strftime("%Y-%m-%d %H:%M:%S")
    (out / RESULT_FILE).write_text(json.dumps(result, indent=2, default=str) + "\n")
    with (out / CSV_FILE).open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=CSV_COLUMNS, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    return result


def _fmt(x: float | None) -> str:
    return "-" if x is None else f"{x:.3f}"


def _interval(ci: tuple[float | None, float | None, int]) -> dict[str, float | int | None]:
    return {"mean": ci[0], "half": ci[1], "n_seeds": ci[2]}


def _intervals(figures: dict[str, Interval]) -> dict[str, Any]:
    """Each figure over pairs of distinct seeds, as ranking.json writes it."""
    return {fig: _interval(v) for fig, v in figures.items()}


def _fmt_interval(d: dict[str, Any] | None) -> str:
    if not d or d["mean"] is None:
        return "-"
    half = "" if d["half"] is None else f" ± {d['half']:.3f}"
    return f"{d['mean']:.3f}{half}"


def main(argv: Sequence[str] | None = None) -> int:
    """Command line (see the module docstring). Returns the exit status."""
    ap = argparse.ArgumentParser(
        prog="python -m automata.ranking",
        description="Ranking agreement between full-data and subset tuning (Kendall, Spearman).",
        epilog="Positional arguments are Hydra overrides, e.g. experiment=tabular_dna "
        "train.epochs=5.",
    )
    ap.add_argument("overrides", nargs="*", help="Hydra overrides shared by every study")
    ap.add_argument("--out", type=Path, required=True, help="output folder")
    ap.add_argument("--k", type=int, default=27, help="configurations to rank (default 27)")
    ap.add_argument(
        "--selectors",
        nargs="+",
        default=["random", "craigpb", "gradmatchpb"],
        help="subset selectors, NAME or NAME:key=value,... (default: random craigpb gradmatchpb)",
    )
    ap.add_argument("--fractions", nargs="+", type=float, default=[0.01, 0.05, 0.1])
    ap.add_argument("--seeds", nargs="+", type=int, default=[0])
    ap.add_argument(
        "--config-seed",
        type=int,
        default=0,
        help="seed of the RandomSampler drawing the K configurations",
    )
    ap.add_argument(
        "--via",
        choices=["sampler", "enqueue"],
        default="enqueue",
        help="how the K configurations reach each study (default: enqueue)",
    )
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="[%(asctime)s][%(name)s] %(message)s")
    try:
        specs = [SelectorSpec.parse(s) for s in args.selectors]
        result = run_ranking(
            args.overrides,
            args.out,
            specs,
            args.fractions,
            args.seeds,
            args.k,
            args.config_seed,
            args.via,
        )
    except (ValueError, AutomataError, HydraException) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"ranking agreement ({result['dataset']}, K={args.k}, seeds {args.seeds}):")
    ceiling = result["ceiling"]
    if ceiling:
        print(
            f"  {'noise ceiling (full vs full)':<40} Kendall tau {_fmt_interval(ceiling['tau'])}"
            f"  Spearman rho {_fmt_interval(ceiling['rho'])}  full-data regret "
            f"{_fmt_interval(ceiling['regret'])}  top-3 {_fmt_interval(ceiling['top_k'])}"
        )
    for e in result["entries"]:
        line = (
            f"  {e['label']:<24} fraction {e['fraction']:<6} Kendall tau "
            f"{_fmt(e['kendall_tau'])}  Spearman rho {_fmt(e['spearman_rho'])}  full-data "
            f"regret {_fmt(e['regret'])}  top-3 {_fmt(e['top_3'])}"
        )
        if e["cross_seed"]:
            line += (
                f"  across seeds: tau {_fmt_interval(e['cross_seed']['tau'])}, "
                f"tau / ceiling {_fmt_interval(e['tau_over_ceiling'])}"
            )
        print(line)
    print(f"wrote {args.out / RESULT_FILE} and {args.out / CSV_FILE}")
    if result["failed"]:
        print(
            f"{len(result['failed'])} studies failed (see 'failed' in ranking.json)",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
