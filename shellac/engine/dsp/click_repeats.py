"""Periodicity test for click detections: does a span's error pattern recur a pitch period away."""

from __future__ import annotations

import numpy as np

# Longest lag, ms, at which a span's error is looked for again (a 40 Hz fundamental).
REPEAT_MAX_MS = 25.0
# Error either side of a span compared with its repeats, ms: covers the onset of the error.
REPEAT_MARGIN_MS = 1.0
# A span recurs where a 3-tap predictor from one period away explains this fraction of its
# energy, from rows holding at least REPEAT_ENERGY of it.
REPEAT_CORRELATION = 0.5
REPEAT_ENERGY = 0.25
# Normalised correlation of the signal with itself at a lag where a repeat counts.
SIGNAL_CORRELATION = 0.97


def recurs(
    err: np.ndarray, signal: np.ndarray, starts: np.ndarray, ends: np.ndarray, sample_rate: int, *,
    min_lag: int,
) -> np.ndarray:
    """Whether each span's error pattern recurs both a period before and a period after it.

    The pattern is ``err`` over the span widened by ``REPEAT_MARGIN_MS`` either
    side; a repeat is a 3-tap pitch predictor (lags ``T - 1, T, T + 1``, so a
    period of a fractional number of samples matches) at a lag ``T`` of at
    most ``REPEAT_MAX_MS`` that explains ``REPEAT_CORRELATION`` of its energy
    from rows holding ``REPEAT_ENERGY`` of it, where the signal over the same
    window correlates with itself by ``SIGNAL_CORRELATION`` (a multiple of its
    period). A periodic sound's features (a clipped tone's corners) recur on
    both sides; a click does not, two similar clicks recur on one side only,
    and dense crackle's ticks line up with each other at random lags, rarely
    where the signal repeats.

    Parameters
    ----------
    err
        (frames,) error, e.g. the AR prediction error's excess over the noise.
    signal
        (frames,) the audio the error is of.
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
    padded_signal = np.pad(signal, base)
    for i, (s, e) in enumerate(zip(starts, ends, strict=True)):
        lo, hi = base + s - margin, base + e + margin
        window = slice(lo - max_lag - 1, hi + max_lag + 1)
        # match[max_lag + lag]: the error pattern recurs at ``lag``, where the signal itself repeats
        # (a multiple of its period): crackle ticks recur at random lags, rarely at those.
        match = _matches(padded[lo:hi], padded[window]) & _repeating(padded_signal[lo:hi],
                                                                      padded_signal[window])
        match[max_lag - (hi - lo + min_lag) : max_lag + hi - lo + min_lag + 1] = False
        out[i] = bool(match[:max_lag].any() and match[max_lag + 1 :].any())
    return out


def _matches(v: np.ndarray, context: np.ndarray) -> np.ndarray:
    # For each lag of ``context`` around ``v`` (one sample more either side than the lags returned),
    # whether a 3-tap predictor from lags (T - 1, T, T + 1) explains REPEAT_CORRELATION of v's energy
    # from rows holding REPEAT_ENERGY of it.
    # Row j is context[j : j + len(v)]; its products with v and with rows j + 1, j + 2.
    dots = np.correlate(context, v, mode="valid")
    gram_0 = _window_sums(context * context, v.shape[0])
    gram_1 = _window_sums(context[:-1] * context[1:], v.shape[0])
    gram_2 = _window_sums(context[:-2] * context[2:], v.shape[0])
    energy = float(v @ v) + 1e-30
    nearby = gram_0[:-2] + gram_0[1:-1] + gram_0[2:]
    # Only rows with the energy to explain v are solved for (few, between crackle ticks).
    k = np.flatnonzero(nearby >= REPEAT_ENERGY * energy)
    # b' G^-1 b for the symmetric 3x3 Gram matrix [[g00, g01, g02], [g01, g11, g12], [g02, g12, g22]]
    # of rows k, k + 1, k + 2, by its adjugate; a ridge keeps it positive definite even on silence.
    ridge = 1e-9 * nearby[k] + 1e-30
    g00, g11, g22 = gram_0[k] + ridge, gram_0[k + 1] + ridge, gram_0[k + 2] + ridge
    g01, g12, g02 = gram_1[k], gram_1[k + 1], gram_2[k]
    b0, b1, b2 = dots[k], dots[k + 1], dots[k + 2]
    a00, a11, a22 = g11 * g22 - g12**2, g00 * g22 - g02**2, g00 * g11 - g01**2
    a01, a02, a12 = g02 * g12 - g01 * g22, g01 * g12 - g11 * g02, g01 * g02 - g00 * g12
    det = g00 * a00 + g01 * a01 + g02 * a02
    quad = a00 * b0**2 + a11 * b1**2 + a22 * b2**2 + 2 * (a01 * b0 * b1 + a02 * b0 * b2 + a12 * b1 * b2)
    explained = quad / np.maximum(det, 1e-300)
    match = np.zeros(nearby.shape[0], dtype=bool)
    match[k] = explained >= REPEAT_CORRELATION * energy
    return match


def _repeating(x: np.ndarray, context: np.ndarray) -> np.ndarray:
    # For the same lags as _matches: whether the signal repeats there (normalised correlation).
    dots = np.correlate(context, x, mode="valid")[1:-1]
    energy = _window_sums(context * context, x.shape[0])[1:-1] * float(x @ x) + 1e-30
    return dots >= SIGNAL_CORRELATION * np.sqrt(energy)


def _window_sums(values: np.ndarray, length: int) -> np.ndarray:
    # Sum of values[j : j + length] for every j.
    sums = np.concatenate([[0.0], np.cumsum(values)])
    return sums[length:] - sums[:-length]
