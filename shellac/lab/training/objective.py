"""The EDM denoising objective: λ(σ)·‖D(x + σn; σ) − x‖² with σ drawn through the ρ-warp."""

from __future__ import annotations

import torch

from shellac.engine.diffusion.precond import EDMPrecond
from shellac.engine.diffusion.schedule import training_sigma


def draw_sigma(
    batch: int, sigma_min: float, sigma_max: float, rho: float, generator: torch.Generator
) -> torch.Tensor:
    """Training noise levels ``[batch]`` (amplitude units): uniform u warped by ρ (float32, CPU)."""
    u = torch.rand(batch, generator=generator, dtype=torch.float64)
    return training_sigma(u, sigma_min, sigma_max, rho).to(torch.float32)


def edm_loss(denoiser: EDMPrecond, x: torch.Tensor, sigma: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
    """Per-segment EDM loss ``[B]``: λ(σ)·mean_t (D(x + σ·n; σ) − x)².

    Parameters
    ----------
    denoiser:
        Preconditioned denoiser D (its ``sigma_data`` sets λ).
    x:
        Clean segments ``[B, T]``.
    sigma:
        Noise levels ``[B]``, amplitude units.
    noise:
        Standard normal noise ``[B, T]``.

    Notes
    -----
    The mean over samples (rather than the sum) keeps the loss near 1 whatever the
    segment length, so learning rates carry across lengths.
    """
    s = sigma.to(x.dtype).reshape(-1, 1)
    denoised = denoiser(x + s * noise, sigma.to(x.dtype))
    weight = denoiser.loss_weight(sigma).to(x.device, x.dtype)
    return weight * (denoised - x).pow(2).mean(dim=1)
