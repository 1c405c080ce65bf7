"""Score guidance for the sampler: unconditional, and reconstruction guidance (RG) through the denoiser."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar, Protocol

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


EPS = 1e-6
"""Keeps the RG step finite when the gradient vanishes."""

Residual = Callable[[torch.Tensor], torch.Tensor]
StepWeight = Callable[[float], float]


def tweedie_score(denoised: torch.Tensor, x: torch.Tensor, t: float) -> torch.Tensor:
    """Score of the noisy marginal from Tweedie's formula: (D(x) − x) / t²."""
    return (denoised - x) / (t * t)


def rms(v: torch.Tensor) -> torch.Tensor:
    """Root mean square per batch item, ``[B, 1]``."""
    return v.flatten(1).norm(dim=1, keepdim=True) / math.sqrt(v[0].numel())


def denoiser_gradient(
    x: torch.Tensor, t: float, denoiser: Denoiser, residual: Residual
) -> tuple[torch.Tensor, torch.Tensor, float]:
    """D(x; t) and g = ∇ₓ ½‖r(D(x))‖² through the denoiser, for a residual r of the estimate.

    Every gradient guidance differentiates through D this way; they differ only in r.
    Returns (denoised, g, ½‖r‖² summed over the batch), all detached.
    """
    with torch.enable_grad():
        x_in = x.detach().requires_grad_(True)
        denoised = denoiser(x_in, t)
        loss = 0.5 * (residual(denoised) ** 2).sum()
        (grad,) = torch.autograd.grad(loss, x_in)
    return denoised.detach(), grad, float(loss.detach())


def reconstruction_gradient(
    operator: Operator,
    y: torch.Tensor,
    x: torch.Tensor,
    t: float,
    denoiser: Denoiser,
    *,
    sigma_y: float,
    randn_like: RandnLike,
    fit_operator: bool = True,
) -> tuple[torch.Tensor, torch.Tensor, float, FitReport | None]:
    """D(x; t) and g = ∇ₓ ½‖A(D(x)) − ỹ‖², ỹ = y + σ_y·ε (the RG gradient of BABE-2 / DPS).

    A blind operator is first fitted to (D.detach(), y) when ``fit_operator``; ε is
    drawn fresh at every call. ``y`` may have any shape A produces (a waveform, a
    spectrogram). Returns (denoised, g, loss, fit report), all detached.
    """
    report: FitReport | None = None

    def residual(denoised: torch.Tensor) -> torch.Tensor:
        nonlocal report
        if fit_operator and operator.blind:
            report = operator.fit(denoised.detach(), y)  # type: ignore[attr-defined]
        y_tilde = y + sigma_y * randn_like(y) if sigma_y > 0 else y
        return operator.forward(denoised) - y_tilde

    denoised, grad, loss = denoiser_gradient(x, t, denoiser, residual)
    return denoised, grad, loss, report


def gradient_step_score(
    denoised: torch.Tensor, x: torch.Tensor, t: float, grad: torch.Tensor, step: float
) -> torch.Tensor:
    """The RG step rule: (D − x)/t² − ζ·g with ζ = step / (t·(rms(g) + 1e-6)), rms per batch item.

    Normalising by the RMS of the gradient makes ``step`` a step size in units of
    the score's scale, independent of the operator's gain and of the signal length.
    ``step`` 0 gives the unconditional score.
    """
    score = tweedie_score(denoised, x, t)
    if step > 0:
        score = score - step / (t * (rms(grad) + EPS)) * grad
    return score


class UnconditionalGuidance:
    """No conditioning: score = (D(x; t) − x) / t², computed without gradients."""

    def __call__(self, x: torch.Tensor, t: float, denoiser: Denoiser) -> GuidanceOutput:
        """See :class:`Guidance`."""
        with torch.no_grad():
            denoised = denoiser(x, t)
        return GuidanceOutput(denoised=denoised, score=tweedie_score(denoised, x, t))


class ReconstructionGuidance:
    """Reconstruction guidance (RG): score = (D − x)/t² − ξ·δ(t)/(t·(rms(g) + 1e-6))·g.

    g is :func:`reconstruction_gradient` (blind fit, fresh σ_y noise on y); δ ≡ 1 is
    plain RG (BABE-2's posterior sampling), a schedule δ(t) gives RG δρ. ``y`` may
    be shaped like A's output rather than like x.

    Parameters
    ----------
    operator:
        Degradation A, differentiable in the waveform domain.
    y:
        Observation, shaped like A's output.
    xi:
        Guidance step ξ; 0 gives the unconditional score (a blind operator is still fitted).
    sigma_y:
        Standard deviation of the noise added to y at every call; 0 disables it.
    randn_like:
        Source of standard normal noise shaped like its argument.
    fit_operator:
        Whether to call ``operator.fit`` when the operator is blind; False keeps
        the operator's current parameters fixed (informed restoration).
    step_weight:
        δ(t), the factor on ξ at noise level t; None is δ ≡ 1.
    """

    waveform_observation: ClassVar[bool] = False
    """Whether y must be a waveform ``[B, T]`` shaped like x (checked on construction and call)."""

    def __init__(
        self,
        operator: Operator,
        y: torch.Tensor,
        *,
        xi: float,
        sigma_y: float,
        randn_like: RandnLike,
        fit_operator: bool = True,
        step_weight: StepWeight | None = None,
    ) -> None:
        if self.waveform_observation and y.ndim != 2:
            raise ParameterError(f"y must have shape [B, T], got {tuple(y.shape)}")
        if xi < 0 or sigma_y < 0:
            raise ParameterError(f"xi and sigma_y must be >= 0, got xi={xi}, sigma_y={sigma_y}")
        self.operator = operator
        self.y = y.detach()
        self.xi = float(xi)
        self.sigma_y = float(sigma_y)
        self.randn_like = randn_like
        self.fit_operator = fit_operator
        self.step_weight = step_weight

    def __call__(self, x: torch.Tensor, t: float, denoiser: Denoiser) -> GuidanceOutput:
        """See :class:`Guidance`."""
        if self.waveform_observation and x.shape != self.y.shape:
            raise ParameterError(f"x {tuple(x.shape)} and y {tuple(self.y.shape)} must have the same shape")
        t = float(t)
        denoised, grad, loss, report = reconstruction_gradient(
            self.operator, self.y, x, t, denoiser, sigma_y=self.sigma_y, randn_like=self.randn_like,
            fit_operator=self.fit_operator)
        step = self.xi if self.step_weight is None else self.xi * self.step_weight(t)
        score = gradient_step_score(denoised, x.detach(), t, grad, step)
        return GuidanceOutput(denoised=denoised, score=score, loss=loss, fit_report=report)


class PosteriorSamplingGuidance(ReconstructionGuidance):
    """BABE-2's posterior sampling: RG on waveforms, y and x both ``[B, T]``.

    Parameters are those of :class:`ReconstructionGuidance`; BABE-2 uses ξ 1.0 for
    piano and 0.5 for voice, σ_y 0.25 for piano and 1.0 for voice, and δ ≡ 1.
    """

    waveform_observation = True
