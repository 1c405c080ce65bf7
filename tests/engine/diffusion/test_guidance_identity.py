"""The one RG implementation reproduces, bit for bit, the formulas each guidance used to compute itself."""

from __future__ import annotations

import math
from collections.abc import Callable

import pytest
import torch

from shellac.engine.diffusion.guidance import PosteriorSamplingGuidance, ReconstructionGuidance
from shellac.engine.diffusion.methods import (
    MethodSettings,
    PseudoInverseGuidance,
    ScheduledReconstructionGuidance,
    build_guidance,
    drho_weight,
)
from shellac.engine.operators.base import Operator
from shellac.engine.operators.blind_filter import BlindFilter
from shellac.engine.operators.consistency import project
from shellac.engine.operators.inpainting import InpaintingOperator, gap_mask

LENGTH = 256
Denoiser = Callable[[torch.Tensor, float], torch.Tensor]


def tiny_denoiser(dtype: torch.dtype) -> Denoiser:
    """A random-weight one-layer denoiser, nonlinear so its vector-Jacobian products are not trivial."""
    gen = torch.Generator().manual_seed(5)
    w1 = torch.randn(LENGTH, 32, generator=gen, dtype=dtype) / 16
    w2 = torch.randn(32, LENGTH, generator=gen, dtype=dtype) / 6

    def denoise(x: torch.Tensor, sigma: float) -> torch.Tensor:
        c = 1.0 / (1.0 + sigma**2)
        return c * x + 0.1 * torch.tanh((x @ w1) * c) @ w2

    return denoise


def seeded_randn(seed: int) -> Callable[[torch.Tensor], torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    return lambda ref: torch.randn(ref.shape, generator=gen, dtype=ref.dtype)


def _signals(dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(1)
    return (torch.randn(2, LENGTH, generator=gen, dtype=dtype) * 0.3,
            torch.randn(2, LENGTH, generator=gen, dtype=dtype) * 0.3)


def _inline_rg(operator: Operator, y: torch.Tensor, x: torch.Tensor, t: float, denoiser: Denoiser, *,
               xi: float, sigma_y: float, randn_like: Callable[[torch.Tensor], torch.Tensor],
               delta: float = 1.0) -> tuple[torch.Tensor, float]:
    """BABE-2's posterior sampling written out as it was before the RG code was shared."""
    with torch.enable_grad():
        x_in = x.detach().requires_grad_(True)
        denoised = denoiser(x_in, t)
        if operator.blind:
            operator.fit(denoised.detach(), y)  # type: ignore[attr-defined]
        y_tilde = y + sigma_y * randn_like(y)
        loss = 0.5 * ((operator.forward(denoised) - y_tilde) ** 2).sum()
        (grad,) = torch.autograd.grad(loss, x_in)
    grad_rms = grad.flatten(1).norm(dim=1, keepdim=True) / math.sqrt(x.shape[-1])
    score = (denoised.detach() - x) / (t * t) - xi * delta / (t * (grad_rms + 1e-6)) * grad
    return score, float(loss.detach())


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_rg_psg_and_drho_share_one_step_bit_for_bit(dtype: torch.dtype) -> None:
    x, y = _signals(dtype)
    denoiser, t = tiny_denoiser(dtype), 0.37
    expected, expected_loss = _inline_rg(BlindFilter(8000, n_iters=3), y, x, t, denoiser, xi=0.8,
                                         sigma_y=0.25, randn_like=seeded_randn(2))
    guides = (
        PosteriorSamplingGuidance(BlindFilter(8000, n_iters=3), y, xi=0.8, sigma_y=0.25,
                                  randn_like=seeded_randn(2)),
        ReconstructionGuidance(BlindFilter(8000, n_iters=3), y, xi=0.8, sigma_y=0.25,
                               randn_like=seeded_randn(2)),
        ScheduledReconstructionGuidance(BlindFilter(8000, n_iters=3), y, xi=0.8, sigma_y=0.25, sigma_data=0.3,
                                        power=0.0, randn_like=seeded_randn(2)),
    )
    for guide in guides:
        out = guide(x, t, denoiser)
        assert torch.equal(out.score, expected)
        assert out.loss == expected_loss
    scheduled, _ = _inline_rg(BlindFilter(8000, n_iters=3), y, x, t, denoiser, xi=0.8, sigma_y=0.25,
                              randn_like=seeded_randn(2), delta=drho_weight(t, 0.3, 0.5))
    guide = build_guidance(MethodSettings(name="rg_drho", xi=0.8, sigma_y=0.25, drho_power=0.5),
                           BlindFilter(8000, n_iters=3), y, sigma_data=0.3, randn_like=seeded_randn(2))
    out = guide(x, t, denoiser)
    assert torch.equal(out.score, scheduled)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_pigdm_is_the_denoiser_vjp_of_the_projection_residual(dtype: torch.dtype) -> None:
    x, clean = _signals(dtype)
    op = InpaintingOperator(torch.from_numpy(gap_mask(LENGTH, [(100, 40)])).to(dtype))
    y, denoiser, t, xi = op(clean), tiny_denoiser(dtype), 0.37, 0.6
    # ΠGDM as first written: the vector-Jacobian product of D with A⁺y − A⁺A·D, added with RG's step size.
    with torch.enable_grad():
        x_in = x.detach().requires_grad_(True)
        denoised = denoiser(x_in, t)
        with torch.no_grad():
            direction = project(op, denoised, y) - denoised
        (grad,) = torch.autograd.grad(denoised, x_in, grad_outputs=direction)
    grad_rms = grad.flatten(1).norm(dim=1, keepdim=True) / math.sqrt(LENGTH)
    expected = (denoised.detach() - x) / (t * t) + xi / (t * (grad_rms + 1e-6)) * grad
    out = PseudoInverseGuidance(op, y, xi=xi)(x, t, denoiser)
    assert torch.equal(out.score, expected)
    assert out.loss == float(0.5 * (direction**2).sum())
    assert float(grad.abs().max()) > 0.01
