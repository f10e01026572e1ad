"""The paper-reproduction configs (``conf/experiment/``) and the ``make reproduce-*`` targets
(``mk/reproduce.mk``) that sweep them."""

from __future__ import annotations

import re
import subprocess

import pytest

from automata.run import build_components

from .conftest import ROOT, compose_config, experiments_by_modality, options

EXPERIMENTS = options("experiment")
SWEEP_FORMS = {
    "as-is": [],
    "full+asha": [
        "selector=full",
        "scheduler=asha",
        "~scheduler.bracket_order",
    ],
    "subset+asha": [
        "selector=random",
        "selector.fraction=0.05",
        "scheduler=asha",
        "~scheduler.bracket_order",
    ],
}


def test_every_paper_setting_has_an_experiment():
    assert set(EXPERIMENTS) >= set(
        [
            "tabular_dna",
            "tabular_satimage",
            "tabular_letter",
            "tabular_connect4",
            "text_trec6",
            "text_sst2",
            "text_sst5",
            "text_glue_sst2",
            "image_cifar10",
            "image_cifar100",
            "image_svhn",
        ]
    )


@pytest.mark.parametrize("form", SWEEP_FORMS)
@pytest.mark.parametrize("experiment", EXPERIMENTS)
def test_experiment_composes_in_every_sweep_form(experiment, form):
    cfg = compose_config([f"experiment={experiment}", *SWEEP_FORMS[form]])
    selector, scheduler, _, _ = build_components(cfg)
    assert cfg.experiment.name == experiment
    assert cfg.tuning.n_trials == 27
    if form == "as-is":
        assert selector.name == "gradmatchpb"
        assert scheduler.name == "hyperband" and scheduler.eta == 3
        assert scheduler.bracket_order == "conservative_first"
    else:
        assert scheduler.name == "asha" and scheduler.eta == 4 and scheduler.min_resource == 1


def test_experiment_values_win_over_the_primary_config():
    image = compose_config(["experiment=image_cifar10"])
    assert image.train.epochs == 300
    assert image.optimizer.name == "sgd" and image.optimizer.weight_decay == 5e-4
    assert image.selector.interval == 20 and image.selector.kappa == 0.35
    text = compose_config(["experiment=text_trec6"])
    assert text.train.epochs == 20 and text.selector.interval == 5 and text.selector.kappa == 0


def test_make_targets_are_listed_and_expand():
    listed = subprocess.run(["make", "-s", "help"], cwd=ROOT, capture_output=True, text=True)
    for target in ("reproduce-tabular", "reproduce-text", "reproduce-image"):
        assert target in listed.stdout
    dry = subprocess.run(
        ["make", "-n", "reproduce-tabular", "QUICK=1"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "QUICK mode: shrunk protocol, not the paper's" in dry
    assert "selector=full search=" in dry and "~selector" not in dry  # full ignores fraction
    assert "scheduler=asha ~scheduler.bracket_order" in dry
    assert "-m automata.ranking" in dry and "-m automata.results" in dry


@pytest.mark.parametrize("modality", sorted(experiments_by_modality()))
def test_make_reproduce_runs_every_experiment_of_its_modality(modality):
    """The sweeps of ``make reproduce-<modality>`` are every conf/experiment YAML of that
    modality: a new experiment file joins them with no edit to mk/reproduce.mk."""
    dry = subprocess.run(
        ["make", "-n", f"reproduce-{modality}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    loop = re.search(r"for exp in ([^;]*);", dry)
    assert loop is not None, dry[-2000:]
    assert sorted(loop.group(1).split()) == experiments_by_modality()[modality]
