"""One AUTOMATA run: data -> study -> final model -> outputs.

:func:`run` is a plain function of the composed config (the Hydra entrypoint stays thin), so
tests, benchmarks and scripts call it directly. It checks every setting before any data is read
(:func:`build_components`), then hands each step only the config sections it reads: the data
(``dataset``, ``model``), the study (``tuning``, with the fingerprint of the settings that give
its trials their meaning), the final model (what the study's objective trains) and the outputs
(``summary.json``, ``report.md``, TensorBoard).
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import optuna
import torch
from omegaconf import DictConfig, OmegaConf
from optuna.trial import FrozenTrial

from automata.build import build
from automata.config import group_choices, validate
from automata.data.base import DataSplits, build_dataset
from automata.device import resolve_device, set_determinism
from automata.errors import ConfigError
from automata.models.contract import build_model
from automata.models.saved import FINAL_MODEL, save_model
from automata.run_outputs.progress import EpochProgress
from automata.run_outputs.report import write_report
from automata.run_outputs.summary import (
    CostModel,
    RunSummary,
    SchedulerRecord,
    SelectorRecord,
    trial_rows,
)
from automata.run_outputs.tensorboard import TensorBoardLog, TrialCurves
from automata.selection.base import Selector
from automata.selection.full import FullSelector
from automata.training.optimizers import check_names
from automata.tuning import search_space
from automata.tuning.fingerprint import fingerprint
from automata.tuning.objective import Objective, trial_settings
from automata.tuning.sampling import TrialSeededSampler, sampler_name
from automata.tuning.schedulers.base import Scheduler
from automata.tuning.storage import redact
from automata.tuning.study import Study, Tuned

log = logging.getLogger("automata")


class Components(NamedTuple):
    """The configured parts of a run: what each trial trains on, how trials are scheduled,
    and how configurations are proposed."""

    selector: Selector
    scheduler: Scheduler
    sampler: optuna.samplers.BaseSampler


@dataclass
class FinalModel:
    """The best configuration trained on the full data (all None/0 without it)."""

    val_accuracy: float | None = None
    test_accuracy: float | None = None
    seconds: float = 0.0
    full_epoch_seconds: float | None = None
    path: Path | None = None  # the model's file (weights and what builds it again)


def run(cfg: DictConfig) -> RunSummary:
    """Tune, train the best configuration on the full data, write the outputs."""
    started = time.perf_counter()
    parts = build_components(cfg)
    device = set_up_process(str(cfg.device), bool(cfg.deterministic), cfg.threads)
    run_dir = output_dir(cfg.paths)
    choices = group_choices(cfg)
    (run_dir / "config.yaml").write_text(config_record(cfg, choices))
    study = Study.open(cfg.tuning, run_dir, parts.sampler, parts.scheduler, fingerprint(cfg))
    data = load_data(cfg.dataset, cfg.model)
    objective = Objective(trial_settings(cfg), cfg.space, data, parts.selector, device)
    if warning := objective.check_subset():
        log.warning("%s", warning)
    labels = {
        "dataset": data.name,
        "model": str(cfg.model._target_).rsplit(".", 1)[-1],
        "selector": parts.selector.name,
        "fraction": parts.selector.fraction,
        "scheduler": parts.scheduler.name,
        "search": sampler_name(parts.sampler),
    }
    tb = TensorBoardLog(run_dir / "tensorboard", enabled=bool(cfg.tuning.tensorboard))
    tuned = study.tune(
        objective, parts.scheduler, parts.sampler, labels, observers=[TrialCurves(tb)]
    )
    final_train = bool(cfg.tuning.final_train)
    best = study.best_trial(final_train)
    final = FinalModel()
    if best and final_train:
        final = train_final_model(objective, best, tb, run_dir / FINAL_MODEL)
    summary = summarize(parts, objective, study, tuned, best, final, labels, choices, started)
    write_outputs(run_dir, summary)
    return summary


def build_components(cfg: DictConfig) -> Components:
    """Instantiate and check everything configurable before any data is read."""
    validate(cfg)
    check_names(cfg)  # optimizer.name, train.lr_schedule: the registries' keys
    selector = build("selector", cfg.selector)
    if not isinstance(selector, Selector):
        raise ConfigError(f"selector: {cfg.selector._target_} is not a Selector")
    scheduler = build("scheduler", cfg.scheduler)
    if not isinstance(scheduler, Scheduler):
        raise ConfigError(f"scheduler: {cfg.scheduler._target_} is not a Scheduler")
    if scheduler.max_resource > int(cfg.train.epochs):
        raise ConfigError(
            f"scheduler.max_resource ({scheduler.max_resource}) must be <= train.epochs "
            f"({cfg.train.epochs})"
        )
    sampler = build("search", cfg.search)
    if not isinstance(sampler, optuna.samplers.BaseSampler):
        raise ConfigError(f"search: {cfg.search._target_} is not an Optuna sampler")
    if "seed" in cfg.search:
        # A seed per trial: a continued study draws what the uninterrupted one would have.
        search = cfg.search
        sampler = TrialSeededSampler(lambda s: build("search", search, seed=s), int(search.seed))
    search_space.check_space(cfg.space, cfg)
    device = resolve_device(str(cfg.device))
    if device.type != "cuda" and cfg.train.precision != "fp32":
        # Mixed precision is a CUDA feature here: on the CPU it would silently train fp32.
        raise ConfigError(
            f"train.precision={cfg.train.precision} needs a CUDA device, but device="
            f"{cfg.device} is {device.type} here; use train.precision=fp32"
        )
    return Components(selector, scheduler, sampler)


def set_up_process(device: str, deterministic: bool, threads: int | None) -> torch.device:
    """The device, deterministic kernels and the torch thread count of this process."""
    resolved = resolve_device(device)
    set_determinism(deterministic)
    if threads:
        # Several workers on one machine: give each a share of the cores, or OpenMP threads
        # of different processes contend and every step slows down many times.
        torch.set_num_threads(int(threads))
    return resolved


def output_dir(paths: DictConfig) -> Path:
    """``paths.output_dir`` if set, else Hydra's run directory, else ``outputs/``."""
    if paths.output_dir:
        path = Path(str(paths.output_dir))
    else:
        try:
            from hydra.core.hydra_config import HydraConfig

            path = Path(HydraConfig.get().runtime.output_dir)
        except ValueError:
            path = Path("outputs") / time.strftime("%Y-%m-%d/%H-%M-%S")
    path.mkdir(parents=True, exist_ok=True)
    return path


