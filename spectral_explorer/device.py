"""Device and dtype selection, resolved lazily once per process.

Nothing here touches CUDA at import time: a served app may fork worker processes, and
initialising CUDA before a fork breaks the children.  The first call to
:func:`default_device` decides, honouring the environment variable
``SPECTRAL_EXPLORER_DEVICE`` (``cpu``, ``cuda``, ``cuda:1`` ...).
"""

from __future__ import annotations

import os
import threading

import torch

ENV_VAR = "SPECTRAL_EXPLORER_DEVICE"

_lock = threading.Lock()
_cached: dict[int, torch.device] = {}


def _pick() -> torch.device:
    requested = os.environ.get(ENV_VAR, "").strip()
    if requested:
        try:
            dev = torch.device(requested)
        except RuntimeError as exc:  # pragma: no cover - message depends on torch
            raise ValueError(
                f"{ENV_VAR}={requested!r} is not a valid torch device; use 'cpu', 'cuda' or 'cuda:N'"
            ) from exc
        if dev.type == "cuda" and not torch.cuda.is_available():
            raise ValueError(f"{ENV_VAR}={requested!r} asks for CUDA, but CUDA is not available here")
        return dev
    return torch.device("cuda") if torch.cuda.is_available() else torch.device("cpu")


def default_device() -> torch.device:
    """The device computations use when none is given (cached per process)."""
    pid = os.getpid()
    with _lock:
        dev = _cached.get(pid)
        if dev is None:
            dev = _cached[pid] = _pick()
    return dev


def reset_default_device() -> None:
    """Forget the cached choice (tests, or after changing ``SPECTRAL_EXPLORER_DEVICE``)."""
    with _lock:
        _cached.clear()


def resolve_device(device: str | torch.device | None = None) -> torch.device:
    """Turn ``device`` (``None``, a string or a ``torch.device``) into a usable ``torch.device``."""
    if device is None:
        return default_device()
    if isinstance(device, str):
        try:
            device = torch.device(device)
        except RuntimeError as exc:
            raise ValueError(f"device={device!r} is not a valid torch device; use 'cpu', 'cuda' or 'cuda:N'") from exc
    if not isinstance(device, torch.device):
        raise TypeError(f"device must be None, a string or a torch.device, got {type(device).__name__}")
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device={str(device)!r} asks for CUDA, but CUDA is not available here")
    return device


def default_dtype(device: torch.device, dtype: torch.dtype | None = None) -> torch.dtype:
    """float64 on the CPU (numerics first), float32 on accelerators, unless ``dtype`` is given."""
    if dtype is not None:
        if dtype not in (torch.float32, torch.float64):
            raise ValueError(f"dtype must be torch.float32 or torch.float64, got {dtype}")
        return dtype
    return torch.float64 if device.type == "cpu" else torch.float32


def device_summary() -> str:
    """A one-line description of the device in use, for dashboards and logs."""
    dev = default_device()
    if dev.type == "cuda":
        return f"CUDA ({torch.cuda.get_device_name(dev)})"
    return f"CPU ({torch.get_num_threads()} threads)"
