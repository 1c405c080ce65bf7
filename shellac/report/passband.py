"""The fitted degradation filter's recorded responses, and the pass band (cut-offs in Hz) they imply."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

# The conventional cut-off: where the response falls this far below its pass-band level.
CUTOFF_DROP_DB = 3.0
# The pass-band level is the median of the response within this many dB of its peak, so a
# resonance (a few dB above the rest of the band) does not pass for the pass band itself.
PLATEAU_DB = 10.0


@dataclass(frozen=True)
class PassBand:
    """Cut-offs ``low_hz``..``high_hz``: where the response is ``drop_db`` below its level ``level_db``."""

    low_hz: float
    high_hz: float
    level_db: float
    drop_db: float = CUTOFF_DROP_DB


def recorded_responses(filters: Mapping[str, Any]) -> tuple[np.ndarray, list[tuple[str, np.ndarray]]]:
    """Frequencies (Hz) and the labelled responses (dB) that filters.json records.

    Reads a recording-level ``filter_response_db`` if present (one filter fitted over
    the whole recording) and every block's ``filter_response_db``; a response may be
    shorter than the frequency list (cut at the model's Nyquist frequency).
    """
    freqs = np.asarray(filters.get("freqs_hz") or [], dtype=float)
    curves: list[tuple[str, np.ndarray]] = []
    if filters.get("filter_response_db"):
        curves.append(("recording", np.asarray(filters["filter_response_db"], dtype=float)))
    for i, block in enumerate(filters.get("blocks") or []):
        if isinstance(block, Mapping) and block.get("filter_response_db"):
            curves.append((f"block {block.get('index', i)}",
                           np.asarray(block["filter_response_db"], dtype=float)))
    return freqs, [(label, r) for label, r in curves if 0 < r.size <= freqs.size]


def typical_response(freqs: np.ndarray, curves: list[tuple[str, np.ndarray]]) -> np.ndarray | None:
    """The recording-level response if recorded, else the median over blocks (dB, common frequencies)."""
    if not curves:
        return None
    if curves[0][0] == "recording":
        return curves[0][1]
    size = min(r.size for _, r in curves)
    return np.median(np.stack([r[:size] for _, r in curves]), axis=0)


def pass_band(freqs_hz: np.ndarray, response_db: np.ndarray, drop_db: float = CUTOFF_DROP_DB) -> PassBand:
    """The widest contiguous band (in octaves) where the response stays within ``drop_db`` of its
    pass-band level (the median of the response within ``PLATEAU_DB`` of its peak).

    The edges are interpolated linearly in log frequency between the neighbouring points;
    an edge at the end of the recorded range is that end (no cut-off seen there).
    """
    freqs = np.asarray(freqs_hz, dtype=float)[: response_db.size]
    response = np.asarray(response_db, dtype=float)
    level_db = float(np.median(response[response >= response.max() - PLATEAU_DB]))
    level = level_db - drop_db
    runs, start = [], None
    for k, inside in enumerate(response >= level):
        if inside and start is None:
            start = k
        if start is not None and (not inside or k == response.size - 1):
            runs.append((start, k if inside else k - 1))
            start = None
    octaves = np.log2(np.maximum(freqs, 1e-3))
    lo, hi = max(runs, key=lambda run: octaves[run[1]] - octaves[run[0]])

    def edge(inside: int, outside: int) -> float:
        if outside < 0 or outside >= response.size:
            return float(freqs[inside])
        frac = (response[inside] - level) / (response[inside] - response[outside])
        a, b = freqs[inside], freqs[outside]
        if min(a, b) <= 0:  # 0 Hz has no logarithm: interpolate linearly there
            return float(a + frac * (b - a))
        return float(np.exp(np.log(a) + frac * (np.log(b) - np.log(a))))

    return PassBand(low_hz=edge(lo, lo - 1), high_hz=edge(hi, hi + 1), level_db=level_db, drop_db=drop_db)
