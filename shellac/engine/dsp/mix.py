"""Remix of restored vocals over the accompaniment: alignment, balance, loudness and peak, chunk by chunk."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

import numpy as np

from shellac.engine.dsp.align import find_lag_with_confidence
from shellac.engine.dsp.levels import ratio_db
from shellac.engine.dsp.loudness_meter import LoudnessMeter, PeakMeter
from shellac.engine.errors import ParameterError
from shellac.engine.stems import ArrayStems, Stems

# Cross-correlating a centred excerpt is enough to find a constant offset, and keeps memory
# bounded on long recordings.
ALIGN_WINDOW_S = 30.0
# Below this normalised cross-correlation peak the lag estimate is noise and is not applied.
MIN_ALIGN_CORRELATION = 0.3
# Frames per chunk of the remix's passes over the recording, and per block of its sums of squares
# (a chunk holds whole blocks, so chunked and whole-array sums add the same numbers in order).
RMS_BLOCK = 1 << 16
CHUNK_FRAMES = 4 * RMS_BLOCK



def _square_sums(blocks: Iterable[np.ndarray]) -> Iterator[float]:
    # Per channel, then over channels: the same order whether a block is a view or a copy.
    for block in blocks:
        yield float(np.sum(np.sum(np.square(block, dtype=np.float64), axis=-1)))


def _rms_of(sums: Iterable[float], count: int) -> float:
    total = 0.0
    for value in sums:
        total += value
    return float(np.sqrt(total / count)) if count else float("nan")


def chunks(frames: int) -> Iterator[tuple[int, int]]:
    """(start, stop) frame ranges of ``CHUNK_FRAMES`` covering ``frames``."""
    for start in range(0, frames, CHUNK_FRAMES):
        yield start, min(frames, start + CHUNK_FRAMES)


def _stem_rms(stems: Stems, name: str, lag: int = 0, gain: float = 1.0) -> float:
    def blocks() -> Iterator[np.ndarray]:
        for start, stop in chunks(stems.frames):
            x = stems.read(name, start + lag, stop + lag)
            if gain != 1.0:
                x = x * gain
            for first in range(0, x.shape[-1], RMS_BLOCK):
                yield x[:, first:first + RMS_BLOCK]

    return _rms_of(_square_sums(blocks()), stems.channels * stems.frames)


def remix_stems(
    stems: Stems,
    sample_rate: int,
    write: Callable[[np.ndarray], None],
    *,
    max_lag_ms: float = 20.0,
    lag_search_ms: float = 500.0,
    match_balance: bool = True,
    loudness_target_lufs: float | None = None,
    true_peak_ceiling_dbtp: float = -1.0,
) -> dict[str, Any]:
    """Align, balance, sum, normalise and peak-limit ``stems``, handing ``write`` the remix chunk by chunk.

    Every whole-recording measurement (the balances, the loudness, the true peak)
    runs over chunks of ``CHUNK_FRAMES``, so memory follows the chunk and not the
    recording's length; the numbers, and so the samples, are those of the same
    stems given whole (``remix``). Parameters and report as for :func:`remix`;
    ``write`` receives float32 (channels, frames) chunks in order.
    """
    max_lag = int(round(max_lag_ms * sample_rate / 1000.0))
    search = max(max_lag, int(round(lag_search_ms * sample_rate / 1000.0)))
    window = int(ALIGN_WINDOW_S * sample_rate)
    first = max(0, (stems.frames - window) // 2)
    last = min(stems.frames, first + window)
    lag, confidence = find_lag_with_confidence(
        stems.read("vocals_separated", first, last), stems.read("vocals_restored", first, last), search,
        window)
    aligned = confidence >= MIN_ALIGN_CORRELATION
    if not aligned:
        lag = 0  # too little shared waveform to measure an offset: leave the timing as it is
    if abs(lag) > max_lag:
        raise ParameterError(
            f"restored vocals are offset by {lag} samples ({1000.0 * lag / sample_rate:.1f} ms) from "
            f"the separated vocals, more than max_lag_ms={max_lag_ms}; a restoration stage changed "
            "the timing — check its output, or raise max_lag_ms if the offset is expected"
        )
    separated_accompaniment = _stem_rms(stems, "accompaniment_separated")
    original = (ratio_db(_stem_rms(stems, "vocals_separated") / separated_accompaniment)
                if separated_accompaniment > 0 else None)
    accompaniment_rms = _stem_rms(stems, "accompaniment")
    before = (ratio_db(_stem_rms(stems, "vocals_restored", lag) / accompaniment_rms)
              if accompaniment_rms > 0 else None)
    vocal_gain_db = 0.0
    if match_balance and original is not None and before is not None:
        vocal_gain_db = original - before
    gains: list[float] = []  # applied to the sum one after the other, as a whole-array run would

    def remixed() -> Iterator[np.ndarray]:
        for start, stop in chunks(stems.frames):
            vocals = stems.read("vocals_restored", start + lag, stop + lag)
            if vocal_gain_db:
                vocals = vocals * 10.0 ** (vocal_gain_db / 20.0)
            out = vocals + stems.read("accompaniment", start, stop)
            for gain in gains:
                out = out * gain
            yield out

    loudness_gain_db = 0.0
    if loudness_target_lufs is not None:
        meter = LoudnessMeter(sample_rate, stems.channels)
        for chunk in remixed():
            meter.update(chunk)
        current = meter.integrated()
        if np.isfinite(current):
            loudness_gain_db = loudness_target_lufs - current
            gains.append(10.0 ** (loudness_gain_db / 20.0))
    peak_meter = PeakMeter()
    for chunk in remixed():
        peak_meter.update(chunk)
    peak_gain_db = 0.0
    peak = peak_meter.true_peak_dbtp()
    if peak > true_peak_ceiling_dbtp:
        peak_gain_db = true_peak_ceiling_dbtp - peak
        gains.append(10.0 ** (peak_gain_db / 20.0))
    final_loudness = LoudnessMeter(sample_rate, stems.channels)
    final_peak = PeakMeter()
    for chunk in remixed():
        final_loudness.update(chunk)
        final_peak.update(chunk)
        write(chunk.astype(np.float32))
    vocal_gain = 10.0 ** (vocal_gain_db / 20.0) if vocal_gain_db else 1.0
    after = (ratio_db(_stem_rms(stems, "vocals_restored", lag, vocal_gain) / accompaniment_rms)
             if accompaniment_rms > 0 else None)
    loudness = final_loudness.integrated() if stems.frames >= 0.4 * sample_rate else None

    def _r(v: float | None) -> float | None:
        return None if v is None or not np.isfinite(v) else round(float(v), 3)

    return {
        "lag_samples": lag, "lag_ms": round(1000.0 * lag / sample_rate, 3),
        "alignment_correlation": round(confidence, 4), "alignment_measured": aligned,
        "balance_original_db": _r(original), "balance_before_db": _r(before),
        "balance_after_db": _r(after), "vocal_gain_db": _r(vocal_gain_db),
        "loudness_gain_db": _r(loudness_gain_db), "loudness_lufs": _r(loudness),
        "peak_gain_db": _r(peak_gain_db), "true_peak_dbtp": _r(final_peak.true_peak_dbtp()),
        "sample_peak_dbfs": _r(final_peak.sample_peak_dbfs()),
    }


def remix(
    vocals_separated: np.ndarray,
    accompaniment_separated: np.ndarray,
    vocals_restored: np.ndarray,
    accompaniment: np.ndarray,
    sample_rate: int,
    **settings: Any,
) -> tuple[np.ndarray, dict[str, Any]]:
    """Align, balance, sum, normalise and peak-limit stems already in the mix's layout.

    Parameters
    ----------
    vocals_separated, accompaniment_separated
        The separation's stems: their RMS ratio is the balance to restore.
    vocals_restored, accompaniment
        The stems to mix: restored vocals and the (possibly equalised) accompaniment.
        All four are (channels, frames) float arrays at ``sample_rate`` Hz, same shape.
    settings
        ``max_lag_ms`` (largest offset of the restored vocals corrected by shifting),
        ``lag_search_ms`` (offsets searched by cross-correlation, ± ms; larger found
        offsets fail), ``match_balance``, ``loudness_target_lufs`` and
        ``true_peak_ceiling_dbtp``, as :class:`RemixParams` describes them.

    Returns
    -------
    remix, report
        float32 (channels, frames) audio and a JSON-ready report: ``lag_samples``,
        ``lag_ms``, balances in dB (original, restored before and after matching),
        ``vocal_gain_db``, ``loudness_lufs``, ``loudness_gain_db``, ``peak_gain_db``,
        ``true_peak_dbtp`` and ``sample_peak_dbfs`` of the result.

    Raises
    ------
    ParameterError
        If the restored vocals are offset by more than ``max_lag_ms``.
    """
    arrays = {"vocals_separated": vocals_separated, "accompaniment_separated": accompaniment_separated,
              "vocals_restored": vocals_restored, "accompaniment": accompaniment}
    channels, frames = np.shape(vocals_separated)
    chunks: list[np.ndarray] = []
    report = remix_stems(ArrayStems(arrays, channels, frames), sample_rate, chunks.append, **settings)
    return np.concatenate(chunks, axis=-1), report
