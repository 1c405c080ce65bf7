"""The benchmark's "reference" row: one excerpt restored exactly as the BABE-2 reference code does."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from shellac.engine.blocks.autoregressive import SamplerSettings
from shellac.engine.blocks.reference_driver import SIGMA_NORM, ReferenceBlockSampler, restore_blocks_reference
from shellac.engine.diffusion.guidance import Denoiser
from shellac.engine.dsp.ltas import Ltas
from shellac.engine.dsp.ltas_reference import reference_ltas_eq
from shellac.engine.operators.blind_filter import BlindFilter


def run_reference_on_excerpt(
    degraded: np.ndarray,
    sample_rate: int,
    reference_ltas: Ltas,
    grid_hz: np.ndarray,
    *,
    denoiser: Denoiser,
    sampler: SamplerSettings,
    segment_length: int,
    target_std: float,
    filter_iters: int,
    filter_lr: float,
    overlap_fraction: float,
    max_boost_db: float,
    seed: int,
    device: torch.device,
) -> tuple[np.ndarray, list[np.ndarray]]:
    """Reference LTAS-EQ as y and warm start, reference driver and filter; audio and per-block responses."""
    power = reference_ltas.on_bins(sample_rate, reference_ltas.n_fft) * reference_ltas.stored_scale
    equalised, _ = reference_ltas_eq(np.asarray(degraded, np.float64), sample_rate, power,
                                     n_fft=reference_ltas.n_fft, max_boost_db=max_boost_db)

    def make_filter() -> BlindFilter:
        return BlindFilter(sample_rate, design="reference", n_iters=filter_iters, lr=filter_lr, device=device)

    block = ReferenceBlockSampler(denoiser, make_filter=make_filter, sampler=sampler, seed=seed,
                                  device=device)
    audio = restore_blocks_reference(equalised, equalised, segment_length=segment_length,
                                     overlap_fraction=overlap_fraction,
                                     sigma_norm=SIGMA_NORM.get(sample_rate, target_std), sample_block=block)
    return audio, [reference_response(sample_rate, values, grid_hz) for values in block.filters]


def reference_response(sample_rate: int, values: dict[str, Any], grid_hz: np.ndarray) -> np.ndarray:
    """Response (dB) on ``grid_hz`` of a reference filter saved by ``to_json``."""
    blind = BlindFilter(sample_rate, design="reference")
    blind.set_values({k: v for k, v in values.items() if k not in ("kind", "sample_rate")})
    return blind.response_db(grid_hz)

