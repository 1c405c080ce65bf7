"""Dropout detection pieces (zero runs, sudden silences), for arrays and streamed over files."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from shellac.engine.audio_io import probe
from shellac.engine.stream import chunk_frames_for, iter_chunks, release_pages

CHUNK = 1 << 20
"""Samples of a flag map read at a time."""


def flag_runs(flags: np.ndarray) -> list[tuple[int, int]]:
    """(start, length) in samples of the runs of set flags, reading a (memory-mapped) map by chunks."""
    runs: list[tuple[int, int]] = []
    start: int | None = None
    for first in range(0, flags.shape[0], CHUNK):
        part = np.asarray(flags[first:first + CHUNK], dtype=np.int8)
        for k in np.flatnonzero(np.diff(part, prepend=np.int8(start is not None))) + first:
            if start is None:
                start = int(k)
            else:
                runs.append((start, int(k) - start))
                start = None
        release_pages(flags, first + CHUNK)
    if start is not None:
        runs.append((start, flags.shape[0] - start))
    return runs


def flag_silences(db: np.ndarray, peak: np.ndarray, flagged: np.ndarray, *, frame: int, drop_db: float,
                  reach: int) -> None:
    """Flag (in ``flagged``, per sample) frames ``drop_db`` below the median of ``reach`` frames each side.

    ``db`` is each frame's power in dB, ``peak`` each sample's largest |x| over
    the channels; a flagged frame is followed sample by sample while the peak
    stays below the silence floor, since a dropout rarely starts on a frame boundary.
    """
    n = peak.shape[0]
    for i in range(db.shape[0]):
        around = np.concatenate([db[max(0, i - reach):i], db[i + 1:i + 1 + reach]])
        level = float(np.median(around)) if around.size else -np.inf
        # Quiet against audible surroundings: a dropout, not a soft passage.
        if level > -80.0 and db[i] < level - drop_db:
            floor = 10 ** ((level - drop_db) / 20)
            lo, hi = i * frame, (i + 1) * frame
            while lo > 0 and peak[lo - 1] < floor:
                lo -= 1
            while hi < n and peak[hi] < floor:
                hi += 1
            flagged[lo:hi] = True


def find_dropouts_in_file(
    path: Path,
    *,
    work: Path,
    min_zero_ms: float = 1.0,
    frame_ms: float = 5.0,
    drop_db: float = 40.0,
    context_ms: float = 100.0,
    max_gap_s: float = 2.0,
) -> list[tuple[int, int]]:
    """:func:`~shellac.engine.operators.inpainting.find_dropouts` of a whole file, streamed.

    The same dropouts, with the per-sample maps (all-channel zeros, peak, flags)
    memory-mapped in ``work`` and one dB value per frame in memory, so memory does
    not grow with the recording beyond that.
    """
    info = probe(Path(path))
    sr, n = info.sample_rate, info.frames
    frame = max(1, int(round(frame_ms * sr / 1000)))
    n_frames = n // frame
    work.mkdir(parents=True, exist_ok=True)
    zero = np.lib.format.open_memmap(work / "zero.npy", mode="w+", dtype=bool, shape=(n,))
    peak = np.lib.format.open_memmap(work / "peak.npy", mode="w+", dtype=np.float64, shape=(n,))
    power = np.zeros(n_frames)
    for chunk in iter_chunks(Path(path), chunk_frames_for(info.channels, 30.0, sr), align=frame):
        x = chunk.data.astype(np.float64)
        zero[chunk.start:chunk.stop] = (x == 0).all(axis=0)
        peak[chunk.start:chunk.stop] = np.abs(x).max(axis=0)
        first, last = chunk.start // frame, min(chunk.stop // frame, n_frames)
        power[first:last] = (x[:, : (last - first) * frame] ** 2).mean(axis=0).reshape(-1, frame).mean(axis=1)
        release_pages(zero, chunk.stop)
        release_pages(peak, chunk.stop)
    flagged = np.lib.format.open_memmap(work / "dropouts.npy", mode="w+", dtype=bool, shape=(n,))
    min_zero = max(1, int(round(min_zero_ms * sr / 1000)))
    for start, length in flag_runs(zero):
        if length >= min_zero:
            flagged[start:start + length] = True
    if n_frames >= 3:
        flag_silences(10 * np.log10(power + 1e-20), peak, flagged, frame=frame, drop_db=drop_db,
                      reach=max(1, int(round(context_ms / frame_ms))))
    max_len = int(round(max_gap_s * sr))
    return [(s, ln) for s, ln in flag_runs(flagged) if ln <= max_len]
