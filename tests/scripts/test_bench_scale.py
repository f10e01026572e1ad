"""The scaling benchmark's generated data (and how it plugs into a run) and its analysis."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import pytest
import torch

from automata.build import build
from automata.data.base import DataSplits
from automata.errors import ConfigError

from ..conftest import ROOT, compose_config


@pytest.fixture(scope="module")
def scripts():
    """The modules of ``scripts/`` (on sys.path, as when the benchmark runs)."""
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        yield importlib.import_module("synthetic_data"), importlib.import_module("bench_scale")
    finally:
        sys.path.remove(str(ROOT / "scripts"))


def test_generated_data_is_seeded_and_shaped(scripts):
    synthetic, _ = scripts
    a = synthetic.synthetic_classification(n=3000, seed=1)
    b = synthetic.synthetic_classification(n=3000, seed=1)
    c = synthetic.synthetic_classification(n=3000, seed=2)
    assert a.sizes() == {"train": 3000, "val": 1000, "test": 1000}
    assert a.train.features.shape == (3000, 50) and a.model_kwargs == {"input_dim": 50}
    assert torch.equal(a.train.features, b.train.features)
    assert torch.equal(a.test.labels, b.test.labels)
    assert not torch.equal(a.train.features, c.train.features)
    counts = torch.bincount(a.train.labels, minlength=10)
    assert a.num_classes == 10 and int(counts.min()) > 200  # every class, about balanced
    assert synthetic.synthetic_classification(n=20_000, val_fraction=0.1).sizes()["val"] == 2000


def test_generated_data_is_learnable_but_not_separable(scripts):
    """Nearest class mean (on the training data) is far above chance (10%) and far from
    perfect: the problem needs a model, as intended."""
    synthetic, _ = scripts
    d = synthetic.synthetic_classification(n=5000)
    means = torch.stack([d.train.features[d.train.labels == k].mean(0) for k in range(10)])
    pred = torch.cdist(d.val.features, means).argmin(1)
    acc = float((pred == d.val.labels).float().mean())
    assert 0.2 < acc < 0.8


def test_bad_generator_options_are_one_line_errors(scripts):
    synthetic, _ = scripts
    with pytest.raises(ConfigError, match="informative"):
        synthetic.synthetic_classification(n=100, informative=60)
    with pytest.raises(ConfigError, match="label_noise"):
        synthetic.synthetic_classification(n=100, label_noise=1.5)


def test_generated_data_plug_in_through_the_dataset_target(scripts):
    """What the benchmark does: the composed config's dataset node replaced by one whose
    _target_ is the generator, built like every dataset."""
    _, bench = scripts
    cfg = bench._with_dataset(compose_config(["device=cpu"]), 1200, 3)
    assert cfg.dataset._target_ == "synthetic_data.synthetic_classification"
    data = build("dataset", cfg.dataset)
    assert isinstance(data, DataSplits) and len(data.train) == 1200
    assert data.name == "synthetic-1200"


def test_loglog_slope(scripts):
    _, bench = scripts
    xs = [1e4, 1e5, 1e6]
    assert bench.loglog_slope(xs, [3e-8 * x * x for x in xs]) == pytest.approx(2.0)
    assert bench.loglog_slope(xs, [5 * x for x in xs]) == pytest.approx(1.0)
    assert bench.loglog_slope(xs, [7.0, 7.0, 7.0]) == pytest.approx(0.0)
    assert bench.loglog_slope([1e4], [1.0]) is None
    assert bench.loglog_slope(xs, [None, 1.0, 0.0]) is None  # one usable point


def test_report_flags_selection_over_ten_percent(scripts, tmp_path: Path):
    _, bench = scripts
    base = {"kind": "study", "selector": "gradmatchpb", "fraction": 0.1, "rounds": 3}
    records = [
        {**base, "n": 10_000, "peak_mb": 600.0, "baseline_mb": 500.0, "selection_share": 0.04},
        {**base, "n": 100_000, "peak_mb": 1500.0, "baseline_mb": 500.0, "selection_share": 0.3},
    ]
    text = bench.report(records, tmp_path, "# test")
    assert "N=1e+04, gradmatchpb: 4.0% of the tuning time (ok)" in text
    assert "N=1e+05, gradmatchpb: 30.0% of the tuning time (OVER the 10% target)" in text
    assert "peak-baseline MB 1.00" in text  # 100 MB -> 1000 MB over a decade
    assert (tmp_path / "table.md").read_text() == text


def test_marginal_bytes_is_constant_for_linear_memory(scripts):
    _, bench = scripts
    ns = [10_000, 100_000, 1_000_000]
    linear = [100 + 250 * n / 2**20 for n in ns]  # 100 MiB overhead + 250 B per example
    assert bench.marginal_bytes(ns, linear) == pytest.approx([250.0, 250.0])
    quadratic = [100 + 1e-3 * n * n / 2**20 for n in ns]
    low, high = bench.marginal_bytes(ns, quadratic)
    assert high > 5 * low
