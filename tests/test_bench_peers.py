"""scripts/bench_peers.py: the search-space translation for DEHB, the fidelity in epochs, DEHB's
evaluations against training from scratch, and the QUICK benchmark end to end (the anytime
curve, incumbent and study timestamps are tests/bench/test_anytime.py's)."""

from __future__ import annotations

import importlib.util
import json
import math
import sys
from pathlib import Path

import pytest
from omegaconf import OmegaConf
from optuna.distributions import FloatDistribution

from automata.bench import RECORD_NAME
from automata.tuning import search_space
from automata.tuning.schedulers.successive_halving import hyperband_brackets, sha_rungs

from .conftest import ROOT, compose_config, denormals_flushed


def _load_script():  # noqa: ANN202
    name = "bench_peers"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / "bench_peers.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


bp = _load_script()
PEERS = "needs the peers extra (DEHB, ConfigSpace): make test-peers installs it"


# ------------------------------------------------------------------------------ search space
@pytest.mark.parametrize("space", ["mlp", "lstm_glove", "resnet18"])
def test_config_space_has_the_same_parameters_bounds_and_scales(space):
    cs_mod = pytest.importorskip("ConfigSpace", reason=PEERS)
    cfg = compose_config([f"space={space}"])
    cs = bp.config_space(cfg.space, seed=0)
    assert sorted(cs.keys()) == sorted(str(k) for k in cfg.space.keys())
    for key, spec in cfg.space.items():
        hp = cs[str(key)]
        if spec.type == "categorical":
            assert isinstance(hp, cs_mod.CategoricalHyperparameter)
            assert list(hp.choices) == list(spec.choices)
        else:
            assert (hp.lower, hp.upper) == (spec.low, spec.high)
            assert bool(hp.log) == bool(spec.get("log", False))
    # Every sampled configuration is valid for our space and applies to the trial config.
    for config in cs.sample_configuration(200):
        params = bp.to_params(config, cfg.space)
        for key, spec in cfg.space.items():
            value = params[str(key)]
            if spec.type == "categorical":
                assert value in list(spec.choices)
                assert type(value) is type(next(c for c in spec.choices if c == value))
            else:
                assert spec.low <= value <= spec.high
                assert type(value) is (float if spec.type == "float" else int)
        trial_cfg = search_space.apply(cfg, cfg.space, params)
        for key, spec in cfg.space.items():
            assert OmegaConf.select(trial_cfg, spec.path) == params[str(key)]


def test_log_scale_is_sampled_uniformly_in_the_logarithm():
    pytest.importorskip("ConfigSpace", reason=PEERS)
    space = OmegaConf.create({"lr": {"path": "optimizer.lr", "type": "float", "low": 1e-4,
                                     "high": 1e-1, "log": True}})  # fmt: skip
    cs = bp.config_space(space, seed=1)
    logs = [math.log10(c["lr"]) for c in cs.sample_configuration(2000)]
    # uniform on [-4, -1]: a quarter of the draws in each quarter of the interval
    for lo in (-4.0, -3.25, -2.5, -1.75):
        share = sum(lo <= v < lo + 0.75 for v in logs) / len(logs)
        assert abs(share - 0.25) < 0.04


def test_steps_become_the_grid_optuna_samples_from():
    pytest.importorskip("ConfigSpace", reason=PEERS)
    space = OmegaConf.create(
        {
            "width": {"path": "model.hidden_dim", "type": "int", "low": 16, "high": 70, "step": 8},
            "drop": {"path": "optimizer.lr", "type": "float", "low": 0.0, "high": 0.5, "step": 0.1},
        }
    )
    cs = bp.config_space(space, seed=0)
    assert list(cs["width"].sequence) == [v for v in range(16, 71) if (v - 16) % 8 == 0]
    dist = FloatDistribution(0.0, 0.5, step=0.1)
    grid = [dist.to_external_repr(dist.low + i * dist.step) for i in range(6)]
    assert list(cs["drop"].sequence) == pytest.approx(grid)
    log_step = OmegaConf.create(
        {
            "w": {
                "path": "model.hidden_dim",
                "type": "int",
                "low": 1,
                "high": 9,
                "step": 2,
                "log": True,
            }
        }  # fmt: skip
    )
    from automata.errors import ConfigError

    with pytest.raises(ConfigError, match="log and step"):
        bp.config_space(log_step, seed=0)


