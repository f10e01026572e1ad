"""The data as the scheduler's resource (``scheduler.resource=data``), end to end on dna: every
rung a training of T epochs on a growing share of the data, the last one the full data, whose
model is the final one (never trained twice: bit for bit what a final training gives); random
subsets nested across rungs; the selectors that prepare shared work (MILO) at every size."""

from __future__ import annotations

import pytest
import torch

from automata.build import build
from automata.config import trial_settings
from automata.models.saved import load_model
from automata.run import run
from automata.run_outputs.summary import RunSummary
from automata.selection.full import FullSelector
from automata.tuning.objective import Objective

LADDER = [
    "scheduler=hyperband",
    "scheduler.resource=data",
    "scheduler.min_fraction=0.111",  # 9 units: rungs 1/9, 1/3, 1
    "train.epochs=3",
    "tuning.n_trials=9",
]


def test_the_last_rung_is_the_full_data_and_its_model_the_final_one(tiny_cfg, tmp_path):
    cfg = tiny_cfg([*LADDER, "selector=random"])
    summary = run(cfg)
    best = next(t for t in summary.trials if t.number == summary.best_trial)
    assert best.state == "complete" and best.fraction == 1.0
    assert [r["fraction"] for r in best.rungs][-1] == 1.0
    for t in summary.trials:  # each rung: T epochs on its share of the data
        assert t.cost.epochs == 3 * len(t.rungs)
        shares = sum(r["fraction"] for r in t.rungs)
        assert t.cost.full_equivalent_epochs == pytest.approx(3 * shares, rel=1e-2)  # floor(f N)
        assert [r["epochs"] for r in t.rungs] == [3.0] * len(t.rungs)
    # 9 configurations on 1/9 of the data, 3 on 1/3, 1 on all of it.
    assert sorted(len(t.rungs) for t in summary.trials) == [1] * 6 + [2] * 2 + [3]
    assert summary.scheduler.settings["resource"] == "data"

    # The final model is the last rung's: what a final training of that configuration gives.
    data = build("dataset", cfg.dataset)
    objective = Objective(
        trial_settings(cfg), cfg.space, data, build("selector", cfg.selector), torch.device("cpu")
    )
    retrained = objective.trainer(best.params, selector=FullSelector())
    for _ in range(3):
        retrained.run_epoch(validate=False)
    final = load_model(tmp_path / "run" / "final_model.pt")
    for (key, a), (_, b) in zip(retrained.model.state_dict().items(), final.state_dict().items()):
        assert torch.equal(a, b), key
    assert summary.final_test_accuracy == retrained.test_accuracy()
    assert summary.final_val_accuracy == summary.best_val_accuracy
    assert not (tmp_path / "run" / "checkpoints").exists(), "the kept models are gone"
    on_disk = RunSummary.read(tmp_path / "run" / "summary.json")
    assert on_disk.trials[best.number].rungs == best.rungs


def test_random_subsets_of_a_configuration_are_nested_across_rungs(tiny_cfg):
    cfg = tiny_cfg(["selector=random"])
    data = build("dataset", cfg.dataset)
    objective = Objective(
        trial_settings(cfg), cfg.space, data, build("selector", cfg.selector), torch.device("cpu")
    )
    params = {"lr": 0.01, "hidden_dim": 64, "batch_size": 32, "weight_decay": 0.0}
    params = {k: v for k, v in params.items() if k in cfg.space}
    subsets = []
    for fraction in (1 / 27, 1 / 9, 1 / 3):
        trainer = objective.trainer(params, fraction=fraction)
        trainer.run_epoch(validate=False)
        subsets.append(set(trainer.subset.indices.tolist()))
        assert len(subsets[-1]) == int(fraction * len(data.train) + 1e-9)
    assert subsets[0] < subsets[1] < subsets[2]


@pytest.mark.parametrize("selector", ["gradmatchpb", "milo", "craigpb"])
def test_every_selector_chooses_the_subsets_of_every_rung(tiny_cfg, selector):
    summary = run(tiny_cfg([*LADDER, f"selector={selector}", "scheduler.growth=continue"]))
    assert summary.n_trials.completed >= 1
    rungs = [r for t in summary.trials for r in t.rungs]
    assert {round(r["fraction"], 3) for r in rungs} == {0.111, 0.333, 1.0}
    assert summary.final_test_accuracy is not None and summary.final_test_accuracy > 0.5


def test_rungs_at_the_shares_the_user_lists(tiny_cfg):
    """``scheduler.rung_fractions``: each rung trains on its listed share, the last on all."""
    cfg = tiny_cfg(
        [
            "scheduler=hyperband",
            "scheduler.resource=data",
            "scheduler.rung_fractions=[0.2,0.5,1.0]",
            "train.epochs=2",
            "tuning.n_trials=9",
            "selector=random",
        ]
    )
    summary = run(cfg)
    shares = {r["fraction"] for t in summary.trials for r in t.rungs}
    assert shares == {0.2, 0.5, 1.0}
    best = next(t for t in summary.trials if t.number == summary.best_trial)
    assert best.rungs[-1]["fraction"] == 1.0
    # 9 configurations on a fifth of the data, 3 on half of it, 1 on all of it
    assert sorted(len(t.rungs) for t in summary.trials) == [1] * 6 + [2] * 2 + [3]
    assert summary.scheduler.settings["rung_fractions"] == "0.2, 0.5, 1"
