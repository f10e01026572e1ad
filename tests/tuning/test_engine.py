"""The trial engine (automata.tuning.engine) on trainers with made-up learning curves: asking and
counting trials, validating only where a decision is taken, pausing to a checkpoint and
resuming from it, recording failures, replaying an interrupted study, and what observers see."""

from __future__ import annotations

from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import optuna
import pytest
import torch
from omegaconf import OmegaConf
from optuna.distributions import FloatDistribution
from optuna.trial import TrialState, create_trial

from automata.errors import TooManyFailures
from automata.run_outputs.summary import TrialCost
from automata.training.trainer import EpochResult
from automata.tuning.engine import TrialEngine, value_at
from automata.tuning.schedulers import ASHA, SHA, NoScheduler


class FakeTrainer:
    """A trainer whose validation accuracy after epoch e is ``lr * e``; ``lr > 0.9`` fails at
    its second epoch. Checkpoints hold the epoch and the cost, as the real one's do."""

    def __init__(self, params: dict[str, Any]) -> None:
        self.params = params
        self.epoch = 0
        self.validated: list[int] = []
        self.extra: dict[str, Any] = {}  # what the engine keeps with the checkpoint
        self.selector = SimpleNamespace(is_full=False)  # trains on subsets

    def run_epoch(self, validate) -> EpochResult:  # noqa: ANN001
        before, self.epoch = self.epoch, self.epoch + 1
        if self.params["lr"] > 0.9 and self.epoch == 2:
            raise RuntimeError("diverged on purpose")
        check = validate(before, self.epoch)
        if check:
            self.validated.append(self.epoch)
        return EpochResult(
            epoch=self.epoch,
            train_loss=1.0,
            val_accuracy=self.params["lr"] * self.epoch if check else None,
            val_loss=None,
            subset_size=10,
            full_data=False,
            warm=False,
            selected=False,
            selection_seconds=0.0,
            train_seconds=0.0,
            eval_seconds=0.0,
        )

    def records(self) -> tuple[dict[str, float], list[dict[str, float]]]:
        return {"epochs": float(self.epoch)}, [{"epoch": 0.0}]

    def save(self, path) -> None:  # noqa: ANN001
        cost, rounds = self.records()
        state = {"epoch": self.epoch, "cost": cost, "selection_log": rounds, "extra": self.extra}
        torch.save(state, path)

    def load(self, path) -> None:  # noqa: ANN001
        state = torch.load(path)
        self.epoch, self.extra = int(state["epoch"]), state["extra"]


@dataclass
class FakeObjective:
    """The objective's face as the engine sees it: sampling and trainers."""

    lrs: list[float]
    epochs: int = 9
    eval_every: int | None = None
    device: torch.device = torch.device("cpu")
    trainers: dict[float, FakeTrainer] = field(default_factory=dict)

    def suggest(self, trial: optuna.Trial) -> dict[str, Any]:
        lr = self.lrs[trial.number % len(self.lrs)]
        return {"lr": trial.suggest_float("lr", lr, lr)}

    def trainer(self, params: dict[str, Any]) -> FakeTrainer:
        self.trainers[params["lr"]] = FakeTrainer(params)
        return self.trainers[params["lr"]]


class Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple] = []

    def epoch(self, trial: int, result: EpochResult, until: int) -> None:
        self.calls.append(("epoch", trial, result.epoch, until))

    def paused(self, trial: int) -> None:
        self.calls.append(("paused", trial))

    def ended(self, trial, state, params, metrics) -> None:  # noqa: ANN001
        self.calls.append(("ended", trial, state, metrics))

    def close(self) -> None:
        self.calls.append(("close",))


def _engine(
    tmp_path, objective, scheduler=None, replay=(), observers=(), study=None, **tuning
) -> TrialEngine:
    settings = {"n_trials": 3, "timeout": None, "max_failures": 2, **tuning}
    return TrialEngine(
        study or optuna.create_study(direction="maximize"),
        scheduler or NoScheduler(max_resource=4),
        objective,
        OmegaConf.create(settings),
        tmp_path / "checkpoints",
        replay=replay,
        observers=observers,
    )


def test_ask_counts_trials_up_to_n_trials(tmp_path):
    engine = _engine(tmp_path, FakeObjective([0.1, 0.2]))
    asked = [engine.ask() for _ in range(3)]
    assert [t.number for t in asked] == [0, 1, 2]
    assert asked[0].user_attrs["owner"]["pid"] > 0
    assert engine.ask() is None  # three trials asked (RUNNING counts)


def test_validation_only_where_the_scheduler_decides(tmp_path):
    objective = FakeObjective([0.1])
    engine = _engine(tmp_path, objective, scheduler=ASHA(eta=3, min_resource=1, max_resource=9))
    trial = engine.ask()
    assert engine.advance(trial, 9) == pytest.approx(0.9)
    assert objective.trainers[0.1].validated == [1, 3, 9]  # ASHA's rungs and T
    objective = FakeObjective([0.1], eval_every=4)
    engine = _engine(tmp_path, objective, scheduler=ASHA(eta=3, min_resource=1, max_resource=9))
    engine.advance(engine.ask(), 9)
    assert objective.trainers[0.1].validated == [1, 3, 4, 8, 9]  # curves too


