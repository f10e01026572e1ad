"""Packages of the wheel: ``src/automata`` and the repository's top-level ``conf/`` folder, which
ships inside the package as ``automata/conf`` (found by ``automata.config.conf_dir``). Every other
setting is in pyproject.toml."""

from setuptools import find_packages, setup

setup(
    packages=[*find_packages("src"), "automata.conf"],
    package_dir={"": "src", "automata.conf": "conf"},
)
