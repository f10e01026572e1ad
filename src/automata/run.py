"""One AUTOMATA run: data -> tuner(search, scheduler, selector) -> final training -> report.

:func:`run` is a plain function of the composed config (the Hydra entrypoint stays thin), so
tests, benchmarks and scripts call it directly. It is a few named steps, in this order:
:func:`build_components` (everything configurable, checked before any data is read),
:func:`set_up_process`, :func:`open_study` (refusing a study tuned with other settings),
:func:`load_data`, :func:`tune`, :func:`best_trial`, :func:`final_training`, then
:func:`summarize` and :func:`write_outputs`.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import optuna
import torch
from omegaconf import DictConfig, OmegaConf
from optuna.trial import FrozenTrial

from automata.build import build
from automata.config import group_choices, validate
from automata.data.base import DataSplits, build_dataset
from automata.device import resolve_device, set_determinism
from automata.errors import AutomataError, ConfigError
from automata.run_outputs.progress import EpochProgress
from automata.run_outputs.report import write_report
from automata.run_outputs.summary import (
    CostModel,
    RunSummary,
    SchedulerRecord,
    SelectorRecord,
    TrialCounts,
    trial_rows,
)
from automata.run_outputs.tensorboard import TensorBoardLog, TrialCurves
from automata.selection.base import Selector, setup_dir
from automata.selection.full import FullSelector
from automata.training.optimizers import check_names
from automata.training.trainer import Trainer, build_model
from automata.tuning import search_space, study_info
from automata.tuning.engine import StudyEngine, wait_for_running_trials
from automata.tuning.schedulers.base import Scheduler
from automata.tuning.storage import make_storage

log = logging.getLogger("automata")


def output_dir(cfg: DictConfig) -> Path:
    """``paths.output_dir`` if set, else Hydra's run directory, else ``outputs/``."""
    if cfg.paths.output_dir:
        path = Path(str(cfg.paths.output_dir))
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
    return OmegaConf.to_yaml(record)


def default_storage(run_dir: Path) -> str:
    return f"sqlite:///{(run_dir / 'study.db').resolve()}"


class Components(NamedTuple):
    """The configured parts of a run: what each trial trains on, how trials are scheduled,
    and how configurations are proposed."""

    selector: Selector
    scheduler: Scheduler
    sampler: optuna.samplers.BaseSampler


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
    search_space.check_space(cfg.space, cfg)
    device = resolve_device(str(cfg.device))
    if device.type != "cuda" and cfg.train.precision != "fp32":
        # Mixed precision is a CUDA feature here: on the CPU it would silently train fp32.
        raise ConfigError(
            f"train.precision={cfg.train.precision} needs a CUDA device, but device="
            f"{cfg.device} is {device.type} here; use train.precision=fp32"
        )
    return Components(selector, scheduler, sampler)


@dataclass
class OpenedStudy:
    """The run's Optuna study, where it is stored, and the settings it was continued with
    that differ from those it started with."""

    study: optuna.Study
    storage_url: str
    changed_settings: list[str]


@dataclass
class Tuned:
    """What tuning left besides the study: the selection set-up and the times."""

    host: str
    setup: dict[str, float | str]
    setup_seconds: float
    tuning_seconds: float


@dataclass
class FinalTraining:
    """The best configuration retrained on the full data (all None/0 without it)."""

    val_accuracy: float | None = None
    test_accuracy: float | None = None
    seconds: float = 0.0
    full_epoch_seconds: float | None = None


def run(cfg: DictConfig) -> RunSummary:
    """Tune, retrain the best configuration on the full data, write the outputs."""
    t_start = time.perf_counter()
    parts = build_components(cfg)
    device = set_up_process(cfg)
    run_dir = output_dir(cfg)
    choices = group_choices(cfg)
    (run_dir / "config.yaml").write_text(config_record(cfg, choices))
    opened = open_study(cfg, run_dir, parts)
    data = load_data(cfg)
    tb = TensorBoardLog(run_dir / "tensorboard", enabled=bool(cfg.tuning.tensorboard))
    tuned = tune(cfg, data, opened, parts, device, run_dir, tb)
    best = best_trial(cfg, opened.study, tuned.host)
    final = final_training(cfg, data, best, device, tb) if best and cfg.tuning.final_train else None
    summary = summarize(
        cfg,
        parts,
        data,
        opened,
        tuned,
        best,
        final or FinalTraining(),
        choices=choices,
        device=device,
        run_dir=run_dir,
        started=t_start,
    )
    write_outputs(run_dir, summary)
    return summary


