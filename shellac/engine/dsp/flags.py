"""Per-sample flag maps (clipped, missing) carried across a sample-rate conversion."""

from __future__ import annotations

import numpy as np

from shellac.engine.stream import release_pages

CHUNK = 1 << 20
"""Output samples handled at a time, so memory-mapped maps stay bounded in memory."""


def model_rate_length(n_samples: int, sr: int, model_sr: int) -> int:
    """Length (samples) of a map of ``n_samples`` at ``sr`` Hz once carried to ``model_sr`` Hz."""
    return n_samples if sr == model_sr else int(np.ceil(n_samples * model_sr / sr))


def to_model_rate(flags: np.ndarray, sr: int, model_sr: int, out: np.ndarray | None = None) -> np.ndarray:
    """Map a per-sample boolean map from ``sr`` to ``model_sr`` (Hz), widened by a sample each side.

    The widening covers the resampling filter's smear of the flagged samples;
    with equal rates the map is copied unchanged. ``out`` (bool, at least
    :func:`model_rate_length` long, zeros beyond it, e.g. a memory map) receives
    the result; one is allocated when None. Works a chunk at a time.
    """
    n_model = model_rate_length(flags.size, sr, model_sr)
    if out is None:
        out = np.zeros(n_model, dtype=bool)
    for first in range(0, n_model, CHUNK):
        last = min(first + CHUNK, n_model)
        out[first:last] = flags[first:last] if sr == model_sr else _widened_hits(flags, sr, model_sr, first,
                                                                                 last, n_model)
        # Memory-mapped maps: what is done can leave the resident set.
        release_pages(out, last)
        release_pages(flags, int(last * sr / model_sr) - 2)
    return out


def _widened_hits(flags: np.ndarray, sr: int, model_sr: int, first: int, last: int,
                  n_model: int) -> np.ndarray:
    """Output samples [first, last): hit by a flagged input sample (floor or ceil of its position), ±1."""
    lo = max(0, int(np.floor((first - 2) * sr / model_sr)))
    hi = min(flags.size, int(np.ceil((last + 2) * sr / model_sr)) + 1)
    idx = np.flatnonzero(flags[lo:hi]) + lo
    hits = np.zeros(last - first + 2, dtype=bool)  # output samples first − 1 … last
    for j in (np.floor(idx * model_sr / sr), np.ceil(idx * model_sr / sr)):
        j = np.clip(j.astype(int), 0, n_model - 1)
        j = j[(j >= first - 1) & (j <= last)]
        hits[j - (first - 1)] = True
    return hits[1:-1] | hits[:-2] | hits[2:]
