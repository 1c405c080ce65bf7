"""Click and crackle removal: bracketed AR-residual detection against a local robust scale, LSAR repair."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from scipy.special import ndtri_exp
from scipy.stats import chi2

from shellac.engine.dsp.click_repeats import recurs
from shellac.engine.dsp.lsar import backward_error, fit_ar_blocks, lsar_fill, prediction_error
from shellac.engine.dsp.runs import mask_runs, merge_runs
from shellac.engine.errors import ParameterError

ClickStatus = Literal["repaired", "needs_inpainting"]
# What becomes of gaps longer than max_gap_ms and of scratches: filled here, or left for inpainting.
LongGaps = Literal["lsar", "inpaint"]
# 1 / Phi^-1(3/4): turns a median absolute deviation into a Gaussian standard deviation.
MAD_TO_STD = 1.4826
# Scale floor (full scale = 1): below a 24-bit LSB nothing is worth calling a click.
MIN_SCALE = 1e-7
# A cluster of nearby gaps longer than this many max_gaps is left to inpainting.
MAX_CLUSTER_GAPS = 4
# Pieces of one scratch, found apart, spanning more than this many max_gaps are left to inpainting.
SCRATCH_GAPS = 3
# Fraction of the detection threshold down to which a detected click is followed: above the
# largest of ~span unit errors (about 3), which the bracket's window maximum reaches by chance.
HYSTERESIS = 0.8
# Hops per local-scale window: the scale is a median over SCALE_HOPS + 1 hops of window/SCALE_HOPS.
SCALE_HOPS = 4
# Energy windows of the detector, as fractions 1/d of the longest click (plus single samples).
ENERGY_WINDOW_DIVISORS = (8, 3)
# One-sample bracket level (robust standard deviations) that marks a click's onset and end.
EDGE_LEVEL = 4.0
# Only the AR error's excess over this many robust standard deviations is compared with its
# repeats (:func:`recurs`): hiss does not repeat.
REPEAT_FLOOR = 2.0


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


def _fill_spans(
    starts: np.ndarray, ends: np.ndarray, max_gap: int, span: int, long_gaps: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The spans to fill and, per gap, the index of the span holding it.

    ``"inpaint"``: the gaps as found. ``"lsar"``: pieces of one scratch (within
    ``max_gap + span`` of each other) that hold a gap longer than ``max_gap`` or
    together span more than SCRATCH_GAPS ``max_gap`` become one span from the first
    piece's start to the last one's end.
    """
    if long_gaps == "inpaint" or len(starts) == 0:
        return starts, ends, np.arange(len(starts))
    g_starts, g_ends = merge_runs(starts, ends, max_gap + span)
    group = np.searchsorted(g_starts, starts, side="right") - 1
    long_piece = np.zeros(len(g_starts), dtype=bool)
    np.logical_or.at(long_piece, group, (ends - starts) > max_gap)
    whole = long_piece | ((g_ends - g_starts) > SCRATCH_GAPS * max_gap)
    keep = ~whole[group]
    f_starts = np.concatenate([starts[keep], g_starts[whole]])
    f_ends = np.concatenate([ends[keep], g_ends[whole]])
    order = np.argsort(f_starts, kind="stable")
    f_starts, f_ends = f_starts[order], f_ends[order]
    span_of = np.searchsorted(f_starts, starts, side="right") - 1
    return f_starts, f_ends, span_of


