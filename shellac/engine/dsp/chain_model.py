"""The recording-chain family: a horn band-pass (Butterworth-magnitude corners) plus a few resonances."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from shellac.engine.errors import ParameterError

DB_PER_OCT_PER_ORDER = 20.0 * np.log10(2.0)
"""Asymptotic slope of one Butterworth order, dB/octave (6.02)."""


@dataclass(frozen=True)
class Resonance:
    """One resonant peak (gain > 0) or dip (gain < 0): centre in Hz, gain in dB, quality factor."""

    freq_hz: float
    gain_db: float
    q: float


@dataclass(frozen=True)
class ChainResponse:
    """Magnitude response of an acoustic recording chain, smooth and low-order.

    gain(f) = gain_db − 10·log10(1 + (f_hp/f)^(2·n_hp)) − 10·log10(1 + (f/f_lp)^(2·n_lp))
    + Σ_k g_k / (1 + q_k²·(f/f_k − f_k/f)²), with the orders n = slope / 6.02 dB/octave.

    Parameters
    ----------
    highpass_hz, lowpass_hz:
        Corner frequencies of the low and high roll-offs, Hz.
    highpass_slope_db, lowpass_slope_db:
        Asymptotic roll-off slopes, dB/octave (positive numbers).
    resonances:
        Horn resonances (peaks or dips).
    gain_db:
        Broadband level, dB (a response is identifiable only up to it; the EQ ignores it).
    """

    highpass_hz: float
    highpass_slope_db: float
    lowpass_hz: float
    lowpass_slope_db: float
    resonances: tuple[Resonance, ...] = field(default_factory=tuple)
    gain_db: float = 0.0

    def __post_init__(self) -> None:
        if not 0 < self.highpass_hz < self.lowpass_hz:
            raise ParameterError(
                f"need 0 < highpass_hz < lowpass_hz, got {self.highpass_hz} and {self.lowpass_hz} Hz"
            )
        if self.highpass_slope_db <= 0 or self.lowpass_slope_db <= 0:
            raise ParameterError("roll-off slopes must be positive dB/octave")

    def response_db(self, freqs_hz: np.ndarray) -> np.ndarray:
        """Gain in dB at ``freqs_hz`` (Hz; 0 Hz is evaluated at 1 mHz)."""
        f = np.maximum(np.asarray(freqs_hz, dtype=np.float64), 1e-3)
        n_hp = self.highpass_slope_db / DB_PER_OCT_PER_ORDER
        n_lp = self.lowpass_slope_db / DB_PER_OCT_PER_ORDER
        gain = self.gain_db - 10.0 * np.log10(1.0 + (self.highpass_hz / f) ** (2.0 * n_hp))
        gain = gain - 10.0 * np.log10(1.0 + (f / self.lowpass_hz) ** (2.0 * n_lp))
        for res in self.resonances:
            detune = f / res.freq_hz - res.freq_hz / f
            gain = gain + res.gain_db / (1.0 + (res.q * detune) ** 2)
        return gain

    def to_vector(self) -> np.ndarray:
        """One vector: gain, log f_hp, slope_hp, log f_lp, slope_lp, then (log f, g, log q) per resonance."""
        head = [self.gain_db, np.log(self.highpass_hz), self.highpass_slope_db,
                np.log(self.lowpass_hz), self.lowpass_slope_db]
        tail = [v for r in self.resonances for v in (np.log(r.freq_hz), r.gain_db, np.log(r.q))]
        return np.asarray(head + tail, dtype=np.float64)

    @classmethod
    def from_vector(cls, theta: np.ndarray) -> ChainResponse:
        """Inverse of :meth:`to_vector` (the number of resonances follows from the length)."""
        theta = np.asarray(theta, dtype=np.float64)
        if theta.size < 5 or (theta.size - 5) % 3:
            raise ParameterError(f"a chain vector has 5 + 3k values, got {theta.size}")
        res = tuple(Resonance(float(np.exp(theta[i])), float(theta[i + 1]), float(np.exp(theta[i + 2])))
                    for i in range(5, theta.size, 3))
        return cls(highpass_hz=float(np.exp(theta[1])), highpass_slope_db=float(theta[2]),
                   lowpass_hz=float(np.exp(theta[3])), lowpass_slope_db=float(theta[4]),
                   resonances=res, gain_db=float(theta[0]))

    def to_json(self) -> dict[str, Any]:
        """JSON-ready dict (Hz, dB, dB/octave)."""
        return {
            "highpass_hz": round(self.highpass_hz, 2),
            "highpass_slope_db_per_oct": round(self.highpass_slope_db, 2),
            "lowpass_hz": round(self.lowpass_hz, 2),
            "lowpass_slope_db_per_oct": round(self.lowpass_slope_db, 2),
            "resonances": [
                {"freq_hz": round(r.freq_hz, 2), "gain_db": round(r.gain_db, 2), "q": round(r.q, 3)}
                for r in self.resonances
            ],
            "gain_db": round(self.gain_db, 3),
        }
