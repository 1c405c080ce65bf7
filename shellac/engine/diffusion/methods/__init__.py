"""Guidance methods beyond BABE-2's: RG δρ, DC, RePaint, ΠGDM, DDNM, DGG, and their sampler."""

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
from shellac.engine.diffusion.methods.sampler import PostStep, RePaintWindow, guided_nfe, guided_sampler

__all__ = [
    "METHOD_NAMES",
    "DataConsistencyGuidance",
    "GeodesicGuidance",
    "MethodName",
    "MethodSettings",
    "NullSpaceGuidance",
    "PostStep",
    "PseudoInverseGuidance",
    "RePaintWindow",
    "ScheduledReconstructionGuidance",
    "build_guidance",
    "drho_weight",
    "guided_nfe",
    "guided_sampler",
    "reconstruction_gradient",
    "slerp",
]
