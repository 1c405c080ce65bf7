"""A prior's measured spectral bias per octave (its warm restarts' excess over clean), stored in its card."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator


class SpectralBias(BaseModel):
    """Per octave band, how far above the clean level a prior's restarts land, at each sampler step count.

    Measured on held-out validation renders with ``shellac calibrate-prior``: each clean
    segment is noised to σ_start and sampled back without guidance, as restoration does;
    ``excess_db[N][k]`` is the output's power minus the clean power in band
    ``[edges_hz[k], edges_hz[k+1])``, mean over the segments, with N sampler steps.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    edges_hz: list[float] = Field(min_length=2, description="octave band edges, Hz, increasing")
    excess_db: dict[int, list[float]] = Field(
        min_length=1, description="sampler steps N -> per band, warm-restart output minus clean, dB")
    sigma_start: float = Field(gt=0, description="warm-start σ of the restarts")
    sigma_min: float = Field(gt=0, description="last noise level of the restarts")
    rho: float = Field(gt=0, description="schedule exponent of the restarts")
    segments: int = Field(ge=1, description="clean segments measured")
    measured_on: str = Field(description="material the restarts started from (held-out validation part)")
    command: str = Field("", description="command line of the measurement")
    created: datetime = Field(default_factory=lambda: datetime.now(UTC), description="time measured (UTC)")

    @model_validator(mode="after")
    def _bands_match(self) -> SpectralBias:
        edges = np.asarray(self.edges_hz)
        if np.any(np.diff(edges) <= 0) or edges[0] <= 0:
            raise ValueError("edges_hz must be positive and increasing")
        for n, values in self.excess_db.items():
            if len(values) != edges.size - 1:
                raise ValueError(f"excess_db[{n}] has {len(values)} values for {edges.size - 1} bands")
        return self

    def amplitude_correction(self, n_steps: int, freqs_hz: np.ndarray) -> np.ndarray | None:
        """Factor 10^(−excess/20) per frequency for N = ``n_steps``; None if not measured at that N.

        Interpolated linearly in log frequency between the bands' centres (geometric
        means) and held flat beyond the outer centres.
        """
        values = self.excess_db.get(n_steps)
        if values is None:
            return None
        edges = np.asarray(self.edges_hz)
        centres = np.log2(np.sqrt(edges[:-1] * edges[1:]))
        log_f = np.log2(np.maximum(np.asarray(freqs_hz, dtype=np.float64), edges[0] / 2))
        return 10.0 ** (-np.interp(log_f, centres, np.asarray(values)) / 20.0)


def record_spectral_bias(directory: Path, bias: SpectralBias) -> Path:
    """Rewrite bundle ``directory`` with ``bias`` in its card, through :func:`save_bundle` (atomic)."""
    from shellac.engine.models.bundle import rewrite_card

    return rewrite_card(directory, {"spectral_bias": bias})
