"""Validation loss: the EDM denoising loss on fixed held-out segments, fixed σ levels and fixed noise."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from shellac.engine.diffusion.precond import EDMPrecond
from shellac.engine.diffusion.schedule import training_sigma
from shellac.engine.errors import ParameterError
from shellac.lab.datasets import SegmentDataset
from shellac.lab.training.objective import edm_loss

VALIDATION_SEED = 20_261_130
"""Seed of the validation segments and noise: the same numbers for every run and every model."""


@dataclass(frozen=True)
class ValidationSet:
    """Clean segments, the σ levels they are scored at and the noise added, all fixed.

    ``clean`` is ``[N, T]`` (already normalised as the model expects), ``sigmas`` ``[K]``
    (amplitude units), ``noise`` ``[K, N, T]``.
    """

    clean: torch.Tensor
    sigmas: torch.Tensor
    noise: torch.Tensor
    files: tuple[Path, ...]


def validation_sigmas(count: int, sigma_min: float, sigma_max: float, rho: float) -> torch.Tensor:
    """``count`` σ levels at the mid-quantiles of the training draw (u = (i + ½)/count through the ρ-warp).

    Averaging the loss over them estimates the training objective's expectation over σ
    without the draw's randomness, so curves of different runs with the same σ range compare.
    """
    if count < 1:
        raise ParameterError(f"need at least one validation σ, got {count}")
    u = (torch.arange(count, dtype=torch.float64) + 0.5) / count
    return training_sigma(u, sigma_min, sigma_max, rho).to(torch.float32)


def make_validation_set(
    data_dir: Path,
    sample_rate: int,
    segment_length: int,
    *,
    segments: int = 16,
    sigmas: torch.Tensor,
    normalization: str = "none",
    silence_db: float = -50.0,
) -> ValidationSet:
    """Draw the fixed validation segments of ``data_dir`` (seeded by :data:`VALIDATION_SEED`).

    Parameters
    ----------
    data_dir:
        Folder of held-out clean audio (never trained on).
    sample_rate, segment_length:
        Model rate (Hz) and segment length (samples).
    segments:
        Number of segments N.
    sigmas:
        Noise levels ``[K]`` (amplitude units), e.g. from :func:`validation_sigmas`.
    normalization:
        ``"std"`` scales each segment to unit std, as the voice models are trained.
    """
    dataset = SegmentDataset(data_dir, sample_rate, segment_length, seed=VALIDATION_SEED,
                             silence_db=silence_db)
    clean = torch.from_numpy(np.ascontiguousarray(dataset.batch(segments), dtype=np.float32))
    if normalization == "std":
        clean = clean / clean.std(dim=1, keepdim=True).clamp_min(1e-8)
    generator = torch.Generator().manual_seed(VALIDATION_SEED)
    noise = torch.randn((sigmas.numel(), *clean.shape), generator=generator, dtype=torch.float32)
    return ValidationSet(clean=clean, sigmas=sigmas.to(torch.float32), noise=noise,
                         files=tuple(dataset.files))


@torch.no_grad()
def validation_loss(network: nn.Module, sigma_data: float, vset: ValidationSet, *, batch_size: int = 4,
                    device: str | torch.device = "cpu") -> tuple[float, tuple[float, ...]]:
    """Mean EDM loss of a raw network over the validation set, and the mean per σ level.

    The network is put in eval mode for the pass and returned to its previous mode.
    """
    was_training = network.training
    network.eval()
    denoiser = EDMPrecond(network, sigma_data)
    per_sigma = []
    try:
        for k, sigma in enumerate(vset.sigmas):
            total = 0.0
            for start in range(0, vset.clean.shape[0], batch_size):
                x = vset.clean[start : start + batch_size].to(device)
                s = sigma.expand(x.shape[0]).to(device)
                noise = vset.noise[k, start : start + batch_size].to(device)
                total += float(edm_loss(denoiser, x, s, noise).sum())
            per_sigma.append(total / vset.clean.shape[0])
    finally:
        network.train(was_training)
    return float(np.mean(per_sigma)), tuple(per_sigma)