def config_record(cfg: DictConfig, choices: dict[str, str | None]) -> str:
    """``config.yaml`` of a run: the resolved config, and the option picked in each group
    under ``hydra.runtime.choices`` (where Hydra keeps them), so that a run that stops before
    its summary is still known by its options."""
    resolved = OmegaConf.to_container(cfg, resolve=True)
    assert isinstance(resolved, dict)
    record = {k: v for k, v in resolved.items() if k != "hydra"}
    record["hydra"] = {"runtime": {"choices": choices}}
    return redact(OmegaConf.to_yaml(record))


def load_data(dataset: DictConfig, model: DictConfig) -> DataSplits:
    """The data set, and a first build of the model on it (a bad model config fails here,
    before the study starts)."""
    data = build_dataset(dataset)
    log.info("data %s: %s, %d classes", data.name, data.sizes(), data.num_classes)
    for note in data.notes:
        log.info("data note: %s", note)
    build_model(model, data)
    return data


def train_final_model(
    objective: Objective, best: FrozenTrial, tb: TensorBoardLog, path: Path
) -> FinalModel:
    """Train the best configuration on the full data for T epochs and keep it at ``path``; its
    test accuracy is the run's result."""
    log.info("final training: best configuration (trial %d) on the full data", best.number)
    t1 = time.perf_counter()
    epochs, every = objective.epochs, objective.eval_every
    trainer = objective.trainer(best.params, selector=FullSelector())
    tb.reset("final")  # a rerun trains the final model again: one set of curves
    bar = EpochProgress(epochs, desc="final training")
    with bar.logging():
        for _ in range(epochs):
            res = trainer.run_epoch(
                validate=lambda _, after: after >= epochs or bool(every and after % every == 0)
            )
            bar.epoch()
            tb.epoch(
                "final",
                res.epoch,
                {"final/train_loss": res.train_loss, "final/val_accuracy": res.val_accuracy},
            )
    bar.close()
    final = FinalModel(
        val_accuracy=res.val_accuracy,
        test_accuracy=trainer.test_accuracy(),
        seconds=time.perf_counter() - t1,
        full_epoch_seconds=trainer.cost.train_seconds / max(1, trainer.cost.epochs),
        path=path,
    )
    tb.close()
    about = {
        "trial": best.number,
        "params": dict(best.params),
        "val_accuracy": final.val_accuracy,
        "test_accuracy": final.test_accuracy,
    }
    save_model(path, trainer.model, trainer.cfg.model, objective.data, about)
    return final


