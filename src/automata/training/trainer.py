"""One configuration's training, epoch by epoch (AUTOMATA Algorithm 2, subset-config-evaluation).

A :class:`Trainer` owns a model, its optimizer and lr schedule, the current weighted subset and
the random state of the trial. :meth:`Trainer.run_epoch` trains one epoch and
evaluates on the validation set when asked, so a tuning loop can report to a live Optuna trial
and stop, pause (:meth:`Trainer.save`) or resume (:meth:`Trainer.load`) it; the checkpoint file
is the trainer's own format (:meth:`Trainer.records` reads a trial's cost from one).
Random state is per trainer: interleaving trials (synchronous SHA) does not change any result.
Validation is the caller's choice per epoch (the tuning engine validates where a scheduler
decides, not after every epoch).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from omegaconf import DictConfig
from torch import nn

from automata.data.base import DataSplits
from automata.device import move_to, synchronize
from automata.errors import TrialDiverged
from automata.models import contract
from automata.run_outputs.summary import TrialCost
from automata.selection.base import EpochPlan, SelectionContext, Selector, Subset
from automata.training.loop import evaluate, iter_batches, weighted_loss
from automata.training.optimizers import build_lr_schedule, build_optimizer


@dataclass
class EpochResult:
    epoch: int  # epochs trained so far, this one included (1-based)
    train_loss: float
    val_accuracy: float | None  # None: not validated after this epoch
    val_loss: float | None
    subset_size: int
    full_data: bool  # trained on all examples (warm start or the full selector)
    warm: bool  # a warm-start epoch (it may stand in for several plan epochs)
    selected: bool  # a selection round ran before this epoch
    selection_seconds: float
    train_seconds: float
    eval_seconds: float
    selection_stats: dict[str, float] = field(default_factory=dict)
    #: plan epochs this epoch advanced the configuration by (a warm-start epoch on the full
    #: data may stand in for several)
    advanced: int = 1
    #: the epoch's cost in full-data epochs (examples trained on / training-set size)
    full_equivalent: float = 1.0

    def scalars(self) -> dict[str, float | None]:
        """The epoch's curves (TensorBoard tags): loss, validation, subset size, times, and
        the selection's statistics when a round ran before it."""
        out: dict[str, float | None] = {
            "train/loss": self.train_loss,
            "val/accuracy": self.val_accuracy,
            "val/loss": self.val_loss,
            "subset/size": float(self.subset_size),
            "time/selection_seconds": self.selection_seconds,
            "time/train_seconds": self.train_seconds,
        }
        if self.selected:
            for key in ("matching_error", "gradient_seconds", "solver_seconds", "shortfall"):
                if key in self.selection_stats:
                    out[f"selection/{key}"] = self.selection_stats[key]
        return out


