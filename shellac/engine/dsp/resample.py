"""Band-limited sample-rate conversion by polyphase filtering (scipy)."""

from __future__ import annotations

from math import gcd

import numpy as np
from scipy.signal import resample_poly


def resample(audio: np.ndarray, from_rate: int, to_rate: int) -> np.ndarray:
    """Resample (channels, frames) or (frames,) audio from ``from_rate`` Hz to ``to_rate`` Hz.

    Uses a Kaiser-windowed polyphase low-pass (scipy ``resample_poly``), so
    content above the lower Nyquist frequency is removed rather than aliased.
    Returns float32; the input is returned unchanged when the rates agree.
    """
    if from_rate == to_rate:
        return np.asarray(audio, dtype=np.float32)
    g = gcd(int(from_rate), int(to_rate))
    up, down = int(to_rate) // g, int(from_rate) // g
    out = resample_poly(np.asarray(audio, dtype=np.float64), up, down, axis=-1)
    return out.astype(np.float32)
