"""The EDM denoising objective: λ(σ)·‖D(x + σn; σ) − x‖², optionally frequency-weighted; σ drawn by ρ-warp."""

from __future__ import annotations

import torch

from shellac.engine.diffusion.precond import EDMPrecond
from shellac.engine.diffusion.schedule import training_sigma
from shellac.lab.training.spectral_weight import bin_multiplicity


def draw_sigma(
    batch: int, sigma_min: float, sigma_max: float, rho: float, generator: torch.Generator
) -> torch.Tensor:
    """Training noise levels ``[batch]`` (amplitude units): uniform u warped by ρ (float32, CPU)."""
    u = torch.rand(batch, generator=generator, dtype=torch.float64)
    return training_sigma(u, sigma_min, sigma_max, rho).to(torch.float32)


def edm_loss(
    denoiser: EDMPrecond,
    x: torch.Tensor,
    sigma: torch.Tensor,
    noise: torch.Tensor,
    weights: torch.Tensor | None = None,
) -> torch.Tensor:
    """Per-segment EDM loss ``[B]``: λ(σ)·mean_t (D(x + σ·n; σ) − x)², optionally frequency-weighted.

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
    weights:
        Squared weights ``w²`` per rfft bin ``[T//2 + 1]`` (see
        :mod:`~shellac.lab.training.spectral_weight`): the error's power spectrum is
        weighted by them, Σ_f w²(f)·|E(f)|² / T², which equals the plain mean square when
        w² ≡ 1 (Parseval). None: the plain loss.

    Notes
    -----
    The mean over samples (rather than the sum) keeps the loss near 1 whatever the
    segment length, so learning rates carry across lengths.
    """
    s = sigma.to(x.dtype).reshape(-1, 1)
    denoised = denoiser(x + s * noise, sigma.to(x.dtype))
    weight = denoiser.loss_weight(sigma).to(x.device, x.dtype)
    error = denoised - x
    if weights is None:
        return weight * error.pow(2).mean(dim=1)
    t = x.shape[1]
    scale = (bin_multiplicity(t).to(x.device, x.dtype) * weights.to(x.device, x.dtype)) / (t * t)
    return weight * (torch.fft.rfft(error, dim=1).abs().pow(2) * scale).sum(dim=1)
