"""Shared by the tests of the benchmark scripts."""

from __future__ import annotations

import contextlib
import importlib
import sys
from collections.abc import Iterator
from types import ModuleType

from ..conftest import ROOT


@contextlib.contextmanager
def script(name: str) -> Iterator[ModuleType]:
    """``scripts/<name>.py`` imported as the benchmark runs it (``scripts/`` on sys.path)."""
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        yield importlib.import_module(name)
    finally:
        sys.path.remove(str(ROOT / "scripts"))
