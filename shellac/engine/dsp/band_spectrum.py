"""Pooled band spectra of a whole recording: mean power per log-spaced band and its noise floor."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.signal import get_window
from scipy.stats import gamma

from shellac.engine.audio_io import probe
from shellac.engine.dsp.ltas import Ltas
from shellac.engine.errors import ParameterError
from shellac.engine.stream import read_frames

N_FFT = 4096
HOP = 1024
BANDS_PER_OCTAVE = 16
LOW_HZ = 30.0
NOISE_PERCENTILE = 10.0
"""The noise floor is this percentile of a band's frame powers (minimum statistics), bias-corrected."""
_SILENT_FRAME = 1e-14  # total frame power below this (digital silence, padding) is not analysed


@dataclass(frozen=True)
class BandGrid:
    """Log-spaced analysis bands: ``edges_hz`` (n+1) and the geometric centres (n), Hz."""

    edges_hz: np.ndarray

    @property
    def centres_hz(self) -> np.ndarray:
        """Geometric band centres, Hz."""
        return np.sqrt(self.edges_hz[:-1] * self.edges_hz[1:])

    def bin_index(self, freqs_hz: np.ndarray) -> np.ndarray:
        """Band of each frequency (−1 outside the grid)."""
        idx = np.searchsorted(self.edges_hz, freqs_hz, side="right") - 1
        return np.where((idx >= 0) & (idx < self.edges_hz.size - 1), idx, -1)


def band_grid(sample_rate: int, *, low_hz: float = LOW_HZ, bands_per_octave: int = BANDS_PER_OCTAVE,
              n_fft: int = N_FFT) -> BandGrid:
    """Bands from ``low_hz`` to 0.97·Nyquist, ``bands_per_octave`` per octave, never under 2 FFT bins wide.

    Low down, where a fraction of an octave holds less than two bins, the bands
    are two bins wide (linear spacing); above, they are log-spaced.
    """
    high = 0.97 * sample_rate / 2.0
    if not 0 < low_hz < high / 4:
        raise ParameterError(f"low_hz must be in (0, Nyquist/8), got {low_hz} Hz at {sample_rate} Hz")
    ratio = 2.0 ** (1.0 / bands_per_octave)
    min_width = 2.0 * sample_rate / n_fft
    edges = [low_hz]
    while edges[-1] < high:
        edges.append(edges[-1] + max(min_width, edges[-1] * (ratio - 1.0)))
    edges[-1] = high
    if edges[-1] - edges[-2] < min_width:
        del edges[-2]
    return BandGrid(np.asarray(edges))


@dataclass(frozen=True)
class BandSpectrum:
    """A recording's pooled spectrum on a band grid: mean power, noise floor (per FFT bin), frames used."""

    grid: BandGrid
    mean_power: np.ndarray
    noise_power: np.ndarray
    n_frames: int

    def snr_db(self) -> np.ndarray:
        """Observation over noise floor per band, dB (≥ 0 up to estimation noise)."""
        return 10.0 * np.log10(np.maximum(self.mean_power, 1e-30) / np.maximum(self.noise_power, 1e-30))


def _band_matrix(grid: BandGrid, sample_rate: int, n_fft: int) -> tuple[np.ndarray, np.ndarray]:
    """Averaging matrix (bins → bands, mean over each band's bins) and the bin count per band."""
    freqs = np.fft.rfftfreq(n_fft, d=1.0 / sample_rate)
    idx = grid.bin_index(freqs)
    n_bands = grid.edges_hz.size - 1
    counts = np.bincount(idx[idx >= 0], minlength=n_bands).astype(np.float64)
    if np.any(counts == 0):
        raise ParameterError("a band holds no FFT bin; use a coarser grid or a larger n_fft")
    matrix = np.zeros((freqs.size, n_bands))
    rows = np.nonzero(idx >= 0)[0]
    matrix[rows, idx[rows]] = 1.0 / counts[idx[rows]]
    return matrix, counts


