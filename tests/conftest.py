"""Shared fixtures: compose the real configs from conf/ with overrides, on the CPU."""

from __future__ import annotations

from pathlib import Path

import pytest
from omegaconf import DictConfig

from automata.config import compose, conf_dir

ROOT = Path(__file__).resolve().parents[1]
CONF = conf_dir()
SHARED_DATA = ROOT.parent / "shared" / "data"


def compose_config(overrides: list[str] | None = None) -> DictConfig:
    return compose(list(overrides or []))


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
