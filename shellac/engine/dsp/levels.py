"""Signal levels: RMS, level ratios in dB, and the gain that keeps a peak under a ceiling."""

from __future__ import annotations

import numpy as np


def rms(audio: np.ndarray) -> float:
    """Root-mean-square over all channels and samples (linear, computed in float64)."""
    return float(np.sqrt(np.mean(np.square(audio, dtype=np.float64))))


def ratio_db(ratio: float) -> float | None:
    """An amplitude ratio in dB (20 log10), or None when it is not positive and finite."""
    return float(20.0 * np.log10(ratio)) if ratio > 0 and np.isfinite(ratio) else None


def peak_ceiling_gain(peak: float, ceiling_dbfs: float) -> float:
    """Linear gain (at most 1) bringing a sample ``peak`` (linear) down to ``ceiling_dbfs``; 1 for silence."""
    ceiling = 10.0 ** (ceiling_dbfs / 20.0)
    return min(1.0, ceiling / peak) if peak > 0 else 1.0
