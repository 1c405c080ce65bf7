"""The restoration vocabulary: sampler numbers and how a recording is cut into blocks."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SamplerSettings:
    """The restoration sampler's numbers (BABE-2 Table 3 defaults are set by the stage profiles).

    ``xi`` and ``sigma_y`` are the reconstruction guidance's step and noise
    regularisation; a run with a named guidance method (``MethodSettings``)
    takes them from the method instead.
    """

    n_steps: int
    sigma_start: float
    sigma_min: float
    rho: float
    xi: float
    sigma_y: float
    s_churn: float = 10.0
    churn_t_max: float = 50.0
    churn_n: int | None = None
    final_euler: bool = True


@dataclass(frozen=True)
class BlockSettings:
    """How a recording is cut into blocks and how blocks hand over to each other."""

    segment_length: int
    overlap_fraction: float = 0.1
    carry_filter: bool = True
    seed: int = 0

    @property
    def overlap(self) -> int:
        """Overlap between consecutive blocks, in samples."""
        return int(round(self.overlap_fraction * self.segment_length))


BABE2_SAMPLER = SamplerSettings(n_steps=51, sigma_start=0.5, sigma_min=4e-5, rho=13.0, xi=1.0, sigma_y=0.25)
"""BABE-2's Table 3 piano numbers: the ``generative_eq`` stage's and the benchmark's piano defaults."""

GUIDED_SAMPLER = SamplerSettings(n_steps=35, sigma_start=0.5, sigma_min=1e-4, rho=13.0, xi=1.0, sigma_y=0.0)
"""The ``declip`` and ``inpaint`` defaults (a guidance method's ξ and σ_y come from ``MethodSettings``)."""
