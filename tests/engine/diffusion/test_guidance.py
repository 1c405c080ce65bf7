"""Posterior-sampling guidance: the score formula, noise regularisation, blind fits, effect."""

from __future__ import annotations

import math
from collections.abc import Callable

import pytest
import torch

from shellac.engine.diffusion.guidance import (
    PosteriorSamplingGuidance,
    UnconditionalGuidance,
)
from shellac.engine.diffusion.sampler import edm_sampler
from shellac.engine.diffusion.schedule import restoration_schedule
from shellac.engine.errors import ParameterError
from shellac.engine.operators.base import Operator
from shellac.engine.operators.blind_filter import BlindFilter
from shellac.engine.operators.lowpass_filter import LowpassBlindFilter
from shellac.engine.operators.masked import MaskedOperator


class ScaleOperator(Operator):
    """A(x) = gain·x, a linear operator whose gradient is known in closed form."""

    def __init__(self, gain: float) -> None:
        self.gain = gain

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.gain * x


def seeded_randn(seed: int) -> Callable[[torch.Tensor], torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    return lambda ref: torch.randn(ref.shape, generator=gen, dtype=ref.dtype)


def gaussian_denoiser(sigma_data: float) -> Callable[[torch.Tensor, float], torch.Tensor]:
    def denoise(x: torch.Tensor, sigma: float) -> torch.Tensor:
        return sigma_data**2 / (sigma**2 + sigma_data**2) * x

    return denoise


def _expected_score(
    x: torch.Tensor, y_tilde: torch.Tensor, k: float, gain: float, t: float, xi: float
) -> torch.Tensor:
    # D = k·x, loss = ½‖gain·k·x − ỹ‖², g = gain·k·(gain·k·x − ỹ)
    g = gain * k * (gain * k * x - y_tilde)
    rms = g.norm(dim=1, keepdim=True) / math.sqrt(x.shape[1])
    return (k * x - x) / t**2 - xi / (t * (rms + 1e-6)) * g


def test_score_matches_closed_form_per_batch_item() -> None:
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(3, 64, dtype=torch.float64, generator=gen)
    y = torch.randn(3, 64, dtype=torch.float64, generator=gen) * torch.tensor([[0.1], [1], [10]])
    k, gain, t, xi = 0.8, 2.0, 0.3, 0.5
    guide = PosteriorSamplingGuidance(ScaleOperator(gain), y, xi=xi, sigma_y=0.0, randn_like=seeded_randn(1))
    out = guide(x, t, lambda v, s: k * v)
    assert torch.allclose(out.score, _expected_score(x, y, k, gain, t, xi), rtol=1e-10)
    assert torch.allclose(out.denoised, k * x)
    assert out.loss == pytest.approx(0.5 * float(((gain * k * x - y) ** 2).sum()))
    assert out.fit_report is None


def test_noise_regularisation_uses_fresh_noise_from_randn_like() -> None:
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(2, 32, dtype=torch.float64, generator=gen)
    y = torch.randn(2, 32, dtype=torch.float64, generator=gen)
    guide = PosteriorSamplingGuidance(ScaleOperator(1.0), y, xi=1.0, sigma_y=0.25, randn_like=seeded_randn(7))
    first = guide(x, 0.1, lambda v, s: 0.5 * v)
    second = guide(x, 0.1, lambda v, s: 0.5 * v)
    draws = seeded_randn(7)
    eps1, eps2 = draws(y), draws(y)
    assert torch.allclose(first.score, _expected_score(x, y + 0.25 * eps1, 0.5, 1.0, 0.1, 1.0))
    assert torch.allclose(second.score, _expected_score(x, y + 0.25 * eps2, 0.5, 1.0, 0.1, 1.0))
    assert not torch.allclose(first.score, second.score)


def test_xi_zero_gives_tweedie_score() -> None:
    x = torch.randn(1, 16, dtype=torch.float64)
    guide = PosteriorSamplingGuidance(
        ScaleOperator(1.0),
        torch.zeros(1, 16, dtype=torch.float64),
        xi=0.0,
        sigma_y=0.0,
        randn_like=seeded_randn(0),
    )
    out = guide(x, 0.5, lambda v, s: 0.2 * v)
    ref = UnconditionalGuidance()(x, 0.5, lambda v, s: 0.2 * v)
    assert torch.allclose(out.score, ref.score)


def test_shape_mismatch_rejected() -> None:
    guide = PosteriorSamplingGuidance(
        ScaleOperator(1.0), torch.zeros(1, 16), xi=1.0, sigma_y=0.0, randn_like=seeded_randn(0)
    )
    with pytest.raises(ParameterError):
        guide(torch.zeros(1, 8), 0.5, lambda v, s: v)


def test_guided_sample_fits_observation_better_than_unguided() -> None:
    sr, length, sigma_data = 22050, 8192, 0.5
    operator = LowpassBlindFilter(sr, cutoff_hz=2000.0, slope_db=-24.0)
    gen = torch.Generator().manual_seed(4)
    x_true = sigma_data * torch.randn(1, length, dtype=torch.float64, generator=gen)
    with torch.no_grad():
        y = operator(x_true)
    schedule = restoration_schedule(12, sigma_start=1.0, sigma_min=1e-3, rho=7)
    x_init = torch.zeros_like(y)
    common = {"randn_like": seeded_randn(9), "s_churn": 5.0}
    unguided = edm_sampler(gaussian_denoiser(sigma_data), x_init, schedule, guidance=None, **common)
    guide = PosteriorSamplingGuidance(
        operator, y, xi=1.0, sigma_y=0.0, randn_like=seeded_randn(3), fit_operator=False
    )
    guided = edm_sampler(gaussian_denoiser(sigma_data), x_init, schedule, guidance=guide, **common)
    with torch.no_grad():
        err_guided = float((operator(guided) - y).norm())
        err_unguided = float((operator(unguided) - y).norm())
    # measured 2.03 vs 29.4
    assert err_guided < 0.2 * err_unguided


def test_blind_masked_operator_is_fitted_inside_guidance() -> None:
    sr, length = 22050, 16384
    gen = torch.Generator().manual_seed(2)
    x = 0.1 * torch.randn(1, length, dtype=torch.float64, generator=gen)
    true_filter = LowpassBlindFilter(sr, cutoff_hz=1500.0, slope_db=-30.0)
    with torch.no_grad():
        y = true_filter(x)
    mask = torch.zeros(length, dtype=torch.float64)
    mask[: length // 4] = 1.0
    inner = BlindFilter(sr, n_iters=20)
    before = inner.values()
    guide = PosteriorSamplingGuidance(
        MaskedOperator(inner, mask), y, xi=1.0, sigma_y=0.0, randn_like=seeded_randn(0)
    )
    out = guide(x, 0.01, lambda v, s: v)
    assert out.fit_report is not None
    assert out.fit_report.n_iters >= 1
    assert out.fit_report.frames_used < out.fit_report.frames_total
    assert inner.values() != before
