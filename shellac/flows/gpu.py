"""GPU slots for accelerator stages, and the smaller-work fallback after a GPU out-of-memory."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator, Mapping
from typing import Any, Literal

from prefect.concurrency.sync import concurrency

from shellac.engine.errors import ParameterError
from shellac.stages.base import Stage

# Name of the Prefect global concurrency limit: `prefect gcl create gpu --limit <GPUs>`.
GPU_LIMIT = "gpu"
# auto: a GPU stage holds a slot only when its device is not the CPU; always / never force it.
GPU_SLOTS_ENV = "SHELLAC_GPU_SLOTS"
# How long a GPU stage waits for a slot before its task fails (and is retried), seconds.
GPU_SLOT_TIMEOUT_ENV = "SHELLAC_GPU_SLOT_TIMEOUT_S"
DEFAULT_SLOT_TIMEOUT_S = 6 * 3600.0

SlotPolicy = Literal["auto", "always", "never"]

# Model training segment of htdemucs, seconds: the chunk length separate uses when unset.
HTDEMUCS_SEGMENT_S = 7.8


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


def _smaller_separate(params: Mapping[str, Any], attempt: int) -> dict[str, Any]:
    # Demucs holds one chunk's activations at a time: halving the chunk roughly halves
    # peak memory, at a small cost in separation quality near chunk borders.
    segment = float(params.get("segment_s") or HTDEMUCS_SEGMENT_S)
    return {"segment_s": round(max(1.0, segment / 2 ** attempt), 3)}


# Stage -> parameters that do less work at once, for retry ``attempt`` (1, 2, ...).
# generative_eq has none: its block length is the model's training segment (the CQT
# U-Net is built for that length) and it already runs one block at a time, batch 1.
OOM_FALLBACKS: dict[str, Callable[[Mapping[str, Any], int], dict[str, Any]]] = {
    "separate": _smaller_separate,
}


def oom_overrides(stage: str, params: Mapping[str, Any], attempt: int) -> dict[str, Any]:
    """Parameter overrides that make ``stage`` use less memory on retry ``attempt`` ({} if none)."""
    fallback = OOM_FALLBACKS.get(stage)
    return fallback(params, attempt) if fallback and attempt > 0 else {}
