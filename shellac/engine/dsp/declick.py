"""Click and crackle removal: AR-residual detection with a robust threshold, LSAR repair of short gaps."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from shellac.engine.dsp.lsar import backward_error, fit_ar_blocks, lsar_fill, prediction_error
from shellac.engine.errors import ParameterError

ClickStatus = Literal["repaired", "needs_inpainting"]
# 1 / Phi^-1(3/4): turns a median absolute deviation into a Gaussian standard deviation.
MAD_TO_STD = 1.4826
# Scale floor (full scale = 1): below a 24-bit LSB nothing is worth calling a click.
MIN_SCALE = 1e-7
# A cluster of nearby gaps longer than this many max_gaps is left to inpainting.
MAX_CLUSTER_GAPS = 4
# Fraction of the detection threshold down to which a detected click is followed.
HYSTERESIS = 0.5


@dataclass(frozen=True)
class Click:
    """One detected gap: where it is, how strong, and what was done to it."""

    start: int
    length: int
    peak_residual: float
    status: ClickStatus


@dataclass(frozen=True)
class ClickMap:
    """Every gap found in a recording, in time order, and the settings that found them."""

    sample_rate: int
    clicks: tuple[Click, ...]
    settings: dict[str, Any]

    @property
    def repaired(self) -> int:
        """Number of gaps filled by LSAR interpolation."""
        return sum(c.status == "repaired" for c in self.clicks)

    @property
    def needs_inpainting(self) -> int:
        """Number of gaps too long for LSAR, left untouched for the inpainting stage."""
        return sum(c.status == "needs_inpainting" for c in self.clicks)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready description: times in seconds and samples, lengths, statuses."""
        sr = self.sample_rate
        return {
            "sample_rate": sr,
            "settings": dict(self.settings),
            "counts": {"found": len(self.clicks), "repaired": self.repaired,
                       "needs_inpainting": self.needs_inpainting},
            "note": "gaps marked needs_inpainting are longer than max_gap_ms and were left as "
                    "they are; diffusion inpainting is to fill them",
            "clicks": [
                {"start_sample": c.start, "length_samples": c.length,
                 "start_s": round(c.start / sr, 6), "length_ms": round(1000 * c.length / sr, 4),
                 "peak_residual": round(c.peak_residual, 2), "status": c.status}
                for c in self.clicks
            ],
        }


def _runs(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    edges = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    return np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)


def _merge(starts: np.ndarray, ends: np.ndarray, distance: int) -> tuple[np.ndarray, np.ndarray]:
    # Runs whose separation is at most ``distance`` samples become one run.
    if len(starts) == 0:
        return starts, ends
    new = np.concatenate([[True], starts[1:] - ends[:-1] > distance])
    group = np.cumsum(new) - 1
    return starts[new], np.maximum.reduceat(ends, np.flatnonzero(new))[: group[-1] + 1]


