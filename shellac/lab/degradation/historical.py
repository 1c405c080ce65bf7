"""The simulated 78 rpm transfer chain: clean audio in, degraded audio and its ground truth out."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from shellac.engine.errors import ParameterError
from shellac.lab.degradation.horn_eq import apply_zero_phase_eq, horn_response_db
from shellac.lab.degradation.mechanics import apply_wow, saturate
from shellac.lab.degradation.params import DegradationParams
from shellac.lab.degradation.surface_noise import clicks, crackle, shaped_hiss

RESPONSE_N_FFT = 4096  # response grid: the 2049 rFFT bins BABE-2's filter also lives on
MAX_PEAK = 0.99  # the transfer is scaled down if noise pushes it past this


@dataclass(frozen=True)
class FrequencyResponse:
    """A magnitude response: gain in dB at each frequency in Hz (zero phase)."""

    freqs_hz: np.ndarray
    gain_db: np.ndarray

    def to_dict(self) -> dict[str, list[float]]:
        """Return a JSON-ready dict with ``freqs_hz`` and ``gain_db`` lists."""
        return {
            "freqs_hz": [round(float(f), 4) for f in self.freqs_hz],
            "gain_db": [round(float(g), 4) for g in self.gain_db],
        }


@dataclass(frozen=True)
class DegradationResult:
    """A degraded signal with everything needed to score a restoration of it.

    ``response`` is the exact linear (small-signal) response from the clean
    input to ``audio``: the horn EQ plus the broadband level changes. ``noise``
    is the additive surface noise (hiss + crackle + clicks) contained in ``audio``.
    """

    audio: np.ndarray
    sample_rate: int
    response: FrequencyResponse
    broadband_gain_db: float
    click_positions_samples: np.ndarray
    click_widths_samples: np.ndarray
    noise: np.ndarray
    params: DegradationParams

    def to_json(self) -> dict[str, Any]:
        """Return params, response and click positions as a JSON-ready dict."""
        sr = float(self.sample_rate)
        return {
            "sample_rate_hz": self.sample_rate,
            "params": self.params.model_dump(mode="json"),
            "response": {
                **self.response.to_dict(),
                "phase": "zero",
                "broadband_gain_db": round(self.broadband_gain_db, 6),
            },
            "click_positions_samples": [int(p) for p in self.click_positions_samples],
            "click_positions_s": [round(int(p) / sr, 6) for p in self.click_positions_samples],
            "click_widths_samples": [int(w) for w in self.click_widths_samples],
        }


def degrade(
    x: np.ndarray, sample_rate: int, params: DegradationParams, rng: np.random.Generator
) -> DegradationResult:
    """Turn a clean mono recording into a simulated 78 rpm transfer.

    Order: wow (if enabled) -> horn EQ (zero-phase) -> level to ``peak_dbfs``
    -> tanh saturation -> + hiss (at ``hiss_snr_db`` against the saturated
    music) + crackle + clicks -> scaled down if the peak exceeds 0.99.

    Parameters
    ----------
    x
        Clean mono signal, shape (samples,), linear full scale.
    sample_rate
        Sample rate in Hz.
    params
        The chain.
    rng
        Source of randomness; the same state, input and params give the same output.

    Returns
    -------
    DegradationResult
        Degraded audio (float64, same length), the true response on the
        ``RESPONSE_N_FFT`` rFFT grid (Hz, dB), click onsets and widths (samples),
        the additive noise and the params.

    Raises
    ------
    ParameterError
        If ``x`` is not a finite, non-empty 1-D signal or ``sample_rate`` <= 0.
    """
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 1 or x.size == 0:
        raise ParameterError(f"degrade expects a non-empty mono signal, got shape {x.shape}")
    if not np.isfinite(x).all():
        raise ParameterError("degrade input contains NaN or infinite samples")
    if sample_rate <= 0:
        raise ParameterError(f"sample_rate must be positive, got {sample_rate}")
    n = x.size

    music = x
    if params.wow_depth_percent > 0.0:
        phase = float(rng.uniform(0.0, 2.0 * np.pi))
        music = apply_wow(music, sample_rate, params.wow_depth_percent, params.wow_rate_hz, phase)
    music = apply_zero_phase_eq(music, sample_rate, params)
    peak = float(np.max(np.abs(music)))
    pre_gain = 10.0 ** (params.peak_dbfs / 20.0) / peak if peak > 0.0 else 1.0
    music = saturate(pre_gain * music, params.drive_db)

    music_power = float(np.mean(music**2))
    noise = np.zeros(n)
    if params.hiss_snr_db is not None and music_power > 0.0:
        noise += shaped_hiss(
            n, sample_rate, music_power, params.hiss_snr_db, params.hiss_tilt_db_per_oct, rng
        )
    crackle_level = np.sqrt(music_power) * 10.0 ** (params.crackle_level_db / 20.0)
    noise += crackle(n, sample_rate, params.crackle_rate_hz, crackle_level, rng)
    found = clicks(
        n, sample_rate, params.click_rate_hz, params.click_width_ms, params.click_amplitude, rng
    )
    noise += found.signal

    audio = music + noise
    peak_out = float(np.max(np.abs(audio)))
    post_gain = MAX_PEAK / peak_out if peak_out > MAX_PEAK else 1.0
    audio *= post_gain
    noise *= post_gain

    broadband_db = float(20.0 * np.log10(pre_gain * post_gain))
    freqs = np.fft.rfftfreq(RESPONSE_N_FFT, d=1.0 / sample_rate)
    response = FrequencyResponse(freqs, horn_response_db(freqs, params) + broadband_db)
    return DegradationResult(
        audio=audio,
        sample_rate=int(sample_rate),
        response=response,
        broadband_gain_db=broadband_db,
        click_positions_samples=found.positions_samples,
        click_widths_samples=found.widths_samples,
        noise=noise,
        params=params,
    )
