"""Objective restoration metrics: LSD, SI-SDR, LTAS distance and response-estimation errors."""

from __future__ import annotations

import numpy as np
from scipy.signal import stft

from shellac.engine.dsp.ltas import Ltas, compute_ltas, third_octave_smooth
from shellac.engine.errors import ParameterError

_POWER_FLOOR = 1e-10  # power floor (linear, full scale²) so silent bins do not give log(0)

PASS_BAND_RANGE_DB = 20.0
"""A frequency is in the pass band when the true gain is within this many dB of its maximum."""
PASS_BAND_LOW_HZ = 50.0
"""Lowest frequency scored by the filter error, Hz."""


def _same_length(reference: np.ndarray, estimate: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    ref = np.asarray(reference, dtype=np.float64)
    est = np.asarray(estimate, dtype=np.float64)
    if ref.ndim != 1 or est.shape != ref.shape:
        raise ParameterError(f"metrics need two mono signals of one length, got {ref.shape} and {est.shape}")
    if not (np.isfinite(ref).all() and np.isfinite(est).all()):
        raise ParameterError("metrics got non-finite samples")
    return ref, est


def least_squares_gain(reference: np.ndarray, estimate: np.ndarray) -> float:
    """Gain g minimising ‖reference − g·estimate‖² (1 for a silent estimate)."""
    ref, est = _same_length(reference, estimate)
    energy = float(np.dot(est, est))
    return float(np.dot(ref, est) / energy) if energy > 0 else 1.0


def lsd(reference: np.ndarray, estimate: np.ndarray, *, n_fft: int = 2048, hop: int = 512,
        align_level: bool = True) -> float:
    """Log-spectral distance in dB between two signals.

    LSD = mean over frames of sqrt(mean over bins of (10·log10 P_ref − 10·log10 P_est)²),
    with P the STFT power (Hann window ``n_fft`` samples, hop ``hop`` samples).

    Parameters
    ----------
    reference, estimate
        Mono signals of equal length (samples).
    n_fft, hop
        STFT window and hop in samples.
    align_level
        Scale the estimate by :func:`least_squares_gain` first: a restoration's
        overall gain is arbitrary (the degradation's response is only known up
        to gain), and a level offset alone should not score as spectral error.
    """
    ref, est = _same_length(reference, estimate)
    if align_level:
        est = est * least_squares_gain(ref, est)
    n_fft = min(n_fft, ref.size)
    hop = min(hop, n_fft // 2) or 1
    setup = {"window": "hann", "nperseg": n_fft, "noverlap": n_fft - hop, "boundary": None, "padded": False}
    _, _, spec_ref = stft(ref, **setup)
    _, _, spec_est = stft(est, **setup)
    db_ref = 10.0 * np.log10(np.abs(spec_ref) ** 2 + _POWER_FLOOR)
    db_est = 10.0 * np.log10(np.abs(spec_est) ** 2 + _POWER_FLOOR)
    per_frame = np.sqrt(np.mean((db_ref - db_est) ** 2, axis=0))
    return float(np.mean(per_frame))


def si_sdr(reference: np.ndarray, estimate: np.ndarray) -> float:
    """Scale-invariant signal-to-distortion ratio in dB (Le Roux et al. 2019).

    The reference is scaled by α = ⟨estimate, reference⟩/‖reference‖² and
    SI-SDR = 10·log10(‖α·reference‖² / ‖estimate − α·reference‖²). Means are not
    removed. +inf when the estimate is an exact multiple of the reference.
    """
    ref, est = _same_length(reference, estimate)
    ref_energy = float(np.dot(ref, ref))
    if ref_energy == 0:
        raise ParameterError("SI-SDR is undefined for a silent reference")
    target = (float(np.dot(est, ref)) / ref_energy) * ref
    residual = est - target
    res_energy = float(np.dot(residual, residual))
    if res_energy == 0:
        return float("inf")
    return float(10.0 * np.log10(float(np.dot(target, target)) / res_energy))


def ltas_distance_db(estimate: Ltas, reference: Ltas, *, min_hz: float = 0.0) -> float:
    """LTAS distance of the BABE-2 paper (eq. 14): 10·log10(mean_f |X_LTAS − R_LTAS| / R_LTAS).

    Both LTAS are computed after normalising to unit std, so levels do not
    matter. The reference is interpolated onto the estimate's bins; DC and
    bins below ``min_hz`` (Hz) are left out. −inf for identical curves.
    """
    ref_power = reference.on_bins(estimate.sample_rate, estimate.n_fft)
    keep = estimate.freqs_hz > max(min_hz, 0.0)
    ratio = np.abs(estimate.power[keep] - ref_power[keep]) / np.maximum(ref_power[keep], _POWER_FLOOR)
    mean = float(np.mean(ratio))
    return float(10.0 * np.log10(mean)) if mean > 0 else float("-inf")


def pass_band(freqs_hz: np.ndarray, true_db: np.ndarray, nyquist_hz: float, *,
              range_db: float = PASS_BAND_RANGE_DB, low_hz: float = PASS_BAND_LOW_HZ) -> np.ndarray:
    """Boolean mask of the frequencies scored by :func:`filter_error_db`.

    In the pass band: ``low_hz`` ≤ f ≤ ``nyquist_hz`` and the true gain within
    ``range_db`` dB of its maximum over that range. Outside it the recording
    holds (almost) nothing of the music, so no filter estimate can be checked there.
    """
    f = np.asarray(freqs_hz, dtype=np.float64)
    g = np.asarray(true_db, dtype=np.float64)
    in_range = (f >= low_hz) & (f <= nyquist_hz)
    if not in_range.any():
        raise ParameterError(f"no frequency between {low_hz} and {nyquist_hz} Hz to score")
    return in_range & (g >= g[in_range].max() - range_db)


def filter_error_db(freqs_hz: np.ndarray, estimated_db: np.ndarray, true_db: np.ndarray,
                    nyquist_hz: float, *, range_db: float = PASS_BAND_RANGE_DB,
                    low_hz: float = PASS_BAND_LOW_HZ) -> float:
    """RMS difference in dB between an estimated and the true magnitude response, gain removed.

    Over the :func:`pass_band` points, d = estimated − true; the mean of d is
    subtracted (a response is only identifiable up to gain) and the RMS of the
    rest returned. Give the curves on a log-spaced grid so every octave weighs
    the same.

    Parameters
    ----------
    freqs_hz
        Frequency grid, Hz.
    estimated_db, true_db
        Responses in dB on that grid (the estimate models the degradation, i.e.
        clean → degraded, like the true response).
    nyquist_hz
        Upper end of the scored band, Hz (the model's Nyquist frequency).
    """
    est = np.asarray(estimated_db, dtype=np.float64)
    true = np.asarray(true_db, dtype=np.float64)
    band = pass_band(freqs_hz, true, nyquist_hz, range_db=range_db, low_hz=low_hz)
    diff = est[band] - true[band]
    if not np.isfinite(diff).all():
        # An estimate of −inf dB inside the pass band is as wrong as it gets; clip to stay finite.
        diff = np.clip(np.nan_to_num(diff, nan=0.0), -200.0, 200.0)
    diff = diff - diff.mean()
    return float(np.sqrt(np.mean(diff**2)))


def log_grid(nyquist_hz: float, n_points: int = 256, low_hz: float = PASS_BAND_LOW_HZ) -> np.ndarray:
    """Log-spaced frequencies from ``low_hz`` to ``nyquist_hz`` (Hz) for response comparisons."""
    if not 0 < low_hz < nyquist_hz:
        raise ParameterError(f"need 0 < low_hz < nyquist_hz, got {low_hz} and {nyquist_hz}")
    return np.geomspace(low_hz, nyquist_hz, n_points)


def interp_log_freq(target_hz: np.ndarray, freqs_hz: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Linear interpolation over log2 frequency (positive frequencies only)."""
    f = np.asarray(freqs_hz, dtype=np.float64)
    v = np.asarray(values, dtype=np.float64)
    keep = (f > 0) & np.isfinite(v)
    return np.interp(np.log2(target_hz), np.log2(f[keep]), v[keep])


def effective_response_db(before: np.ndarray, after: np.ndarray, sample_rate: int, grid_hz: np.ndarray, *,
                          n_fft: int = 2048) -> np.ndarray:
    """The degradation response a restoration undid, from its audio: LTAS(before) − LTAS(after), dB.

    Both signals (mono, same rate) are normalised to unit std and their LTAS
    smoothed to third octaves before the difference; the curve is returned on
    ``grid_hz``. Whatever a stage did inside (a fixed EQ curve, a blind filter
    re-fitted per block, a generative prior filling a band), this is the
    response it effectively estimated, so different restorations are scored on
    the same footing by :func:`filter_error_db` against the true response.
    Raises ``ParameterError`` if either signal is silent.
    """
    smooth = [third_octave_smooth(compute_ltas(s, sample_rate, n_fft).power, sample_rate, n_fft)
              for s in (before, after)]
    freqs = np.fft.rfftfreq(n_fft, d=1.0 / sample_rate)
    diff = 10.0 * np.log10(np.maximum(smooth[0], _POWER_FLOOR) / np.maximum(smooth[1], _POWER_FLOOR))
    return interp_log_freq(np.asarray(grid_hz, dtype=np.float64), freqs, diff)
