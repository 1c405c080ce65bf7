"""GPU slots for accelerator stages, the refusal of a missing CUDA device, and out-of-memory fallbacks."""

from __future__ import annotations

import contextlib
import os
import socket
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, Literal

from prefect.concurrency.sync import concurrency

from shellac.engine.errors import ParameterError, ShellacError
from shellac.stages.base import Stage

# Name of the Prefect global concurrency limit: `prefect gcl create gpu --limit <GPUs>`.
GPU_LIMIT = "gpu"
# auto: a GPU stage holds a slot only when its device is not the CPU; always / never force it.
GPU_SLOTS_ENV = "SHELLAC_GPU_SLOTS"
# How long a GPU stage waits for a slot before its task fails (and is retried), seconds.
GPU_SLOT_TIMEOUT_ENV = "SHELLAC_GPU_SLOT_TIMEOUT_S"
DEFAULT_SLOT_TIMEOUT_S = 6 * 3600.0

SlotPolicy = Literal["auto", "always", "never"]


def slot_policy() -> SlotPolicy:
    """The GPU slot policy from ``$SHELLAC_GPU_SLOTS`` (default ``auto``)."""
    value = os.environ.get(GPU_SLOTS_ENV, "auto").strip().lower() or "auto"
    if value not in ("auto", "always", "never"):
        raise ParameterError(f"${GPU_SLOTS_ENV}={value!r}: expected auto, always or never")
    return value  # type: ignore[return-value]


def needs_gpu_slot(stage: Stage, device: str, policy: SlotPolicy | None = None) -> bool:
    """Whether running ``stage`` on ``device`` must hold a slot of the ``gpu`` limit.

    CPU stages never do; GPU stages do when the device is not the CPU (``auto``), or
    always / never when the policy says so.
    """
    if not stage.gpu:
        return False
    policy = policy or slot_policy()
    if policy == "auto":
        return not device.lower().startswith("cpu")
    return policy == "always"


@contextlib.contextmanager
def gpu_slot(stage: Stage, device: str) -> Iterator[bool]:
    """Hold one ``gpu`` slot around a GPU stage (yields whether a slot is held).

    The slot is leased from the Prefect API, so every worker of every machine shares
    the same count; a worker that dies loses its lease when it stops renewing it.
    """
    if not needs_gpu_slot(stage, device):
        yield False
        return
    timeout = float(os.environ.get(GPU_SLOT_TIMEOUT_ENV, DEFAULT_SLOT_TIMEOUT_S))
    with concurrency(GPU_LIMIT, occupy=1, timeout_seconds=timeout):
        yield True


def is_out_of_memory(error: str | None) -> bool:
    """Whether a recorded error reads as a device (or host) out-of-memory."""
    text = (error or "").lower()
    return "out of memory" in text or "outofmemoryerror" in text or "memoryerror" in text


def oom_overrides(stage: Stage, params: Mapping[str, Any], attempt: int) -> dict[str, Any]:
    """Overrides that make ``stage`` use less memory on retry ``attempt`` ({} if it declares none)."""
    if stage.oom_fallback is None or attempt <= 0:
        return {}
    return stage.oom_fallback(params, attempt)


class DeviceUnavailableError(ShellacError):
    """A run asks for an accelerator this worker does not have; it is refused, never run on the CPU."""


def require_device(device: str, stages: Iterable[Stage], *, cuda_available: bool | None = None) -> None:
    """Refuse a CUDA device that is not there when any of ``stages`` would use it.

    Called before a GPU slot is requested, so a misconfigured GPU node holds no slot
    and the recording fails with a reason instead of running slowly on the CPU.
    """
    if not device.lower().startswith("cuda"):
        return
    users = [s.name for s in stages if s.gpu]
    if not users:
        return
    if cuda_available is None:
        import torch

        cuda_available = bool(torch.cuda.is_available())
        if cuda_available and ":" in device:
            cuda_available = int(device.split(":", 1)[1]) < torch.cuda.device_count()
    if not cuda_available:
        visible = os.environ.get("CUDA_VISIBLE_DEVICES", "unset")
        raise DeviceUnavailableError(
            f"device {device!r} requested for {', '.join(users)} but this worker "
            f"({socket.gethostname()}, CUDA_VISIBLE_DEVICES={visible}) has no such CUDA device; "
            "refused rather than run on the CPU: start GPU workers on GPU machines, or run with device=cpu"
        )
