"""TensorBoard output of a run: pruned trials marked as pruned in the hparams view, no event
file without events, no empty checkpoint folder."""

from __future__ import annotations

import optuna
from tensorboard.backend.event_processing.event_file_loader import EventFileLoader
from tensorboard.plugins.hparams import plugin_data_pb2

from automata.run import run


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


def test_hparams_view_marks_pruned_trials_and_leaves_no_empty_files(make_cfg, tmp_path):
    run(make_cfg(["tuning.n_trials=4", "train.epochs=3", "scheduler=hyperband"]))
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