def test_pause_saves_a_checkpoint_and_the_trial_resumes_from_it(tmp_path):
    objective, recorder = FakeObjective([0.1]), Recorder()
    engine = _engine(tmp_path, objective, scheduler=SHA(max_resource=4), observers=[recorder])
    trial = engine.ask()
    assert engine.advance(trial, 2) == pytest.approx(0.2)
    engine.pause(trial)
    checkpoint = tmp_path / "checkpoints" / "trial_0000.pt"
    assert checkpoint.is_file()
    assert engine.advance(trial, 4) == pytest.approx(0.4)
    assert objective.trainers[0.1].validated == [4]  # a new trainer, loaded at epoch 2
    engine.complete(trial)
    frozen = engine.study.trials[0]
    assert frozen.state == TrialState.COMPLETE and frozen.value == pytest.approx(0.4)
    assert frozen.user_attrs["cost"] == {"epochs": 4.0}
    assert frozen.user_attrs["selection_rounds"] == [{"epoch": 0.0}]
    assert not checkpoint.exists(), "a finished trial's checkpoint is removed"
    assert recorder.calls == [
        ("epoch", 0, 1, 2),
        ("epoch", 0, 2, 2),
        ("paused", 0),
        ("epoch", 0, 3, 4),
        ("epoch", 0, 4, 4),
        ("ended", 0, "complete", {"val_accuracy": pytest.approx(0.4), "epochs": 4.0}),
    ]
    engine.close()
    assert recorder.calls[-1] == ("close",)
    assert not (tmp_path / "checkpoints").exists(), "no empty checkpoint folder left"


def test_keep_checkpoints_keeps_the_final_state(tmp_path):
    engine = _engine(tmp_path, FakeObjective([0.1]), keep_checkpoints=True)
    trial = engine.ask()
    engine.advance(trial, 4)
    engine.complete(trial)
    assert torch.load(tmp_path / "checkpoints" / "trial_0000.pt")["epoch"] == 4


def test_a_failing_trial_is_recorded_and_too_many_stop_the_study(tmp_path):
    recorder = Recorder()
    engine = _engine(tmp_path, FakeObjective([0.95]), observers=[recorder])
    for _ in range(2):
        trial = engine.ask()
        assert engine.advance(trial, 4) is None
    failed = engine.study.trials
    assert [t.state for t in failed] == [TrialState.FAIL, TrialState.FAIL]
    assert failed[0].user_attrs["fail_reason"] == "RuntimeError: diverged on purpose"
    assert ("ended", 0, "fail", None) in recorder.calls
    with pytest.raises(TooManyFailures, match=r"2 trials failed \(tuning.max_failures=2\)"):
        engine.ask()


def test_a_replayed_study_returns_what_it_recorded_without_training(tmp_path):
    dist = {"lr": FloatDistribution(0.01, 1.0, log=True)}
    source = optuna.create_study(direction="maximize")
    source.add_trial(
        create_trial(
            state=TrialState.PRUNED,
            params={"lr": 0.3},
            distributions=dist,
            intermediate_values={1: 0.3},
        )
    )
    source.add_trial(
        create_trial(
            state=TrialState.COMPLETE,
            value=0.8,
            params={"lr": 0.2},
            distributions=dist,
            intermediate_values={1: 0.2, 4: 0.8},
        )
    )
    objective = FakeObjective([0.5])
    engine = _engine(
        tmp_path, objective, scheduler=SHA(max_resource=4), replay=source.trials, study=source
    )
    pruned, complete = engine.ask(), engine.ask()
    assert engine.advance(pruned, 1) == 0.3 and engine.advance(complete, 4) == 0.8
    engine.prune(pruned)
    engine.complete(complete)  # already finished: nothing told twice
    assert objective.trainers == {}, "nothing was trained"
    assert [t.state for t in source.trials] == [TrialState.PRUNED, TrialState.COMPLETE]


def test_value_at_reads_the_first_epoch_at_or_past_a_rung():
    # A warm-start epoch reports at epoch 7 for plan epochs 0-6: rungs 1 and 3 read it.
    values = {7: 0.8, 8: 0.82, 9: 0.85}
    assert value_at(values, 1) == 0.8
    assert value_at(values, 7) == 0.8
    assert value_at(values, 9) == 0.85
    assert value_at(values, 10) is None
    assert value_at({}, 1) is None