def set_up_process(cfg: DictConfig) -> torch.device:
    """The device, deterministic kernels and the torch thread count of this process."""
    device = resolve_device(str(cfg.device))
    set_determinism(bool(cfg.deterministic))
    if cfg.threads:
        # Several workers on one machine: give each a share of the cores, or OpenMP threads
        # of different processes contend and every step slows down many times.
        torch.set_num_threads(int(cfg.threads))
    return device


def open_study(cfg: DictConfig, run_dir: Path, parts: Components) -> OpenedStudy:
    """Create the study in its storage, or load it to continue, and refuse to continue one
    tuned with other settings (before any data is read)."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    storage_url = str(cfg.tuning.storage or default_storage(run_dir))
    storage = make_storage(storage_url, cfg.tuning.heartbeat_interval, cfg.tuning.grace_period)
    study = optuna.create_study(
        storage=storage,
        study_name=str(cfg.tuning.study_name),
        sampler=parts.sampler,
        pruner=parts.scheduler.pruner(),
        direction="maximize",
        load_if_exists=True,
    )
    # A study continued with other settings would credit its trials to the new ones.
    changed_settings = study_info.check_settings(study, cfg)
    return OpenedStudy(study, storage_url, changed_settings)


def load_data(cfg: DictConfig) -> DataSplits:
    """The data set, and a first build of the model on it (a bad model config fails here,
    before the study starts)."""
    data = build_dataset(cfg.dataset)
    log.info("data %s: %s, %d classes", data.name, data.sizes(), data.num_classes)
    for note in data.notes:
        log.info("data note: %s", note)
    build_model(cfg, data)
    return data


def tune(
    cfg: DictConfig,
    data: DataSplits,
    opened: OpenedStudy,
    parts: Components,
    device: torch.device,
    run_dir: Path,
    tb: TensorBoardLog,
) -> Tuned:
    """Run the scheduler's trials on the study: label it, reseed a continued or parallel
    sampler, enqueue fixed configurations, prepare the selector once, then tune."""
    study = opened.study
    selector, scheduler, sampler = parts
    study_info.describe(
        study,
        {
            "dataset": data.name,
            "model": str(cfg.model._target_).rsplit(".", 1)[-1],
            "selector": selector.name,
            "fraction": selector.fraction,
            "scheduler": scheduler.name,
            "search": type(sampler).__name__,
        },
    )
    resumed_study = len(study.trials) > 0
    if resumed_study or int(cfg.tuning.worker) > 0:
        # Same seed, same sampler stream: without a reseed, a resumed study or a second worker
        # would propose the configurations that the first already tried.
        sampler.reseed_rng()
    if cfg.tuning.enqueue and not study.trials:
        # A fixed set of configurations evaluated first (e.g. the ranking-agreement protocol).
        for params in cfg.tuning.enqueue:
            fixed = OmegaConf.to_container(params, resolve=True)
            if not isinstance(fixed, dict):
                raise ConfigError(f"tuning.enqueue: each entry must be a mapping, got {fixed}")
            study.enqueue_trial({str(k): v for k, v in fixed.items()}, skip_if_exists=True)
    progress = EpochProgress(
        scheduler.planned_epochs(int(cfg.tuning.n_trials)),
        initial=sum(t.last_step or 0 for t in study.trials if t.state.name != "FAIL"),
    )
    engine = StudyEngine(
        cfg,
        data,
        selector,
        study,
        device,
        run_dir,
        observers=[TrialCurves(tb)],
        synchronous=scheduler.synchronous,
        decision_epochs=scheduler.decision_epochs(),
        progress=progress,
    )
    if resumed_study:
        log.info(
            "continuing study '%s' (%d trials so far, %d to resume)",
            study.study_name,
            len(study.trials),
            len(engine._replay)
            if not scheduler.synchronous
            else sum(t.state.name == "RUNNING" for t in study.trials),
        )
    log.info(
        "tuning: %d trials, selector %s (fraction %.3g), search %s, scheduler %s, device %s",
        cfg.tuning.n_trials,
        selector.name,
        selector.fraction,
        type(sampler).__name__,
        scheduler.name,
        device,
    )
    t0 = time.perf_counter()
    # Shared selection set-up (e.g. MILO's orderings), once per run: part of the tuning time.
    setup_at = setup_dir(opened.storage_url, run_dir)
    setup = selector.prepare(data, setup_at, int(cfg.seed), device)
    setup_seconds = time.perf_counter() - t0
    try:
        with progress.logging():
            scheduler.run(engine)
    finally:
        engine.close()
        if engine.epochs_trained:  # a rerun of a finished study keeps the time it recorded
            study_info.add_tuning_seconds(study, int(cfg.tuning.worker), time.perf_counter() - t0)
    return Tuned(engine.host, setup, setup_seconds, study_info.tuning_seconds(study))


def best_trial(cfg: DictConfig, study: optuna.Study, host: str) -> FrozenTrial | None:
    """The study's best trial, read once every worker's trials are in the storage when the
    final training needs it. None for a worker (no final training) that stops before any
    trial of the study has completed while other workers still run some: the final process
    reports the best."""
    if cfg.tuning.final_train:
        wait_for_running_trials(study, host)
    try:
        return study.best_trial
    except ValueError:
        n = TrialCounts.of(study.get_trials(deepcopy=False))
        if not cfg.tuning.final_train and n.running:
            log.info("no trial of the study has completed yet (%s); other workers run on", n)
            return None
        raise AutomataError(
            f"no trial completed ({n}); see the failure reasons in the log"
        ) from None


def final_training(
    cfg: DictConfig, data: DataSplits, best: FrozenTrial, device: torch.device, tb: TensorBoardLog
) -> FinalTraining:
    """Train the best configuration on the full data for T epochs; its test accuracy is the
    run's result."""
    log.info("final training: best configuration (trial %d) on the full data", best.number)
    t1 = time.perf_counter()
    best_cfg = search_space.apply(cfg, cfg.space, best.params)
    epochs = int(cfg.train.epochs)
    every = cfg.train.get("eval_every")
    trainer = Trainer(best_cfg, data, FullSelector(), device, epochs)
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
    final = FinalTraining(
        val_accuracy=res.val_accuracy,
        test_accuracy=trainer.test_accuracy(),
        seconds=time.perf_counter() - t1,
        full_epoch_seconds=trainer.cost.train_seconds / max(1, trainer.cost.epochs),
    )
    tb.close()
    return final


