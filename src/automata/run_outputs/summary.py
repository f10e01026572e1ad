"""summary.json: one run's results, times, costs and settings, as one typed record.

:class:`RunSummary` is the only place that knows summary.json's keys: the run writes it
(:meth:`RunSummary.write`), and everything that reads runs back (``automata.results``,
``automata.ranking``, the benchmarks, ``scripts/check_same_results.py``) reads it with
:meth:`RunSummary.read`. A field added here reaches every reader. Per trial it holds a
:class:`TrialRow` with the trial's :class:`TrialCost` (what the trial's training recorded on the
study); per run the totals over trials, the selector's and scheduler's settings, the cost model
(:class:`CostModel`) and what produced the numbers (seed, device, threads, torch).

A summary.json that lacks a field this version writes (one written by an older automata) is
refused by :meth:`RunSummary.read` with :class:`SummaryError` naming the field: rerun that run.
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import optuna
from optuna.trial import FrozenTrial, TrialState

#: The user attribute of a trial that holds its :class:`TrialCost`, and the one with the
#: reason a failed trial failed.
COST_ATTR = "cost"
FAIL_REASON_ATTR = "fail_reason"
#: With the data as the resource: a trial's record of each rung it trained, and the file of
#: its full-data model when it reached the last rung.
RUNGS_ATTR = "rungs"
MODEL_ATTR = "model_file"


class SummaryError(ValueError):
    """A summary.json that cannot be read as this version's :class:`RunSummary`."""


@dataclass
class TrialCost:
    """What one configuration cost (AUTOMATA's accounting of tuning time), recorded on its
    trial while it trains."""

    epochs: int = 0  # epochs of its training plan done (what the scheduler counts)
    full_equivalent_epochs: float = 0.0  # sum over epochs trained of subset size / N
    warm_epochs: int = 0  # full-data warm-start epochs trained (they cover more plan epochs)
    selection_seconds: float = 0.0
    train_seconds: float = 0.0
    eval_seconds: float = 0.0
    selection_rounds: int = 0

    def as_dict(self) -> dict[str, float]:
        return {k: float(v) for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, d: dict[str, Any] | None) -> TrialCost:
        """A cost as recorded (floats); missing figures are 0 (a trial that failed early)."""
        d = d or {}
        out = cls()
        for f in fields(cls):
            if f.name in d and d[f.name] is not None:
                kind = int if f.type in ("int", int) else float
                setattr(out, f.name, kind(d[f.name]))
        return out

    def __add__(self, other: TrialCost) -> TrialCost:
        return TrialCost(
            **{f.name: getattr(self, f.name) + getattr(other, f.name) for f in fields(self)}
        )


@dataclass
class TrialRow:
    """One trial of the study: its state, value, epochs, score, configuration and cost."""

    number: int
    state: str  # complete | pruned | fail | running | waiting
    value: float | None
    epochs: int | None  # the last epoch it reported a score at
    params: dict[str, Any]
    cost: TrialCost
    fail_reason: str | None = None
    #: the validation accuracy at ``epochs`` (a pruned trial's too; ``value`` is a completed
    #: trial's only)
    score: float | None = None
    #: with the data as the resource: each rung it trained (fraction of the data, epochs,
    #: full-data-equivalent epochs, validation accuracy)
    rungs: list[dict[str, float]] = field(default_factory=list)

    @classmethod
    def of(cls, t: FrozenTrial) -> TrialRow:
        last = t.last_step
        return cls(
            number=t.number,
            state=t.state.name.lower(),
            value=t.value,
            epochs=last,
            params=dict(t.params),
            cost=TrialCost.from_dict(t.user_attrs.get(COST_ATTR)),
            fail_reason=t.user_attrs.get(FAIL_REASON_ATTR),
            score=t.value if t.value is not None or last is None else t.intermediate_values[last],
            rungs=list(t.user_attrs.get(RUNGS_ATTR, [])),
        )

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "cost": self.cost.as_dict()}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> TrialRow:
        return cls(**{**_fields_of(cls, d, "trials[]"), "cost": TrialCost.from_dict(d["cost"])})

    @property
    def fraction(self) -> float | None:
        """The share of the data of the last rung it trained (None with epochs as the
        resource)."""
        return self.rungs[-1]["fraction"] if self.rungs else None


