"""Shared fixtures: compose the real configs from conf/ with overrides, on the CPU."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from omegaconf import DictConfig, OmegaConf

from automata.config import compose, conf_dir

ROOT = Path(__file__).resolve().parents[1]
CONF = conf_dir()
SHARED_DATA = ROOT.parent / "shared" / "data"


def compose_config(overrides: list[str] | None = None) -> DictConfig:
    return compose(list(overrides or []))


@contextlib.contextmanager
def importable(folder: Path, modules: tuple[str, ...]) -> Iterator[None]:
    """A user's project folder on sys.path while the block runs (as when running from it);
    its ``modules`` are forgotten afterwards."""
    sys.path.insert(0, str(folder))
    try:
        yield
    finally:
        sys.path.remove(str(folder))
        for module in modules:
            sys.modules.pop(module, None)


def options(group: str) -> list[str]:
    """The options of a config group, ``conf/<group>/*.yaml``: the tests of a group cover
    every option, a new one included, without a list to edit."""
    return sorted(p.stem for p in (CONF / group).glob("*.yaml"))


def experiments_by_modality() -> dict[str, list[str]]:
    """``{modality: [experiment, ...]}`` from ``conf/experiment/*.yaml``'s
    ``experiment.modality``."""
    found: dict[str, list[str]] = {}
    for name in options("experiment"):
        modality = str(OmegaConf.load(CONF / "experiment" / f"{name}.yaml").experiment.modality)
        found.setdefault(modality, []).append(name)
    return found


@pytest.fixture
def make_cfg(tmp_path: Path):
    """``make_cfg([...overrides])``: a composed config writing into tmp_path, on the CPU."""

    def _make(overrides: list[str] | None = None, out: Path | None = None) -> DictConfig:
        base = [
            "device=cpu",
            f"paths.output_dir={out or tmp_path / 'run'}",
            f"paths.data_dir={tmp_path / 'data'}",
        ]
        return compose_config(base + list(overrides or []))

    return _make
