"""Spectral balance against the clean truth: pass-band third-octave LTAS error, energy beyond the cut-offs."""

from __future__ import annotations

import numpy as np

from shellac.engine.dsp.ltas import compute_ltas, third_octave_smooth
from shellac.lab.evaluation.metrics import interp_log_freq, log_grid, pass_band

BALANCE_N_FFT = 2048
"""STFT size of the LTAS used here, samples (BABE-2's piano value)."""
WITHIN_DB = 30.0
"""The measure beside the pass-band error (session 33) keeps the points this near the clean maximum, dB."""
_FLOOR = 1e-12


def smoothed_ltas_db(signal: np.ndarray, sample_rate: int, n_fft: int = BALANCE_N_FFT) -> np.ndarray:
    """Third-octave-smoothed LTAS (unit std, so levels do not count) in dB on the rFFT bins."""
    power = third_octave_smooth(compute_ltas(signal, sample_rate, n_fft).power, sample_rate, n_fft)
    return 10.0 * np.log10(np.maximum(power, _FLOOR))


def ltas_error_db(
    clean: np.ndarray,
    estimate: np.ndarray,
    sample_rate: int,
    response_freqs_hz: np.ndarray,
    response_db: np.ndarray,
    *,
    n_points: int = 256,
    within_db: float | None = None,
) -> float:
    """RMS difference (dB, mean removed) of the third-octave LTAS of ``estimate`` from ``clean``'s, pass band.

    Curves are compared on ``n_points`` log-spaced frequencies from 50 Hz to
    Nyquist (each octave weighs the same); the pass band is where the true
    degradation response is within 20 dB of its maximum (as the filter error).
    With ``within_db`` only the pass-band points where the clean curve is within
    that many dB of its pass-band maximum count: the bands the music fills, not
    those 30-40 dB under it, which weigh as much in the plain measure.
    """
    return ltas_curve_error_db(smoothed_ltas_db(clean, sample_rate), smoothed_ltas_db(estimate, sample_rate),
                               sample_rate, response_freqs_hz, response_db, n_points=n_points,
                               within_db=within_db)


def ltas_curve_error_db(
    clean_db: np.ndarray,
    estimate_db: np.ndarray,
    sample_rate: int,
    response_freqs_hz: np.ndarray,
    response_db: np.ndarray,
    *,
    n_points: int = 256,
    within_db: float | None = None,
) -> float:
    """:func:`ltas_error_db` from the two :func:`smoothed_ltas_db` curves (for curves built, not measured)."""
    grid = log_grid(sample_rate / 2.0, n_points)
    freqs = np.fft.rfftfreq(BALANCE_N_FFT, d=1.0 / sample_rate)
    diff = interp_log_freq(grid, freqs, estimate_db - clean_db)
    band = pass_band(grid, interp_log_freq(grid, response_freqs_hz, response_db), sample_rate / 2.0)
    if within_db is not None:
        clean_on_grid = interp_log_freq(grid, freqs, clean_db)
        band = band & (clean_on_grid >= clean_on_grid[band].max() - within_db)
    d = diff[band] - diff[band].mean()
    return float(np.sqrt(np.mean(d**2)))


def band_energy_db(
    clean: np.ndarray, estimate: np.ndarray, sample_rate: int, low_hz: float, high_hz: float
) -> float:
    """Energy share of ``low_hz``–``high_hz`` in ``estimate`` over that in ``clean``, dB (0 ideal).

    Each signal's share is its LTAS power in the band over its total power, so
    overall level does not count; +10 dB means ten times too much energy there.
    """
    shares = []
    for signal in (clean, estimate):
        power = compute_ltas(signal, sample_rate, BALANCE_N_FFT).power
        freqs = np.fft.rfftfreq(BALANCE_N_FFT, d=1.0 / sample_rate)
        inside = (freqs >= low_hz) & (freqs < high_hz)
        shares.append(float(power[inside].sum()) / max(float(power.sum()), _FLOOR))
    return float(10.0 * np.log10(max(shares[1], _FLOOR) / max(shares[0], _FLOOR)))
