"""Alignment of two renderings of one signal: their lag by cross-correlation, and how sure it is."""

from __future__ import annotations

import numpy as np
from scipy.signal import correlate, correlation_lags

from shellac.engine.dsp.ltas import SILENCE_STD


def find_lag(reference: np.ndarray, delayed: np.ndarray, max_lag: int, window: int) -> int:
    """Samples by which ``delayed`` lags ``reference`` (negative: it leads), within ±``max_lag``.

    Both are (channels, frames) at one rate; their channel means are
    cross-correlated (by FFT) over a ``window``-sample excerpt centred in the
    recording. Returns 0 when either excerpt is silent.
    """
    return find_lag_with_confidence(reference, delayed, max_lag, window)[0]


def find_lag_with_confidence(
    reference: np.ndarray, delayed: np.ndarray, max_lag: int, window: int
) -> tuple[int, float]:
    """:func:`find_lag` and the normalised cross-correlation at that lag (1 = identical shapes).

    A generative stage may legitimately change the waveform's fine structure; a
    low peak then says the lag estimate is not to be trusted.
    """
    a = reference.mean(axis=0)
    b = delayed.mean(axis=0)
    n = min(a.size, b.size)
    start = max(0, (n - window) // 2)
    a, b = a[start:start + window], b[start:start + window]
    if a.std() < SILENCE_STD or b.std() < SILENCE_STD:
        return 0, 0.0
    corr = correlate(b, a, mode="full", method="fft")
    lags = correlation_lags(b.size, a.size, mode="full")
    keep = np.abs(lags) <= max_lag
    best = int(np.argmax(corr[keep]))
    peak = float(corr[keep][best] / (np.linalg.norm(a) * np.linalg.norm(b)))
    return int(lags[keep][best]), peak