@pytest.mark.parametrize("top", [3, 9, 10, 20, 27, 81])
def test_dehb_fidelities_in_epochs_are_our_hyperband_rungs(top, tmp_path):
    """DEHB's own fidelities (T * eta^-i), in whole epochs, are the rung epochs of our
    Hyperband's bracket that starts lowest (Li et al. brackets), at eta 3 and min 1."""
    pytest.importorskip("dehb", reason=PEERS)
    import ConfigSpace as CS
    from dehb import DEHB

    bp._quiet_dehb()
    cs = CS.ConfigurationSpace(seed=0)
    cs.add([CS.Float("x", (0.0, 1.0))])
    opt = DEHB(cs=cs, dimensions=1, min_fidelity=1, max_fidelity=top, eta=3, n_workers=1,
               output_path=str(tmp_path))  # fmt: skip
    n, r = hyperband_brackets(1, top, 3)[0]
    ours = [epochs for _, epochs in sha_rungs(n, r, top, 3)]
    assert [bp.fidelity_epochs(float(f), 1) for f in opt.fidelities] == ours


# ------------------------------------------------------------------------------ end to end
def _args(tmp_path, **kw):  # noqa: ANN202
    import argparse

    base = {"device": "cpu", "threads": 1, "fraction": 0.1, "out": tmp_path}
    return argparse.Namespace(**{**base, **kw})


@pytest.mark.slow
def test_dehb_evaluations_equal_training_each_configuration_from_scratch(tmp_path):
    """Every value DEHB was told is what our trainer gives for that configuration trained
    from scratch for the fidelity's epochs on the full data, including the configurations
    promoted to T that resumed from their saved state."""
    pytest.importorskip("dehb", reason=PEERS)
    import torch

    from automata.build import build
    from automata.selection.full import FullSelector
    from automata.training.trainer import Trainer

    setup = bp.Setup("tabular_satimage", ["train.epochs=3"])
    args = _args(tmp_path)
    result = bp.run_dehb_arm(setup, 0, tmp_path / "dehb", args, budget=600.0, max_evaluations=5)
    evs = result["evaluations"]
    assert len(evs) == 5 and result["top"] == 3
    assert {e["epochs"] for e in evs} == {1, 3}
    promoted = [e for e in evs if e["epochs"] == 3 and any(
        o["config_id"] == e["config_id"] and o["epochs"] == 1 for o in evs)]  # fmt: skip
    assert promoted, "no configuration was promoted: the resume path was not exercised"
    # a promoted configuration trains only its new epochs: the one unit of every arm's cost
    for e in promoted:
        assert e["trained"] == 3 - 1
    assert all(e["trained"] == e["epochs"] for e in evs if e not in promoted)
    cfg = bp.compose([*bp.base_overrides(setup, 0, args), *bp.TO_FULL])
    data = build("dataset", cfg.dataset)
    for e in evs:
        trainer = Trainer(
            search_space.apply(cfg, cfg.space, e["params"]),
            data,
            FullSelector(),
            torch.device("cpu"),
            3,
        )
        for _ in range(e["epochs"]):
            res = trainer.run_epoch(validate=True)
        assert res.val_accuracy == e["value"]


def test_full_data_equivalent_epochs_are_one_unit_for_trials_and_dehb_steps():
    dehb = [
        {"t": 1.0, "epochs": 2, "trained": 2},
        {"t": 2.0, "epochs": 6, "trained": 4},  # resumed from its 2 epochs
        {"t": 9.0, "epochs": 6, "trained": 6},
    ]
    assert bp.fe_epochs(dehb, 1.0, until=5.0) == 6
    trials = [{"t": 1.0, "epochs": 20}, {"t": 3.0, "epochs": 2}]  # Optuna: its last epoch
    assert bp.fe_epochs(trials, 0.1, until=5.0) == pytest.approx(2.2)


