"""Remix of separated stems: layout matching, stem EQ, alignment, balance, loudness and peak limiting."""

from __future__ import annotations

from typing import Any

import numpy as np

from shellac.engine.dsp.align import find_lag_with_confidence, shift
from shellac.engine.dsp.levels import rms_ratio_db
from shellac.engine.dsp.loudness import integrated_loudness, sample_peak_dbfs, true_peak_dbtp
from shellac.engine.dsp.ltas import SILENCE_STD, Ltas, ltas_equalize
from shellac.engine.errors import ParameterError

# Cross-correlating a centred excerpt is enough to find a constant offset, and keeps memory
# bounded on long recordings.
ALIGN_WINDOW_S = 30.0
# Below this normalised cross-correlation peak the lag estimate is noise and is not applied.
MIN_ALIGN_CORRELATION = 0.3


def to_layout(audio: np.ndarray, channels: int, frames: int) -> np.ndarray:
    """(channels, frames) audio with mono duplicated or stereo folded, trimmed or zero-padded."""
    x = np.asarray(audio, dtype=np.float64)
    if x.shape[0] != channels:
        x = np.repeat(x, channels, axis=0) if x.shape[0] == 1 else x.mean(axis=0, keepdims=True)
        if x.shape[0] != channels:
            raise ParameterError(f"cannot map {audio.shape[0]} channels onto the mix's {channels}")
    if x.shape[1] >= frames:
        return x[:, :frames]
    return np.pad(x, ((0, 0), (0, frames - x.shape[1])))


def equalise_stem(stem: np.ndarray, sample_rate: int, reference: Ltas, *, n_fft: int,
                  max_boost_db: float) -> tuple[np.ndarray, np.ndarray, Ltas] | None:
    """LTAS-EQ of a (channels, frames) stem towards ``reference``, or None for a silent stem.

    Returns the equalised stem in float64, the difference curve (dB) and the stem's LTAS.
    """
    if stem.std() < SILENCE_STD:
        return None
    equalised, diff_db, observed = ltas_equalize(stem, sample_rate, reference, n_fft=n_fft,
                                                 max_boost_db=max_boost_db)
    return equalised.astype(np.float64), diff_db, observed


def _gain(audio: np.ndarray, gain_db: float) -> np.ndarray:
    return audio * 10.0 ** (gain_db / 20.0)


def remix(
    vocals_separated: np.ndarray,
    accompaniment_separated: np.ndarray,
    vocals_restored: np.ndarray,
    accompaniment: np.ndarray,
    sample_rate: int,
    *,
    max_lag_ms: float = 20.0,
    lag_search_ms: float = 500.0,
    match_balance: bool = True,
    loudness_target_lufs: float | None = None,
    true_peak_ceiling_dbtp: float = -1.0,
) -> tuple[np.ndarray, dict[str, Any]]:
    """Align, balance, sum, normalise and peak-limit stems already in the mix's layout.

    Parameters
    ----------
    vocals_separated, accompaniment_separated
        The separation's stems: their RMS ratio is the balance to restore.
    vocals_restored, accompaniment
        The stems to mix: restored vocals and the (possibly equalised) accompaniment.
        All four are (channels, frames) float arrays at ``sample_rate`` Hz, same shape.
    max_lag_ms
        Largest offset of the restored vocals (ms) that is corrected by shifting.
    lag_search_ms
        Offsets searched by cross-correlation (± ms); larger found offsets fail.
    match_balance
        Scale the vocals so the vocal/accompaniment RMS ratio is the separation's.
    loudness_target_lufs
        Integrated loudness of the result (BS.1770-4, LUFS); None keeps the summed level.
    true_peak_ceiling_dbtp
        The result is scaled down so its true peak stays below this (dBTP).

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
    max_lag = int(round(max_lag_ms * sample_rate / 1000.0))
    search = max(max_lag, int(round(lag_search_ms * sample_rate / 1000.0)))
    lag, confidence = find_lag_with_confidence(
        vocals_separated, vocals_restored, search, int(ALIGN_WINDOW_S * sample_rate)
    )
    aligned = confidence >= MIN_ALIGN_CORRELATION
    if not aligned:
        lag = 0  # too little shared waveform to measure an offset: leave the timing as it is
    if abs(lag) > max_lag:
        raise ParameterError(
            f"restored vocals are offset by {lag} samples ({1000.0 * lag / sample_rate:.1f} ms) from "
            f"the separated vocals, more than max_lag_ms={max_lag_ms}; a restoration stage changed "
            "the timing — check its output, or raise max_lag_ms if the offset is expected"
        )
    vocals = shift(np.asarray(vocals_restored, dtype=np.float64), lag)
    accompaniment = np.asarray(accompaniment, dtype=np.float64)
    original = rms_ratio_db(vocals_separated, accompaniment_separated)
    before = rms_ratio_db(vocals, accompaniment)
    vocal_gain_db = 0.0
    if match_balance and original is not None and before is not None:
        vocal_gain_db = original - before
        vocals = _gain(vocals, vocal_gain_db)
    out = vocals + accompaniment
    loudness_gain_db = 0.0
    if loudness_target_lufs is not None:
        current = integrated_loudness(out, sample_rate)
        if np.isfinite(current):
            loudness_gain_db = loudness_target_lufs - current
            out = _gain(out, loudness_gain_db)
    peak_gain_db = 0.0
    peak = true_peak_dbtp(out)
    if peak > true_peak_ceiling_dbtp:
        peak_gain_db = true_peak_ceiling_dbtp - peak
        out = _gain(out, peak_gain_db)
    after = rms_ratio_db(vocals, accompaniment)
    loudness = integrated_loudness(out, sample_rate) if out.shape[1] >= 0.4 * sample_rate else None

    def _r(v: float | None) -> float | None:
        return None if v is None or not np.isfinite(v) else round(float(v), 3)

    report = {
        "lag_samples": lag, "lag_ms": round(1000.0 * lag / sample_rate, 3),
        "alignment_correlation": round(confidence, 4), "alignment_measured": aligned,
        "balance_original_db": _r(original), "balance_before_db": _r(before),
        "balance_after_db": _r(after), "vocal_gain_db": _r(vocal_gain_db),
        "loudness_gain_db": _r(loudness_gain_db), "loudness_lufs": _r(loudness),
        "peak_gain_db": _r(peak_gain_db), "true_peak_dbtp": _r(true_peak_dbtp(out)),
        "sample_peak_dbfs": _r(sample_peak_dbfs(out)),
    }
    return out.astype(np.float32), report
