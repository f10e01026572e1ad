"""What automata relies on in Hydra beyond its public API, checked against the pinned Hydra: an
upgrade that changes one of them fails here (then update :mod:`automata.hydra_compat`)."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import hydra
import pytest
from hydra import compose, initialize_config_dir
from hydra.errors import HydraException

from automata import hydra_compat
from automata.config import conf_dir, register_configs
from automata.hydra_compat import composition_error_line, expand

from .conftest import ROOT


def test_the_hydra_these_checks_were_made_for():
    pinned = re.search(r"^hydra-core==(\S+)$", (ROOT / "constraints.txt").read_text(), re.M)
    assert pinned and hydra.__version__ == pinned[1], (
        f"Hydra {hydra.__version__} is installed, {pinned and pinned[1]} pinned: rerun "
        "tests/test_hydra_compat.py against it and update automata/hydra_compat.py"
    )


SWEEPS = [
    ["seed=0,1", "x=2"],
    ["selector=full,random", "seed=0,1,2", "train.epochs=3"],
    ["seed=0,1", "seed=5"],  # a later value of a key replaces the earlier one
    ["a=1", "b=x,y", "a=3,4"],
    ["+extra=1,2", "~space.lr", "tuning.storage=postgresql://u@h:5/db"],
    ["seed=choice(1,2)", "x=[1,2]", "y='a,b'"],
    [],
]


@pytest.mark.parametrize("arguments", SWEEPS)
def test_expand_matches_the_basic_sweeper(arguments):
    # The one private import: what expand() mirrors.
    from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
    from hydra.core.override_parser.overrides_parser import OverridesParser

    parsed = OverridesParser.create().parse_overrides(arguments)
    (batch,) = BasicSweeper.split_arguments(parsed, None)
    assert expand(arguments) == [list(job) for job in batch]


def test_expand_declines_what_the_basic_sweeper_cannot_run():
    assert expand(["lr=interval(0.1,1)"]) is None
    assert expand(["seed=[1"]) is None


def _composition_error(overrides: list[str]) -> HydraException:
    register_configs()
    with initialize_config_dir(version_base="1.3", config_dir=str(conf_dir())):
        with pytest.raises(HydraException) as info:
            compose(config_name="config", overrides=overrides)
    return info.value


@pytest.mark.parametrize(
    ("override", "line"),
    [
        (
            "selector.fractoin=0.1",
            "unknown setting 'selector.fractoin' (did you mean 'selector.fraction'?): python "
            "-m automata --cfg job lists the settings",
        ),
        (
            "selectr=random",
            "unknown setting 'selectr' (did you mean 'selector'?): python -m automata --cfg job "
            "lists the settings",
        ),
        (
            "scheduler=hyperbandd",
            "scheduler=hyperbandd: no such option (did you mean scheduler=hyperband? options: "
            "asha, hyperband, ladder, none, one_epoch, sha)",
        ),
        (
            "tuning.n_trials=many",
            "tuning.n_trials: Value 'many' of type 'str' could not be converted to Integer",
        ),
        (
            "~selector.nothere",
            "Could not delete from config. 'selector.nothere' does not exist.",
        ),
    ],
)
def test_composition_errors_carry_what_the_one_line_is_made_of(override, line):
    assert composition_error_line(_composition_error([override])) == line


def test_hydra_raises_composition_errors_with_full_error_set_and_prints_them_without(tmp_path):
    """The documented switch the entrypoint relies on (it sets it only while composing)."""
    code = (
        "import hydra\n"
        "@hydra.main(version_base='1.3', config_path=None)\n"
        "def task(cfg): pass\n"
        "try:\n"
        "    task()\n"
        "except Exception as exc:\n"
        "    print('raised', type(exc).__name__)\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "HYDRA_FULL_ERROR"}
    argv = [sys.executable, "-c", code, "nokey=1", f"hydra.run.dir={tmp_path}"]
    printed = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=120)
    assert printed.returncode == 1 and "Could not override 'nokey'" in printed.stderr
    raised = subprocess.run(
        argv, capture_output=True, text=True, env={**env, "HYDRA_FULL_ERROR": "1"}, timeout=120
    )
    assert raised.stdout.strip() == "raised ConfigCompositionException"


def test_full_errors_are_raised_only_while_composing(monkeypatch):
    monkeypatch.delenv("HYDRA_FULL_ERROR", raising=False)
    with hydra_compat.composition_errors_raised():
        assert os.environ["HYDRA_FULL_ERROR"] == "1" and not hydra_compat.full_errors_asked()
        hydra_compat.config_composed()
        assert "HYDRA_FULL_ERROR" not in os.environ
    assert "HYDRA_FULL_ERROR" not in os.environ
    monkeypatch.setenv("HYDRA_FULL_ERROR", "1")  # the user's own: left alone
    with hydra_compat.composition_errors_raised():
        hydra_compat.config_composed()
    assert os.environ["HYDRA_FULL_ERROR"] == "1" and hydra_compat.full_errors_asked()
