"""Declipping of a file: estimate the clipping level, flag the clipped samples, restore them (streamed)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from shellac.engine.audio_io import probe
from shellac.engine.errors import ParameterError
from shellac.engine.models.loaded import LoadedBundle
from shellac.engine.operators.base import Operator
from shellac.engine.operators.clipping import LEVEL_SLACK, ClipEstimate, ClippingOperator
from shellac.engine.restoration.known import GuidedSettings, restore_flagged
from shellac.engine.stream import chunk_frames_for, file_stats, iter_chunks, release_pages


@dataclass(frozen=True)
class DeclipSettings:
    """Restoration settings, a known clipping level (None: estimate it), the least clipped share restored."""

    guided: GuidedSettings
    clip_level: float | None = None
    min_clipped_fraction: float = 1e-4


@dataclass(frozen=True)
class DeclipResult:
    """What declipping found and did."""

    estimate: ClipEstimate
    restored: bool
    clipped_per_channel: list[int]
    peak_in: float
    peak_out: float


def estimate_clip_level_of_file(path: Path, *, n_bins: int = 200, baseline_bins: int = 10,
                                min_ratio: float = 4.0, min_fraction: float = 1e-4) -> ClipEstimate:
    """:func:`~shellac.engine.operators.clipping.estimate_clip_level` of a whole file, a chunk at a time.

    The same numbers (histogram of |y| over all channels, top bin against the
    bins below, plateau or knee), in passes over the file instead of one array.
    """
    peak = file_stats(path).peak
    if peak == 0:
        return ClipEstimate(False, 0.0, 0.0, 0.0)
    counts = np.zeros(n_bins, dtype=np.int64)
    edges = np.histogram_bin_edges(np.zeros(0), bins=n_bins, range=(0.0, peak))
    total, top_min, plateau_min, in_top, plateau = 0, np.inf, np.inf, 0, 0
    for a in _magnitudes(path):
        counts += np.histogram(a, bins=n_bins, range=(0.0, peak))[0]
        total += a.size
        top, flat = a[a >= edges[-2]], a[a >= peak - LEVEL_SLACK]
        in_top, plateau = in_top + top.size, plateau + flat.size
        top_min = min(top_min, top.min(initial=np.inf))
        plateau_min = min(plateau_min, flat.min(initial=np.inf))
    baseline = float(counts[-1 - baseline_bins:-1].mean())
    ratio = float(counts[-1] / max(baseline, 1.0))
    if not (ratio >= min_ratio and counts[-1] >= min_fraction * total):
        return ClipEstimate(False, peak, 0.0, ratio)
    # Digital clipping is flat: the level is the plateau. A soft (analogue) knee spreads
    # the pile-up over the top bin: take its lowest sample so the whole knee counts.
    level = float(plateau_min if plateau >= in_top // 2 else top_min)
    return ClipEstimate(True, level, clipped_fraction(path, level), ratio)


def clipped_fraction(path: Path, level: float, *, dtype: type[np.floating] = np.float64) -> float:
    """Share of the samples (all channels) at or above ``level`` − LEVEL_SLACK in magnitude.

    ``dtype`` is the precision of the comparison: a level given by the user is
    compared in the file's float32, as the clipped map is.
    """
    hits, total = 0, 0
    for a in _magnitudes(path, dtype):
        hits += int(np.count_nonzero(a >= level - LEVEL_SLACK))
        total += a.size
    return hits / total


def _magnitudes(path: Path, dtype: type[np.floating] = np.float64) -> Iterator[np.ndarray]:
    """|samples| of every channel, a chunk at a time, in ``dtype``."""
    info = probe(path)
    for chunk in iter_chunks(path, chunk_frames_for(info.channels, 30.0, info.sample_rate)):
        a = np.abs(chunk.data.astype(dtype))
        if not np.isfinite(a).all():
            raise ParameterError("cannot estimate a clipping level from non-finite audio")
        yield a.ravel()


def declip(
    source: Path,
    out_path: Path,
    bundle: LoadedBundle,
    settings: DeclipSettings,
    *,
    work: Path,
    device: torch.device | str = "cpu",
    checkpoints: Path | None = None,
    checkpoint_key: Mapping[str, Any] | None = None,
) -> DeclipResult:
    """Declip ``source`` into ``out_path`` (float32, same rate); the ``declip`` stage and the bench call this.

    Samples at or above the (estimated) clipping level are restored with a
    :class:`ClippingOperator` when clipping is detected and at least
    ``min_clipped_fraction`` of the samples are clipped; everything else is
    copied bit for bit. See :func:`~shellac.engine.restoration.known.restore_flagged`
    for ``work`` and ``checkpoints``.
    """
    device = torch.device(device)
    info = probe(Path(source))
    if settings.clip_level is None:
        estimate = estimate_clip_level_of_file(source)
    else:
        fraction = clipped_fraction(source, settings.clip_level, dtype=np.float32)
        estimate = ClipEstimate(True, settings.clip_level, fraction, float("inf"))
    restore = estimate.detected and estimate.clipped_fraction >= settings.min_clipped_fraction
    work.mkdir(parents=True, exist_ok=True)
    clipped = np.lib.format.open_memmap(work / "clipped.npy", mode="w+", dtype=bool,
                                        shape=(info.channels, info.frames))
    counts = [0] * info.channels
    for chunk in iter_chunks(Path(source), chunk_frames_for(info.channels, 30.0, info.sample_rate)):
        flags = np.abs(chunk.data) >= estimate.level - LEVEL_SLACK
        clipped[:, chunk.start:chunk.stop] = flags
        for ch in range(info.channels):
            counts[ch] += int(np.count_nonzero(flags[ch]))
            release_pages(clipped[ch], chunk.stop)

    def operator_for(block: np.ndarray, gain: float) -> Operator:
        return ClippingOperator(estimate.level * gain, clipped=torch.from_numpy(block).to(device))

    unknown = clipped if restore else np.broadcast_to(np.False_, clipped.shape)
    stats = restore_flagged(source, unknown, out_path, bundle, operator_for, settings.guided, work=work,
                            device=device, checkpoints=checkpoints,
                            checkpoint_key={"clip_level": estimate.level, **(checkpoint_key or {})})
    return DeclipResult(estimate, restore, counts if restore else [0] * info.channels,
                        file_stats(source).peak, stats.peak)
