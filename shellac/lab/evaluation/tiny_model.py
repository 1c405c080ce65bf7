"""A random-weight tiny model bundle for smoke-test benchmark runs (no trained weights needed)."""

from __future__ import annotations

from pathlib import Path

import torch

from shellac.engine.dsp.ltas import Ltas
from shellac.engine.models.bundle import save_bundle
from shellac.engine.models.card import BundleConfig, ModelCard
from shellac.engine.networks.unet1d import UNet1D, UNet1DConfig

TINY_SAMPLE_RATE = 11_025
TINY_SEGMENT = 8_192  # samples: 0.74 s at 11.025 kHz, a multiple of the tiny U-Net's 16
TINY_SIGMA_DATA = 0.063  # the piano model's σ_data, so sampler presets mean the same thing


def save_tiny_random_bundle(directory: Path, reference_ltas: Ltas, *, seed: int = 0) -> Path:
    """Write a random-weight ``UNet1DConfig.tiny()`` bundle at ``directory`` and return it.

    Its outputs are meaningless as restorations; it exercises every code path of
    the benchmark at CI speed. ``reference_ltas`` must be at 11 025 Hz.
    """
    torch.manual_seed(seed)
    config = UNet1DConfig.tiny()
    network = UNet1D(config)
    bundle_config = BundleConfig(family="unet1d", network=config, sample_rate=TINY_SAMPLE_RATE,
                                 segment_length=TINY_SEGMENT, sigma_data=TINY_SIGMA_DATA,
                                 sigma_min=1e-5, sigma_max=10.0)
    card = ModelCard(name="tiny-random", description="random-weight tiny U-Net for benchmark smoke tests",
                     data="none (random weights)", sample_rate=TINY_SAMPLE_RATE,
                     segment_length=TINY_SEGMENT, training_steps=0, wall_time_s=0.0, licence="MIT")
    return save_bundle(Path(directory), network, bundle_config, card, reference_ltas, overwrite=True)