class Trainer:
    """Train one configuration on the subsets its selector chooses.

    Args:
        cfg: the trial's composed config (search-space values already applied).
        data: the dataset splits.
        selector: the configured selector (``FullSelector`` for final training).
        device: where to train.
        total_epochs: T, the epochs of the training plan (warm start, selection rounds) and of
            the lr schedule (cosine: to 0 over T).
    """

    def __init__(
        self,
        cfg: DictConfig,
        data: DataSplits,
        selector: Selector,
        device: torch.device,
        total_epochs: int | None = None,
    ) -> None:
        self.cfg = cfg
        self.data = data
        self.selector = selector
        self.device = device
        self.total_epochs = int(total_epochs or cfg.train.epochs)
        seed = int(cfg.seed)
        # Every configuration starts from the same seed (AUTOMATA Algorithm 1).
        torch.manual_seed(seed)
        self.model = contract.build_model(cfg.model, data).to(device)
        self.optimizer = build_optimizer(self.model.parameters(), cfg)
        self.lr_schedule = build_lr_schedule(self.optimizer, cfg, self.total_epochs)
        self.generator = torch.Generator().manual_seed(seed + 1)
        self.precision = str(cfg.train.precision)
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.precision == "fp16")
        self.epoch = 0
        self.subset: Subset | None = None
        self.cost = TrialCost()
        #: one entry per selection round: epoch, subset size, gradient/solver seconds, error.
        self.selection_log: list[dict[str, float]] = []
        #: what the caller keeps with the trainer's checkpoint (a tuning engine's rung record)
        self.extra: dict[str, Any] = {}
        self._rng_state = torch.get_rng_state()
        self._cuda_rng_state = torch.cuda.get_rng_state_all() if device.type == "cuda" else None

    @contextmanager
    def _own_rng(self):  # noqa: ANN202
        """Make the global RNG (dropout, augmentation) this trainer's own while it runs."""
        outer = torch.get_rng_state()
        outer_cuda = torch.cuda.get_rng_state_all() if self._cuda_rng_state is not None else None
        torch.set_rng_state(self._rng_state)
        if self._cuda_rng_state is not None:
            torch.cuda.set_rng_state_all(self._cuda_rng_state)
        try:
            yield
        finally:
            self._rng_state = torch.get_rng_state()
            torch.set_rng_state(outer)
            if self._cuda_rng_state is not None and outer_cuda is not None:
                self._cuda_rng_state = torch.cuda.get_rng_state_all()
                torch.cuda.set_rng_state_all(outer_cuda)

    def _plan(self) -> tuple[EpochPlan, float]:
        """The selector's plan for the next epoch, and the seconds it took when it selected."""
        t0 = time.perf_counter()
        ctx = SelectionContext(
            model=self.model,
            data=self.data,
            device=self.device,
            generator=self.generator,
            batch_size=int(self.cfg.train.eval_batch_size),
            epoch=self.epoch,
            total_epochs=self.total_epochs,
        )
        plan = self.selector.plan(ctx, self.subset)
        return plan, time.perf_counter() - t0 if plan.selected else 0.0

    def _autocast(self):  # noqa: ANN202
        if self.device.type != "cuda" or self.precision == "fp32":
            return torch.autocast("cpu", enabled=False)
        dtype = torch.bfloat16 if self.precision == "bf16" else torch.float16
        return torch.autocast("cuda", dtype=dtype)

    def run_epoch(self, validate: bool | Callable[[int, int], bool] = True) -> EpochResult:
        """Train one epoch (selecting a new subset first when it is due), then validate if
        ``validate`` says so: a bool, or ``validate(epoch_before, epoch_after)`` for callers
        that validate only where a decision is taken (a warm-start epoch can advance the
        training plan by several epochs at once). Validation draws no random numbers, so skipping
        it never changes training."""
        with self._own_rng():
            return self._run_epoch(validate)

    def _run_epoch(self, validate: bool | Callable[[int, int], bool]) -> EpochResult:
        n = len(self.data.train)
        plan, sel_seconds = self._plan()
        self.subset, selected, stats = plan.subset, plan.selected, {}
        if selected:
            assert self.subset is not None
            stats = dict(self.subset.stats)
            self.cost.selection_rounds += 1
            self.selection_log.append({"epoch": float(self.epoch), "seconds": sel_seconds, **stats})
        indices, weights, per_batch, ws = plan.indices, plan.weights, plan.per_batch, plan.warm

        t0 = time.perf_counter()
        self.model.train()
        order = torch.randperm(indices.numel(), generator=self.generator)
        pos_batches = order.split(int(self.cfg.train.batch_size))
        idx_batches = [indices[p] for p in pos_batches]
        # The loss sum stays on the device: one synchronisation per epoch, not per step.
        total = torch.zeros((), device=self.device)
        count = 0
        t = self.cfg.train
        for p, (x, y) in zip(
            pos_batches, iter_batches(self.data.train, idx_batches, t.num_workers, t.pin_memory)
        ):
            w = weights[p].to(self.device, non_blocking=True)
            y = y.to(self.device, non_blocking=True)
            with self._autocast():
                logits, _ = self.model(move_to(x, self.device))
            loss = weighted_loss(logits, y, w, per_batch)
            self.optimizer.zero_grad(set_to_none=True)
            self.scaler.scale(loss).backward()
            if t.grad_clip is not None:
                self.scaler.unscale_(self.optimizer)
                nn.utils.clip_grad_norm_(self.model.parameters(), float(t.grad_clip))
            self.scaler.step(self.optimizer)
            self.scaler.update()
            total += loss.detach().float() * y.numel()
            count += y.numel()
        train_loss = float(total) / max(1, count)
        if not math.isfinite(train_loss):
            raise TrialDiverged(f"training loss is {train_loss} at epoch {self.epoch + 1}")
        if ws is not None:
            # Warm epoch j of W stands in for plan epochs up to floor(j * covers / W).
            # The lr schedule follows the reference: one step per warm epoch, then it jumps
            # to epoch `covers` after the last one.
            done = self.cost.warm_epochs + 1
            next_epoch = done * ws.covers // ws.full_epochs
            lr_steps = 1 + (ws.covers - ws.full_epochs if done == ws.full_epochs else 0)
        else:
            next_epoch, lr_steps = self.epoch + 1, 1
        for _ in range(lr_steps):
            self.lr_schedule.step()
        synchronize(self.device)
        t1 = time.perf_counter()
        val_acc: float | None = None
        val_loss: float | None = None
        if validate(self.epoch, next_epoch) if callable(validate) else validate:
            val_acc, val_loss = evaluate(
                self.model,
                self.data.val,
                self.device,
                int(t.eval_batch_size),
                t.num_workers,
                t.pin_memory,
            )
        t2 = time.perf_counter()
        c = self.cost
        advanced = next_epoch - self.epoch
        c.epochs += advanced
        c.warm_epochs += int(ws is not None)
        self.epoch = next_epoch
        c.full_equivalent_epochs += indices.numel() / n
        c.selection_seconds += sel_seconds
        c.train_seconds += t1 - t0
        c.eval_seconds += t2 - t1
        return EpochResult(
            epoch=self.epoch,
            train_loss=train_loss,
            val_accuracy=val_acc,
            val_loss=val_loss,
            subset_size=int(indices.numel()),
            full_data=bool(indices.numel() == n),
            warm=ws is not None,
            selected=selected,
            selection_seconds=sel_seconds,
            train_seconds=t1 - t0,
            eval_seconds=t2 - t1,
            selection_stats=stats,
            advanced=advanced,
            full_equivalent=indices.numel() / n,
        )

    def test_accuracy(self) -> float:
        t = self.cfg.train
        acc, _ = evaluate(
            self.model,
            self.data.test,
            self.device,
            int(t.eval_batch_size),
            t.num_workers,
            t.pin_memory,
        )
        return acc

    def state_dict(self) -> dict[str, Any]:
        """Everything needed to resume bit-identically: model, optimizer, lr schedule, subset,
        RNG."""
        return {
            "epoch": self.epoch,
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "lr_schedule": self.lr_schedule.state_dict(),
            "scaler": self.scaler.state_dict(),
            "subset": None
            if self.subset is None
            else {
                "indices": self.subset.indices,
                "weights": self.subset.weights,
                "stats": self.subset.stats,
                "scale": self.subset.scale,
            },
            "generator": self.generator.get_state(),
            "rng": self._rng_state,
            "cuda_rng": self._cuda_rng_state,
            "cost": self.cost.as_dict(),
            "selection_log": self.selection_log,
            "extra": self.extra,
        }

    def save(self, path: Path) -> None:
        """Write a checkpoint (:meth:`state_dict`) atomically: a temporary file in the same
        folder, renamed over ``path``, so an interrupted save never leaves half a file."""
        tmp = path.with_suffix(".tmp")
        torch.save(self.state_dict(), tmp)
        tmp.replace(path)

    def load(self, path: Path) -> None:
        """Resume from a checkpoint written by :meth:`save`."""
        self.load_state_dict(torch.load(path, weights_only=False))

    def records(self) -> tuple[dict[str, float], list[dict[str, float]]]:
        """What the trial has cost so far (:class:`TrialCost`) and its per-round selection log."""
        return self.cost.as_dict(), self.selection_log

    @staticmethod
    def records_of(path: Path) -> tuple[dict[str, float], list[dict[str, float]]]:
        """:meth:`records` of the trainer whose checkpoint is ``path``, without building it."""
        state = torch.load(path, weights_only=False)
        return dict(state["cost"]), list(state.get("selection_log", []))

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.epoch = int(state["epoch"])
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.lr_schedule.load_state_dict(state["lr_schedule"])
        self.scaler.load_state_dict(state["scaler"])
        sub = state["subset"]
        self.subset = (
            None
            if sub is None
            else Subset(sub["indices"], sub["weights"], sub["stats"], sub.get("scale"))
        )
        self.generator.set_state(state["generator"])
        self._rng_state = state["rng"]
        if state.get("cuda_rng") is not None and self.device.type == "cuda":
            self._cuda_rng_state = state["cuda_rng"]
        self.selection_log = list(state.get("selection_log", []))
        self.extra = dict(state.get("extra") or {})
        cost = state["cost"]
        self.cost = TrialCost(
            epochs=int(cost["epochs"]),
            full_equivalent_epochs=cost["full_equivalent_epochs"],
            warm_epochs=int(cost.get("warm_epochs", 0)),
            selection_seconds=cost["selection_seconds"],
            train_seconds=cost["train_seconds"],
            eval_seconds=cost["eval_seconds"],
            selection_rounds=int(cost["selection_rounds"]),
        )