def frame_band_powers(mono: np.ndarray, sample_rate: int, grid: BandGrid, *, n_fft: int = N_FFT,
                      hop: int = HOP) -> np.ndarray:
    """Mean bin power per band of every non-silent Hann frame, shape (frames, bands)."""
    x = np.asarray(mono, dtype=np.float64)
    if x.ndim != 1:
        raise ParameterError(f"need a mono signal, got shape {x.shape}")
    if x.size < n_fft:
        x = np.pad(x, (0, n_fft - x.size))
    matrix, _ = _band_matrix(grid, sample_rate, n_fft)
    window = get_window("hann", n_fft)
    scale = 1.0 / np.sum(window**2)
    out = []
    for first in range(0, x.size - n_fft + 1, 256 * hop):
        block = x[first:first + 255 * hop + n_fft]
        frames = np.lib.stride_tricks.sliding_window_view(block, n_fft)[::hop]
        power = np.abs(np.fft.rfft(frames * window, axis=-1)) ** 2 * scale
        out.append(power[power.sum(axis=-1) > _SILENT_FRAME] @ matrix)
    return np.concatenate(out, axis=0)


def pool(frame_powers: np.ndarray, grid: BandGrid, sample_rate: int, *, n_fft: int = N_FFT,
         percentile: float = NOISE_PERCENTILE) -> BandSpectrum:
    """Mean power and noise floor per band from :func:`frame_band_powers` rows.

    The floor is the ``percentile`` of each band's frame powers divided by the
    same percentile of a χ² mean with the band's degrees of freedom (about one
    per 1.5 Hann bins), so a band holding only stationary noise reads at its mean.
    Quiet passages between notes make this a noise estimate; where the music never
    falls silent it over-estimates the floor, which only makes the EQ more cautious.
    """
    if frame_powers.shape[0] < 1:
        raise ParameterError("no non-silent frame to analyse")
    _, counts = _band_matrix(grid, sample_rate, n_fft)
    dof = np.maximum(counts / 1.5, 1.0)
    bias = gamma.ppf(percentile / 100.0, a=dof) / dof
    floor = np.percentile(frame_powers, percentile, axis=0) / bias
    mean = frame_powers.mean(axis=0)
    return BandSpectrum(grid, mean, np.minimum(floor, mean), int(frame_powers.shape[0]))


def band_spectrum(mono: np.ndarray, sample_rate: int, grid: BandGrid | None = None) -> BandSpectrum:
    """:func:`pool` of :func:`frame_band_powers` for an in-memory mono signal."""
    grid = grid if grid is not None else band_grid(sample_rate)
    return pool(frame_band_powers(mono, sample_rate, grid), grid, sample_rate)


def band_spectrum_of_file(path: Path, grid: BandGrid | None = None, *, chunk_frames: int = 1 << 20
                          ) -> BandSpectrum:
    """:func:`band_spectrum` of an audio file (channels averaged), read chunk by chunk on the hop grid."""
    info = probe(Path(path))
    grid = grid if grid is not None else band_grid(info.sample_rate)
    step = (chunk_frames // HOP) * HOP
    rows = []
    for start in range(0, max(info.frames - N_FFT, 0) + 1, step):
        mono = read_frames(Path(path), start, min(info.frames, start + step + N_FFT - HOP)).mean(axis=0)
        if mono.size >= N_FFT or start == 0:
            rows.append(frame_band_powers(mono, info.sample_rate, grid))
    return pool(np.concatenate(rows, axis=0), grid, info.sample_rate)


def ltas_on_bands(ltas: Ltas, grid: BandGrid, sample_rate: int) -> np.ndarray:
    """A reference LTAS as mean bin power per band (interpolated in dB onto the analysis bins)."""
    matrix, _ = _band_matrix(grid, sample_rate, N_FFT)
    return ltas.on_bins(sample_rate, N_FFT) @ matrix


def spread_on_bands(ltas: Ltas, grid: BandGrid, sample_rate: int) -> np.ndarray | None:
    """A many-source reference's spread (dB) as its mean over each band's bins; None if it has none."""
    return _on_bands(ltas.spread_on_bins(sample_rate, N_FFT), grid, sample_rate)


def shape_basis_on_bands(ltas: Ltas, grid: BandGrid, sample_rate: int) -> np.ndarray | None:
    """A reference's shape basis (dB, a row per direction) as its mean over each band's bins; None if none."""
    return _on_bands(ltas.shape_basis_on_bins(sample_rate, N_FFT), grid, sample_rate)


def _on_bands(values: np.ndarray | None, grid: BandGrid, sample_rate: int) -> np.ndarray | None:
    # Per-bin values (the last axis: the N_FFT bins) averaged over each band's bins.
    return None if values is None else values @ _band_matrix(grid, sample_rate, N_FFT)[0]
