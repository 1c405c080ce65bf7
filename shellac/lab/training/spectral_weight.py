"""Frequency weights for the denoising loss: errors count relative to the training data's own spectrum."""

from __future__ import annotations

import numpy as np
import torch

from shellac.lab.datasets import SegmentDataset

# Segments drawn to estimate the training data's mean power spectrum.
SPECTRUM_SEGMENTS = 64
# Width of the smoothing of that spectrum, octaves (a third-octave moving average).
SMOOTHING_OCTAVES = 1.0 / 3.0


def bin_multiplicity(segment_length: int) -> torch.Tensor:
    """How often each rfft bin occurs in the full spectrum: 1 for DC (and Nyquist, even length), else 2."""
    m = torch.full((segment_length // 2 + 1,), 2.0, dtype=torch.float64)
    m[0] = 1.0
    if segment_length % 2 == 0:
        m[-1] = 1.0
    return m


def mean_power_spectrum(segments: np.ndarray) -> np.ndarray:
    """Mean rfft power of ``[B, T]`` segments, smoothed over a third of an octave (bins above DC)."""
    power = (np.abs(np.fft.rfft(segments.astype(np.float64), axis=1)) ** 2).mean(axis=0)
    k = np.arange(power.size, dtype=np.float64)
    half = 2.0 ** (SMOOTHING_OCTAVES / 2.0)
    cumsum = np.concatenate([[0.0], np.cumsum(power)])
    lo = np.clip(np.floor(k / half).astype(int), 0, power.size - 1)
    hi = np.clip(np.ceil(k * half).astype(int), lo, power.size - 1)
    smoothed = (cumsum[hi + 1] - cumsum[lo]) / (hi - lo + 1)
    smoothed[0] = smoothed[1] if power.size > 1 else smoothed[0]
    return smoothed


def spectral_weights(power: np.ndarray, range_db: float, segment_length: int) -> torch.Tensor:
    """Squared weights ``w²`` per rfft bin that whiten the loss by ``power``, over at most ``range_db``.

    w² = min(P_max / P(f), 10^(range_db/10)): a bin as loud as the loudest counts once, a
    bin ``d`` dB below it counts 10^(d/10) times (up to the range), so an error the data's
    spectrum would hide in a quiet band is no longer cheap. Normalised so that a white
    residual has the same loss as without weights (mean of w² over the full spectrum = 1).
    """
    if range_db <= 0:
        return torch.ones(segment_length // 2 + 1, dtype=torch.float32)
    p = np.maximum(np.asarray(power, dtype=np.float64), np.finfo(np.float64).tiny)
    w2 = torch.from_numpy(np.minimum(p.max() / p, 10.0 ** (range_db / 10.0)))
    m = bin_multiplicity(segment_length)
    w2 = w2 * (segment_length / float((m * w2).sum()))
    return w2.to(torch.float32)


def weights_for_data(dataset: SegmentDataset, range_db: float, segment_length: int) -> torch.Tensor:
    """:func:`spectral_weights` of a dataset's mean spectrum, from ``SPECTRUM_SEGMENTS`` segments."""
    return spectral_weights(mean_power_spectrum(dataset.batch(SPECTRUM_SEGMENTS)), range_db, segment_length)
