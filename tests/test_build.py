"""Building a config group: a value of the wrong kind, a missing argument and a target that
cannot be imported are each one line naming the key."""

from __future__ import annotations

from pathlib import Path

import pytest
from omegaconf import OmegaConf

from automata.build import build, locate
from automata.errors import ConfigError
from automata.run import build_components

from .conftest import compose_config, importable


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("selector.fraction=abc", "selector.fraction must be a number, got 'abc'"),
        ("selector.interval=often", "selector.interval must be an integer, got 'often'"),
        ("scheduler.eta=three", "scheduler.eta must be an integer, got 'three'"),
        ("selector=random_online", None),
        ("selector.fraction=0.2", None),
    ],
)
def test_text_for_a_number_names_the_key_and_what_it_must_be(override, message):
    cfg = compose_config([override, "device=cpu"])
    if message is None:
        build_components(cfg)
        return
    with pytest.raises(ConfigError) as info:
        build_components(cfg)
    assert str(info.value) == message


def test_a_flag_given_as_text_is_refused():
    cfg = compose_config(["selector=gradmatchpb"])
    cfg.selector.lam_relative = "sometimes"
    with pytest.raises(ConfigError, match=r"^selector.lam_relative must be true or false, got"):
        build("selector", cfg.selector)


def test_an_argument_the_yaml_lacks_is_named():
    node = OmegaConf.create({"_target_": "automata.data.images.load_image_folder", "name": "x"})
    with pytest.raises(ConfigError) as info:
        build("dataset", node)
    assert str(info.value) == (
        "dataset.root is missing: automata.data.images.load_image_folder needs it (add "
        "'root: ...' to the dataset YAML, or dataset.root=... on the command line)"
    )


def test_a_partial_node_may_leave_arguments_to_its_caller():
    node = OmegaConf.create({"_target_": "builtins.divmod", "_partial_": True})
    assert build("x", node)(7, 2) == (3, 1)


def test_a_module_of_ones_own_that_is_not_importable_says_how():
    with pytest.raises(ConfigError) as info:
        locate("mymodels_nowhere.TinyNet", "model._target_")
    assert str(info.value) == (
        "model._target_: cannot import 'mymodels_nowhere.TinyNet': no module named "
        "'mymodels_nowhere' (a module of your own: run from the folder that holds it, or set "
        "PYTHONPATH=<that folder>)"
    )


def test_a_missing_name_in_a_module_and_a_broken_module_are_told_apart(tmp_path: Path):
    with pytest.raises(ConfigError, match=r"^model._target_: .*automata.models.mlp has no 'MLPX'$"):
        locate("automata.models.mlp.MLPX", "model._target_")
    (tmp_path / "broken_user_module.py").write_text("import a_dependency_nobody_installed\n")
    with importable(tmp_path, ("broken_user_module",)):
        with pytest.raises(ConfigError) as info:
            locate("broken_user_module.Net")
    assert str(info.value).endswith(
        "ModuleNotFoundError: No module named 'a_dependency_nobody_installed'"
    )
    assert locate("automata.models.mlp.MLP").__name__ == "MLP"
