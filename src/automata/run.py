"""One AUTOMATA run: data -> study -> final model -> outputs.

:func:`run` is a plain function of the composed config (the Hydra entrypoint stays thin), so
tests, benchmarks and scripts call it directly. The whole config is read in one place,
:func:`automata.config.check` (its keys and values, the options picked, ``config.yaml``, the
settings a trial trains with), and every setting is checked before any data is read
(:func:`build_components`); then each step gets the config sections it reads: the run's folder
(``paths``), the study (``tuning``, and the fingerprint of the settings that give its trials
their meaning), the data (``dataset``, ``model``), the objective the study tunes (the search
space and the trial settings), the final model, the outputs.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import optuna
import torch
from omegaconf import DictConfig
from optuna.trial import FrozenTrial

from automata.build import build
from automata.config import CheckedConfig, check
from automata.data.base import DataSplits, build_dataset
from automata.device import configure_process, resolve_device
from automata.errors import ConfigError
from automata.models.contract import build_model
from automata.models.saved import save_model
from automata.passwords import redact
from automata.run_outputs.folder import RunFolder
from automata.run_outputs.progress import EpochProgress
from automata.run_outputs.summary import (
    MODEL_ATTR,
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
from automata.training.trainer import Trainer
from automata.tuning import search_space
from automata.tuning.confirm import Confirmed, confirm
from automata.tuning.objective import Objective
from automata.tuning.sampling import TrialSeededSampler, sampler_name
from automata.tuning.schedulers.base import Scheduler
from automata.tuning.study import Study, Tuned

log = logging.getLogger("automata")


class Components(NamedTuple):
    """The configured parts of a run: what each trial trains on, how trials are scheduled,
    how configurations are proposed, and where tensors live."""

    selector: Selector
    scheduler: Scheduler
    sampler: optuna.samplers.BaseSampler
    device: torch.device


@dataclass
class FinalModel:
    """The best configuration trained on the full data (all None/0 without it)."""

    val_accuracy: float | None = None
    test_accuracy: float | None = None
    seconds: float = 0.0
    full_epoch_seconds: float | None = None
    path: Path | None = None  # the model's file (weights and what builds it again)
    trained: bool = True  # trained after the study (False: a model the study trained, kept)


def run(cfg: DictConfig) -> RunSummary:
    """Tune, train the best configuration on the full data, write the outputs."""
    started = time.perf_counter()
    checked = check(cfg)
    parts = build_components(cfg, checked)
    configure_process(bool(cfg.deterministic), cfg.threads, bool(cfg.flush_denormal))
    folder = RunFolder.create(cfg.paths, checked.record, bool(cfg.tuning.tensorboard))
    study = Study.open(cfg.tuning, folder.path, parts.sampler, parts.scheduler, checked.fingerprint)
    data = load_data(cfg.dataset, cfg.model)
    objective = Objective(checked.trial_settings, cfg.space, data, parts.selector, parts.device)
    folder.note_curves(objective.eval_every)
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
    curves = TrialCurves(folder.tensorboard)
    tuned = study.tune(objective, parts.scheduler, parts.sampler, labels, observers=[curves])
    final_train = bool(cfg.tuning.final_train)
    best = study.best_trial(final_train)
    confirmed = None
    if best and final_train and cfg.tuning.confirm_top_k:
        k, eta = int(cfg.tuning.confirm_top_k), parts.scheduler.eta
        tb = TensorBoardLog(folder.path / "tensorboard" / "confirm", folder.tensorboard.enabled)
        confirmed = confirm(
            study, objective, k, eta, checked.fingerprint, labels, [TrialCurves(tb)]
        )
        best = confirmed.best
    final = FinalModel()
    if best and final_train:
        final = train_final_model(objective, best, folder)
        if not cfg.tuning.keep_checkpoints:
            folder.drop_trial_models()
    summary = summarize(
        parts, objective, study, tuned, best, final, labels, checked, started, confirmed
    )
    folder.write(summary)
    return summary


def build_components(cfg: DictConfig, checked: CheckedConfig | None = None) -> Components:
    """Instantiate and check everything configurable before any data is read (``checked``:
    :func:`automata.config.check` of ``cfg``, done here when not given)."""
    checked = checked or check(cfg)
    check_names(cfg.optimizer, cfg.train)  # optimizer.name, train.lr_schedule: registries' keys
    selector = build("selector", cfg.selector)
    if not isinstance(selector, Selector):
        raise ConfigError(f"selector: {cfg.selector._target_} is not a Selector")
    scheduler = build("scheduler", cfg.scheduler)
    if not isinstance(scheduler, Scheduler):
        raise ConfigError(f"scheduler: {cfg.scheduler._target_} is not a Scheduler")
    if scheduler.epochs > int(cfg.train.epochs):
        raise ConfigError(
            f"scheduler.max_resource ({scheduler.epochs}) must be <= train.epochs "
            f"({cfg.train.epochs})"
        )
    if scheduler.data_rungs and selector.is_full:
        raise ConfigError(
            f"scheduler={scheduler.name} grows the data across its rungs, which selector=full "
            "cannot: use scheduler=hyperband (or another over epochs) for full-data tuning"
        )
    search = cfg.search
    sampler = build("search", search)
    if not isinstance(sampler, optuna.samplers.BaseSampler):
        raise ConfigError(f"search: {search._target_} is not an Optuna sampler")
    if "seed" in search:
        # A seed per trial: a continued study draws what the uninterrupted one would have.
        sampler = TrialSeededSampler(lambda s: build("search", search, seed=s), int(search.seed))
    search_space.check_space(cfg.space, checked.trial_settings, checked.choices)
    device = resolve_device(str(cfg.device))
    if device.type != "cuda" and cfg.train.precision != "fp32":
        # Mixed precision is a CUDA feature here: on the CPU it would silently train fp32.
        raise ConfigError(
            f"train.precision={cfg.train.precision} needs a CUDA device, but device="
            f"{cfg.device} is {device.type} here; use train.precision=fp32"
        )
    return Components(selector, scheduler, sampler, device)


def load_data(dataset: DictConfig, model: DictConfig) -> DataSplits:
    """The data set, and a first build of the model on it (a bad model config fails here,
    before the study starts)."""
    data = build_dataset(dataset)
    log.info("data %s: %s, %d classes", data.name, data.sizes(), data.num_classes)
    for note in data.notes:
        log.info("data note: %s", note)
    build_model(model, data)
    return data


def train_final_model(objective: Objective, best: FrozenTrial, folder: RunFolder) -> FinalModel:
    """The best configuration trained on the full data for T epochs, kept in the run's folder
    (``final_model.pt``); its test accuracy is the run's result. A study whose last rung is
    the full data trained it already (its model was kept): it is taken, not trained twice."""
    kept = best.user_attrs.get(MODEL_ATTR)
    if kept and Path(kept).is_file():
        log.info(
            "final model: the best configuration (trial %d), trained on the full data "
            "at the last rung",
            best.number,
        )
        t1 = time.perf_counter()
        trainer = objective.trainer(best.params, selector=FullSelector())
        trainer.load(Path(kept))
        final = FinalModel(
            val_accuracy=best.value,
            test_accuracy=trainer.test_accuracy(),
            seconds=time.perf_counter() - t1,
            full_epoch_seconds=trainer.cost.train_seconds / max(1, trainer.cost.epochs),
            path=folder.final_model,
            trained=False,
        )
    else:
        if kept:
            log.warning(
                "final training: the model of trial %d (%s) is gone: training it again",
                best.number,
                kept,
            )
        final, trainer = _train_on_full_data(objective, best, folder)
    about = {
        "trial": best.number,
        "params": dict(best.params),
        "val_accuracy": final.val_accuracy,
        "test_accuracy": final.test_accuracy,
    }
    save_model(folder.final_model, trainer.model, trainer.cfg.model, objective.data, about)
    return final


def _train_on_full_data(
    objective: Objective, best: FrozenTrial, folder: RunFolder
) -> tuple[FinalModel, Trainer]:
    log.info("final training: best configuration (trial %d) on the full data", best.number)
    t1 = time.perf_counter()
    epochs, every, tb = objective.epochs, objective.eval_every, folder.tensorboard
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
        path=folder.final_model,
    )
    tb.close()
    return final, trainer


def summarize(
    parts: Components,
    objective: Objective,
    study: Study,
    tuned: Tuned,
    best: FrozenTrial | None,
    final: FinalModel,
    labels: dict[str, Any],
    checked: CheckedConfig,
    started: float,
    confirmed: Confirmed | None = None,
) -> RunSummary:
    """summary.json's content: results, times, costs and what produced them."""
    confirm_rows, confirm_seconds, best_number = [], 0.0, best.number if best else None
    if confirmed is not None and best is not None:
        confirm_rows = trial_rows(confirmed.study)
        confirm_seconds = confirmed.tuned.tuning_seconds
        best_number = confirmed.origin.get(best.number, best.number)
    summary = RunSummary(
        dataset=objective.data.name,
        model=str(labels["model"]),
        choices=checked.choices,
        best_params=best.params if best else None,
        best_trial=best_number,
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
        final_trained=final.trained and final.path is not None,
        confirm_trials=confirm_rows,
        confirm_seconds=confirm_seconds,
    )
    fraction = None if parts.scheduler.data_rungs else parts.selector.fraction
    summary.cost_model = CostModel.of(
        summary.cost, summary.tuning_seconds, fraction, final.full_epoch_seconds
    )
    return summary
