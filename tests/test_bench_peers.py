"""scripts/bench_peers.py: the search-space translation for DEHB, the fidelity in epochs, the
anytime curve and incumbent rules, the timestamps read from a study, DEHB's evaluations
against training from scratch, and the QUICK benchmark end to end."""

from __future__ import annotations

import datetime
import importlib.util
import json
import math
import random
import sys
from pathlib import Path

import optuna
import pytest
from omegaconf import OmegaConf
from optuna.distributions import FloatDistribution
from optuna.trial import TrialState, create_trial

from automata.bench import RECORD_NAME
from automata.tuning import search_space
from automata.tuning.schedulers.successive_halving import hyperband_brackets, sha_rungs

from .conftest import ROOT, compose_config


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


# ------------------------------------------------------------------------------ anytime
def _ev(t: float, epochs: int, value: float | None, name: str = "") -> dict:
    return {"t": t, "epochs": epochs, "value": value, "params": {"name": name}}


def test_best_so_far_counts_only_results_at_T_known_by_then():
    evs = [
        _ev(1.0, 1, 0.9, "a"),  # low fidelity: not on the curve
        _ev(2.0, 20, 0.7, "b"),
        _ev(3.0, 20, None, "failed"),
        _ev(5.0, 20, 0.8, "c"),
        _ev(6.0, 20, 0.75, "d"),
    ]
    assert bp.best_so_far(evs, 20, 1.5) is None
    assert bp.best_so_far(evs, 20, 2.0) == 0.7
    assert bp.best_so_far(evs, 20, 4.9) == 0.7
    assert bp.best_so_far(evs, 20, 5.0) == 0.8
    assert bp.best_so_far(evs, 20, 100.0) == 0.8


def test_incumbent_prefers_T_then_the_highest_fidelity_reached():
    evs = [
        _ev(1.0, 2, 0.6, "a"),
        _ev(2.0, 6, 0.5, "b"),
        _ev(3.0, 2, 0.9, "c"),
        _ev(4.0, 20, 0.4, "d"),
        _ev(5.0, 20, 0.7, "e"),
        _ev(6.0, 20, 0.7, "f"),  # tie: the earlier one stays
    ]
    assert bp.incumbent(evs, 20, 0.5) is None
    first = bp.incumbent(evs, 20, 1.0)
    assert first["params"]["name"] == "a" and first["fallback"]
    assert bp.incumbent(evs, 20, 3.5)["params"]["name"] == "b"  # 6 epochs beats 2 epochs
    at_t = bp.incumbent(evs, 20, 4.0)
    assert at_t["params"]["name"] == "d" and not at_t["fallback"]
    assert bp.incumbent(evs, 20, 10.0)["params"]["name"] == "e"


def test_incumbent_and_curve_agree_with_brute_force_on_random_histories():
    rng = random.Random(0)
    for _ in range(200):
        evs = [
            _ev(rng.uniform(0, 10), rng.choice([1, 3, 9]), rng.random(), str(i))
            for i in range(rng.randint(0, 12))
        ]
        until = rng.uniform(0, 10)
        known = [e for e in evs if e["t"] <= until]
        inc = bp.incumbent(evs, 9, until)
        if not known:
            assert inc is None
            continue
        top = max(e["epochs"] for e in known)
        best = max(e["value"] for e in known if e["epochs"] == top)
        assert inc["value"] == best and inc["epochs"] == top and inc["fallback"] == (top < 9)
        curve = bp.best_so_far(evs, 9, until)
        assert curve == (best if top == 9 else None)


def test_study_evaluations_time_each_result_from_the_first_trial_start(tmp_path):
    storage = f"sqlite:///{tmp_path / 'study.db'}"
    study = optuna.create_study(storage=storage, study_name="s", direction="maximize")
    t0 = datetime.datetime(2026, 1, 1, 12, 0, 0)
    dist = {"lr": FloatDistribution(1e-4, 1e-1, log=True)}

    def add(number_offset: float, done: float, state: TrialState, values: dict, value=None):
        trial = create_trial(
            state=state,
            value=value,
            params={"lr": 0.01 * (1 + number_offset)},
            distributions=dist,
            intermediate_values=values,
        )
        trial.datetime_start = t0 + datetime.timedelta(seconds=number_offset)
        trial.datetime_complete = t0 + datetime.timedelta(seconds=done)
        study.add_trial(trial)

    add(0.0, 4.0, TrialState.PRUNED, {1: 0.5, 3: 0.6})
    add(0.5, 9.5, TrialState.COMPLETE, {3: 0.6, 9: 0.8}, value=0.8)
    add(1.0, 2.0, TrialState.FAIL, {})
    evs = bp.study_evaluations(storage, "s")
    assert [(e["t"], e["epochs"], e["value"], e["state"]) for e in evs] == [
        (4.0, 3, 0.6, "pruned"),
        (9.5, 9, 0.8, "complete"),
    ]
    assert evs[1]["params"] == {"lr": pytest.approx(0.015)}


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
