"""Score guidance for the sampler: unconditional, and posterior sampling through the denoiser."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import torch

from shellac.engine.errors import ParameterError
from shellac.engine.operators.base import FitReport, Operator

Denoiser = Callable[[torch.Tensor, float], torch.Tensor]
RandnLike = Callable[[torch.Tensor], torch.Tensor]


@dataclass(frozen=True)
class GuidanceOutput:
    """What a guidance step hands back to the sampler.

    Attributes
    ----------
    denoised:
        D(x; t), detached, ``[B, T]``.
    score:
        Approximate ∇ₓ log p(x | y) (or log p(x) unguided), detached, ``[B, T]``.
    loss:
        ½‖A(D(x)) − ỹ‖² summed over the batch, or None when unguided.
    fit_report:
        The blind operator's fit report for this call, or None.
    """

    denoised: torch.Tensor
    score: torch.Tensor
    loss: float | None = None
    fit_report: FitReport | None = None


class Guidance(Protocol):
    """Supplies the score at (x, t) using the denoiser; the sampler knows nothing else."""

    def __call__(self, x: torch.Tensor, t: float, denoiser: Denoiser) -> GuidanceOutput:
        """Return the denoised estimate and score for ``x`` ``[B, T]`` at noise level ``t``."""
        ...


def tweedie_score(denoised: torch.Tensor, x: torch.Tensor, t: float) -> torch.Tensor:
    """Score of the noisy marginal from Tweedie's formula: (D(x) − x) / t²."""
    return (denoised - x) / (t * t)


class UnconditionalGuidance:
    """No conditioning: score = (D(x; t) − x) / t², computed without gradients."""

    def __call__(self, x: torch.Tensor, t: float, denoiser: Denoiser) -> GuidanceOutput:
        """See :class:`Guidance`."""
        with torch.no_grad():
            denoised = denoiser(x, t)
        return GuidanceOutput(denoised=denoised, score=tweedie_score(denoised, x, t))


class PosteriorSamplingGuidance:
    """Reconstruction guidance through the denoiser (diffusion posterior sampling).

    At each call: D = D(x; t) with x requiring grad; if the operator is blind its
    parameters are first fitted to (D.detach(), y); then
    g = ∇ₓ ½‖A(D) − ỹ‖² with ỹ = y + σ_y·ε (fresh ε each call), and
    score = (D − x)/t² − ζ·g with ζ = ξ / (t·(‖g‖/√L + 1e-6)), norms per batch item.

    Parameters
    ----------
    operator:
        Degradation A, differentiable in the waveform domain (e.g. a blind filter,
        or a :class:`~shellac.engine.operators.masked.MaskedOperator` around one).
    y:
        Observation ``[B, T]`` (same amplitude units as x).
    xi:
        Guidance step ξ (1.0 piano, 0.5 voice). 0 gives the unconditional score
        (the operator is still fitted when blind).
    sigma_y:
        Standard deviation of the noise added to y at every call (0.25 piano,
        1.0 voice); 0 disables it ("without noise regularisation" ablation).
    randn_like:
        Source of standard normal noise shaped like its argument.
    fit_operator:
        Whether to call ``operator.fit`` when the operator is blind; False keeps
        the operator's current parameters fixed (informed restoration).
    """

    def __init__(
        self,
        operator: Operator,
        y: torch.Tensor,
        *,
        xi: float,
        sigma_y: float,
        randn_like: RandnLike,
        fit_operator: bool = True,
    ) -> None:
        if y.ndim != 2:
            raise ParameterError(f"y must have shape [B, T], got {tuple(y.shape)}")
        if xi < 0 or sigma_y < 0:
            raise ParameterError(f"xi and sigma_y must be >= 0, got xi={xi}, sigma_y={sigma_y}")
        self.operator = operator
        self.y = y.detach()
        self.xi = float(xi)
        self.sigma_y = float(sigma_y)
        self.randn_like = randn_like
        self.fit_operator = fit_operator

    def __call__(self, x: torch.Tensor, t: float, denoiser: Denoiser) -> GuidanceOutput:
        """See :class:`Guidance`."""
        if x.shape != self.y.shape:
            raise ParameterError(f"x {tuple(x.shape)} and y {tuple(self.y.shape)} must have the same shape")
        t = float(t)
        with torch.enable_grad():
            x_in = x.detach().requires_grad_(True)
            denoised = denoiser(x_in, t)
            report = None
            if self.fit_operator and self.operator.blind:
                report = self.operator.fit(denoised.detach(), self.y)
            y_tilde = self.y
            if self.sigma_y > 0:
                y_tilde = self.y + self.sigma_y * self.randn_like(self.y)
            residual = self.operator.forward(denoised) - y_tilde
            loss = 0.5 * (residual**2).sum()
            (grad,) = torch.autograd.grad(loss, x_in)
        denoised = denoised.detach()
        score = tweedie_score(denoised, x.detach(), t)
        if self.xi > 0:
            # Normalising by the RMS of the gradient makes ξ a step size in units of
            # the score's scale, independent of the operator's gain and of L.
            length = x.shape[-1]
            grad_rms = grad.flatten(1).norm(dim=1, keepdim=True) / math.sqrt(length)
            zeta = self.xi / (t * (grad_rms + 1e-6))
            score = score - zeta * grad
        return GuidanceOutput(denoised=denoised, score=score, loss=float(loss.detach()), fit_report=report)
