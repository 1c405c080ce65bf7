"""Fine-tuning: continue training a bundle's EMA weights on new data (e.g. one singer)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from shellac.engine.models.bundle import load_bundle
from shellac.lab.training.config import TrainConfig
from shellac.lab.training.export import CardInfo
from shellac.lab.training.loop import TrainResult, train


def base_model_label(name: str, checksum: str) -> str:
    """How a fine-tune's card names its base: ``"<name> (bundle sha256 <checksum>)"``."""
    return f"{name} (bundle sha256 {checksum})"


def finetune(
    base_bundle_dir: Path,
    data_dir: Path,
    run_dir: Path,
    steps: int = 8000,
    gain_db: float = 3.0,
    *,
    bundle_dir: Path | None = None,
    info: CardInfo | None = None,
    overrides: Mapping[str, Any] | None = None,
    resume: bool = True,
    progress: bool = True,
    device: str | torch.device = "cpu",
    stop_after: int | None = None,
    val_dir: Path | None = None,
) -> TrainResult:
    """Fine-tune a model bundle on a folder of audio (BABE-2: 8k steps, ±3 dB gain, warm-up 100).

    The network family, its config, the sample rate (Hz), segment length (samples),
    normalisation and σ range come from the base bundle; training starts from its EMA
    weights. The exported card names the base (name and bundle checksum) in
    ``base_model``.

    Parameters
    ----------
    base_bundle_dir:
        The model bundle to start from (checksum-verified on load).
    data_dir:
        Folder of the fine-tuning audio (.wav/.flac).
    run_dir:
        Checkpoints and loss log, as for :func:`train`.
    steps:
        Optimiser steps.
    gain_db:
        Random gain augmentation, uniform in ±gain_db dB per segment.
    bundle_dir:
        Where to export the fine-tuned bundle; ``None``: no export.
    info:
        Card fields; ``base_model`` is filled in from the base bundle.
    overrides:
        Other :class:`TrainConfig` fields (``lr``, ``batch_size``, ``warmup_steps``, ``seed``...).
        The network and signal fields come from the base and cannot be overridden.
    resume, progress, device, stop_after, val_dir:
        As for :func:`train` (``val_dir``: held-out clean audio for the validation-loss curve).
    """
    base = load_bundle(Path(base_bundle_dir))
    fields: dict[str, Any] = {"warmup_steps": 100, **dict(overrides or {})}
    fields.update(
        family=base.config.family,
        network=dict(base.config.network),
        sample_rate=base.config.sample_rate,
        segment_length=base.config.segment_length,
        normalization=base.config.normalization,
        sigma_data=base.config.sigma_data,
        sigma_min=base.config.sigma_min,
        sigma_max=base.config.sigma_max,
        steps=steps,
        gain_db=gain_db,
    )
    config = TrainConfig(**fields)
    label = base_model_label(base.card.name, base.checksum)
    info = (info or CardInfo(name=f"{base.card.name}-finetune")).model_copy(update={"base_model": label})
    initial = {k: v.detach().clone() for k, v in base.network.state_dict().items()}
    return train(
        config, data_dir, run_dir, resume=resume, progress=progress, bundle_dir=bundle_dir, info=info,
        initial_state=initial, device=device, stop_after=stop_after, val_dir=val_dir,
    )
