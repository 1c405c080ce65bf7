"""Simulated 78 rpm transfer degradation with an exactly known response (demo and test material)."""

from shellac.lab.degradation.historical import (
    DegradationResult,
    FrequencyResponse,
    degrade,
)
from shellac.lab.degradation.horn_eq import apply_zero_phase_eq, horn_response_db
from shellac.lab.degradation.mechanics import apply_wow, saturate
from shellac.lab.degradation.params import (
    ROTATION_RATE_HZ,
    DegradationParams,
    Resonance,
    random_params,
)
from shellac.lab.degradation.surface_noise import Clicks, clicks, crackle, shaped_hiss

__all__ = [
    "ROTATION_RATE_HZ",
    "Clicks",
    "DegradationParams",
    "DegradationResult",
    "FrequencyResponse",
    "Resonance",
    "apply_wow",
    "apply_zero_phase_eq",
    "clicks",
    "crackle",
    "degrade",
    "horn_response_db",
    "random_params",
    "saturate",
    "shaped_hiss",
]
