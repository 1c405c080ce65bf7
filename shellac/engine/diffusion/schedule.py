"""Noise-level schedules: the ρ-warped restoration schedule and training σ sampling."""

from __future__ import annotations

import torch

from shellac.engine.errors import ParameterError


def restoration_schedule(n_steps: int, sigma_start: float, sigma_min: float, rho: float) -> torch.Tensor:
    """Noise levels t_0 … t_N for a warm-started restoration run.

    t_i = (σ_start^{1/ρ} + i/(N−1)·(σ_min^{1/ρ} − σ_start^{1/ρ}))^ρ for i = 0…N−1,
    then t_N = 0 (the final Euler step lands on clean data). The N−1 denominator
    makes t_{N−1} exactly σ_min, as in the BABE-2 reference.

    Parameters
    ----------
    n_steps:
        N, the number of sampler steps (N ≥ 2).
    sigma_start:
        First noise level (amplitude units; 0.5 piano, 10 voice).
    sigma_min:
        Last non-zero noise level (4e-5 piano, 1e-3 voice).
    rho:
        Warp exponent (13 in BABE-2).

    Returns
    -------
    torch.Tensor
        float64 tensor of length N + 1, strictly decreasing, last entry 0.
    """
    if n_steps < 2:
        raise ParameterError(f"n_steps must be >= 2, got {n_steps}")
    if not 0 < sigma_min < sigma_start:
        raise ParameterError(
            f"need 0 < sigma_min < sigma_start, got sigma_min={sigma_min}, sigma_start={sigma_start}"
        )
    if rho <= 0:
        raise ParameterError(f"rho must be positive, got {rho}")
    i = torch.arange(n_steps, dtype=torch.float64)
    hi = sigma_start ** (1.0 / rho)
    lo = sigma_min ** (1.0 / rho)
    t = (hi + i / (n_steps - 1) * (lo - hi)) ** rho
    return torch.cat([t, torch.zeros(1, dtype=torch.float64)])


def training_sigma(u: torch.Tensor, sigma_min: float, sigma_max: float, rho: float = 10.0) -> torch.Tensor:
    """Warp uniform draws u ∈ [0, 1] into training noise levels.

    σ = (σ_max^{1/ρ} + u·(σ_min^{1/ρ} − σ_max^{1/ρ}))^ρ, so u = 0 gives σ_max and
    u = 1 gives σ_min, with the same ρ-warp as the sampler's schedule.

    Parameters
    ----------
    u:
        Uniform samples in [0, 1], any shape.
    sigma_min, sigma_max:
        Range of noise levels (1e-5…10 piano, 1e-3…100 voice).
    rho:
        Warp exponent (ρ_train = 10).
    """
    if not 0 < sigma_min < sigma_max:
        raise ParameterError(f"need 0 < sigma_min < sigma_max, got {sigma_min}, {sigma_max}")
    hi = sigma_max ** (1.0 / rho)
    lo = sigma_min ** (1.0 / rho)
    return (hi + u * (lo - hi)) ** rho
