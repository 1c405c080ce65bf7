"""Diffusion core: EDM preconditioning, noise schedules, the sampler and its guidance."""

from shellac.engine.diffusion.guidance import (
    Denoiser,
    Guidance,
    GuidanceOutput,
    PosteriorSamplingGuidance,
    RandnLike,
    ReconstructionGuidance,
    UnconditionalGuidance,
    tweedie_score,
)
from shellac.engine.diffusion.precond import EDMPrecond, edm_loss_weight
from shellac.engine.diffusion.sampler import (
    CountingDenoiser,
    PostStep,
    RePaintWindow,
    SamplerStep,
    churn_gamma,
    edm_sampler,
    expected_nfe,
)
from shellac.engine.diffusion.schedule import restoration_schedule, training_sigma

__all__ = [
    "CountingDenoiser",
    "Denoiser",
    "EDMPrecond",
    "Guidance",
    "GuidanceOutput",
    "PostStep",
    "PosteriorSamplingGuidance",
    "RePaintWindow",
    "RandnLike",
    "ReconstructionGuidance",
    "SamplerStep",
    "UnconditionalGuidance",
    "churn_gamma",
    "edm_loss_weight",
    "edm_sampler",
    "expected_nfe",
    "restoration_schedule",
    "training_sigma",
    "tweedie_score",
]