def summarize(
    parts: Components,
    objective: Objective,
    study: Study,
    tuned: Tuned,
    best: FrozenTrial | None,
    final: FinalModel,
    labels: dict[str, Any],
    choices: dict[str, str | None],
    started: float,
) -> RunSummary:
    """summary.json's content: results, times, costs and what produced them."""
    summary = RunSummary(
        dataset=objective.data.name,
        model=str(labels["model"]),
        choices=choices,
        best_params=best.params if best else None,
        best_trial=best.number if best else None,
        best_val_accuracy=best.value if best else None,
        final_test_accuracy=final.test_accuracy,
        final_val_accuracy=final.val_accuracy,
        tuning_seconds=tuned.tuning_seconds,
        final_train_seconds=final.seconds,
        total_seconds=time.perf_counter() - started,
        selection_setup_seconds=tuned.setup_seconds,
        selection_setup=tuned.setup,
        n_trials=study.counts(),
        selector=SelectorRecord.from_json(parts.selector.settings_for(objective.epochs)),
        search=sampler_name(parts.sampler),
        scheduler=SchedulerRecord.from_json(parts.scheduler.settings()),
        seed=int(objective.settings.seed),
        device=str(objective.device),
        threads=torch.get_num_threads(),
        torch=torch.__version__,
        cpu_capability=torch.backends.cpu.get_cpu_capability(),
        changed_settings=study.changed_settings,
        storage=redact(study.storage_url),
        study_name=study.name,
        run_dir=str(study.run_dir),
        trials=trial_rows(study.optuna),
        cost_model=CostModel(),
        final_model=final.path.name if final.path else None,
    )
    summary.cost_model = CostModel.of(
        summary.cost, summary.tuning_seconds, parts.selector.fraction, final.full_epoch_seconds
    )
    return summary


def write_outputs(run_dir: Path, summary: RunSummary) -> None:
    """summary.json and report.md, and the closing log lines."""
    summary.write(run_dir / "summary.json")
    write_report(run_dir / "report.md", summary)
    final_test, best = summary.final_test_accuracy, summary.best_val_accuracy
    log.info(
        "done: best val %s (trial %s), final test %s, tuning %.1f s, final training %.1f s",
        "-" if best is None else f"{best:.4f}",
        summary.best_trial,
        "-" if final_test is None else f"{final_test:.4f}",
        summary.tuning_seconds,
        summary.final_train_seconds,
    )
    log.info(
        "outputs: %s (report.md, summary.json, study.db, tensorboard/)", os.path.relpath(run_dir)
    )
