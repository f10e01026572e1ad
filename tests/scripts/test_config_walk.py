"""scripts/config_walk.py: the stops of a value's walk through a tiny package, in both modes."""

from __future__ import annotations

import importlib.util
import json
import sys
import textwrap
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "config_walk.py"


@pytest.fixture(scope="module")
def config_walk():
    spec = importlib.util.spec_from_file_location("config_walk", SCRIPT)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    try:
        spec.loader.exec_module(module)
        yield module
    finally:
        sys.modules.pop(spec.name, None)


def make_package(root: Path, files: dict[str, str]) -> Path:
    package = root / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    for name, text in files.items():
        (package / name).write_text(textwrap.dedent(text))
    return package


RUN = """
    import json

    from pkg import store
    from pkg.checks import validate
    from pkg.train import Trainer


    def run(cfg):
        conf = cfg  # an alias
        validate(conf)  # the whole config, to another module
        store.save(cfg.a)  # a section, to a third module
        trainer = Trainer(cfg)  # an object that keeps the config
        trainer.fit()  # reads self.cfg: entered
        trainer.report(3)  # does not read it: not entered
        unrelated(42)  # only an unrelated value: not entered
        json.dumps(cfg)  # a library call: not followed
        return helper(cfg)


    def unrelated(x):
        validate(x)


    def helper(c):
        value = c["b"]
        return store.save(value)
"""
CHECKS = """
    def validate(cfg):
        _known(cfg)


    def _known(cfg):
        return sorted(cfg)
"""
STORE = """
    def save(section):
        return len(section.items())
"""
TRAIN = """
    from pkg.checks import validate as check


    class Base:
        def __init__(self, cfg):
            self.cfg = cfg


    class Trainer(Base):
        def fit(self):
            check(self.cfg)
            return self.cfg.lr

        def report(self, n):
            return n
"""


@pytest.fixture
def package(tmp_path: Path) -> Path:
    files = {"run.py": RUN, "checks.py": CHECKS, "store.py": STORE, "train.py": TRAIN}
    return make_package(tmp_path, files)


def route(result: dict) -> list[str]:
    return [f"{s['module']}: {', '.join(s['functions'])}" for s in result["stops"]]


def test_whole_value(config_walk, package):
    result = config_walk.walk(package, "run.py:run:cfg")
    assert route(result) == [
        "run.py: run",
        "checks.py: validate, _known",
        "run.py: run",
        "train.py: Base.__init__",  # Trainer(cfg): the base class's __init__
        "run.py: run",
        "train.py: Trainer.fit",
        "checks.py: validate, _known",  # through "validate as check"
        "run.py: run, helper",  # back in run, then helper in the same module
    ]
    assert (result["n_stops"], result["n_modules"]) == (8, 3)
    assert result["modules"] == ["checks.py", "run.py", "train.py"]
    assert result["not_followed"] == {"sorted": 2, "json.dumps": 1}


def test_parts(config_walk, package):
    result = config_walk.walk(package, "run.py:run:cfg", parts=True)
    assert route(result) == [
        "run.py: run",
        "checks.py: validate, _known",
        "run.py: run",
        "store.py: save",  # cfg.a
        "run.py: run",
        "train.py: Base.__init__",
        "run.py: run",
        "train.py: Trainer.fit",
        "checks.py: validate, _known",
        "run.py: run, helper",
        "store.py: save",  # value = c["b"]
    ]
    assert (result["n_stops"], result["n_modules"]) == (11, 4)
    assert result["not_followed"] == {"sorted": 2, "json.dumps": 1}


def test_an_unrelated_value_enters_nothing(config_walk, package):
    for parts in (False, True):
        functions = [
            f
            for s in config_walk.walk(package, "run.py:run:cfg", parts)["stops"]
            for f in s["functions"]
        ]
        assert "unrelated" not in functions and "Trainer.report" not in functions
    # the unrelated function itself, followed from its own parameter, does reach validate
    alone = config_walk.walk(package, "run.py:unrelated:x")
    assert route(alone) == ["run.py: unrelated", "checks.py: validate, _known"]


FACTORY_RUN = """
    from .study import Settings, Study


    def run(cfg):
        study = Study.open(cfg.tuning)  # a classmethod factory: study keeps the section
        study.tune()
        settings = Settings(cfg.space, 1)  # a dataclass: no stop, but it keeps cfg.space
        settings.show()
        walk_tree(cfg, 2)


    def walk_tree(cfg, n):
        if n:
            walk_tree(cfg, n - 1)  # recursion: not entered again
"""
FACTORY_STUDY = """
    from dataclasses import dataclass


    class Study:
        def __init__(self, tuning):
            self.tuning = tuning

        @classmethod
        def open(cls, tuning):
            return cls(tuning)

        def tune(self):
            return self.tuning.n


    @dataclass
    class Settings:
        space: dict
        seed: int

        def show(self):
            return self.space
"""


def test_factories_dataclasses_and_recursion(config_walk, tmp_path, capsys):
    package = make_package(tmp_path, {"run.py": FACTORY_RUN, "study.py": FACTORY_STUDY})
    whole = config_walk.walk(package, "run.py:run:cfg")
    assert route(whole) == ["run.py: run, walk_tree"]
    assert whole["not_followed"] == {"walk_tree (recursion)": 1}
    assert config_walk.main([str(package), "run.py:run:cfg", "--parts", "--json"]) == 0
    parts = json.loads(capsys.readouterr().out)
    assert route(parts) == [
        "run.py: run",
        "study.py: Study.open, Study.__init__",
        "run.py: run",
        "study.py: Study.tune",
        "run.py: run",
        "study.py: Settings.show",
        "run.py: run, walk_tree",
    ]
    assert (parts["n_stops"], parts["n_modules"]) == (7, 2)


def test_the_printed_route_and_a_bad_entry(config_walk, package, capsys):
    assert config_walk.main([str(package), "run.py:run:cfg"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[1] == "  1. run.py: run" and out[2] == "  2. checks.py: validate, _known"
    assert out[-2] == "not followed: sorted x2, json.dumps x1"
    assert out[-1] == "8 stops in 3 modules"
    with pytest.raises(SystemExit, match="no function run"):
        config_walk.walk(package, "run.py:run:nope")
