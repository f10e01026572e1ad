"""Device choice and determinism settings (automata.device)."""

from __future__ import annotations

import os

import pytest
import torch

from automata.device import (
    configure_process,
    move_to,
    resolve_device,
    set_determinism,
    synchronize,
)
from automata.errors import ConfigError


@pytest.mark.parametrize("available", [False, True])
def test_auto_picks_cuda_only_when_available(monkeypatch: pytest.MonkeyPatch, available: bool):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: available)
    assert resolve_device("auto") == torch.device("cuda" if available else "cpu")


def test_explicit_devices(monkeypatch: pytest.MonkeyPatch) -> None:
    assert resolve_device("cpu") == torch.device("cpu")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert resolve_device("cuda") == torch.device("cuda")
    assert resolve_device("cuda:1") == torch.device("cuda", 1)


@pytest.mark.parametrize("name", ["cuda", "cuda:0", "cuda:3"])
def test_cuda_without_a_gpu_is_a_config_error(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ConfigError, match=rf"^device={name} but no CUDA device is available"):
        resolve_device(name)


@pytest.mark.parametrize("name", ["tpu", "gpu", "cpu:x"])
def test_unknown_device_is_a_config_error(name: str) -> None:
    with pytest.raises(ConfigError, match=rf"^device: invalid device '{name}'"):
        resolve_device(name)


@pytest.mark.usefixtures("restore_process")
def test_determinism_on_and_off(monkeypatch: pytest.MonkeyPatch) -> None:
    set_determinism(True)
    assert torch.are_deterministic_algorithms_enabled()
    assert torch.is_deterministic_algorithms_warn_only_enabled()  # warn, never fail a run
    assert torch.backends.cudnn.deterministic and not torch.backends.cudnn.benchmark
    assert os.environ["CUBLAS_WORKSPACE_CONFIG"] == ":4096:8"  # needed by deterministic cuBLAS

    set_determinism(False)
    assert not torch.are_deterministic_algorithms_enabled()
    assert not torch.backends.cudnn.deterministic and torch.backends.cudnn.benchmark


@pytest.mark.usefixtures("restore_process")
def test_a_users_cublas_setting_is_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CUBLAS_WORKSPACE_CONFIG", ":16:8")
    set_determinism(True)
    assert os.environ["CUBLAS_WORKSPACE_CONFIG"] == ":16:8"


def test_move_to_moves_tensors_in_tuples_and_lists_and_leaves_the_rest() -> None:
    meta = torch.device("meta")  # a device every machine has, distinct from the CPU
    ids, lengths = torch.tensor([[1, 2]]), torch.tensor([2])
    moved = move_to((ids, [lengths, "tag"]), meta)
    assert isinstance(moved, tuple) and isinstance(moved[1], list)
    assert moved[0].device == meta and moved[1][0].device == meta
    assert moved[0].shape == ids.shape and moved[1][1] == "tag"
    assert move_to(3, meta) == 3


def test_synchronize_waits_only_for_cuda(monkeypatch: pytest.MonkeyPatch) -> None:
    waited: list[torch.device] = []
    monkeypatch.setattr(torch.cuda, "synchronize", waited.append)
    synchronize(torch.device("cpu"))
    assert waited == []
    synchronize(torch.device("cuda", 1))
    assert waited == [torch.device("cuda", 1)]


@pytest.mark.usefixtures("restore_process")
def test_denormal_floats_are_flushed_to_zero_only_when_asked() -> None:
    """1e-39 is below float32's smallest normal number (about 1.18e-38): a denormal."""
    tiny = torch.tensor([1e-39], dtype=torch.float32)
    threads = torch.get_num_threads()
    try:
        configure_process(True, threads, flush_denormal=True)
        if not torch.set_flush_denormal(True):
            pytest.skip("this CPU cannot flush denormals (no SSE3)")
        assert (tiny * 1.0).item() == 0.0
        configure_process(True, threads, flush_denormal=False)
        assert (tiny * 1.0).item() == pytest.approx(1e-39, rel=1e-3)
    finally:
        torch.set_flush_denormal(False)  # torch's own default, for the tests that follow
