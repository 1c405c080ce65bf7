"""Resumable training checkpoints: networks, optimiser, RNG states and progress, written atomically."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from shellac.engine.atomic import atomic_path
from shellac.engine.errors import ModelLoadingError

CHECKPOINT_FILE = "checkpoint.pt"
CHECKPOINT_VERSION = 2
# Version 1 always held the optimiser and the network in float32; version 2 may leave the
# optimiser out and store the network as a float16 difference from the EMA (a slim checkpoint).
_READABLE_VERSIONS = (1, 2)


@dataclass
class TrainingState:
    """Everything needed to continue a run exactly where it stopped.

    ``step`` counts finished optimiser steps. ``loss_smooth``/``loss_count`` hold the
    bias-corrected running mean of the loss reported on the card. ``optimizer`` is
    ``None`` when the checkpoint was saved slim (Adam's moments left out).
    """

    step: int
    config: dict[str, Any]
    network: dict[str, torch.Tensor]
    ema: dict[str, torch.Tensor]
    optimizer: dict[str, Any] | None
    torch_rng: torch.Tensor
    data_rng: dict[str, Any]
    wall_time_s: float
    loss_smooth: float
    loss_count: int
    lineage: dict[str, Any]


def save_checkpoint(path: Path, state: TrainingState, *, slim: bool = False) -> None:
    """Write ``state`` to ``path`` atomically (temporary sibling, fsync, rename).

    ``slim`` leaves the optimiser out and stores the network as a float16 difference
    from the EMA weights (kept in float32): about 1.5× the weights instead of 4×, for
    checkpoints kept in a repository. The network comes back within float16 rounding
    of the difference; the EMA exactly.
    """
    ema = _cpu(state.ema)
    weights: dict[str, Any]
    if slim:
        weights = {"network_delta_f16": {k: (v.detach().to("cpu") - ema[k]).to(torch.float16)
                                         if v.is_floating_point() else v.detach().to("cpu").clone()
                                         for k, v in state.network.items()}}
    else:
        weights = {"network": _cpu(state.network)}
    payload = {
        "format": "shellac-train-checkpoint",
        "version": CHECKPOINT_VERSION,
        "step": state.step,
        "config": state.config,
        **weights,
        "ema": ema,
        "optimizer": None if slim else state.optimizer,
        "torch_rng": state.torch_rng,
        "data_rng": _plain(state.data_rng),
        "wall_time_s": float(state.wall_time_s),
        "loss_smooth": float(state.loss_smooth),
        "loss_count": int(state.loss_count),
        "lineage": state.lineage,
    }
    with atomic_path(Path(path)) as tmp:
        torch.save(payload, tmp)


def load_checkpoint(path: Path) -> TrainingState:
    """Read a checkpoint written by :func:`save_checkpoint`.

    Raises
    ------
    ModelLoadingError
        If the file is unreadable, not a Shellac training checkpoint, or of another version.
    """
    path = Path(path)
    try:
        # weights_only: a checkpoint is data; it never needs to run code to load.
        raw = torch.load(path, map_location="cpu", weights_only=True)
    except (OSError, RuntimeError, EOFError, ValueError) as exc:
        raise ModelLoadingError(
            f"cannot read training checkpoint {path} ({exc}); delete it (or pass --no-resume) "
            "to start the run again"
        ) from exc
    if not isinstance(raw, dict) or raw.get("format") != "shellac-train-checkpoint":
        raise ModelLoadingError(f"{path} is not a Shellac training checkpoint")
    if raw.get("version") not in _READABLE_VERSIONS:
        raise ModelLoadingError(
            f"{path} is a version {raw.get('version')!r} checkpoint; this Shellac resumes versions "
            f"{', '.join(map(str, _READABLE_VERSIONS))} only. Start the run again with --no-resume"
        )
    if "network" in raw:
        network = raw["network"]
    else:
        ema = raw["ema"]
        network = {k: (ema[k] + v.to(ema[k].dtype)) if v.is_floating_point() else v
                   for k, v in raw["network_delta_f16"].items()}
    return TrainingState(
        step=int(raw["step"]),
        config=raw["config"],
        network=network,
        ema=raw["ema"],
        optimizer=raw["optimizer"],
        torch_rng=raw["torch_rng"],
        data_rng=raw["data_rng"],
        wall_time_s=float(raw["wall_time_s"]),
        loss_smooth=float(raw["loss_smooth"]),
        loss_count=int(raw["loss_count"]),
        lineage=raw["lineage"],
    )


def _cpu(state: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {k: v.detach().to("cpu").clone() for k, v in state.items()}


def _plain(value: Any) -> Any:
    """numpy generator states hold only dicts, strings and ints; make sure they are plain ones."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (str, bool, float)) or value is None:
        return value
    return int(value)