def test_the_report_pairs_each_arm_with_the_full_arm_of_the_same_seed():
    rows = [
        {"dataset": "d", "arm": arm, "seed": s, "point": 1.0, "test": t, "val": t,
         "evaluations": 1, "fe_epochs": 1.0, "fallback": False}
        for arm, tests in {"full": [0.90, 0.80, 0.85], "random": [0.91, 0.79, 0.87]}.items()
        for s, t in enumerate(tests)
    ]  # fmt: skip
    summary = {(r["arm"], r["point"]): r for r in bp.summarise(rows)}
    mean, half, n = summary[("random", 1.0)]["vs_full"]
    assert n == 3 and mean == pytest.approx((0.01 - 0.01 + 0.02) / 3)
    # paired: the seeds' spread (0.80-0.91) is not in the interval of the difference
    assert half < 0.05


@pytest.mark.slow
def test_quick_benchmark_writes_every_arm_and_resumes(tmp_path, capsys):
    pytest.importorskip("dehb", reason=PEERS)
    out = tmp_path / "peers"
    assert bp.main(["--quick", "--threads", "1", "--out", str(out)]) == 0
    for name in ("results.md", "results.csv", "results.json", "anytime_satimage.png"):
        assert (out / name).stat().st_size > 0
    table = (out / "results.md").read_text()
    for arm in bp.ARMS:
        rows = [line for line in table.splitlines() if line.startswith(f"| {bp.ARM_LABELS[arm]}")]
        assert len(rows) == 1 and f"({arm})" in rows[0]
        cells = [c.strip() for c in rows[0].strip("|").split("|")]
        assert cells[3] != "-"  # a test accuracy at 100% of the budget
    rows = json.loads((out / "results.json").read_text())["rows"]
    assert {(r["arm"], r["seed"], r["point"]) for r in rows} == {
        (a, s, p) for a in bp.ARMS for s in (0, 1) for p in bp.POINTS
    }
    for r in rows:
        assert r["test"] is None or 0.3 < r["test"] <= 1.0  # 6 classes: well above chance

    def record(arm: str, seed: int) -> Path:
        return out / "satimage" / arm / f"seed{seed}" / RECORD_NAME

    for seed in (0, 1):
        full = json.loads(record("full", seed).read_text())["result"]
        for arm in bp.ARMS:
            rec = json.loads(record(arm, seed).read_text())["result"]
            assert rec["budget_seconds"] == full["budget_seconds"] > 0
            assert rec["evaluations"], arm
    # Resumable: finished arms are not run again; other settings are refused.
    stamp = record("dehb", 0).stat().st_mtime_ns
    capsys.readouterr()
    assert bp.main(["--quick", "--threads", "1", "--out", str(out), "--phase", "tune"]) == 0
    assert "0 cells to run" in capsys.readouterr().out
    assert record("dehb", 0).stat().st_mtime_ns == stamp
    assert bp.main(["--quick", "--fraction", "0.2", "--out", str(out), "--phase", "tune"]) == 2
    assert "other settings" in capsys.readouterr().err


@pytest.mark.usefixtures("restore_process")
@pytest.mark.parametrize("flush", [False, True])
def test_a_dehb_arm_sets_the_process_as_its_config_says(flush):
    """DEHB's set-up gives the process its config's denormal handling, whatever an earlier run
    of the same process left (a denormal float64 stays one, or is computed as 0)."""
    import torch

    if not torch.set_flush_denormal(not flush):
        pytest.skip("this CPU cannot flush denormals")
    cfg = compose_config(["experiment=tabular_dna", f"flush_denormal={str(flush).lower()}"])
    bp.process_and_data(cfg)
    assert denormals_flushed() == flush
