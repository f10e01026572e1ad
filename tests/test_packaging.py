"""Installs: the config groups reach the installed package, and the ``automata`` command runs
from any folder. (``make check-wheel`` installs the wheel into a fresh environment and runs it;
CI calls it after the tests.)"""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from omegaconf import OmegaConf

from .conftest import CONF, ROOT


def test_automata_command_runs_from_any_folder(tmp_path):
    command = Path(sys.executable).parent / "automata"
    assert command.exists(), "the environment lacks the `automata` console script"
    res = subprocess.run(
        [str(command), "--cfg", "job"], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert res.returncode == 0, res.stderr[-2000:]
    cfg = OmegaConf.create(res.stdout)
    assert cfg.dataset.name == "dna"
    assert cfg.selector._target_ == "automata.selection.random.RandomSelector"
    assert cfg.scheduler._target_ == "automata.tuning.schedulers.Ladder"


@pytest.mark.slow
def test_wheel_ships_every_config_file_and_uses_it(tmp_path):
    # Build from a copy, so the checkout gets no build folder.
    src = tmp_path / "src"
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info")
    for name in ("src", "conf"):
        shutil.copytree(ROOT / name, src / name, ignore=ignore)
    for name in ("setup.py", "pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation"]
        + ["-w", str(tmp_path / "dist"), str(src)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (wheel,) = (tmp_path / "dist").glob("automata-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = {f"automata/conf/{p.relative_to(CONF).as_posix()}" for p in CONF.rglob("*.yaml")}
    assert len(expected) > 40 and expected <= names
    assert not any(n.startswith("conf/") for n in names), "conf/ must not be a top-level package"

    # The installed package reads its own copy, wherever it is run from.
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    found = subprocess.run(
        [sys.executable, "-c", "from automata.config import conf_dir; print(conf_dir())"],
        cwd=tmp_path,
        env={"PYTHONPATH": str(site), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert found.returncode == 0, found.stderr[-2000:]
    assert Path(found.stdout.strip()) == site / "automata" / "conf"
