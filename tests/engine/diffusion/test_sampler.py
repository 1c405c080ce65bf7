"""EDM sampler: determinism, evaluation count, and integration accuracy on Gaussian data."""

from __future__ import annotations

import math
from collections.abc import Callable

import pytest
import torch

from shellac.engine.diffusion.guidance import Denoiser, GuidanceOutput, UnconditionalGuidance
from shellac.engine.diffusion.sampler import (
    CountingDenoiser,
    SamplerStep,
    churn_gamma,
    edm_sampler,
    expected_nfe,
)
from shellac.engine.diffusion.schedule import restoration_schedule
from shellac.engine.errors import ParameterError


def gaussian_denoiser(sigma_data: float) -> Callable[[torch.Tensor, float], torch.Tensor]:
    """Exact denoiser for data ~ N(0, σd²): E[x0 | x] = σd²/(σ² + σd²)·x."""

    def denoise(x: torch.Tensor, sigma: float) -> torch.Tensor:
        return sigma_data**2 / (sigma**2 + sigma_data**2) * x

    return denoise


def seeded_randn(seed: int) -> Callable[[torch.Tensor], torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    return lambda ref: torch.randn(ref.shape, generator=gen, dtype=ref.dtype)


def test_same_seed_same_sample_and_different_seed_differs() -> None:
    schedule = restoration_schedule(8, sigma_start=0.5, sigma_min=1e-3, rho=7)
    x_init = torch.zeros(2, 256, dtype=torch.float64)
    den = gaussian_denoiser(0.3)
    a = edm_sampler(den, x_init, schedule, guidance=None, randn_like=seeded_randn(1))
    b = edm_sampler(den, x_init, schedule, guidance=None, randn_like=seeded_randn(1))
    c = edm_sampler(den, x_init, schedule, guidance=None, randn_like=seeded_randn(2))
    assert torch.equal(a, b)
    assert not torch.allclose(a, c)


@pytest.mark.parametrize("n_steps", [2, 5, 51])
def test_network_evaluations_are_2n_minus_1(n_steps: int) -> None:
    schedule = restoration_schedule(n_steps, sigma_start=0.5, sigma_min=4e-5, rho=13)
    counter = CountingDenoiser(gaussian_denoiser(0.063))
    steps: list[SamplerStep] = []
    edm_sampler(
        counter,
        torch.zeros(1, 64, dtype=torch.float64),
        schedule,
        guidance=None,
        randn_like=seeded_randn(0),
        callback=steps.append,
    )
    assert counter.calls == expected_nfe(n_steps) == 2 * n_steps - 1
    assert len(steps) == n_steps
    assert steps[-1].nfe == 2 * n_steps - 1
    assert steps[-1].t_next == 0.0


def test_churn_gamma_rule() -> None:
    # min(S_churn/N, √2 − 1): 10/51 = 0.196 for BABE-2, capped at 0.414 for few steps
    assert churn_gamma(0.5, 51, 10.0, (0.0, 50.0)) == pytest.approx(10 / 51)
    assert churn_gamma(0.5, 5, 10.0, (0.0, 50.0)) == pytest.approx(math.sqrt(2) - 1)
    assert churn_gamma(60.0, 51, 10.0, (0.0, 50.0)) == 0.0


def _ode_error(n_steps: int) -> float:
    # For Gaussian data the probability-flow ODE gives x(σ) ∝ √(σ² + σd²) exactly,
    # so without churn x(0) = x_init·σd/√(σ0² + σd²).
    sigma_data, sigma0 = 0.5, 5.0
    schedule = restoration_schedule(n_steps, sigma_start=sigma0, sigma_min=1e-3, rho=7)
    x_init = torch.randn(2, 128, dtype=torch.float64, generator=torch.Generator().manual_seed(3))
    out = edm_sampler(
        gaussian_denoiser(sigma_data),
        x_init,
        schedule,
        guidance=None,
        randn_like=seeded_randn(0),
        s_churn=0.0,
        warm_start=False,
    )
    expected = sigma_data / math.sqrt(sigma0**2 + sigma_data**2)
    return float((out / x_init / expected - 1.0).abs().max())


def test_deterministic_run_converges_at_second_order() -> None:
    err_30, err_60 = _ode_error(30), _ode_error(60)
    assert err_30 < 0.01
    # Heun is 2nd order: doubling the steps divides the error by about 4 (measured 4.2).
    assert err_60 < err_30 / 3.5


def test_stochastic_run_reaches_data_std() -> None:
    sigma_data, sigma0 = 0.5, 20.0
    schedule = restoration_schedule(50, sigma_start=sigma0, sigma_min=1e-3, rho=7)
    gen = torch.Generator().manual_seed(11)
    x_init = torch.randn(4, 4096, dtype=torch.float64, generator=gen) * math.hypot(sigma0, sigma_data)
    out = edm_sampler(
        gaussian_denoiser(sigma_data),
        x_init,
        schedule,
        guidance=None,
        randn_like=seeded_randn(5),
        s_churn=10.0,
        warm_start=False,
    )
    # Churn with finite steps biases the std slightly upward (measured +1.3 % here).
    assert float(out.std()) == pytest.approx(sigma_data, rel=0.03)


class RecordingGuidance:
    """Unconditional guidance that remembers every (x, t) it was asked about."""

    def __init__(self) -> None:
        self.calls: list[tuple[torch.Tensor, float]] = []
        self.inner = UnconditionalGuidance()

    def __call__(self, x: torch.Tensor, t: float, denoiser: Denoiser) -> GuidanceOutput:
        self.calls.append((x.clone(), t))
        return self.inner(x, t, denoiser)


@pytest.mark.parametrize("warm_start", [True, False])
def test_warm_start_adds_sigma_start_noise(warm_start: bool) -> None:
    schedule = restoration_schedule(3, sigma_start=0.5, sigma_min=1e-2, rho=7)
    x_init = torch.linspace(-1, 1, 32, dtype=torch.float64).reshape(1, 32)
    guide = RecordingGuidance()
    edm_sampler(
        gaussian_denoiser(1.0),
        x_init,
        schedule,
        guidance=guide,
        randn_like=seeded_randn(0),
        s_churn=0.0,
        warm_start=warm_start,
    )
    first_x, first_t = guide.calls[0]
    eps = seeded_randn(0)(x_init)
    expected = x_init + 0.5 * eps if warm_start else x_init
    assert first_t == pytest.approx(0.5)
    assert torch.allclose(first_x, expected)
    # Heun: predictor and corrector at every step but the last -> 2·3 − 1 calls.
    assert [round(t, 6) for _, t in guide.calls][1::2] == [
        round(float(schedule[1]), 6),
        round(float(schedule[2]), 6),
    ]


def test_bad_schedule_rejected() -> None:
    with pytest.raises(ParameterError):
        edm_sampler(
            gaussian_denoiser(1.0),
            torch.zeros(1, 8),
            torch.tensor([1.0, 0.5]),
            guidance=None,
            randn_like=seeded_randn(0),
        )
