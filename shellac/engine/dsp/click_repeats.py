"""Periodicity test for click detections: does a span's error pattern recur one pitch period away."""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

# Longest period, ms, over which a span's error is looked for again (a 40 Hz fundamental).
REPEAT_MAX_MS = 25.0
# Error either side of a span compared with its repeats, ms: covers the onset of the error.
REPEAT_MARGIN_MS = 1.0
# A span recurs where a 3-tap predictor from one period away explains this fraction of its
# energy, from rows holding at least REPEAT_ENERGY of it.
REPEAT_CORRELATION = 0.5
REPEAT_ENERGY = 0.25


def recurs(
    err: np.ndarray, starts: np.ndarray, ends: np.ndarray, sample_rate: int, *, min_lag: int
) -> np.ndarray:
    """Whether each span's error pattern recurs both one period before and one after it.

    The pattern is ``err`` over the span widened by ``REPEAT_MARGIN_MS`` either
    side; a repeat is a 3-tap pitch predictor (lags ``T - 1, T, T + 1``, so a
    period of a fractional number of samples matches) at a lag ``T`` of at
    most ``REPEAT_MAX_MS`` that explains ``REPEAT_CORRELATION`` of its energy
    from rows holding ``REPEAT_ENERGY`` of it. A periodic sound's features (a
    clipped tone's corners) recur on both sides; a click does not, and two
    similar clicks recur on one side only.

    Parameters
    ----------
    err
        (frames,) error, e.g. the AR prediction error's excess over the noise.
    starts, ends
        Spans, samples.
    sample_rate
        Hz.
    min_lag
        Extra clearance, samples, between a span and its repeats (the AR
        order: a click's own error reaches that far past it).

    Returns
    -------
    np.ndarray
        (spans,) booleans.
    """
    margin = int(round(REPEAT_MARGIN_MS * sample_rate / 1000))
    max_lag = int(round(REPEAT_MAX_MS * sample_rate / 1000))
    out = np.zeros(len(starts), dtype=bool)
    longest = int(np.max(ends - starts, initial=0)) + 2 * margin
    base = max_lag + longest + 1
    padded = np.pad(err, base)
    for i, (s, e) in enumerate(zip(starts, ends, strict=True)):
        lo, hi = base + s - margin, base + e + margin
        v = padded[lo:hi]
        rows = sliding_window_view(padded[lo - max_lag - 1 : hi + max_lag + 1], hi - lo)
        lags = np.arange(rows.shape[0]) - max_lag - 1
        dots = rows @ v
        gram_0 = np.einsum("ij,ij->i", rows, rows)
        gram_1 = np.einsum("ij,ij->i", rows[:-1], rows[1:])
        gram_2 = np.einsum("ij,ij->i", rows[:-2], rows[2:])
        centre = np.arange(1, rows.shape[0] - 1)
        clear = np.abs(lags[centre]) > hi - lo + min_lag
        centre = centre[clear]
        gram = np.stack([
            np.stack([gram_0[centre - 1], gram_1[centre - 1], gram_2[centre - 1]], axis=-1),
            np.stack([gram_1[centre - 1], gram_0[centre], gram_1[centre]], axis=-1),
            np.stack([gram_2[centre - 1], gram_1[centre], gram_0[centre + 1]], axis=-1),
        ], axis=1)
        nearby = gram_0[centre - 1] + gram_0[centre] + gram_0[centre + 1]
        gram += (1e-9 * nearby + 1e-30)[:, None, None] * np.eye(3)  # positive definite even on silence
        b = np.stack([dots[centre - 1], dots[centre], dots[centre + 1]], axis=-1)
        explained = np.einsum("gi,gi->g", b, np.linalg.solve(gram, b[..., None])[..., 0])
        energy = float(v @ v) + 1e-30
        match = (explained >= REPEAT_CORRELATION * energy) & (nearby >= REPEAT_ENERGY * energy)
        out[i] = bool(np.any(match & (lags[centre] < 0)) and np.any(match & (lags[centre] > 0)))
    return out
