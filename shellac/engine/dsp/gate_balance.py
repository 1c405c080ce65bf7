"""The long-term balance the hiss gate took: a smooth boost-only EQ back to the input less the noise."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from shellac.engine.dsp.ltas import frame_spectra, third_octave_smooth
from shellac.engine.errors import ParameterError

_EPS = 1e-30


@dataclass
class PowerTally:
    """Frame power per rFFT bin of the gate's input and output, summed over the chunks of a file (mono)."""

    sample_rate: int
    n_fft: int
    before: np.ndarray = field(init=False)
    after: np.ndarray = field(init=False)
    frames: int = field(init=False, default=0)

    def __post_init__(self) -> None:
        self.before = np.zeros(self.n_fft // 2 + 1)
        self.after = np.zeros(self.n_fft // 2 + 1)

    def add(self, before: np.ndarray, after: np.ndarray) -> None:
        """Count the frames of one chunk's (channels, frames) input and output, both the same length."""
        if before.shape[-1] < self.n_fft // 2:
            return
        spectra = [frame_spectra(np.asarray(x, dtype=np.float64).mean(axis=0), self.sample_rate, self.n_fft)
                   for x in (before, after)]
        self.before += spectra[0].sum(axis=-1)
        self.after += spectra[1].sum(axis=-1)
        self.frames += spectra[0].shape[-1]


def restore_gain_db(tally: PowerTally, noise: np.ndarray, *, max_boost_db: float,
                    min_snr_db: float = -6.0, ramp_db: float = 6.0) -> np.ndarray:
    """Boost per rFFT bin (dB, never negative) that takes the gate's output back to the clean power estimate.

    Third-octave-smoothed long-term powers: the clean estimate is the gate's input
    less the noise sample's power; where the gate left less than that, the band is
    raised to it, at most ``max_boost_db`` (what the gate could remove). The boost
    fades in over ``ramp_db`` from a clean-to-noise ratio of ``min_snr_db``, so a
    band holding hiss alone (ratio far below it) is never lifted: at full weight
    the result reaches the clean estimate, never more.
    """
    if tally.frames == 0:
        raise ParameterError(f"recording shorter than one analysis window ({tally.n_fft // 2} samples)")
    mono = np.asarray(noise, dtype=np.float64)
    if mono.ndim == 2:
        mono = mono.mean(axis=0)
    if mono.shape[-1] < tally.n_fft // 2:
        raise ParameterError(
            f"noise sample of {mono.shape[-1]} samples is shorter than one analysis window "
            f"({tally.n_fft // 2})")
    sr, n_fft = tally.sample_rate, tally.n_fft
    smooth = [third_octave_smooth(p, sr, n_fft) for p in (
        tally.before / tally.frames, tally.after / tally.frames,
        frame_spectra(mono, sr, n_fft).mean(axis=-1))]
    before, after, hiss = smooth
    clean = np.maximum(before - hiss, 0.0)
    snr_db = 10.0 * np.log10((clean + _EPS) / (hiss + _EPS))
    weight = np.clip((snr_db - min_snr_db) / ramp_db, 0.0, 1.0)
    missing_db = 10.0 * np.log10((clean + _EPS) / (after + _EPS))
    return weight * np.clip(missing_db, 0.0, max_boost_db)


def gate_max_boost_db(prop_decrease: float, ceiling_db: float = 20.0) -> float:
    """The most a band can be owed after a gate that removes ``prop_decrease`` of the noise, dB."""
    if prop_decrease >= 1.0:
        return ceiling_db
    return float(min(ceiling_db, -20.0 * np.log10(1.0 - prop_decrease)))


def restored_bands(gain_db: np.ndarray, sample_rate: int, n_fft: int, *,
                   min_db: float = 1.0) -> dict[str, object]:
    """A :func:`restore_gain_db` curve for state.json: its peak and the ranges raised by ``min_db``."""
    freqs = np.fft.rfftfreq(n_fft, d=1.0 / sample_rate)
    raised = np.concatenate([[False], gain_db >= min_db, [False]])
    edges = np.flatnonzero(np.diff(raised.astype(np.int8)))
    ranges = [[round(float(freqs[a]), 1), round(float(freqs[b - 1]), 1)]
              for a, b in zip(edges[::2], edges[1::2], strict=True)]
    peak = int(np.argmax(gain_db))
    return {"max_db": round(float(gain_db[peak]), 2), "at_hz": round(float(freqs[peak]), 1),
            "bands_hz": ranges, "min_db": min_db}
