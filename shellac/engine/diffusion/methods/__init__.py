"""Guidance methods beyond BABE-2's: RG δρ, DC, RePaint, ΠGDM, DDNM, DGG."""

from shellac.engine.diffusion.methods.choice import METHOD_NAMES, MethodName, MethodSettings, build_guidance
from shellac.engine.diffusion.methods.gradient import (
    GeodesicGuidance,
    PseudoInverseGuidance,
    ScheduledReconstructionGuidance,
    drho_weight,
    reconstruction_gradient,
    slerp,
)
from shellac.engine.diffusion.methods.projection import DataConsistencyGuidance, NullSpaceGuidance

__all__ = [
    "METHOD_NAMES",
    "DataConsistencyGuidance",
    "GeodesicGuidance",
    "MethodName",
    "MethodSettings",
    "NullSpaceGuidance",
    "PseudoInverseGuidance",
    "ScheduledReconstructionGuidance",
    "build_guidance",
    "drho_weight",
    "reconstruction_gradient",
    "slerp",
]
