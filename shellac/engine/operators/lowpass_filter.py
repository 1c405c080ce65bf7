"""BABE (v1) style blind low-pass: flat up to a cutoff, one slope in dB/octave above it."""

from __future__ import annotations

from typing import Any

import torch

from shellac.engine.errors import ParameterError
from shellac.engine.operators.parametric import ParametricBlindFilter


class LowpassBlindFilter(ParametricBlindFilter):
    """Zero-phase blind low-pass: 0 dB below ``cutoff``, ``slope`` dB/octave above.

    Baseline for benchmarks (same interface as :class:`BlindFilter`).

    Parameters
    ----------
    sample_rate:
        Sample rate in Hz.
    cutoff_hz:
        Initial cutoff in Hz (our default 1000 Hz).
    slope_db:
        Initial slope above the cutoff in dB/octave (our default −10).
    f_min:
        Lowest allowed cutoff in Hz (11); the highest is Nyquist.
    max_attenuation_slope_db:
        The slope is kept in [−max_attenuation_slope_db, 0] dB/octave (80).
    **kwargs:
        Fit settings of :class:`ParametricBlindFilter`.
    """

    def __init__(
        self,
        sample_rate: int,
        cutoff_hz: float = 1000.0,
        slope_db: float = -10.0,
        *,
        f_min: float = 11.0,
        max_attenuation_slope_db: float = 80.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(sample_rate, **kwargs)
        if not 0 < f_min < self.nyquist:
            raise ParameterError(f"f_min must be in (0, Nyquist), got {f_min} Hz")
        self.f_min = float(f_min)
        self.max_attenuation_slope_db = float(max_attenuation_slope_db)
        self.cutoff = self._leaf([float(cutoff_hz)])
        self.slope = self._leaf([float(slope_db)])
        self.project_()

    def _tensors(self) -> dict[str, torch.Tensor]:
        return {"cutoff": self.cutoff, "slope": self.slope}

    def _is_frequency(self, name: str) -> bool:
        return name == "cutoff"

    def response_db_log2(self, log2_freqs: torch.Tensor) -> torch.Tensor:
        """slope·max(log2(f/cutoff), 0) in dB, frequencies given as log2(f / 1 Hz)."""
        octaves_above = torch.clamp(log2_freqs - torch.log2(self.cutoff[0]), min=0.0)
        return self.slope[0] * octaves_above

    def project_(self) -> None:
        """Keep the cutoff in [f_min, Nyquist] and the slope in [−max, 0] dB/octave."""
        with torch.no_grad():
            self.cutoff.clamp_(self.f_min, self.nyquist)
            self.slope.clamp_(-self.max_attenuation_slope_db, 0.0)
