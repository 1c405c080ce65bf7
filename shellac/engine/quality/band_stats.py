"""Third-octave band energies and spectral flatness per STFT frame, computed chunk by chunk."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from shellac.engine.errors import ParameterError
from shellac.engine.stream import release_pages

GATE_N_FFT = 2048
"""STFT size of the gate's analysis, samples (Hann window of the full size, hop n_fft/4)."""
LOWEST_BAND_HZ = 50.0
"""Lower edge of the lowest third-octave band analysed, Hz."""
_FLOOR = 1e-20


@dataclass(frozen=True)
class Bands:
    """Third-octave bands on the rFFT bins of ``n_fft`` at ``sample_rate``.

    ``lo_hz``/``hi_hz`` are the band edges (Hz), ``bins`` the rFFT bin indices of
    each band (at least one bin each, consecutive, non-overlapping).
    """

    sample_rate: int
    n_fft: int
    lo_hz: np.ndarray
    hi_hz: np.ndarray
    bins: tuple[np.ndarray, ...]

    @property
    def centres_hz(self) -> np.ndarray:
        """Geometric centre of each band, Hz."""
        return np.sqrt(self.lo_hz * self.hi_hz)

    @property
    def widths(self) -> np.ndarray:
        """Number of rFFT bins in each band."""
        return np.array([b.size for b in self.bins])


def third_octave_bands(sample_rate: int, n_fft: int = GATE_N_FFT, *, low_hz: float = LOWEST_BAND_HZ) -> Bands:
    """Third-octave bands (edges 1000·2^((k ± ½)/3) Hz) from ``low_hz`` to Nyquist, each ≥ 1 bin.

    Low bands narrower than a bin are merged upwards until they hold one bin.
    """
    nyquist = sample_rate / 2.0
    if not 0 < low_hz < nyquist:
        raise ParameterError(f"need 0 < low_hz < Nyquist ({nyquist} Hz), got {low_hz}")
    freqs = np.fft.rfftfreq(n_fft, d=1.0 / sample_rate)
    k_lo = int(np.ceil(3 * np.log2(low_hz / 1000.0) + 0.5))
    edges = [1000.0 * 2 ** ((k - 0.5) / 3) for k in range(k_lo, 200)]
    edges = [e for e in edges if e < nyquist] + [nyquist + 1e-9]
    lo, hi, bins = [], [], []
    start = edges[0]
    for stop in edges[1:]:
        idx = np.flatnonzero((freqs >= start) & (freqs < stop))
        if idx.size == 0:
            continue  # merged into the next band: keep its lower edge
        lo.append(start)
        hi.append(min(stop, nyquist))
        bins.append(idx)
        start = stop
    return Bands(sample_rate, n_fft, np.array(lo), np.array(hi), tuple(bins))


@dataclass(frozen=True)
class FrameStats:
    """Per-frame band statistics of one signal (normalised to unit std).

    ``energy`` (frames, bands) is the mean power per bin in each band;
    ``flatness`` (frames, bands) the spectral flatness (geometric over
    arithmetic mean of the bins' power, 0–1) in each band; ``ltas`` the mean
    power per rFFT bin over all frames.
    """

    energy: np.ndarray
    flatness: np.ndarray
    ltas: np.ndarray


def frame_stats(signal: np.ndarray, bands: Bands, *, frames_per_chunk: int = 512) -> FrameStats:
    """Band energies and flatness of every frame of a mono ``signal`` (a memmap is fine).

    The signal is scaled to unit std first (levels differ between the chain's
    outputs and only shapes are compared). Frames are read ``frames_per_chunk``
    at a time, so memory holds one chunk's spectrogram, not the recording's.
    Raises ``ParameterError`` for a silent signal or one shorter than a window.
    """
    n_fft = bands.n_fft
    hop = n_fft // 4
    n = int(signal.shape[-1])
    if n < n_fft:
        raise ParameterError(f"signal has {n} samples, fewer than one analysis window ({n_fft})")
    std = _streamed_std(signal)
    if std < 1e-9:
        raise ParameterError("signal is silent: no spectrum to compare")
    window = np.hanning(n_fft + 1)[:-1]
    window = window / np.sqrt(np.sum(window**2))
    n_frames = 1 + (n - n_fft) // hop
    energy = np.empty((n_frames, len(bands.bins)), dtype=np.float32)
    flatness = np.empty_like(energy)
    ltas = np.zeros(n_fft // 2 + 1)
    for f0 in range(0, n_frames, frames_per_chunk):
        f1 = min(n_frames, f0 + frames_per_chunk)
        chunk = np.asarray(signal[f0 * hop : (f1 - 1) * hop + n_fft], dtype=np.float64) / std
        frames = np.lib.stride_tricks.sliding_window_view(chunk, n_fft)[::hop]
        power = np.abs(np.fft.rfft(frames * window, axis=-1)) ** 2 + _FLOOR
        ltas += power.sum(axis=0)
        for b, idx in enumerate(bands.bins):
            p = power[:, idx]
            mean = p.mean(axis=1)
            energy[f0:f1, b] = mean
            flatness[f0:f1, b] = np.exp(np.log(p).mean(axis=1)) / mean
        release_pages(signal, f1 * hop)  # a memory-mapped signal's pages read so far leave the resident set
    return FrameStats(energy=energy, flatness=flatness, ltas=ltas / n_frames)


def _streamed_std(signal: np.ndarray, chunk: int = 1 << 20) -> float:
    total, total_sq, n = 0.0, 0.0, int(signal.shape[-1])
    for start in range(0, n, chunk):
        x = np.asarray(signal[start : start + chunk], dtype=np.float64)
        release_pages(signal, start + chunk)
        total += float(x.sum())
        total_sq += float(np.dot(x, x))
    mean = total / n
    return float(np.sqrt(max(total_sq / n - mean * mean, 0.0)))
