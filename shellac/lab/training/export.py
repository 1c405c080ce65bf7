"""Turn a finished training run into a model bundle: EMA weights, reference LTAS and card."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from torch import nn

from shellac.engine.dsp.ltas import ltas_from_files
from shellac.engine.models.bundle import save_bundle
from shellac.engine.models.card import BundleConfig, ModelCard
from shellac.lab.training.config import TrainConfig


class CardInfo(BaseModel):
    """The human-facing parts of a model card that training cannot work out by itself."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field("shellac-model", min_length=1, description="short model name")
    description: str = Field("", description="what the model is for")
    data: str | None = Field(None, description="training data description; None: derived from the folder")
    licence: str = Field("MIT", min_length=1, description="licence of the weights")
    command: str = Field("", description="command line that produced the model")
    base_model: str | None = Field(None, description="'name (bundle sha256 …)' of the model fine-tuned from")


def ltas_n_fft(sample_rate: int) -> int:
    """FFT size of the reference LTAS: 2048 up to 24 kHz (piano, 22.05 kHz), else 4096 (voice, 44.1 kHz)."""
    return 2048 if sample_rate <= 24_000 else 4096


def describe_data(data_dir: Path, files: Sequence[Path], duration_s: float) -> str:
    """Default data description: folder, file count, minutes, and the manifest's sha256 if present."""
    root = Path(data_dir)
    text = f"{len(files)} file(s), {duration_s / 60.0:.1f} min of audio from {root.name}/"
    manifest = root / "manifest.json"
    if manifest.is_file():
        digest = hashlib.sha256(manifest.read_bytes()).hexdigest()
        text += f" (manifest.json sha256 {digest})"
    return text


def export_bundle(
    bundle_dir: Path,
    ema_network: nn.Module,
    config: TrainConfig,
    files: Sequence[Path],
    info: CardInfo,
    *,
    data_description: str,
    steps: int,
    wall_time_s: float,
    final_loss: float | None,
    overwrite: bool = True,
    validation: dict[str, Any] | None = None,
) -> Path:
    """Write a model bundle from a trained network.

    Parameters
    ----------
    bundle_dir:
        Bundle directory to create (replaced atomically when ``overwrite``).
    ema_network:
        Raw network holding the EMA weights (the ones inference uses).
    config:
        The run's training config (family, network, rate in Hz, segment length in samples, σ range).
    files:
        Training audio files; their mean LTAS (n_fft from :func:`ltas_n_fft`) becomes the
        bundle's reference LTAS.
    info:
        Name, description, licence, command line and base model for the card.
    data_description:
        Card's data field (``info.data`` wins when set).
    steps, wall_time_s, final_loss:
        Optimiser steps, training wall time (seconds) and the smoothed final loss.
    validation:
        The card's validation record (held-out data, σ levels, EMA loss), if measured.
    """
    bundle_config = BundleConfig(
        family=config.family,
        network=config.network_json(),
        sample_rate=config.sample_rate,
        segment_length=config.segment_length,
        sigma_data=config.sigma_data,
        sigma_min=config.sigma_min,
        sigma_max=config.sigma_max,
        normalization=config.normalization,
    )
    ltas = ltas_from_files(files, config.sample_rate, ltas_n_fft(config.sample_rate))
    card = ModelCard(
        name=info.name,
        description=info.description,
        data=info.data or data_description,
        sample_rate=config.sample_rate,
        segment_length=config.segment_length,
        training_steps=steps,
        wall_time_s=round(float(wall_time_s), 3),
        final_loss=final_loss,
        command=info.command,
        base_model=info.base_model,
        licence=info.licence,
        validation=validation,
    )
    return save_bundle(Path(bundle_dir), ema_network, bundle_config, card, ltas, overwrite=overwrite)
