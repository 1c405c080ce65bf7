"""Frame-wise f0 of a monophonic line (YIN's normalised difference), robust to a missing fundamental."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from shellac.engine.errors import ParameterError

BATCH = 512
"""Frames analysed at once."""


@dataclass(frozen=True)
class PitchSettings:
    """How the line's period is searched (Hz, seconds, YIN thresholds).

    Parameters
    ----------
    fmin_hz, fmax_hz:
        The f0 range searched.
    frame_s:
        Length of the integration window (the difference function's sum).
    hop_s:
        Step between frames.
    threshold:
        A period is taken at the first dip of the normalised difference below this (YIN's absolute
        threshold); the first dip avoids the octave-low periods a global minimum picks.
    voiced_max:
        A frame whose best dip stays above this is unvoiced (noise, breath, silence).
    octave_ratio:
        A dip at twice or three times the period found that is deeper than this share of it is the
        period instead: with the fundamental filtered away, a line whose odd harmonics are weak
        dips first at half its period.
    min_level_db:
        Frames quieter than the loudest frame by more than this are unvoiced.
    """

    fmin_hz: float = 70.0
    fmax_hz: float = 1100.0
    frame_s: float = 0.04
    hop_s: float = 0.01
    threshold: float = 0.2
    voiced_max: float = 0.35
    octave_ratio: float = 0.6
    min_level_db: float = 40.0

    def __post_init__(self) -> None:
        if not 0.0 < self.fmin_hz < self.fmax_hz:
            raise ParameterError(f"pitch range needs 0 < fmin < fmax, not {self.fmin_hz}..{self.fmax_hz}")
        if not 0.0 < self.threshold <= self.voiced_max < 1.0:
            raise ParameterError("pitch thresholds must satisfy 0 < threshold <= voiced_max < 1")


@dataclass(frozen=True)
class PitchTrack:
    """f0 per frame (Hz; NaN where unvoiced), frame centres (s) and frame power (mean square)."""

    f0_hz: np.ndarray
    times_s: np.ndarray
    power: np.ndarray

    @property
    def voiced(self) -> np.ndarray:
        """Frames with an f0."""
        return np.isfinite(self.f0_hz)

    def midi(self) -> np.ndarray:
        """f0 as fractional MIDI numbers (NaN where unvoiced)."""
        with np.errstate(invalid="ignore", divide="ignore"):
            return 69.0 + 12.0 * np.log2(self.f0_hz / 440.0)


def _cmndf(frames: np.ndarray, tau_max: int, window: int) -> np.ndarray:
    """YIN's cumulative mean normalised difference d'(τ), τ = 0..tau_max, of frames [n, window + tau_max]."""
    n_fft = 1 << int(np.ceil(np.log2(2 * (window + tau_max))))
    spec = np.fft.rfft(frames, n_fft, axis=1)
    head = np.fft.rfft(frames[:, :window], n_fft, axis=1)
    # Cross-correlation of the first `window` samples with the frame shifted by τ.
    xcorr = np.fft.irfft(np.conj(head) * spec, n_fft, axis=1)[:, : tau_max + 1]
    energy = np.concatenate([np.zeros((frames.shape[0], 1)), np.cumsum(frames**2, axis=1)], axis=1)
    e0 = energy[:, window][:, None]
    taus = np.arange(tau_max + 1)
    e_tau = energy[:, taus + window] - energy[:, taus]
    diff = np.maximum(e0 + e_tau - 2.0 * xcorr, 0.0)
    cum = np.cumsum(diff[:, 1:], axis=1)
    out = np.ones_like(diff)
    out[:, 1:] = diff[:, 1:] * taus[1:] / np.maximum(cum, 1e-20)
    return out


def _dip_near(d: np.ndarray, tau: int) -> int:
    """The lowest τ of ``d`` within ±3 % of ``tau``."""
    lo, hi = max(1, int(tau * 0.97)), min(d.size - 1, int(np.ceil(tau * 1.03)))
    return lo + int(np.argmin(d[lo : hi + 1]))


def _longer_period(d: np.ndarray, tau: int, ratio: float) -> int:
    """``tau``, or the multiple (2 or 3 times) whose dip is deeper than ``ratio`` times its own."""
    best = tau
    for m in (2, 3):
        if m * tau >= d.size - 1:
            break
        cand = _dip_near(d, m * tau)
        if d[cand] < ratio * d[best]:
            best = cand
    return best


def _periods(d: np.ndarray, tau_min: int, s: PitchSettings) -> np.ndarray:
    """The period (samples, fractional; NaN if unvoiced) of each frame's d'(τ) [frames, tau_max + 1]."""
    search = d[:, tau_min:]
    below = search < s.threshold
    # First τ under the threshold, then on to the bottom of that dip; else the global minimum.
    first = np.where(below.any(axis=1), below.argmax(axis=1), search.argmin(axis=1))
    out = np.full(d.shape[0], np.nan)
    for i, k in enumerate(first):
        while k + 1 < search.shape[1] and search[i, k + 1] < search[i, k]:
            k += 1
        tau = _longer_period(d[i], tau_min + int(k), s.octave_ratio)
        if d[i, tau] > s.voiced_max or tau <= tau_min or tau + 1 >= d.shape[1]:
            continue
        a, b, c = d[i, tau - 1], d[i, tau], d[i, tau + 1]
        out[i] = tau + (0.5 * (a - c) / (a - 2.0 * b + c) if a - 2.0 * b + c > 0 else 0.0)
    return out


def track_pitch(audio: np.ndarray, sample_rate: int, settings: PitchSettings | None = None) -> PitchTrack:
    """f0 of mono ``audio`` frame by frame (YIN: first dip under the threshold, parabolic refinement).

    The period, not the fundamental's partial, is what is found, so a line whose fundamental a
    recording's high-pass took away is still tracked from its harmonics.
    """
    s = settings or PitchSettings()
    x = np.asarray(audio, dtype=np.float64)
    if x.ndim != 1:
        raise ParameterError(f"pitch tracking needs mono audio [T], got shape {x.shape}")
    window = int(round(s.frame_s * sample_rate))
    hop = max(1, int(round(s.hop_s * sample_rate)))
    tau_min = max(2, int(np.floor(sample_rate / s.fmax_hz)))
    tau_max = int(np.ceil(sample_rate / s.fmin_hz))
    span = window + tau_max
    if x.size < span:
        raise ParameterError(f"audio of {x.size} samples is shorter than one pitch frame ({span})")
    starts = np.arange(0, x.size - span + 1, hop)
    windows = np.lib.stride_tricks.sliding_window_view(x, span)
    f0 = np.full(starts.size, np.nan)
    power = np.empty(starts.size)
    for lo in range(0, starts.size, BATCH):  # memory follows the batch, not the recording
        frames = windows[starts[lo : lo + BATCH]]
        power[lo : lo + frames.shape[0]] = np.mean(frames[:, :window] ** 2, axis=1)
        f0[lo : lo + frames.shape[0]] = _periods(_cmndf(frames, tau_max, window), tau_min, s)
    f0 = sample_rate / f0
    f0[power < power.max() * 10.0 ** (-s.min_level_db / 10.0)] = np.nan
    times = (starts + window / 2.0) / sample_rate
    return PitchTrack(f0_hz=f0, times_s=times, power=power)
