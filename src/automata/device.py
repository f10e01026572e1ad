"""Where tensors live: the device and determinism settings of the config, and the two device
helpers that training and selection share (moving a batch's inputs, waiting for queued work)."""

from __future__ import annotations

import os

import torch

from automata.errors import ConfigError


def resolve_device(name: str) -> torch.device:
    """``auto`` picks CUDA when available; ``cuda`` without a GPU is a clear error."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError(f"device={name} but no CUDA device is available (use device=cpu or auto)")
    try:
        return torch.device(name)
    except RuntimeError as exc:
        raise ConfigError(f"device: invalid device '{name}'") from exc


def move_to(x: object, device: torch.device) -> object:
    """Move a tensor, or a tuple/list of tensors, to ``device``."""
    if isinstance(x, torch.Tensor):
        return x.to(device, non_blocking=True)
    if isinstance(x, (tuple, list)):
        return type(x)(move_to(v, device) for v in x)
    return x


def synchronize(device: torch.device) -> None:
    """Wait for queued CUDA work, so wall-clock timings are honest."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def set_determinism(deterministic: bool) -> None:
    """Deterministic kernels (and cuDNN settings) when asked; cuDNN autotuning otherwise."""
    if deterministic:
        # cuBLAS needs this workspace setting for deterministic matrix products on CUDA.
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    torch.use_deterministic_algorithms(deterministic, warn_only=True)
    torch.backends.cudnn.deterministic = deterministic
    torch.backends.cudnn.benchmark = not deterministic


def configure_process(
    deterministic: bool, threads: int | None, flush_denormal: bool = True
) -> None:
    """This process's determinism, torch thread count and handling of denormal floats.

    ``flush_denormal``: on the CPU, compute denormal floats (magnitudes below about 1e-38) as
    0. A CPU takes many times longer for an operation on one; an LSTM at a high learning rate
    (its gates saturated, most likely) ran 4x slower per epoch without it than the same
    network at a lower rate, with the same accuracies (docs/performance.md). Without CPU
    support (no SSE3) torch leaves them as they are."""
    set_determinism(deterministic)
    torch.set_flush_denormal(flush_denormal)
    if threads:
        # Several workers on one machine: give each a share of the cores, or OpenMP threads
        # of different processes contend and every step slows down many times.
        torch.set_num_threads(int(threads))
