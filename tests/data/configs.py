"""The dataset configs of ``conf/dataset/`` as loader functions, for the data tests.

A data set is its YAML (the generic loaders read everything from it), so the tests load a data
set the way a run does: :func:`automata.build.build` of its config (errors the user can fix
come out as themselves), with keyword arguments overriding keys.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from automata.build import build
from automata.config import conf_dir
from automata.data.base import DataSplits

CONF_DATASET = conf_dir() / "dataset"


def dataset_config(name: str, data_dir: str | Path = "data") -> DictConfig:
    """``conf/dataset/<name>.yaml`` with ``${paths.data_dir}`` set to ``data_dir``."""
    dataset = OmegaConf.load(CONF_DATASET / f"{name}.yaml")
    cfg = OmegaConf.create({"paths": {"data_dir": str(data_dir)}, "dataset": dataset})
    return cfg.dataset


def dataset_loader(name: str) -> Callable[..., DataSplits]:
    """``load(root=None, **overrides)``: the data set of ``conf/dataset/<name>.yaml``."""

    def load(*args: Any, **overrides: Any) -> DataSplits:
        if args:
            (overrides["root"],) = args
        return build("dataset", dataset_config(name), **overrides)

    load.__name__ = f"load_{name}"
    return load
