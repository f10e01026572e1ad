"""Ranking agreement (``python -m automata.ranking``): correlations, configurations, end to end."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import optuna
import pytest
from scipy import stats

from automata.build import build
from automata.ranking import (
    FixedConfigurationsSampler,
    SelectorSpec,
    compose_run_config,
    curves_by_configuration,
    draw_configurations,
    main,
    run_ranking,
    values_by_configuration,
)
from automata.results import build_results
from automata.results.agreement import rank_agreement
from automata.run_outputs.summary import RunSummary, TrialCost, TrialRow

from .conftest import compose_config


def test_rank_agreement_equals_scipy_on_a_toy_case():
    full = [0.91, 0.85, 0.40, 0.77, 0.60, 0.88]
    subset = [0.80, 0.82, 0.35, 0.70, 0.30, 0.79]
    got = rank_agreement(full, subset)
    kt, sr = stats.kendalltau(full, subset), stats.spearmanr(full, subset)
    assert got["n"] == 6
    assert got["kendall_tau"] == pytest.approx(kt.statistic)
    assert got["kendall_p"] == pytest.approx(kt.pvalue)
    assert got["spearman_rho"] == pytest.approx(sr.statistic)
    assert got["spearman_p"] == pytest.approx(sr.pvalue)
    assert rank_agreement(full, full)["kendall_tau"] == pytest.approx(1.0)
    assert rank_agreement(full, [-x for x in full])["spearman_rho"] == pytest.approx(-1.0)


def test_rank_agreement_pairs_only_configurations_scored_in_both_and_handles_ties():
    full = [0.9, None, 0.5, 0.7, 0.7]
    subset = [0.8, 0.6, None, 0.6, 0.5]
    got = rank_agreement(full, subset)
    x, y = [0.9, 0.7, 0.7], [0.8, 0.6, 0.5]
    assert got["n"] == 3
    assert got["kendall_tau"] == pytest.approx(stats.kendalltau(x, y).statistic)  # tau-b
    assert got["spearman_rho"] == pytest.approx(stats.spearmanr(x, y).statistic)
    constant = rank_agreement([0.1, 0.2, 0.3], [0.5, 0.5, 0.5])
    assert constant["n"] == 3 and constant["kendall_tau"] is None
    assert rank_agreement([0.1], [0.2])["spearman_rho"] is None
    with pytest.raises(ValueError):
        rank_agreement([0.1, 0.2], [0.1])


def test_configurations_are_seeded_draws_from_the_space():
    space = compose_config([]).space
    a = draw_configurations(space, 5, seed=3)
    assert a == draw_configurations(space, 5, seed=3)
    assert a != draw_configurations(space, 5, seed=4)
    for cfg in a:
        assert set(cfg) == set(space.keys())
        assert space.lr.low <= cfg["lr"] <= space.lr.high
        assert cfg["hidden_dim"] in space.hidden_dim.choices


def test_values_are_matched_on_parameters_not_trial_numbers():
    configs = [{"lr": 0.1, "b": 16}, {"lr": 0.01, "b": 32}, {"lr": 0.2, "b": 64}]
    trials = [
        TrialRow(0, "complete", 0.7, 2, {"lr": 0.01, "b": 32}, TrialCost()),
        TrialRow(1, "fail", None, None, {"lr": 0.1, "b": 16}, TrialCost()),
        TrialRow(2, "complete", 0.5, 2, {"lr": 0.3, "b": 16}, TrialCost()),  # a replacement
        TrialRow(3, "complete", 0.6, 2, {"lr": 0.1, "b": 16}, TrialCost()),
    ]
    assert values_by_configuration(trials, configs) == [0.6, 0.7, None]


def test_curves_are_every_epochs_validation_matched_on_parameters():
    """A ranking study with ``train.eval_every=1``: each configuration's curve, epoch by epoch;
    a failed trial and a replacement (parameters of no configuration) are left out; an epoch
    that was not validated is None."""
    from optuna.distributions import CategoricalDistribution, FloatDistribution
    from optuna.trial import TrialState, create_trial

    dist = {"lr": FloatDistribution(0.001, 1.0), "b": CategoricalDistribution([16, 32, 64])}
    configs = [{"lr": 0.1, "b": 16}, {"lr": 0.01, "b": 32}, {"lr": 0.2, "b": 64}]

    def trial(state, params, curve):
        value = curve[max(curve)] if state == TrialState.COMPLETE else None
        return create_trial(
            state=state, value=value, params=params, distributions=dist, intermediate_values=curve
        )

    trials = [
        trial(TrialState.COMPLETE, {"lr": 0.01, "b": 32}, {1: 0.5, 2: 0.6, 3: 0.7}),
        trial(TrialState.FAIL, {"lr": 0.1, "b": 16}, {1: 0.4}),
        trial(TrialState.COMPLETE, {"lr": 0.3, "b": 16}, {1: 0.1, 2: 0.2, 3: 0.3}),
        trial(TrialState.COMPLETE, {"lr": 0.1, "b": 16}, {1: 0.2, 3: 0.6}),
    ]
    assert curves_by_configuration(trials, configs, epochs=3) == [
        [0.2, None, 0.6],
        [0.5, 0.6, 0.7],
        None,
    ]


def test_fixed_sampler_proposes_the_configurations_in_order():
    configs = [{"x": 0.25, "c": "a"}, {"x": 0.5, "c": "b"}]
    study = optuna.create_study(sampler=FixedConfigurationsSampler(configs))
    seen = []
    for _ in range(3):
        trial = study.ask()
        seen.append((trial.suggest_float("x", 0.0, 1.0), trial.suggest_categorical("c", "ab")))
        study.tell(trial, 0.0)
    assert seen == [(0.25, "a"), (0.5, "b"), (0.25, "a")]


def test_selector_specs():
    spec = SelectorSpec.parse("gradmatchpb:kappa=0.35,interval=2")
    assert spec.overrides(0.1) == [
        "selector=gradmatchpb",
        "selector.fraction=0.1",
        "selector.kappa=0.35",
        "selector.interval=2",
    ]
    assert spec.label == "gradmatchpb_kappa0.35_interval2"
    with pytest.raises(ValueError):
        SelectorSpec.parse("full")
    with pytest.raises(ValueError):
        SelectorSpec.parse("random:fraction")


def test_study_configs_drop_keys_the_experiment_set_for_other_options(tmp_path):
    configs = draw_configurations(compose_config([]).space, 3, seed=0)
    cfg = compose_run_config(
        ["experiment=tabular_dna"], ["selector=full"], configs, 1, tmp_path, via="sampler"
    )
    build("selector", cfg.selector)  # no fraction/interval/kappa left for FullSelector
    assert build("scheduler", cfg.scheduler).name == "none"
    assert cfg.tuning.n_trials == 3 and not cfg.tuning.final_train and cfg.seed == 1
    assert cfg.search._target_.endswith("FixedConfigurationsSampler")
    enq = compose_run_config([], [], configs, 0, tmp_path, via="enqueue")
    assert list(enq.tuning.enqueue) == configs


def test_end_to_end_tiny_ranking(tmp_path):
    out = tmp_path / "ranking"
    overrides = [
        "experiment=tabular_dna",
        "train.epochs=2",
        "device=cpu",
        f"paths.data_dir={tmp_path / 'data'}",
    ]
    specs = [SelectorSpec.parse("random"), SelectorSpec.parse("gradmatchpb")]
    result = run_ranking(overrides, out, specs, fractions=[0.1], seeds=[0, 1], k=3)
    on_disk = json.loads((out / "ranking.json").read_text())
    assert on_disk["entries"] == json.loads(json.dumps(result["entries"]))
    assert [e["selector"] for e in on_disk["entries"]] == ["random", "gradmatchpb"]
    assert on_disk["failed"] == [] and on_disk["k"] == 3 and on_disk["dataset"] == "dna"
    full_values = on_disk["full"]["0"]["values"]
    assert len(full_values) == 3 and all(v is not None for v in full_values)
    # The noise ceiling: the full data of seed 0 against seed 1 (one pair), scipy's tau-b
    full_other = on_disk["full"]["1"]["values"]
    tau = stats.kendalltau(full_values, full_other).statistic
    assert on_disk["ceiling"]["tau"]["mean"] == pytest.approx(tau)
    for e in on_disk["entries"]:
        assert e["fraction"] == 0.1 and e["n_seeds"] == 2 and e["kappa"] == 0.0
        assert e["per_seed"][0]["n"] == 3
        # the full-data regret of the subset's best, by hand
        mine = e["per_seed"][0]["values"]
        pick = max(range(3), key=lambda i: (mine[i], -i))
        assert e["per_seed"][0]["regret"] == pytest.approx(max(full_values) - full_values[pick])
        cross = stats.kendalltau(e["per_seed"][0]["values"], full_other).statistic
        other = stats.kendalltau(e["per_seed"][1]["values"], full_values).statistic
        if not (math.isnan(cross) or math.isnan(other)):
            assert e["cross_seed"]["tau"]["mean"] == pytest.approx((cross + other) / 2)
        # every study trained exactly the K configurations, to the end
        summary = RunSummary.read(Path(e["per_seed"][0]["run_dir"]) / "summary.json")
        assert [t.params for t in summary.trials] == on_disk["configs"]
        assert all(t.epochs == 2 for t in summary.trials)
        assert summary.final_test_accuracy is None
    with (out / "ranking.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    assert [r["selector"] for r in rows] == ["random", "random", "gradmatchpb", "gradmatchpb"]
    # the report reads it, and does not mistake the ranking's studies for tuning runs
    report = build_results([out], out=tmp_path / "report")
    assert report.collection.runs == [] and len(report.collection.rankings) == 1
    assert "## Ranking agreement with full-data training" in report.markdown.read_text()


def test_command_line_reports_bad_arguments(tmp_path, capsys):
    assert main(["--out", str(tmp_path), "--selectors", "full"]) == 2
    assert "reference" in capsys.readouterr().err
    assert main(["no_such_group=1", "--out", str(tmp_path)]) == 2