def _normalised(err: np.ndarray, window: int) -> np.ndarray:
    # |err| over its robust local scale: the median of |err| over about ``window`` samples
    # centred on each quarter-window hop, so a piano attack raises its own scale.
    n = err.shape[0]
    hop = max(1, window // SCALE_HOPS)
    n_hops = -(-n // hop)
    mag = np.abs(err)
    hops = np.pad(mag, (0, n_hops * hop - n), mode="reflect" if n_hops * hop - n < n else "edge")
    hops = hops.reshape(n_hops, hop)
    half = SCALE_HOPS // 2
    neighbours = sliding_window_view(np.pad(hops, ((half, SCALE_HOPS - half), (0, 0)), mode="edge"),
                                     SCALE_HOPS + 1, axis=0)[:n_hops]
    scale = np.median(neighbours.reshape(n_hops, -1), axis=1)
    scale = np.maximum(MAD_TO_STD * scale, MIN_SCALE)
    return mag / np.repeat(scale, hop)[:n]


def _window_max(values: np.ndarray, before: int, after: int) -> np.ndarray:
    # Maximum of values[n - before : n + after + 1] at every n (edges padded with zeros).
    padded = np.pad(values, (before, after))
    return sliding_window_view(padded, before + after + 1).max(axis=1)


def click_statistic(
    audio: np.ndarray, coeffs: np.ndarray, block: int, span: int, window: int
) -> tuple[np.ndarray, np.ndarray]:
    """Bracketed AR prediction errors in units of their robust local scale, the maximum over channels.

    A click on samples ``[a, b)`` raises the forward prediction error from its
    onset ``a`` (and over the ``p`` samples after it) and the backward error
    up to its end ``b - 1`` (and over the ``p`` before it). A smooth click of
    tens of samples raises each error only near one edge, so sample ``n`` is
    scored by the smaller of the largest normalised forward error in
    ``[n - span, n]`` and the largest normalised backward error in
    ``[n, n + span]``: high only between an onset and an end at most ``span``
    apart, in that order, which is where the click is (for a one-sample click,
    the smaller of the two errors there). The pooled statistic does the same
    with the forward error's RMS over the ``m`` samples ending at each sample
    and the backward error's over the ``m`` starting there, for the windows of
    :func:`_energy_windows`, each RMS turned into the one-sample error of the
    same Gaussian tail probability.

    Parameters
    ----------
    audio
        (channels, frames) samples.
    coeffs
        (channels, blocks, p) AR models from :func:`fit_ar_blocks`.
    block
        Block length, samples.
    span
        Longest click, samples (0: both errors at the same sample).
    window
        Length of the robust-scale window, samples.

    Returns
    -------
    single, pooled
        (frames,) statistics in robust standard deviations (pooled: one-sample
        equivalents); each error is ``|e| / (1.4826 * median|e|)`` locally.
    """
    channels, n = audio.shape
    single = np.zeros(n)
    pooled = np.zeros(n)
    for c in range(channels):
        fwd = _normalised(prediction_error(audio[c], coeffs[c], block), window)
        bwd = _normalised(backward_error(audio[c], coeffs[c], block), window)
        # The first and last p samples have no history (future) to be predicted from.
        fwd[: coeffs.shape[2]] = 0.0
        bwd[-coeffs.shape[2]:] = 0.0
        for m in _energy_windows(span):
            onset = _window_max(_window_rms(fwd, m, 0), span, 0)
            end = _window_max(_window_rms(bwd, 0, m), 0, span)
            bracket = np.minimum(onset, end)
            if m == 1:
                single = np.maximum(single, bracket)
            else:
                pooled = np.maximum(pooled, _single_sample_equivalent(bracket, m))
    return single, pooled


def _window_rms(values: np.ndarray, before: int, after: int) -> np.ndarray:
    # RMS of values[n - before + 1 : n + 1] (after == 0) or values[n : n + after] (before == 0).
    m = max(before, after)
    if m <= 1:
        return values
    sums = np.concatenate([[0.0], np.cumsum(values**2)])
    n = values.shape[0]
    idx = np.arange(n)
    lo = np.clip(idx - m + 1 if before else idx, 0, n)
    hi = np.clip(idx + 1 if before else idx + m, 0, n)
    return np.sqrt((sums[hi] - sums[lo]) / m)


def _energy_windows(span: int) -> list[int]:
    # Window lengths (samples) over which the detector pools the errors: single samples for
    # sharp clicks, longer windows for smooth ones whose error is moderate but sustained.
    return sorted({1, *(max(1, span // d) for d in ENERGY_WINDOW_DIVISORS)})


def _single_sample_equivalent(rms: np.ndarray, m: int) -> np.ndarray:
    # The |error| of one Gaussian sample as improbable as this RMS over m of them
    # (chi-square tails), so one threshold holds every window to one false-alarm rate.
    if m == 1:
        return rms
    log_tail = chi2.logsf(m * rms**2, m) - np.log(2.0)
    value = -ndtri_exp(np.minimum(log_tail, np.log(0.5)))
    # Beyond float range of the tail the value is huge anyway: keep it finite and monotone.
    return np.where(np.isfinite(value), value, np.sqrt(m) * rms)


def _run_max(values: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    # Maximum of each non-empty run [start, end), in one reduceat.
    bounds = np.stack([starts, ends], axis=1).reshape(-1)
    return np.maximum.reduceat(np.append(values, 0.0), bounds)[::2]


def _trim(starts: np.ndarray, ends: np.ndarray, edges: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    # Each run shrinks to its first and last sample where the one-sample bracket passes EDGE_LEVEL:
    # the click's onset and end. Pooled windows widen a run by their length either side.
    marked = np.flatnonzero(edges > EDGE_LEVEL)
    first = np.searchsorted(marked, starts)
    last = np.searchsorted(marked, ends) - 1
    inside = (first <= last) & (first < marked.size)
    new_starts, new_ends = starts.copy(), ends.copy()
    new_starts[inside] = marked[first[inside]]
    new_ends[inside] = marked[last[inside]] + 1
    return new_starts, new_ends


def _gaps(
    single: np.ndarray, pooled: np.ndarray, threshold: float, pad: int, merge: int
) -> tuple[np.ndarray, np.ndarray]:
    # Hysteresis: a run above half the threshold counts if it rises above the threshold,
    # so the weaker tail of a click is repaired with its peak. The pooled statistic, already
    # as wide as its windows, counts only above the threshold itself.
    starts, ends = mask_runs((single > HYSTERESIS * threshold) | (pooled > threshold))
    if len(starts):
        keep = _run_max(np.maximum(single, pooled), starts, ends) > threshold
        starts, ends = _trim(starts[keep], ends[keep], single)
    starts, ends = merge_runs(starts, ends, merge)
    starts = np.maximum(starts - pad, 0)
    ends = np.minimum(ends + pad, single.shape[0])
    return merge_runs(starts, ends, 0)


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
    threshold: float = 5.0,
    order: int = 128,
    max_gap_ms: float = 3.0,
    block_ms: float = 150.0,
    pad_ms: float = 0.1,
    merge_ms: float = 0.3,
    click_ms: float = 1.5,
    scale_ms: float = 10.0,
    long_gaps: LongGaps = "lsar",
) -> tuple[np.ndarray, ClickMap]:
    """Detect clicks and crackle and repair the short ones by LSAR interpolation.

    Detection: an AR model of ``order`` is fitted per ``block_ms`` block (a
    long model: at 22.05 kHz a 30-sample click sits in the music's band, and
    a model that resolves the harmonics tells it apart from them), and the
    forward and backward prediction errors are divided by their robust scale,
    a median over about ``scale_ms`` (local, so a piano attack raises its own
    scale). A click is where a forward-error onset and a backward-error end
    at most ``click_ms`` apart bracket the samples, singly or pooled as RMS
    over windows of up to a third of ``click_ms`` (smooth clicks of tens of
    samples raise the errors only moderately, but for many samples); see
    :func:`click_statistic`. A pooled window is held to the false-alarm rate
    of ``threshold`` on one sample. A detection is followed down to 0.8 of
    the threshold, trimmed to its onset and end, runs closer than
    ``merge_ms`` join, then grow by ``pad_ms`` either side. The models are
    refitted with the first pass's detections bridged, so loud clicks do not
    whiten them, and detection is repeated (the union is kept). A detection
    whose error pattern recurs a period before and after it, where the audio
    repeats too (up to 25 ms; :func:`~shellac.engine.dsp.click_repeats.recurs`
    on the error's excess over 2 robust standard deviations), is a feature of
    a periodic sound, such as the corners of a clipped or declipped tone, and
    is dropped. The repair models are refitted with every gap bridged.
    Channels share one gap map (a 78 is a mono groove).

    Repair: gaps are filled by least-squares AR interpolation, each cluster of
    gaps whose contexts overlap solved together. Clusters spanning more than
    four ``max_gap_ms`` are left unchanged and marked ``needs_inpainting``.
    With ``long_gaps="inpaint"`` (a chain whose inpaint stage fills them), so
    are clusters holding a gap longer than ``max_gap_ms`` and pieces of one
    scratch (found apart, within ``max_gap_ms + click_ms`` of each other)
    spanning more than three ``max_gap_ms``; with ``"lsar"`` (the default: no
    inpainting follows) those are filled too, so no click is left for an
    equaliser to boost.

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
    click_ms, scale_ms
        Longest click bracketed by one onset and end, and length of the
        window the errors' robust scale is taken over, milliseconds.
    long_gaps
        ``"lsar"``: fill long gaps and scratch pieces up to the cluster limit;
        ``"inpaint"``: leave them for an inpainting stage.

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
    span = int(round(click_ms * sample_rate / 1000))
    window = int(round(scale_ms * sample_rate / 1000))
    if long_gaps not in ("lsar", "inpaint"):
        raise ParameterError(f"long_gaps must be 'lsar' or 'inpaint', got {long_gaps!r}")
    if threshold <= 0 or order < 2 or max_gap < 1 or span < 0 or window < 1:
        raise ParameterError(f"bad declick settings: threshold {threshold}, order {order}, "
                             f"max_gap {max_gap}, click {span}, scale window {window} samples")
    if block < 4 * order:
        raise ParameterError(f"AR block of {block} samples is too short for order {order}; "
                             "raise block_ms or lower the order")
    if x.shape[1] < block:
        raise ParameterError(f"audio of {x.shape[1]} samples is shorter than one AR block ({block})")
    settings = {"threshold": threshold, "order": order, "max_gap_ms": max_gap_ms,
                "block_ms": block_ms, "pad_ms": pad_ms, "merge_ms": merge_ms,
                "click_ms": click_ms, "scale_ms": scale_ms, "long_gaps": long_gaps}

    coeffs = np.stack([fit_ar_blocks(ch, order, block) for ch in x])
    first = np.zeros(x.shape[1], dtype=bool)
    # First pass on single samples only: it is to keep loud clicks out of the refitted models,
    # and the pooled windows would read a click-distorted model's coloured error as clicks.
    single, _ = click_statistic(x, coeffs, block, span, window)
    for s, e in zip(*_gaps(single, np.zeros_like(single), threshold, pad, merge), strict=True):
        first[s:e] = True
    coeffs = np.stack([fit_ar_blocks(_bridge(ch, first), order, block) for ch in x])
    single, pooled = click_statistic(x, coeffs, block, span, window)
    stat = np.maximum(single, pooled)
    starts, ends = _gaps(np.where(first, np.inf, single), pooled, threshold, pad, merge)
    # A periodic sound's features (a clipped or declipped tone's corners) recur every period; a
    # click does not. Spans whose error recurs in every channel are dropped.
    periodic = np.ones(len(starts), dtype=bool)
    for c in range(x.shape[0]):
        err = prediction_error(x[c], coeffs[c], block)
        excess = np.sign(err) * np.maximum(_normalised(err, window) - REPEAT_FLOOR, 0.0)
        periodic &= recurs(excess, x[c], starts, ends, sample_rate, min_lag=order)
    starts, ends = starts[~periodic], ends[~periodic]
    peaks = _run_max(stat, starts, ends) if len(starts) else np.zeros(0)

    # What is filled: the gaps themselves, or (long_gaps="lsar") each scratch as one whole span, so
    # the noise between its pieces goes too. Spans whose p-sample contexts touch are solved together.
    fill_starts, fill_ends, span_of = _fill_spans(starts, ends, max_gap, span, long_gaps)
    c_starts, c_ends = merge_runs(fill_starts, fill_ends, order)
    gap_cluster = (np.searchsorted(c_starts, fill_starts, side="right") - 1)[span_of]
    # The cluster limit bounds LSAR's dense solves (memory grows with the span squared).
    bad_cluster = (c_ends - c_starts) > MAX_CLUSTER_GAPS * max_gap
    if long_gaps == "inpaint":
        np.logical_or.at(bad_cluster, gap_cluster, (ends - starts) > max_gap)
        # A long scratch is found as several pieces (each bracket spans at most click_ms):
        # pieces within max_gap + click_ms of a long gap, or of each other over more than
        # SCRATCH_GAPS max_gaps, are one scratch, left to inpainting.
        s_starts, s_ends = merge_runs(c_starts, c_ends, max_gap + span)
        scratch = (s_ends - s_starts) > SCRATCH_GAPS * max_gap
        np.logical_or.at(scratch, np.searchsorted(s_starts, c_starts, side="right") - 1, bad_cluster)
        bad_cluster |= scratch[np.searchsorted(s_starts, c_starts, side="right") - 1]
    fix = ~bad_cluster
    missing = np.zeros(x.shape[1], dtype=bool)
    fill_cluster = np.searchsorted(c_starts, fill_starts, side="right") - 1
    for s, e in zip(fill_starts[fix[fill_cluster]], fill_ends[fix[fill_cluster]], strict=True):
        missing[s:e] = True
    # The repair models are fitted with every gap bridged: a click found only in the second
    # pass would otherwise shape the model that fills it.
    flagged = np.zeros(x.shape[1], dtype=bool)
    for s, e in zip(fill_starts, fill_ends, strict=True):
        flagged[s:e] = True
    if not np.array_equal(flagged, first):
        coeffs = np.stack([fit_ar_blocks(_bridge(ch, flagged), order, block) for ch in x])
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
