"""Resolve a requested torch device; CUDA that is not there is an error, never a silent CPU fallback."""

from __future__ import annotations

import torch

from shellac.engine.errors import ParameterError


def resolve_device(requested: str) -> torch.device:
    """The torch device for ``requested`` ("cpu", "cuda", "cuda:N").

    Raises ``ParameterError`` when CUDA is asked for on a machine without it: a job that
    asked for a GPU must not quietly take hours on the CPU.
    """
    if requested.startswith("cuda") and not torch.cuda.is_available():
        raise ParameterError(f"device {requested!r} requested but no CUDA device is available on this "
                             "machine; run it on a GPU worker or ask for device 'cpu'")
    return torch.device(requested)