def _normalised(err: np.ndarray, block: int) -> np.ndarray:
    # |err| over its robust scale, one scale per block.
    n = err.shape[0]
    n_blocks = -(-n // block)
    mag = np.abs(np.pad(err, (0, n_blocks * block - n))).reshape(n_blocks, block)
    counted = np.minimum(block, n - block * np.arange(n_blocks))
    # Tail of the last block is zero padding: leave it out of the median.
    scale = np.array([np.median(m[:k]) for m, k in zip(mag, counted, strict=True)])
    scale = np.maximum(MAD_TO_STD * scale, MIN_SCALE)
    return (mag / scale[:, None]).reshape(-1)[:n]


def click_statistic(audio: np.ndarray, coeffs: np.ndarray, block: int) -> np.ndarray:
    """AR prediction error in units of its robust local scale, the maximum over channels.

    Per channel the statistic is the smaller of the normalised forward and
    backward prediction errors: a click raises the forward error on itself
    and the ``p`` samples after it, the backward one on itself and the ``p``
    before, so only the click itself is high in both.

    Parameters
    ----------
    audio
        (channels, frames) samples.
    coeffs
        (channels, blocks, p) AR models from :func:`fit_ar_blocks`.
    block
        Block length, samples.

    Returns
    -------
    np.ndarray
        (frames,) detection statistic; ``|e| / (1.4826 * median|e|)`` per block for each error.
    """
    channels, n = audio.shape
    stat = np.zeros(n)
    for c in range(channels):
        fwd = _normalised(prediction_error(audio[c], coeffs[c], block), block)
        bwd = _normalised(backward_error(audio[c], coeffs[c], block), block)
        stat = np.maximum(stat, np.minimum(fwd, bwd))
    # The first and last p samples have no history (future) to be predicted from.
    stat[: coeffs.shape[2]] = 0.0
    stat[-coeffs.shape[2]:] = 0.0
    return stat


def _run_max(values: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    # Maximum of each non-empty run [start, end), in one reduceat.
    bounds = np.stack([starts, ends], axis=1).reshape(-1)
    return np.maximum.reduceat(np.append(values, 0.0), bounds)[::2]


def _gaps(stat: np.ndarray, threshold: float, pad: int, merge: int) -> tuple[np.ndarray, np.ndarray]:
    # Hysteresis: a run above half the threshold counts if it rises above the threshold,
    # so the weaker tail of a click is repaired with its peak.
    starts, ends = _runs(stat > HYSTERESIS * threshold)
    if len(starts):
        keep = _run_max(stat, starts, ends) > threshold
        starts, ends = starts[keep], ends[keep]
    starts, ends = _merge(starts, ends, merge)
    starts = np.maximum(starts - pad, 0)
    ends = np.minimum(ends + pad, stat.shape[0])
    return _merge(starts, ends, 0)


def _bridge(x: np.ndarray, mask: np.ndarray) -> np.ndarray:
    # Linear interpolation across flagged samples: only to refit the AR models.
    if not mask.any() or mask.all():
        return x
    idx = np.arange(x.shape[0])
    out = x.copy()
    out[mask] = np.interp(idx[mask], idx[~mask], x[~mask])
    return out


def declick(
    audio: np.ndarray,
    sample_rate: int,
    *,
    threshold: float = 6.0,
    order: int = 32,
    max_gap_ms: float = 3.0,
    block_ms: float = 50.0,
    pad_ms: float = 0.05,
    merge_ms: float = 0.3,
) -> tuple[np.ndarray, ClickMap]:
    """Detect clicks and crackle and repair the short ones by LSAR interpolation.

    Detection: an AR model of ``order`` is fitted per ``block_ms`` block; the
    forward and backward prediction errors are compared with ``threshold``
    times their robust (median-based) scale (see :func:`click_statistic`),
    a detection followed down to half the threshold. Runs closer than
    ``merge_ms`` join, then grow by ``pad_ms`` either side. The models are
    refitted once with the first pass's detections bridged, so loud clicks do
    not whiten them, and detection is repeated (the union is kept). Channels
    share one gap map (a 78 is a mono groove).

    Repair: gaps of at most ``max_gap_ms`` are filled by least-squares AR
    interpolation. Longer gaps, and clusters of gaps whose contexts overlap
    and whose span exceeds four ``max_gap_ms``, are left unchanged and
    marked ``needs_inpainting``.

    Parameters
    ----------
    audio
        (channels, frames) or (frames,) float samples.
    sample_rate
        Hz.
    threshold
        Detection threshold, in robust standard deviations of the residual.
    order
        AR model order, samples.
    max_gap_ms, block_ms, pad_ms, merge_ms
        Longest gap LSAR fills, AR block length, growth of each detection
        either side, and largest separation merged, all in milliseconds.

    Returns
    -------
    repaired, click_map
        Audio of the input's shape and dtype, and the map of every gap found.

    Raises
    ------
    ParameterError
        If the settings are out of range or the audio is shorter than a block.
    """
    x = np.atleast_2d(np.asarray(audio, dtype=np.float64))
    block = int(round(block_ms * sample_rate / 1000))
    max_gap = int(round(max_gap_ms * sample_rate / 1000))
    pad = int(round(pad_ms * sample_rate / 1000))
    merge = int(round(merge_ms * sample_rate / 1000))
    if threshold <= 0 or order < 2 or max_gap < 1:
        raise ParameterError(f"bad declick settings: threshold {threshold}, order {order}, "
                             f"max_gap {max_gap} samples")
    if block < 4 * order:
        raise ParameterError(f"AR block of {block} samples is too short for order {order}; "
                             "raise block_ms or lower the order")
    if x.shape[1] < block:
        raise ParameterError(f"audio of {x.shape[1]} samples is shorter than one AR block ({block})")
    settings = {"threshold": threshold, "order": order, "max_gap_ms": max_gap_ms,
                "block_ms": block_ms, "pad_ms": pad_ms, "merge_ms": merge_ms}

    coeffs = np.stack([fit_ar_blocks(ch, order, block) for ch in x])
    first = np.zeros(x.shape[1], dtype=bool)
    for s, e in zip(*_gaps(click_statistic(x, coeffs, block), threshold, pad, merge), strict=True):
        first[s:e] = True
    coeffs = np.stack([fit_ar_blocks(_bridge(ch, first), order, block) for ch in x])
    stat = click_statistic(x, coeffs, block)
    starts, ends = _gaps(np.where(first, np.inf, stat), threshold, pad, merge)
    peaks = _run_max(stat, starts, ends) if len(starts) else np.zeros(0)

    # Gaps whose p-sample contexts touch are solved together.
    c_starts, c_ends = _merge(starts, ends, order)
    gap_cluster = np.searchsorted(c_starts, starts, side="right") - 1
    too_long = (ends - starts) > max_gap
    bad_cluster = np.zeros(len(c_starts), dtype=bool)
    np.logical_or.at(bad_cluster, gap_cluster, too_long)
    bad_cluster |= (c_ends - c_starts) > MAX_CLUSTER_GAPS * max_gap
    fix = ~bad_cluster
    missing = np.zeros(x.shape[1], dtype=bool)
    for s, e in zip(starts[~bad_cluster[gap_cluster]], ends[~bad_cluster[gap_cluster]], strict=True):
        missing[s:e] = True
    block_of = np.minimum((c_starts[fix] + c_ends[fix]) // 2 // block, coeffs.shape[1] - 1)
    repaired = np.stack([
        lsar_fill(x[c], missing, c_starts[fix], c_ends[fix], coeffs[c, block_of]) for c in range(len(x))
    ])
    clicks = tuple(
        Click(int(s), int(e - s), float(pk), "needs_inpainting" if bad_cluster[g] else "repaired")
        for s, e, pk, g in zip(starts, ends, peaks, gap_cluster, strict=True)
    )
    out = repaired.astype(np.asarray(audio).dtype if np.asarray(audio).dtype.kind == "f" else np.float32)
    return out.reshape(np.shape(audio)), ClickMap(int(sample_rate), clicks, settings)
