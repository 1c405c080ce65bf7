"""Guidance settings measured for one bundle (σ_y, ξ, steps, schedule), stored in its card."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class MeasuredGuidance(BaseModel):
    """Sampler settings chosen for a bundle by a measured sweep on held-out validation material."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    n_steps: int = Field(ge=2, le=400, description="sampler steps N")
    sigma_y: float = Field(ge=0, description="noise regularisation σ_y (0 = off)")
    xi: float = Field(ge=0, description="guidance step ξ")
    rho: float | None = Field(None, gt=0, description="schedule exponent ρ (None: the profile's)")
    sigma_start: float | None = Field(None, gt=0, description="warm-start σ (None: the profile's)")
    measured_on: str = Field(description="material the sweep scored (held-out validation part)")
    objective: str = Field(description="what was minimised")
    scores: dict[str, Any] = Field(
        default_factory=dict, description="the chosen point's and the grid's scores"
    )
    command: str = Field("", description="command line of the sweep")
    created: datetime = Field(
        default_factory=lambda: datetime.now(UTC), description="time of the sweep (UTC)"
    )

    def sampler_values(self) -> dict[str, float | int]:
        """The generative_eq parameters this record sets (those that are not None)."""
        values: dict[str, float | int | None] = {
            "n_steps": self.n_steps,
            "sigma_y": self.sigma_y,
            "xi": self.xi,
            "rho": self.rho,
            "sigma_start": self.sigma_start,
        }
        return {k: v for k, v in values.items() if v is not None}


def record_guidance(directory: Path, guidance: MeasuredGuidance) -> Path:
    """Rewrite bundle ``directory`` with ``guidance`` in its card (weights and checksum unchanged)."""
    from shellac.engine.models.bundle import rewrite_card

    return rewrite_card(directory, {"guidance": guidance})