@dataclass
class TrialCounts:
    """How many trials of the study ended in each state."""

    total: int = 0
    completed: int = 0
    pruned: int = 0
    failed: int = 0
    running: int = 0

    @classmethod
    def of(cls, trials: list[FrozenTrial]) -> TrialCounts:
        states = [t.state for t in trials]
        return cls(
            total=len(states),
            completed=states.count(TrialState.COMPLETE),
            pruned=states.count(TrialState.PRUNED),
            failed=states.count(TrialState.FAIL),
            running=states.count(TrialState.RUNNING),
        )

    def __str__(self) -> str:
        return ", ".join(f"{k} {v}" for k, v in asdict(self).items())


@dataclass
class SelectorRecord:
    """The selector as the run used it: its name, subset fraction, warm start, and every
    other option (``settings``, e.g. the selection interval)."""

    name: str
    fraction: float
    kappa: float = 0.0
    #: full-data warm-start epochs per configuration, and the plan epochs they stand for
    warm_full_epochs: int = 0
    warm_covers_epochs: int = 0
    settings: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "selector": self.name,
            **self.settings,
            "fraction": self.fraction,
            "kappa": self.kappa,
            "warm_full_epochs": self.warm_full_epochs,
            "warm_covers_epochs": self.warm_covers_epochs,
        }

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> SelectorRecord:
        known = {"selector", "fraction", "kappa", "warm_full_epochs", "warm_covers_epochs"}
        _require(d, ("selector", "fraction"), "selector")
        return cls(
            name=str(d["selector"]),
            fraction=float(d["fraction"]),
            kappa=float(d.get("kappa") or 0.0),
            warm_full_epochs=int(d.get("warm_full_epochs") or 0),
            warm_covers_epochs=int(d.get("warm_covers_epochs") or 0),
            settings={k: v for k, v in d.items() if k not in known},
        )


@dataclass
class SchedulerRecord:
    """The trial scheduler as the run used it: its name and settings (eta, resources, ...)."""

    name: str
    settings: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"scheduler": self.name, **self.settings}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> SchedulerRecord:
        _require(d, ("scheduler",), "scheduler")
        return cls(str(d["scheduler"]), {k: v for k, v in d.items() if k != "scheduler"})


@dataclass
class CostModel:
    """Where the tuning time went, in units of one full-data training epoch, and the speedup
    limit it implies for the subset fraction f (docs/performance.md).

    Per epoch of the training plan (what the scheduler counts), amortised over the study:
    selection ``c_sel`` per round (``rounds_per_epoch`` rounds per epoch, 1/R for online
    selectors), validation ``c_eval``, and every other cost ``c_fix`` (sampling, storage,
    model construction, checkpoints, logging). No subset can make tuning faster than
    ``S* = 1 / (f + c_sel * rounds_per_epoch + c_eval + c_fix)``. The full-data epoch is the
    final training's mean epoch (``full_epoch_source: final``); without final training it is
    estimated from the tuning's own training time per full-data-equivalent epoch.
    """

    full_epoch_seconds: float | None = None
    full_epoch_source: str = "final"
    f: float | None = None
    f_effective: float | None = None
    #: the data was the scheduler's resource: f is the share of the data trained per plan
    #: epoch over the rungs (none was configured)
    data_rungs: bool = False
    c_train: float | None = None
    c_sel: float | None = None
    rounds_per_epoch: float | None = None
    c_eval: float | None = None
    c_fix: float | None = None
    schedule_epochs: float | None = None
    speedup_limit: float | None = None

    @classmethod
    def of(
        cls,
        tot: TrialCost,
        tuning_seconds: float,
        fraction: float | None,
        full_epoch_seconds: float | None,
    ) -> CostModel:
        """The cost model of a run; ``fraction`` None: the data was the scheduler's resource,
        and f is the share it trained per plan epoch over its rungs."""
        source = "final"
        if not full_epoch_seconds:
            source = "tuning estimate"
            full_epoch_seconds = (
                tot.train_seconds / tot.full_equivalent_epochs
                if tot.full_equivalent_epochs
                else None
            )
        out = cls(
            full_epoch_seconds=full_epoch_seconds,
            full_epoch_source=source,
            data_rungs=fraction is None,
        )
        epochs = float(tot.epochs)
        if not epochs or not full_epoch_seconds:
            return out
        e = full_epoch_seconds
        rounds = float(tot.selection_rounds)
        other = tuning_seconds - tot.train_seconds - tot.selection_seconds - tot.eval_seconds
        f = float(fraction) if fraction is not None else tot.full_equivalent_epochs / epochs
        c_sel = tot.selection_seconds / rounds / e if rounds else 0.0
        per_epoch = rounds / epochs
        c_eval = tot.eval_seconds / epochs / e
        c_fix = max(0.0, other) / epochs / e
        return dataclasses.replace(
            out,
            f=f,
            f_effective=tot.full_equivalent_epochs / epochs,
            c_train=tot.train_seconds / epochs / e,
            c_sel=c_sel,
            rounds_per_epoch=per_epoch,
            c_eval=c_eval,
            c_fix=c_fix,
            schedule_epochs=epochs,
            speedup_limit=1.0 / (f + c_sel * per_epoch + c_eval + c_fix),
        )

    def to_json(self) -> dict[str, Any]:
        """Only the figures that were computed (a run without trained epochs has none)."""
        out = {k: v for k, v in asdict(self).items() if v is not None or k.startswith("full")}
        if not self.data_rungs:
            del out["data_rungs"]  # said only where the data was the resource
        return out

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> CostModel:
        return cls(**{f.name: d[f.name] for f in fields(cls) if f.name in d})


