"""Gradient guidances on the one RG gradient: RG with a time-dependent step (RG δρ), ΠGDM, geodesic (DGG)."""

from __future__ import annotations

from functools import partial

import torch

from shellac.engine.diffusion.guidance import (
    Denoiser,
    GuidanceOutput,
    RandnLike,
    ReconstructionGuidance,
    denoiser_gradient,
    gradient_step_score,
    reconstruction_gradient,
)
from shellac.engine.errors import ParameterError
from shellac.engine.operators.base import Operator
from shellac.engine.operators.consistency import project, supports_projection


def drho_weight(t: float, sigma_data: float, power: float) -> float:
    """δ(t) = (σ_d / r_t)^κ with r_t² = σ_d²t²/(σ_d² + t²), i.e. (1 + σ_d²/t²)^{κ/2}.

    r_t² is the variance of x₀ given x_t under a Gaussian prior of std σ_d, the
    weight ΠGDM puts on its guidance (Song et al., ICLR 2023, eq. 7). κ = 0 gives
    δ ≡ 1 (plain RG); κ = 1 scales the step from ∝ t to ∝ √(σ_d² + t²), the std
    of x_t, so the guidance keeps acting at low noise levels.
    """
    return (1.0 + sigma_data**2 / (t * t)) ** (0.5 * power)


class ScheduledReconstructionGuidance(ReconstructionGuidance):
    """RG δρ: reconstruction guidance whose step ξ is scaled by δ(t) (see :func:`drho_weight`).

    score = (D − x)/t² − ξ·δ(t)/(t·(rms(g) + 1e-6))·g, the RG of
    :class:`~shellac.engine.diffusion.guidance.ReconstructionGuidance` with
    ``step_weight`` = δ; ``power`` = 0 is plain RG.

    Parameters
    ----------
    operator, y:
        Degradation and observation.
    xi:
        Base step ξ.
    sigma_y:
        Noise regularisation on y (0 = off).
    sigma_data:
        σ_d of the prior, amplitude units.
    power:
        κ ≥ 0 of δ(t).
    randn_like:
        Noise source.
    """

    def __init__(self, operator: Operator, y: torch.Tensor, *, xi: float, sigma_y: float, sigma_data: float,
                 power: float, randn_like: RandnLike) -> None:
        if xi < 0 or sigma_y < 0 or power < 0 or not sigma_data > 0:
            raise ParameterError(f"need xi, sigma_y, power >= 0 and sigma_data > 0; got {xi}, {sigma_y}, "
                                 f"{power}, {sigma_data}")
        super().__init__(operator, y, xi=xi, sigma_y=sigma_y, randn_like=randn_like,
                         step_weight=partial(drho_weight, sigma_data=float(sigma_data), power=float(power)))


class PseudoInverseGuidance:
    """ΠGDM: g = (∂D/∂x)ᵀ·(A⁺y − A⁺A·D(x)), the vector-Jacobian product of the denoiser.

    A⁺y − A⁺A·D is computed as project(D, y) − D (equal for linear A, and the
    natural extension for clipping), so −g is the gradient of ½‖D − sg(project(D, y))‖²
    (sg: no gradient) and the RG step rule applies: score = (D − x)/t² + ξ/(t·(rms(g) + 1e-6))·g.
    The step is normalised like RG's rather than weighted by 1/r_t², so ξ means
    the same in both (Song et al., ICLR 2023, use r_t⁻² with a tuned scale).
    """

    def __init__(self, operator: Operator, y: torch.Tensor, *, xi: float) -> None:
        if not supports_projection(operator):
            raise ParameterError(
                f"ΠGDM needs an operator with a pseudo-inverse; {type(operator).__name__} has none")
        if xi < 0:
            raise ParameterError(f"xi must be >= 0, got {xi}")
        self.operator, self.y, self.xi = operator, y.detach(), float(xi)

    def __call__(self, x: torch.Tensor, t: float, denoiser: Denoiser) -> GuidanceOutput:
        """See :class:`~shellac.engine.diffusion.guidance.Guidance`."""
        t = float(t)

        def residual(denoised: torch.Tensor) -> torch.Tensor:
            with torch.no_grad():
                projected = project(self.operator, denoised, self.y)
            return denoised - projected

        denoised, grad, loss = denoiser_gradient(x, t, denoiser, residual)
        score = gradient_step_score(denoised, x.detach(), t, grad, self.xi)
        return GuidanceOutput(denoised=denoised, score=score, loss=loss)


def slerp(a: torch.Tensor, b: torch.Tensor, weight: float) -> torch.Tensor:
    """Spherical interpolation per batch item between unit-norm rows ``a`` and ``b`` (weight in [0, 1])."""
    a2, b2 = a.flatten(1), b.flatten(1)
    cos = (a2 * b2).sum(dim=1, keepdim=True).clamp(-1.0, 1.0)
    omega = torch.acos(cos)
    sin = torch.sin(omega)
    # Nearly parallel directions: the chord is the arc.
    safe = sin.abs() > 1e-6
    wa = torch.where(safe, torch.sin((1 - weight) * omega) / sin.where(safe, torch.ones_like(sin)),
                     torch.full_like(sin, 1 - weight))
    wb = torch.where(safe, torch.sin(weight * omega) / sin.where(safe, torch.ones_like(sin)),
                     torch.full_like(sin, weight))
    return (wa * a2 + wb * b2).reshape(a.shape)


class GeodesicGuidance:
    """DGG: rotate the sampler's noise direction towards the guidance gradient along the sphere.

    The ODE direction is ε̂ = (x − D)/t; its norm sets how far the step moves.
    DGG replaces it by ‖ε̂‖·slerp(ε̂/‖ε̂‖, g/‖g‖; λ) with g the RG gradient, so the
    guided step moves along −g without changing the step's length, and x stays
    on the shell where noisy samples of level t live (Diffusion Geodesic
    Guidance, NeurIPS 2025 AI for Music workshop). score = −ε̂_guided / t.

    Parameters
    ----------
    weight:
        λ ∈ [0, 1]: 0 is unconditional, 1 follows g alone.
    sigma_y, randn_like:
        Noise regularisation on y, as in RG.
    """

    def __init__(self, operator: Operator, y: torch.Tensor, *, weight: float, sigma_y: float,
                 randn_like: RandnLike) -> None:
        if not 0 <= weight <= 1 or sigma_y < 0:
            raise ParameterError(f"need weight in [0, 1] and sigma_y >= 0, got {weight}, {sigma_y}")
        self.operator, self.y = operator, y.detach()
        self.weight, self.sigma_y, self.randn_like = float(weight), float(sigma_y), randn_like

    def __call__(self, x: torch.Tensor, t: float, denoiser: Denoiser) -> GuidanceOutput:
        """See :class:`~shellac.engine.diffusion.guidance.Guidance`."""
        t = float(t)
        denoised, grad, loss, report = reconstruction_gradient(
            self.operator, self.y, x, t, denoiser, sigma_y=self.sigma_y, randn_like=self.randn_like)
        eps_hat = (x.detach() - denoised) / t
        norm = eps_hat.flatten(1).norm(dim=1).reshape(-1, *([1] * (x.ndim - 1)))
        g_norm = grad.flatten(1).norm(dim=1).reshape(norm.shape)
        unit_eps = eps_hat / (norm + 1e-20)
        unit_g = grad / (g_norm + 1e-20)
        guided = norm * slerp(unit_eps, unit_g, self.weight)
        return GuidanceOutput(denoised=denoised, score=-guided / t, loss=loss, fit_report=report)
