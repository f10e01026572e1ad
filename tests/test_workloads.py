"""Every data set and every model of ``conf/`` composes and runs a tiny tuning end to end.

The pairs come from ``conf/``: each data set with the model of the experiment that uses it
(``conf/experiment/``), else with a model that takes its kind of input; each model no
experiment uses, with a data set of its kind of input. The files are the shipped ones (dna,
satimage), the first lines of the shipped ones (TREC, SST), or generated in the real on-disk
format of the data set's reader (LIBSVM, the connect-4 TSV, GLUE's TSV, torchvision's CIFAR and
SVHN files): a new data set of a known format is tested as soon as its YAML exists.
"""

from __future__ import annotations

import inspect

import pytest
from hydra.utils import get_method
from omegaconf import OmegaConf

from automata.build import build
from automata.data.base import MODEL_INPUTS
from automata.run import run
from automata.run_outputs.summary import RunSummary

from .conftest import CONF, options
from .data.writers import data_format, write_test_files

TINY = [
    "train.epochs=1",
    "scheduler=none",
    "selector=gradmatchpb",
    "selector.fraction=0.2",
    "selector.batch_size=4",  # candidate batches of 4: several even on the tiny image sets
]


def model_input(model: str) -> str | None:
    """The kind of data a model option is for: the MODEL_INPUTS argument its constructor
    takes (``input_dim``: tabular, ``vocab``: text, ``in_channels``: images)."""
    target = str(OmegaConf.load(CONF / "model" / f"{model}.yaml")._target_)
    params = inspect.signature(get_method(target)).parameters
    return next((kind for kind, arg in MODEL_INPUTS.items() if arg in params), None)


def _pairs() -> list[tuple[str, str | None, list[str]]]:
    by_experiment: dict[str, str] = {}
    for experiment in options("experiment"):
        node = OmegaConf.load(CONF / "experiment" / f"{experiment}.yaml")
        picked = {k: v for d in node.defaults for k, v in d.items()}
        by_experiment.setdefault(picked["override /dataset"], picked["override /model"])
    pairs: list[tuple[str, str | None, list[str]]] = []
    seen_formats: set[str] = set()
    for dataset in options("dataset"):
        fmt = data_format(OmegaConf.load(CONF / "dataset" / f"{dataset}.yaml"))
        # Final training once per format (it retrains on the full data: the slow part).
        extra = [] if fmt not in seen_formats else ["tuning.final_train=false"]
        seen_formats.add(fmt)
        pairs.append((dataset, by_experiment.get(dataset), extra))  # None: chosen by its data
    kinds = {model_input(m): d for d, m, _ in pairs if m is not None}
    for model in options("model"):
        if model not in by_experiment.values() and model_input(model) in kinds:
            pairs.append((kinds[model_input(model)], model, FEWER))
    return pairs


FEWER = ["tuning.n_trials=1", "tuning.final_train=false"]
PAIRS = _pairs()


def test_every_model_is_paired():
    assert {m for _, m, _ in PAIRS} >= set(options("model"))


@pytest.mark.slow
@pytest.mark.parametrize(
    ("dataset", "model", "extra"), PAIRS, ids=[f"{d}-{m or 'auto'}" for d, m, _ in PAIRS]
)
def test_tiny_tuning_end_to_end(tiny_cfg, tmp_path, dataset, model, extra):
    data_dir = tmp_path / "data"
    node = tiny_cfg([f"dataset={dataset}"]).dataset
    extra = [*write_test_files(node, data_dir), *extra]
    if model is None:  # a data set no experiment uses: a model that takes its input
        data = build("dataset", tiny_cfg([f"dataset={dataset}", *extra]).dataset)
        model = next(m for m in options("model") if model_input(m) == data.modality)
    cfg = tiny_cfg([f"dataset={dataset}", f"model={model}", *TINY, *extra])
    summary = run(cfg)
    on_disk = RunSummary.read(tmp_path / "run" / "summary.json")
    assert on_disk.dataset == dataset
    assert on_disk.choices["dataset"] == dataset and on_disk.choices["model"] == model
    assert on_disk.n_trials.completed >= 1
    assert set(summary.best_params) == set(cfg.space.keys())
    assert 0.0 <= summary.best_val_accuracy <= 1.0
    if cfg.tuning.final_train:
        assert 0.0 <= summary.final_test_accuracy <= 1.0
    rounds = [t for t in on_disk.trials if t.state == "complete"]
    assert all(t.cost.selection_rounds >= 1 for t in rounds)
