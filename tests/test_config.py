"""Every config option composes and instantiates; bad values fail early with the key named."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import optuna
import pytest
from hydra.errors import ConfigCompositionException
from omegaconf.errors import ConfigKeyError, ValidationError

from automata.build import build
from automata.errors import ConfigError
from automata.run import build_components
from automata.selection.base import Selector
from automata.tuning.sampling import TrialSeededSampler
from automata.tuning.schedulers.base import Scheduler

from .conftest import ROOT, compose_config, options


@pytest.mark.parametrize("option", options("selector"))
def test_every_selector_instantiates(option):
    cfg = compose_config([f"selector={option}"])
    assert isinstance(build("selector", cfg.selector), Selector)


@pytest.mark.parametrize("option", options("scheduler"))
def test_every_scheduler_instantiates(option):
    cfg = compose_config([f"scheduler={option}"])
    sched = build("scheduler", cfg.scheduler)
    assert isinstance(sched, Scheduler)
    assert sched.epochs == cfg.train.epochs  # T (max_resource counts subset units with the data)


@pytest.mark.parametrize("option", options("search"))
def test_every_search_instantiates(option):
    cfg = compose_config([f"search={option}"])
    assert isinstance(build("search", cfg.search), optuna.samplers.BaseSampler)


@pytest.mark.parametrize("option", options("model"))
def test_every_model_has_a_space_and_composes(option):
    cfg = compose_config([f"model={option}"])
    assert cfg.space, f"space/{option}.yaml missing"
    for name, spec in cfg.space.items():
        assert "path" in spec and "type" in spec, name


@pytest.mark.parametrize("option", options("dataset"))
def test_every_dataset_composes(option):
    cfg = compose_config([f"dataset={option}"])
    assert "_target_" in cfg.dataset


def test_default_components_build():
    cfg = compose_config()
    selector, scheduler, sampler, _ = build_components(cfg)
    # The ladder (docs/fidelity.md): Hyperband over the data's size, random subsets of
    # 1/81, 1/27, 1/9, 1/3 of the data and all of it, a promoted configuration restarted.
    assert selector.name == "random"
    assert scheduler.name == "ladder" and scheduler.data_rungs
    assert scheduler.growth == "restart" and scheduler.bracket_order == "aggressive_first"
    assert scheduler.fractions() == pytest.approx([1 / 81, 1 / 27, 1 / 9, 1 / 3])
    # TPE, drawn afresh for each trial from the run's seed and the trial's number
    assert isinstance(sampler, TrialSeededSampler)
    assert isinstance(sampler.sampler, optuna.samplers.TPESampler)


@pytest.mark.parametrize(
    ("override", "key"),
    [
        ("selector.fraction=1.5", "selector.fraction"),
        ("selector.fraction=0", "selector.fraction"),
        ("train.epochs=-1", "train.epochs"),
        ("scheduler.eta=1", "scheduler.eta"),
        ("tuning.n_trials=0", "tuning.n_trials"),
        ("optimizer.lr=-0.1", "optimizer.lr"),
        ("train.lr_schedule=warmup", "train.lr_schedule"),
        ("selector.lam=-1", "selector.lam"),
        ("scheduler.min_resource=0", "scheduler.min_resource"),
    ],
)
def test_invalid_values_name_the_key(override, key):
    cfg = compose_config(["selector=gradmatchpb", override])  # the selector with every key
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        build_components(cfg)


def test_unknown_keys_fail_at_composition():
    with pytest.raises(ConfigCompositionException):
        compose_config(["train.epochz=3"])
    with pytest.raises(ConfigCompositionException):
        compose_config(["selector=gradmatchxx"])


def test_unknown_selector_option_is_named():
    cfg = compose_config(["+selector.fractoin=0.2"])
    with pytest.raises(ConfigError, match="fractoin"):
        build_components(cfg)


def test_wrong_type_rejected_by_schema():
    with pytest.raises((ConfigCompositionException, ValidationError, ConfigKeyError)):
        compose_config(["tuning.n_trials=many"])


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "automata", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_cli_bad_value_is_one_line_error(tmp_path):
    res = _cli("selector.fraction=2", f"hydra.run.dir={tmp_path}", cwd=ROOT)
    assert res.returncode != 0
    assert "selector.fraction must be in (0, 1]" in res.stderr
    assert "Traceback" not in res.stderr


def test_cli_unknown_option_is_clear(tmp_path):
    res = _cli("scheduler=hyperbandd", f"hydra.run.dir={tmp_path}", cwd=ROOT)
    assert res.returncode != 0
    assert "hyperbandd" in res.stderr and "Traceback" not in res.stderr


@pytest.mark.parametrize(
    ("override", "named", "hint"),
    [
        ("+tuning.n_trail=3", "tuning.n_trail", "tuning.n_trials"),
        ("+selectr=random", "selectr", "selector"),
        ("+train.epoch=3", "train.epoch", "train.epochs"),
        ("+seeds=3", "seeds", "seed"),
    ],
)
def test_keys_added_with_plus_that_nothing_reads_are_refused(override, named, hint):
    cfg = compose_config([override])  # Hydra's `+` adds the key even to the typed schema
    with pytest.raises(ConfigError, match=rf"unknown setting '{named}' \(did you mean '{hint}'"):
        build_components(cfg)


def test_cli_plus_typo_is_one_line_error(tmp_path):
    res = _cli("+selectr=random", f"hydra.run.dir={tmp_path}", cwd=tmp_path)
    assert res.returncode == 2
    assert res.stderr.strip().splitlines() == [
        "error: unknown setting 'selectr' (did you mean 'selector'?): nothing reads it; a '+' "
        "override adds a key without checking it (python -m automata --cfg job lists the settings)"
    ]
    assert not (tmp_path / "study.db").exists()


def test_mixed_precision_without_a_gpu_is_refused(monkeypatch):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    for device in ("auto", "cpu"):
        cfg = compose_config(["train.precision=bf16", f"device={device}"])
        with pytest.raises(ConfigError, match=r"train.precision=bf16 needs a CUDA device"):
            build_components(cfg)
    build_components(compose_config(["train.precision=fp32", "device=auto"]))


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            ["model=lstm_glove", "dataset=dna"],
            r"model LSTMClassifier needs vocab \(text data\), but dataset dna is tabular data",
        ),
        (
            ["model=mlp", "dataset=trec6"],
            r"model MLP needs input_dim \(tabular data\), but dataset trec6 is text data",
        ),
    ],
)
def test_model_for_another_modality_names_both(overrides, message):
    from automata.models.contract import build_model

    cfg = compose_config(overrides)
    data = build("dataset", cfg.dataset)
    with pytest.raises(ConfigError, match=message):
        build_model(cfg.model, data)


@pytest.mark.parametrize("experiment", options("experiment"))
def test_experiment_switches_to_full_data_without_deletions(experiment):
    cfg = compose_config([f"experiment={experiment}", "selector=full"])
    selector, _, _, _ = build_components(cfg)
    assert selector.name == "full" and selector.is_full
    assert selector.settings()["fraction"] == 1.0


def test_values_the_space_samples_are_found_among_the_overrides():
    from automata.tuning.search_space import overridden_by_space

    cfg = compose_config()
    warnings = overridden_by_space(
        cfg.space, ["optimizer.lr=0.01", "seed=1", "model.hidden_dim=64", "~space.lr"]
    )
    assert len(warnings) == 2
    assert warnings[0].startswith("optimizer.lr=0.01 has no effect")
    assert "space.hidden_dim" in warnings[1]
    assert overridden_by_space(compose_config(["~space.lr"]).space, ["optimizer.lr=0.01"]) == []


@pytest.mark.parametrize(
    ("fraction", "outcome"),
    [
        (
            0.0001,
            "selector.fraction=0.0001 selects 1 of 1,400 training examples, fewer than the "
            "data's 3 classes (some are never trained on): use selector.fraction >= 0.0022",
        ),
        (
            0.002,
            "selector.fraction=0.002 selects 2 of 1,400 training examples, fewer than the "
            "data's 3 classes (some are never trained on): use selector.fraction >= 0.0022",
        ),
        (0.0022, "batch"),
        (0.01, "batch"),
        (0.023, None),  # 32 examples: one mini-batch
        (1.0, None),
    ],
)
def test_a_subset_too_small_for_the_classes_or_a_batch_is_warned_about(fraction, outcome):
    from automata.config import check_subset_size

    warning = check_subset_size(fraction, n_train=1400, num_classes=3, batch_size=32)
    if outcome is None:
        assert warning is None
    elif outcome == "batch":
        assert warning is not None and warning.startswith(f"selector.fraction={fraction:g} ")
        assert "fewer than one mini-batch (train.batch_size=32)" in warning
    else:
        assert warning == outcome
        least = float(outcome.rsplit(" ", 1)[1])
        assert check_subset_size(least, 1400, 3, batch_size=1) is None  # the fraction it asks for
    # More classes than training examples: no fraction can help, and the line says so.
    assert check_subset_size(0.2, 27, 100, 8).endswith(
        "the training set itself has fewer examples than classes"
    )


@pytest.mark.parametrize(
    ("override", "line"),
    [
        (
            "selector.fractoin=0.1",
            "error: unknown setting 'selector.fractoin' (did you mean 'selector.fraction'?): "
            "python -m automata --cfg job lists the settings",
        ),
        (
            "tuning.n_trail=3",
            "error: unknown setting 'tuning.n_trail' (did you mean 'tuning.n_trials'?): "
            "python -m automata --cfg job lists the settings",
        ),
        (
            "selector=gradmatc",
            "error: selector=gradmatc: no such option (did you mean selector=gradmatch? options: "
            "craig, craigpb, full, glister, gradmatch, gradmatchpb, milo, random, random_online)",
        ),
        ("seed=abc", "error: seed: Value 'abc' of type 'str' could not be converted to Integer"),
    ],
)
def test_cli_typo_in_a_key_or_an_option_is_one_line_with_a_guess(tmp_path, override, line):
    res = _cli(override, f"hydra.run.dir={tmp_path / 'run'}", cwd=tmp_path)
    assert res.returncode == 2
    assert res.stderr.strip().splitlines() == [line]
    assert res.stdout == "" and not (tmp_path / "run").exists()


def test_cli_bad_value_is_printed_once_and_leaves_no_run_folder(tmp_path):
    """A run refused before it wrote anything: the one `error:` line (not also a log line on
    stdout), and no outputs/<date>/<time>/ folder left behind."""
    res = _cli("selector.fraction=abc", cwd=tmp_path)
    assert res.returncode == 2
    assert res.stderr.strip().splitlines() == [
        "error: selector.fraction must be a number, got 'abc'"
    ]
    assert "selector.fraction" not in res.stdout
    assert list(tmp_path.iterdir()) == []


def test_cli_model_without_a_space_of_its_name_says_what_to_add(tmp_path):
    (tmp_path / "conf" / "model").mkdir(parents=True)
    (tmp_path / "conf" / "model" / "mine.yaml").write_text("_target_: automata.models.mlp.MLP\n")
    res = _cli(f"hydra.searchpath=[file://{tmp_path / 'conf'}]", "model=mine", cwd=tmp_path)
    assert res.returncode == 2
    assert res.stderr.strip().splitlines() == [
        "error: space: model mine has no search space (space/mine.yaml is missing or empty): "
        "add it to the config folder that holds model/mine.yaml, or run with space=generic to "
        "tune the learning rate, batch size and weight decay"
    ]


@pytest.mark.parametrize(
    "scheduler",
    [
        ["scheduler=ladder"],
        ["scheduler=sha", "scheduler.resource=data", "scheduler.min_fraction=0.037"],
    ],
)
def test_the_data_ladder_refuses_the_full_selector(scheduler):
    """Growing the data across rungs needs a subset selector: with selector=full every rung
    would be a whole full-data training. One line names the way out."""
    cfg = compose_config(["selector=full", *scheduler])
    with pytest.raises(ConfigError, match="selector=full cannot: use scheduler=hyperband"):
        build_components(cfg)
