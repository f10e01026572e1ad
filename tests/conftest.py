"""Shared fixtures: the real configs of conf/ composed with overrides; a tiny run (on the CPU,
few trials, few epochs, into a tmp folder, no TensorBoard) as a config (``tiny_cfg``) or as
the overrides of ``python -m automata`` (``tiny_run``); the PostgreSQL server of the shared-
storage tests; torch's process-wide settings put back after a test that changes them
(``restore_process``)."""

from __future__ import annotations

import contextlib
import os
import socket
import sys
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from omegaconf import DictConfig, OmegaConf

from automata.config import compose, conf_dir

ROOT = Path(__file__).resolve().parents[1]
CONF = conf_dir()
SHARED_DATA = ROOT.parent / "shared" / "data"


def denormals_flushed() -> bool:
    """Whether torch computes with denormal floats flushed to zero in this process now
    (1e-323 is a float64 denormal; flushed, it becomes 0)."""
    import torch

    return (torch.tensor([1e-323], dtype=torch.float64) * 1.0).item() == 0.0


@pytest.fixture
def restore_process(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Put back after the test what configuring a process changes for all that follow:
    torch's determinism settings, its number of threads and its denormal handling."""
    import torch

    algorithms = torch.are_deterministic_algorithms_enabled()
    warn_only = torch.is_deterministic_algorithms_warn_only_enabled()
    cudnn = (torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark)
    threads, flushed = torch.get_num_threads(), denormals_flushed()
    monkeypatch.delenv("CUBLAS_WORKSPACE_CONFIG", raising=False)
    yield
    torch.use_deterministic_algorithms(algorithms, warn_only=warn_only)
    torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = cudnn
    torch.set_num_threads(threads)
    torch.set_flush_denormal(flushed)


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


#: A tiny run: on the CPU, 2 trials of at most 2 epochs, no TensorBoard, the paper's protocol
#: (gradmatchpb subsets, Hyperband over epochs; the default ladder has tests of its own). A test
#: overrides what matters to it (more trials, a scheduler, TensorBoard on) through :func:`tiny_run`.
TINY_RUN = (
    "device=cpu",
    "selector=gradmatchpb",
    "scheduler=hyperband",
    "tuning.n_trials=2",
    "train.epochs=2",
    "tuning.tensorboard=false",
)


def _key(override: str) -> str:
    """The config key an override sets (``+space.lr=...``, ``~space.batch_size``: ``space...``)."""
    return override.split("=", 1)[0].lstrip("+~")


def tiny_run(*overrides: str) -> list[str]:
    """The overrides of a tiny run (:data:`TINY_RUN`), those of the same key replaced by
    ``overrides``, then ``overrides``: for ``compose`` and for ``python -m automata`` alike (the
    output folder is the caller's: ``paths.output_dir``, ``hydra.run.dir``, ``hydra.sweep.dir``)."""
    mine = {_key(o) for o in overrides}
    return [o for o in TINY_RUN if _key(o) not in mine] + list(overrides)


@pytest.fixture
def tiny_cfg(tmp_path: Path):
    """``tiny_cfg([...overrides], out=None)``: the composed config of a tiny run
    (:func:`tiny_run`) writing into ``out`` (default ``tmp_path/run``), data under
    ``tmp_path/data``."""

    def _make(overrides: list[str] | None = None, out: Path | None = None) -> DictConfig:
        paths = [
            f"paths.output_dir={out or tmp_path / 'run'}",
            f"paths.data_dir={tmp_path / 'data'}",
        ]
        return compose_config(tiny_run(*paths, *(overrides or [])))

    return _make


# -- PostgreSQL for the tests of shared storage (tests/tuning/test_workers.py, test_redaction.py)


def server_answers(url: str, timeout: float = 3.0) -> bool:
    """Whether something accepts TCP connections at the URL's host and port."""
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "localhost", parts.port or 5432), timeout):
            return True
    except OSError:
        return False


def postgres_plan(
    env: Mapping[str, str], answers: Callable[[str], bool] = server_answers
) -> tuple[str, str]:
    """``("run", url)``, or ``("skip" | "fail", reason)`` when no server answers: skipped on a
    developer's machine, a failure in CI (``CI=true``), where ``.ci/run`` starts the server."""
    url = env.get("AUTOMATA_TEST_POSTGRES_URL")
    if url and answers(url):
        return "run", url
    missing = f"no PostgreSQL server answers at {url}" if url else "AUTOMATA_TEST_POSTGRES_URL"
    missing += "" if url else " is not set"
    if env.get("CI") == "true":
        return "fail", f"{missing}: in CI, .ci/run starts PostgreSQL and exports the URL"
    return "skip", f"{missing} (scripts/postgres_for_tests.sh starts a server)"


@pytest.fixture
def postgres_url() -> str:
    """The URL of ``AUTOMATA_TEST_POSTGRES_URL`` (:func:`postgres_plan`)."""
    what, detail = postgres_plan(os.environ)
    if what == "fail":
        pytest.fail(detail)
    if what == "skip":
        pytest.skip(detail)
    return detail
