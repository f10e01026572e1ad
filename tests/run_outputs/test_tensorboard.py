"""TensorBoard output of a run: pruned trials marked as pruned in the hparams view, no event
file without events, no empty checkpoint folder; the per-epoch curves of TrialCurves."""

from __future__ import annotations

import optuna
from tensorboard.backend.event_processing.event_file_loader import EventFileLoader
from tensorboard.plugins.hparams import plugin_data_pb2
from tensorboard.util import tensor_util

from automata.run import run
from automata.run_outputs.tensorboard import TensorBoardLog, TrialCurves
from automata.training.trainer import EpochResult


def _events(path):
    return list(EventFileLoader(str(path)).Load())


def _hparams_state(path) -> str | None:
    for event in _events(path):
        for value in event.summary.value:
            if value.metadata.plugin_data.plugin_name != "hparams":
                continue
            data = plugin_data_pb2.HParamsPluginData.FromString(value.metadata.plugin_data.content)
            if data.HasField("session_start_info"):
                return data.session_start_info.hparams["state"].string_value
    return None


def test_hparams_view_marks_pruned_trials_and_leaves_no_empty_files(tiny_cfg, tmp_path):
    run(
        tiny_cfg(
            [
                "tuning.n_trials=4",
                "train.epochs=3",
                "scheduler=hyperband",
                "tuning.tensorboard=true",
            ]
        )
    )
    out = tmp_path / "run"
    study = optuna.load_study(study_name="automata", storage=f"sqlite:///{out / 'study.db'}")
    states = {t.number: t.state.name.lower() for t in study.trials}
    assert "pruned" in states.values() and "complete" in states.values()

    hparams = out / "tensorboard" / "hparams"
    shown = {}
    for folder in sorted(hparams.iterdir()):
        (events,) = folder.glob("events.out.tfevents.*")
        shown[int(folder.name.removeprefix("trial_"))] = _hparams_state(events)
    assert shown == states

    files = list((out / "tensorboard").rglob("events.out.tfevents.*"))
    assert files
    for path in files:
        # An empty event file holds only its header record.
        assert len(_events(path)) > 1, f"{path.relative_to(out)} has no events"
    assert not list(hparams.glob("events.out.tfevents.*")), "nothing directly in hparams/"
    assert not (out / "checkpoints").exists(), "no empty checkpoint folder"


def _scalars(path) -> dict[str, list[tuple[int, float]]]:
    """``{tag: [(step, value), ...]}`` of an event file (scalars are stored as tensors)."""
    out: dict[str, list[tuple[int, float]]] = {}
    for event in _events(path):
        for value in event.summary.value:
            if value.HasField("tensor"):
                number = float(tensor_util.make_ndarray(value.tensor))
                out.setdefault(value.tag, []).append((event.step, number))
    return out


def test_trial_curves_record_each_epoch_and_the_hparams_of_ended_trials(tmp_path):
    """TrialCurves, the engine's observer: an epoch's scalars (EpochResult.scalars) under the
    trial's folder, written when it pauses or ends; hparams only for trials with scores,
    written at close."""
    curves = TrialCurves(TensorBoardLog(tmp_path))

    def result(epoch: int, loss: float, selected: bool) -> EpochResult:
        return EpochResult(
            epoch=epoch,
            train_loss=loss,
            val_accuracy=None if epoch == 1 else 0.5,
            val_loss=None,
            subset_size=10,
            full_data=False,
            warm=False,
            selected=selected,
            selection_seconds=0.25,
            train_seconds=1.0,
            eval_seconds=0.0,
            selection_stats={"matching_error": 0.125, "ignored": 3.0},
        )

    curves.epoch(0, result(1, 2.0, selected=True), 2)
    curves.paused(0)
    curves.epoch(0, result(2, 1.5, selected=False), 2)
    curves.ended(0, "complete", {"lr": 0.1}, {"val_accuracy": 0.5, "epochs": 2.0})
    curves.epoch(1, result(1, 3.0, selected=True), 2)
    curves.ended(1, "fail", {"lr": 9.0}, None)
    assert not (tmp_path / "hparams").exists()  # not before close
    curves.close()

    (events,) = (tmp_path / "trial_0000").glob("events.out.tfevents.*")
    seen = _scalars(events)
    assert seen["train/loss"] == [(1, 2.0), (2, 1.5)]
    assert seen["val/accuracy"] == [(2, 0.5)]  # not validated at epoch 1: no point
    assert seen["selection/matching_error"] == [(1, 0.125)]  # only after a selection round
    assert "selection/ignored" not in seen and "val/loss" not in seen
    assert _scalars(next((tmp_path / "trial_0001").glob("events.*")))["train/loss"] == [(1, 3.0)]
    assert sorted(p.name for p in (tmp_path / "hparams").iterdir()) == ["trial_0000"]
    assert _hparams_state(next((tmp_path / "hparams" / "trial_0000").glob("events.*"))) == (
        "complete"
    )