def summarize(
    cfg: DictConfig,
    parts: Components,
    data: DataSplits,
    opened: OpenedStudy,
    tuned: Tuned,
    best: FrozenTrial | None,
    final: FinalTraining,
    *,
    choices: dict[str, str | None],
    device: torch.device,
    run_dir: Path,
    started: float,
) -> RunSummary:
    """summary.json's content: results, times, costs and what produced them."""
    study = opened.study
    rows = trial_rows(study)
    summary = RunSummary(
        dataset=data.name,
        model=str(cfg.model._target_).rsplit(".", 1)[-1],
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
        n_trials=TrialCounts.of(study.get_trials(deepcopy=False)),
        selector=SelectorRecord.from_json(parts.selector.describe_for(int(cfg.train.epochs))),
        search=type(parts.sampler).__name__,
        scheduler=SchedulerRecord.from_json(parts.scheduler.describe()),
        seed=int(cfg.seed),
        device=str(device),
        threads=torch.get_num_threads(),
        torch=torch.__version__,
        cpu_capability=torch.backends.cpu.get_cpu_capability(),
        changed_settings=opened.changed_settings,
        storage=opened.storage_url,
        study_name=str(cfg.tuning.study_name),
        run_dir=str(run_dir),
        trials=rows,
        cost_model=CostModel(),
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
