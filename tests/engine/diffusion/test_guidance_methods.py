"""Guidance methods: closed forms on a Gaussian prior, exactness of DC/DDNM, RePaint windows, determinism."""

from __future__ import annotations

import math
from collections.abc import Callable

import pytest
import torch

from shellac.engine.diffusion.guidance import PosteriorSamplingGuidance
from shellac.engine.diffusion.methods import (
    METHOD_NAMES,
    DataConsistencyGuidance,
    GeodesicGuidance,
    MethodSettings,
    NullSpaceGuidance,
    PseudoInverseGuidance,
    ScheduledReconstructionGuidance,
    build_guidance,
    drho_weight,
    slerp,
)
from shellac.engine.diffusion.sampler import CountingDenoiser, RePaintWindow, edm_sampler, expected_nfe
from shellac.engine.diffusion.schedule import restoration_schedule
from shellac.engine.errors import ParameterError
from shellac.engine.operators.base import Operator
from shellac.engine.operators.clipping import ClippingOperator
from shellac.engine.operators.inpainting import InpaintingOperator, gap_mask

SD = 0.5  # σ_data of the Gaussian prior


def seeded_randn(seed: int) -> Callable[[torch.Tensor], torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    return lambda ref: torch.randn(ref.shape, generator=gen, dtype=ref.dtype)


def gaussian_denoiser(x: torch.Tensor, sigma: float) -> torch.Tensor:
    """Exact denoiser of N(0, σ_d² I): D = σ_d²/(σ² + σ_d²)·x."""
    return SD**2 / (sigma**2 + SD**2) * x


class Square(Operator):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x**2


def _problem(seed: int = 0) -> tuple[torch.Tensor, torch.Tensor, InpaintingOperator]:
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(2, 64, generator=gen, dtype=torch.float64)
    mask = torch.from_numpy(gap_mask(64, [(20, 16)])).to(torch.float64)
    op = InpaintingOperator(mask)
    return x, op(torch.randn(2, 64, generator=gen, dtype=torch.float64)), op


def test_drho_weight_values() -> None:
    assert drho_weight(0.1, 0.1, 1.0) == pytest.approx(math.sqrt(2.0))
    assert drho_weight(0.01, 0.1, 0.5) == pytest.approx(101.0**0.25)
    assert drho_weight(3.0, 0.1, 0.0) == 1.0


def test_rg_drho_with_power_zero_is_rg_and_scales_otherwise() -> None:
    x, y, op = _problem()
    t = 0.3
    rg_guide = PosteriorSamplingGuidance(op, y, xi=0.7, sigma_y=0.1, randn_like=seeded_randn(1))
    rg = rg_guide(x, t, gaussian_denoiser)
    flat = ScheduledReconstructionGuidance(op, y, xi=0.7, sigma_y=0.1, sigma_data=SD, power=0.0,
                                           randn_like=seeded_randn(1))(x, t, gaussian_denoiser)
    assert torch.allclose(flat.score, rg.score, rtol=1e-12, atol=1e-12)
    assert flat.loss == pytest.approx(rg.loss)
    scaled = ScheduledReconstructionGuidance(op, y, xi=0.7, sigma_y=0.1, sigma_data=SD, power=1.0,
                                             randn_like=seeded_randn(1))(x, t, gaussian_denoiser)
    tweedie = (gaussian_denoiser(x, t) - x) / t**2
    ratio = (scaled.score - tweedie) / (rg.score - tweedie)
    expected = torch.tensor(drho_weight(t, SD, 1.0), dtype=torch.float64)
    assert torch.allclose(ratio[~torch.isnan(ratio)], expected)


def test_pigdm_closed_form_on_gaussian_prior() -> None:
    x, y, op = _problem()
    t, xi = 0.4, 0.5
    k = SD**2 / (t**2 + SD**2)
    out = PseudoInverseGuidance(op, y, xi=xi)(x, t, gaussian_denoiser)
    # D = k·x, A⁺y − A⁺A·D = m·(y − k·x), vjp through D multiplies by k.
    m = op.mask
    g = k * m * (y - k * x)
    rms = g.norm(dim=1, keepdim=True) / math.sqrt(64)
    assert torch.allclose(out.score, (k * x - x) / t**2 + xi / (t * (rms + 1e-6)) * g, atol=1e-10)


def test_ddnm_replaces_the_range_space_of_the_estimate() -> None:
    x, y, op = _problem()
    out = NullSpaceGuidance(op, y)(x, 0.2, gaussian_denoiser)
    known = op.mask > 0
    assert torch.equal(out.denoised[:, known], y[:, known])
    k = SD**2 / (0.2**2 + SD**2)
    assert torch.allclose(out.denoised[:, ~known], k * x[:, ~known])


def test_slerp_and_dgg_keep_the_step_length() -> None:
    gen = torch.Generator().manual_seed(3)
    a = torch.nn.functional.normalize(torch.randn(2, 32, generator=gen, dtype=torch.float64), dim=1)
    b = torch.nn.functional.normalize(torch.randn(2, 32, generator=gen, dtype=torch.float64), dim=1)
    assert torch.allclose(slerp(a, b, 0.0), a) and torch.allclose(slerp(a, b, 1.0), b)
    assert torch.allclose(slerp(a, b, 0.3).norm(dim=1), torch.ones(2, dtype=torch.float64))
    x, y, op = _problem()
    t = 0.3
    eps = (x - gaussian_denoiser(x, t)) / t
    for w in (0.0, 0.4):
        guide = GeodesicGuidance(op, y, weight=w, sigma_y=0.0, randn_like=seeded_randn(0))
        out = guide(x, t, gaussian_denoiser)
        assert torch.allclose((out.score * t).norm(dim=1), eps.norm(dim=1))
    guide = GeodesicGuidance(op, y, weight=0.0, sigma_y=0.0, randn_like=seeded_randn(0))
    unguided = guide(x, t, gaussian_denoiser)
    assert torch.allclose(unguided.score, -eps / t)


def test_repaint_window_and_nfe() -> None:
    window = RePaintWindow(2, 1, 2)
    assert [window.cycles(i, 9) for i in range(9)] == [0, 0, 0, 2, 2, 2, 0, 0, 0]
    assert expected_nfe(9, window) == 17 + 12 and expected_nfe(9) == 17
    with pytest.raises(ParameterError):
        RePaintWindow(1, 2, 2)
    x, y, op = _problem()
    counted = CountingDenoiser(gaussian_denoiser)
    schedule = restoration_schedule(9, 1.0, 1e-3, 7.0)
    edm_sampler(counted, y, schedule, guidance=DataConsistencyGuidance(op, y, randn_like=seeded_randn(0)),
                randn_like=seeded_randn(0), resampling=window)
    assert counted.calls == 29


@pytest.mark.parametrize("name", METHOD_NAMES)
def test_every_method_runs_and_is_deterministic(name: str) -> None:
    x, y, op = _problem()
    schedule = restoration_schedule(5, 1.0, 1e-3, 7.0)
    settings = MethodSettings(name=name, xi=0.5, sigma_y=0.05, repaint_u=1 if name == "dc" else 0)

    def run(seed: int) -> torch.Tensor:
        guide = build_guidance(settings, op, y, sigma_data=SD, randn_like=seeded_randn(seed))
        return edm_sampler(gaussian_denoiser, y, schedule, guidance=guide,
                           randn_like=seeded_randn(seed + 100), resampling=settings.resampling())

    first, again, other = run(0), run(0), run(1)
    assert first.shape == (2, 64) and torch.isfinite(first).all()
    assert torch.equal(first, again) and not torch.equal(first, other)
    known = op.mask > 0
    if name in ("dc", "repaint", "ddnm"):
        # Projection methods end exactly on the observation.
        assert torch.equal(first[:, known], y[:, known])
    else:
        # Gradient methods get close to it: the known samples are pulled in, not replaced.
        assert float((first[:, known] - y[:, known]).abs().mean()) < float(y[:, known].abs().mean())


def test_projection_methods_need_a_projection() -> None:
    y = torch.zeros(1, 8)
    for name in ("dc", "pigdm", "ddnm"):
        with pytest.raises(ParameterError, match="pseudo-inverse"):
            build_guidance(MethodSettings(name=name), Square(), y, sigma_data=SD, randn_like=seeded_randn(0))
    with pytest.raises(ParameterError, match="unknown guidance method"):
        MethodSettings(name="magic")
    assert MethodSettings(name="repaint").resampling() == RePaintWindow(2, 0, 2)
    assert MethodSettings(name="rg").resampling() is None


def test_dc_declipping_keeps_reliable_samples_and_respects_the_level() -> None:
    gen = torch.Generator().manual_seed(7)
    clean = torch.randn(1, 128, generator=gen, dtype=torch.float64) * SD
    op = ClippingOperator(0.3)
    y = op(clean)
    guide = DataConsistencyGuidance(op, y, randn_like=seeded_randn(1))
    out = edm_sampler(gaussian_denoiser, y, restoration_schedule(6, 1.0, 1e-3, 7.0), guidance=guide,
                      randn_like=seeded_randn(2))
    reliable = y.abs() < 0.3
    assert torch.equal(out[reliable], y[reliable])
    assert bool((out[~reliable] * torch.sign(y[~reliable]) >= 0.3).all())
    assert torch.equal(op(out), y)
