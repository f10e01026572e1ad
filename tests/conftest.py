"""Shared fixtures: compose the real configs from conf/ with overrides, on the CPU."""

from __future__ import annotations

from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from omegaconf import DictConfig

import automata.config  # noqa: F401  (registers the schema in Hydra's ConfigStore)

ROOT = Path(__file__).resolve().parents[1]
CONF = ROOT / "conf"
SHARED_DATA = ROOT.parent / "shared" / "data"


def compose_config(overrides: list[str] | None = None) -> DictConfig:
    with initialize_config_dir(version_base="1.3", config_dir=str(CONF)):
        return compose(config_name="config", overrides=list(overrides or []))


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
