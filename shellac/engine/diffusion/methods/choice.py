"""Guidance methods by name: the settings stages expose, and the factory that builds each one."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

import torch

from shellac.engine.diffusion.guidance import Guidance, PosteriorSamplingGuidance, RandnLike
from shellac.engine.diffusion.methods.gradient import (
    GeodesicGuidance,
    PseudoInverseGuidance,
    ScheduledReconstructionGuidance,
)
from shellac.engine.diffusion.methods.projection import DataConsistencyGuidance, NullSpaceGuidance
from shellac.engine.diffusion.sampler import RePaintWindow
from shellac.engine.errors import ParameterError
from shellac.engine.operators.base import Operator

MethodName = Literal["rg", "rg_drho", "dc", "repaint", "pigdm", "ddnm", "dgg"]
METHOD_NAMES: tuple[str, ...] = get_args(MethodName)
"""rg: reconstruction guidance (BABE-2's posterior sampling); rg_drho: RG with step δ(t);
dc: data-consistency replacement; repaint: DC with resampling cycles; pigdm: ΠGDM;
ddnm: null-space projection; dgg: diffusion geodesic guidance."""


@dataclass(frozen=True)
class MethodSettings:
    """Which guidance, and its numbers.

    Attributes
    ----------
    name:
        One of :data:`METHOD_NAMES`.
    xi:
        Step ξ of rg, rg_drho and pigdm.
    sigma_y:
        Noise regularisation on y of rg, rg_drho and dgg (amplitude units).
    drho_power:
        κ of rg_drho's δ(t) = (1 + σ_d²/t²)^{κ/2}.
    dgg_weight:
        λ ∈ [0, 1] of dgg's spherical interpolation.
    repaint_u, repaint_phases:
        Resampling cycles u per step inside the phase window (φ₁, φ₂) in thirds
        of the schedule; used by ``repaint`` and, when u > 0, by any method.
    """

    name: str = "rg"
    xi: float = 1.0
    sigma_y: float = 0.0
    drho_power: float = 0.5
    dgg_weight: float = 0.2
    repaint_u: int = 0
    repaint_phases: tuple[int, int] = (0, 2)

    def __post_init__(self) -> None:
        if self.name not in METHOD_NAMES:
            raise ParameterError(
                f"unknown guidance method {self.name!r}; choose one of {', '.join(METHOD_NAMES)}")

    def resampling(self) -> RePaintWindow | None:
        """The RePaint window to hand the sampler (``repaint`` defaults to u = 2), or None."""
        u = self.repaint_u if self.repaint_u > 0 or self.name != "repaint" else 2
        return RePaintWindow(u, *self.repaint_phases) if u > 0 else None


def build_guidance(
    settings: MethodSettings,
    operator: Operator,
    y: torch.Tensor,
    *,
    sigma_data: float,
    randn_like: RandnLike,
) -> Guidance:
    """The guidance ``settings.name`` for operator A and observation ``y`` ``[B, ...]``.

    Parameters
    ----------
    sigma_data:
        σ_d of the prior (amplitude units), used by rg_drho's δ(t).
    randn_like:
        The run's only noise source.
    """
    name = settings.name
    if name == "rg":
        return PosteriorSamplingGuidance(operator, y, xi=settings.xi, sigma_y=settings.sigma_y,
                                         randn_like=randn_like, fit_operator=False)
    if name == "rg_drho":
        return ScheduledReconstructionGuidance(operator, y, xi=settings.xi, sigma_y=settings.sigma_y,
                                               sigma_data=sigma_data, power=settings.drho_power,
                                               randn_like=randn_like)
    if name in ("dc", "repaint"):
        return DataConsistencyGuidance(operator, y, randn_like=randn_like)
    if name == "pigdm":
        return PseudoInverseGuidance(operator, y, xi=settings.xi)
    if name == "ddnm":
        return NullSpaceGuidance(operator, y)
    return GeodesicGuidance(operator, y, weight=settings.dgg_weight, sigma_y=settings.sigma_y,
                            randn_like=randn_like)