# -- the data as the resource -----------------------------------------------------------------
class FakeRungTrainer(FakeTrainer):
    """A trainer on ``fraction`` of the data: validation accuracy ``lr * fraction * epoch``;
    it costs ``fraction`` of a full epoch per epoch; a tiny model carries the weights."""

    def __init__(self, params: dict[str, Any], fraction: float) -> None:
        super().__init__(params)
        self.fraction = fraction
        self.selector = SimpleNamespace(is_full=fraction >= 1.0)
        self.cost = TrialCost()
        self.selection_log: list[dict[str, float]] = []
        torch.manual_seed(0)
        self.model = torch.nn.Linear(2, 2)

    def run_epoch(self, validate) -> EpochResult:  # noqa: ANN001
        res = super().run_epoch(validate)
        self.cost.epochs += 1
        self.cost.full_equivalent_epochs += self.fraction
        if res.val_accuracy is not None:
            res.val_accuracy *= self.fraction
        return res

    def records(self) -> tuple[dict[str, float], list[dict[str, float]]]:
        return self.cost.as_dict(), []

    def save(self, path) -> None:  # noqa: ANN001
        state = {"epoch": self.epoch, "cost": self.cost.as_dict(), "extra": self.extra}
        torch.save({**state, "model": self.model.state_dict(), "selection_log": []}, path)

    def load(self, path) -> None:  # noqa: ANN001
        state = torch.load(path)
        self.epoch, self.extra = int(state["epoch"]), state["extra"]
        self.cost = TrialCost.from_dict(state["cost"])
        self.model.load_state_dict(state["model"])


@dataclass
class FakeRungObjective(FakeObjective):
    made: list[tuple[float, float]] = field(default_factory=list)  # (lr, fraction)
    last: dict[float, FakeRungTrainer] = field(default_factory=dict)

    def trainer(self, params: dict[str, Any], fraction: float | None = None) -> FakeRungTrainer:
        self.made.append((params["lr"], fraction))
        self.last[params["lr"]] = FakeRungTrainer(params, fraction or 1.0)
        return self.last[params["lr"]]


def test_data_rungs_train_each_share_for_t_epochs_and_keep_the_full_data_model(tmp_path):
    objective = FakeRungObjective([0.5], epochs=2)
    sha = SHA(eta=3, max_resource=2, resource="data", min_fraction=1 / 9)
    engine = _engine(tmp_path, objective, scheduler=sha)
    trial = engine.ask()
    assert engine.advance(trial, 1) == pytest.approx(0.5 * 2 / 9)  # lr * fraction * T
    engine.pause(trial)  # saved with its rung record
    assert engine.advance(trial, 3) == pytest.approx(0.5 * 2 / 3)
    engine.pause(trial)
    assert engine.advance(trial, 9) == pytest.approx(0.5 * 2)
    engine.complete(trial)
    # One trainer per rung, on the rung's share of the data (a resumed one in between).
    assert [f for _, f in objective.made if f is not None] == [1 / 9, 1 / 3, 1.0]
    frozen = engine.study.trials[0]
    assert frozen.intermediate_values == pytest.approx({1: 1 / 9, 3: 1 / 3, 9: 1.0})
    # The cost clock adds every rung: 3 rungs x 2 epochs, 2 x (1/9 + 1/3 + 1) full epochs.
    cost = frozen.user_attrs["cost"]
    assert cost["epochs"] == 6 and cost["full_equivalent_epochs"] == pytest.approx(2 * 13 / 9)
    assert [r["fraction"] for r in frozen.user_attrs["rungs"]] == pytest.approx([1 / 9, 1 / 3, 1])
    assert [r["level"] for r in frozen.user_attrs["rungs"]] == [1, 3, 9]
    # The full-data model is kept for the final model; the pause checkpoints are gone.
    kept = tmp_path / "checkpoints" / "model_0000.pt"
    assert frozen.user_attrs["model_file"] == str(kept.resolve()) and kept.is_file()
    assert not (tmp_path / "checkpoints" / "trial_0000.pt").exists()


@pytest.mark.parametrize("growth", ["restart", "continue"])
def test_a_promoted_configuration_restarts_or_continues_from_its_weights(tmp_path, growth):
    objective = FakeRungObjective([0.5], epochs=1)
    sha = SHA(eta=3, max_resource=1, resource="data", min_fraction=1 / 3, growth=growth)
    engine = _engine(tmp_path, objective, scheduler=sha)
    trial = engine.ask()
    engine.advance(trial, 1)
    with torch.no_grad():
        objective.last[0.5].model.weight.add_(1.0)  # what the first rung learnt
    learnt = objective.last[0.5].model.weight.clone()
    engine.advance(trial, 3)
    now = objective.last[0.5].model.weight
    assert torch.equal(now, learnt) == (growth == "continue")


def test_asha_on_data_rungs_trains_every_rung_on_the_way_and_may_stop(tmp_path):
    objective = FakeRungObjective([0.9, 0.1, 0.2, 0.3], epochs=1)
    asha = ASHA(eta=3, max_resource=1, resource="data", min_fraction=1 / 9)
    asha_study = optuna.create_study(direction="maximize", pruner=asha.pruner())
    engine = _engine(tmp_path, objective, scheduler=asha, study=asha_study, n_trials=4)
    asha.run(engine)
    states = [t.state for t in asha_study.trials]
    assert states[0] == TrialState.COMPLETE
    assert asha_study.trials[0].intermediate_values.keys() == {1, 3, 9}
    assert TrialState.PRUNED in states
