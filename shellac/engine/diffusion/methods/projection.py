"""Projection guidances: data-consistency replacement (DC, RePaint's) and DDNM null-space projection."""

from __future__ import annotations

import torch

from shellac.engine.diffusion.guidance import Denoiser, GuidanceOutput, RandnLike, tweedie_score
from shellac.engine.errors import ParameterError
from shellac.engine.operators.base import Operator
from shellac.engine.operators.consistency import project, supports_projection


def _require_projection(operator: Operator, method: str) -> None:
    if not supports_projection(operator):
        raise ParameterError(
            f"{method} needs an operator with a pseudo-inverse or a projection; "
            f"{type(operator).__name__} has neither (use rg, rg_drho or dgg)"
        )


class DataConsistencyGuidance:
    """DC: unconditional score, then after each step x ← A⁺ỹ_t + (I − A⁺A)x.

    The replacement targets the observation at the step's noise level,
    ỹ_t = "y + t·ε seen through A", computed as project(x − t·ε, y) + t·ε (the
    same for linear A; for clipping the sign constraint acts on the clean part).
    At t = 0 it is project(x, y): observed samples end exactly equal to y.
    The sampler calls :meth:`post_step`; the score itself is unguided.
    """

    def __init__(self, operator: Operator, y: torch.Tensor, *, randn_like: RandnLike) -> None:
        _require_projection(operator, "DC")
        self.operator, self.y, self.randn_like = operator, y.detach(), randn_like

    def __call__(self, x: torch.Tensor, t: float, denoiser: Denoiser) -> GuidanceOutput:
        """See :class:`~shellac.engine.diffusion.guidance.Guidance`."""
        with torch.no_grad():
            denoised = denoiser(x, t)
        return GuidanceOutput(denoised=denoised, score=tweedie_score(denoised, x, float(t)))

    def post_step(self, x: torch.Tensor, t: float) -> torch.Tensor:
        """Replace the observed part of ``x`` (at noise level ``t``) by the observation."""
        if t <= 0:
            return project(self.operator, x, self.y)
        noise = t * self.randn_like(x)
        return project(self.operator, x - noise, self.y) + noise


class NullSpaceGuidance:
    """DDNM: D ← A⁺y + (I − A⁺A)·D at every call; score = (D_projected − x)/t².

    The range-space part of the clean estimate comes from the observation and
    only the null-space part from the prior (Wang et al., ICLR 2023). No network
    gradient is needed. The last Euler step lands on D_projected, so the result
    is consistent with y.
    """

    def __init__(self, operator: Operator, y: torch.Tensor) -> None:
        _require_projection(operator, "DDNM")
        self.operator, self.y = operator, y.detach()

    def __call__(self, x: torch.Tensor, t: float, denoiser: Denoiser) -> GuidanceOutput:
        """See :class:`~shellac.engine.diffusion.guidance.Guidance`."""
        with torch.no_grad():
            denoised = project(self.operator, denoiser(x, t), self.y)
        return GuidanceOutput(denoised=denoised, score=tweedie_score(denoised, x, float(t)))