@dataclass
class RunSummary:
    """summary.json: what one run found, what it cost, and what produced it."""

    dataset: str
    model: str
    #: the option of each config group, as named on the command line (conf/<group>/)
    choices: dict[str, str | None]
    best_params: dict[str, Any] | None
    best_trial: int | None
    best_val_accuracy: float | None
    final_test_accuracy: float | None
    final_val_accuracy: float | None
    tuning_seconds: float
    final_train_seconds: float
    total_seconds: float
    selection_setup_seconds: float
    selection_setup: dict[str, Any]
    n_trials: TrialCounts
    selector: SelectorRecord
    search: str
    scheduler: SchedulerRecord
    seed: int
    device: str
    #: the final training's results depend on these too: the kernels (and so the rounding)
    #: that MKL and PyTorch pick for the CPU's vector instructions
    threads: int
    torch: str
    cpu_capability: str
    changed_settings: list[str]
    storage: str
    study_name: str
    run_dir: str
    trials: list[TrialRow]
    cost_model: CostModel
    #: the final model's file in the run folder (None without final training)
    final_model: str | None = None
    #: whether the final model was trained after the study (False: a full-data model the
    #: study trained, kept: the last rung of the data, a study on the full data, a confirmation)
    final_trained: bool = False
    #: with tuning.confirm_top_k: the finalists' trials on the full data, and their time
    confirm_trials: list[TrialRow] = field(default_factory=list)
    confirm_seconds: float = 0.0

    # -- totals over the trials ------------------------------------------------------------
    @property
    def cost(self) -> TrialCost:
        """The study's total cost: every trial's, summed."""
        total = TrialCost()
        for row in self.trials:
            total = total + row.cost
        return total

    @property
    def epochs_trained(self) -> float:
        return float(self.cost.epochs)

    @property
    def full_equivalent_epochs(self) -> float:
        return self.cost.full_equivalent_epochs

    @property
    def warm_epochs(self) -> float:
        return float(self.cost.warm_epochs)

    @property
    def selection_seconds(self) -> float:
        return self.cost.selection_seconds

    @property
    def train_seconds(self) -> float:
        return self.cost.train_seconds

    @property
    def eval_seconds(self) -> float:
        return self.cost.eval_seconds

    @property
    def tuning_plus_final_seconds(self) -> float:
        """Tuning, the confirmation of its finalists and the final model: what the pick cost."""
        return self.tuning_seconds + self.confirm_seconds + self.final_train_seconds

    @property
    def selection_share(self) -> float | None:
        """Selection seconds over tuning seconds (None when tuning took no time)."""
        if self.tuning_seconds <= 0:
            return None
        return self.cost.selection_seconds / self.tuning_seconds

    # -- the file --------------------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        return {
            "dataset": self.dataset,
            "model": self.model,
            "choices": self.choices,
            "best_params": self.best_params,
            "best_trial": self.best_trial,
            "best_val_accuracy": self.best_val_accuracy,
            "final_test_accuracy": self.final_test_accuracy,
            "final_val_accuracy": self.final_val_accuracy,
            "tuning_seconds": self.tuning_seconds,
            "final_train_seconds": self.final_train_seconds,
            "total_seconds": self.total_seconds,
            "tuning_plus_final_seconds": self.tuning_plus_final_seconds,
            "selection_seconds": self.selection_seconds,
            "selection_setup_seconds": self.selection_setup_seconds,
            "selection_setup": self.selection_setup,
            "train_seconds": self.train_seconds,
            "eval_seconds": self.eval_seconds,
            "epochs_trained": self.epochs_trained,
            "full_equivalent_epochs": self.full_equivalent_epochs,
            "warm_epochs": self.warm_epochs,
            "n_trials": asdict(self.n_trials),
            "selector": self.selector.to_json(),
            "search": self.search,
            "scheduler": self.scheduler.to_json(),
            "seed": self.seed,
            "device": self.device,
            "threads": self.threads,
            "torch": self.torch,
            "cpu_capability": self.cpu_capability,
            "changed_settings": self.changed_settings,
            "storage": self.storage,
            "study_name": self.study_name,
            "run_dir": self.run_dir,
            "trials": [row.to_json() for row in self.trials],
            "cost_model": self.cost_model.to_json(),
            "final_model": self.final_model,
            "final_trained": self.final_trained,
            "confirm_trials": [row.to_json() for row in self.confirm_trials],
            "confirm_seconds": self.confirm_seconds,
        }

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> RunSummary:
        """The summary of a summary.json's content; :class:`SummaryError` naming the first
        missing field when it was written by another version."""
        own = _fields_of(cls, d, "summary.json")
        return cls(
            **{
                **own,
                "n_trials": TrialCounts(**d["n_trials"]),
                "selector": SelectorRecord.from_json(d["selector"]),
                "scheduler": SchedulerRecord.from_json(d["scheduler"]),
                "trials": [TrialRow.from_json(t) for t in d["trials"]],
                "confirm_trials": [TrialRow.from_json(t) for t in d["confirm_trials"]],
                "cost_model": CostModel.from_json(d["cost_model"] or {}),
            }
        )

    def write(self, path: Path) -> None:
        path.write_text(json.dumps(_clean(self.to_json()), indent=2) + "\n")

    @classmethod
    def read(cls, path: Path) -> RunSummary:
        """Read a summary.json; :class:`SummaryError` (one line) when it is unreadable or was
        written by another version."""
        try:
            data = json.loads(Path(path).read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise SummaryError(f"{path}: cannot read: {exc}") from None
        if not isinstance(data, dict):
            raise SummaryError(f"{path}: not a JSON object")
        try:
            return cls.from_json(data)
        except SummaryError as exc:
            raise SummaryError(f"{path}: {exc}") from None
        except (KeyError, TypeError, ValueError) as exc:
            raise SummaryError(f"{path}: malformed ({type(exc).__name__}: {exc})") from None


def _fields_of(cls: type, d: dict[str, Any], where: str) -> dict[str, Any]:
    names = [f.name for f in fields(cls)]
    _require(d, names, where)
    return {n: d[n] for n in names}


def _require(d: dict[str, Any], names: Any, where: str) -> None:
    for name in names:
        if name not in d:
            raise SummaryError(
                f"{where} has no '{name}': written by another version of automata; rerun the run"
            )


def _clean(x: Any) -> Any:
    """JSON has no NaN or infinity: such a figure is written as null."""
    if isinstance(x, float) and not math.isfinite(x):
        return None
    if isinstance(x, dict):
        return {k: _clean(v) for k, v in x.items()}
    if isinstance(x, list):
        return [_clean(v) for v in x]
    return x


def trial_rows(study: optuna.Study) -> list[TrialRow]:
    """One row per trial of the study, in trial order."""
    return [TrialRow.of(t) for t in study.get_trials(deepcopy=False)]
