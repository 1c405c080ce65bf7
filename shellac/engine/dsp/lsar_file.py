"""Fill flagged runs of a file by least-squares AR interpolation, one run's neighbourhood at a time."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.linalg import solve_toeplitz

from shellac.engine.audio_io import probe
from shellac.engine.dsp.lsar import levinson
from shellac.engine.dsp.runs import clusters
from shellac.engine.errors import ParameterError
from shellac.engine.stream import AudioStreamWriter, ChannelStats, chunk_frames_for, iter_chunks, read_frames


@dataclass(frozen=True)
class LsarSettings:
    """AR order and the context either side of a run that the model is fitted on (ms).

    At 22.05 kHz the defaults are 512 samples of order and 4096 of context: an
    order that resolves a piano's or a voice's partials (a 23 ms period), on
    enough signal to estimate it.
    """

    order_ms: float = 23.2
    context_ms: float = 185.8

    def __post_init__(self) -> None:
        if not 0 < self.order_ms < self.context_ms:
            raise ParameterError(f"need 0 < order_ms ({self.order_ms}) < context_ms ({self.context_ms})")

    def samples(self, sample_rate: int) -> tuple[int, int]:
        """Order and context in samples at ``sample_rate``."""
        return (max(1, round(self.order_ms * sample_rate / 1000)),
                max(2, round(self.context_ms * sample_rate / 1000)))


def fillable(start: int, length: int, n_frames: int, order: int) -> bool:
    """Whether LSAR can fill run [start, start + length): ``order`` intact samples on both sides."""
    return start >= order and start + length + order <= n_frames


def _autocorr(side: np.ndarray, order: int) -> np.ndarray:
    """Lags 0..order of a side's autocorrelation (zeros past its length)."""
    full = np.correlate(side, side, "full")[side.size - 1:side.size + order]
    return np.pad(full, (0, order + 1 - full.size))


def interpolate(x: np.ndarray, missing: np.ndarray, first: int, stop: int, coeffs: np.ndarray) -> np.ndarray:
    """``x`` with the flagged samples of [first, stop) filled by least-squares AR interpolation.

    The normal equations of :func:`~shellac.engine.dsp.lsar.lsar_fill` (Janssen et al.
    1986) for one span, solved at their own size: with ``p`` = ``coeffs.size`` intact
    samples either side, every residual that involves the span is counted, so the
    matrix is the banded Toeplitz autocorrelation of [1, -a]. A span missing whole is
    solved by Levinson's recursion (time m², memory m for m samples); one with known
    samples inside, densely on its unknowns. ``lsar_fill`` pads each span to a power
    of two and builds the dense matrix: 2.7 GB for 50 ms at 96 kHz.
    """
    p, m = coeffs.size, stop - first
    if first < p or stop + p > x.size:
        raise ParameterError(f"span {first}-{stop} needs {p} intact samples on both sides")
    b = np.concatenate([[1.0], -np.asarray(coeffs, dtype=np.float64)])
    unknown = np.asarray(missing[first:stop], dtype=bool)
    segment = np.asarray(x[first - p:stop + p], dtype=np.float64).copy()
    segment[p:p + m][unknown] = 0.0
    # A_u^T of the zero-filled segment's residuals (the m + p that involve the span)
    rhs = np.correlate(np.convolve(segment, b, "valid"), b, "valid")
    column = np.zeros(m)
    column[:min(p + 1, m)] = np.correlate(b, b, "full")[p:p + min(p + 1, m)]
    if unknown.all():
        solution = solve_toeplitz(column, -rhs)
    else:
        idx = np.flatnonzero(unknown)
        solution = np.linalg.solve(column[np.abs(idx[:, None] - idx[None, :])], -rhs[idx])
    out = np.asarray(x, dtype=np.float64).copy()
    out[first:stop][unknown] = solution
    return out


def _fill_cluster(window: np.ndarray, missing: np.ndarray, first: int, stop: int, order: int) -> np.ndarray:
    """One channel's window with the cluster [first, stop) filled, the model fitted on the intact sides."""
    acf = _autocorr(window[:first], order) + _autocorr(window[stop:], order)
    coeffs, _ = levinson(acf[None, :], order)
    return interpolate(window, missing, first, stop, coeffs[0])


def lsar_fill_file(source: Path, runs: Sequence[tuple[int, int]], out_path: Path,
                   settings: LsarSettings, *, avoid: Sequence[tuple[int, int]] = ()) -> ChannelStats:
    """Write ``source`` to ``out_path`` (float32), every run (start, length) filled by LSAR in every channel.

    Each cluster of runs (:func:`clusters`) is solved on its own window: one AR
    model per channel, fitted on up to ``context_ms`` of the intact signal either
    side (up to the neighbouring clusters), then Janssen's least-squares
    interpolation (:func:`interpolate`, the normal equations of the declicker's
    ``lsar_fill`` at their own size). ``avoid`` are flagged
    runs left to another filler: no model is fitted on them, and a run to fill
    must not share a cluster with one. Every other sample is copied bit for bit;
    only the windows are ever held in memory. Clusters must be :func:`fillable`.
    """
    info = probe(Path(source))
    order, context = settings.samples(info.sample_rate)
    patches: list[tuple[int, np.ndarray]] = []
    to_fill = set(runs)
    groups = clusters([*runs, *avoid], order)
    bounds = [(g[0][0], sum(g[-1])) for g in groups]
    for k, group in enumerate(groups):
        kinds = {run in to_fill for run in group}
        if kinds == {False}:
            continue
        first, stop = bounds[k]
        if kinds == {True, False}:
            raise ParameterError(f"runs at {first}-{stop}: one to fill lies within {order} samples of one "
                                 "to avoid")
        if not fillable(first, stop - first, info.frames, order):
            raise ParameterError(f"run at {first}-{stop} has fewer than {order} intact samples on a side")
        # the context stops at the neighbouring clusters (filled here or not): their gaps would bias the model
        lo = max(0, first - context, bounds[k - 1][1] if k else 0)
        hi = min(info.frames, stop + context, bounds[k + 1][0] if k + 1 < len(bounds) else info.frames)
        window = read_frames(source, lo, hi).astype(np.float64)
        missing = np.zeros(hi - lo, dtype=bool)
        for start, length in group:
            missing[start - lo:start - lo + length] = True
        filled = np.stack([_fill_cluster(ch, missing, first - lo, stop - lo, order) for ch in window])
        patches.append((first, filled[:, first - lo:stop - lo]))
    frames = chunk_frames_for(info.channels, 30.0, info.sample_rate)
    with AudioStreamWriter(Path(out_path), info.sample_rate, info.channels) as writer:
        for chunk in iter_chunks(Path(source), frames):
            data = chunk.data
            for first, patch in patches:
                a, b = max(first, chunk.start), min(first + patch.shape[1], chunk.stop)
                if a < b:
                    data[:, a - chunk.start:b - chunk.start] = patch[:, a - first:b - first]
            writer.write(data)
    return writer.stats
