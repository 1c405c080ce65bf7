"""remix: put restored vocals back over the (optionally equalised) accompaniment at the original balance."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import Field
from scipy.signal import correlate, correlation_lags

from shellac.engine.atomic import atomic_write_json
from shellac.engine.audio_io import read_audio, write_audio
from shellac.engine.dsp.loudness import integrated_loudness, sample_peak_dbfs, true_peak_dbtp
from shellac.engine.dsp.ltas import SILENCE_STD, ltas_equalize
from shellac.engine.dsp.resample import resample
from shellac.engine.errors import ParameterError
from shellac.stages.base import Stage, StageContext, StageOutput, StageParams
from shellac.stages.reference import REFERENCE_HELP, load_reference, reference_fingerprint

# Cross-correlating a centred excerpt is enough to find a constant offset, and keeps memory
# bounded on long recordings.
ALIGN_WINDOW_S = 30.0
# Below this normalised cross-correlation peak the lag estimate is noise and is not applied.
MIN_ALIGN_CORRELATION = 0.3


class RemixParams(StageParams):
    """How the restored vocals and the accompaniment are combined."""

    accompaniment_reference: str | None = Field(
        default=None,
        description="LTAS-EQ the accompaniment towards this reference (unset: leave it as separated). "
        + REFERENCE_HELP,
    )
    n_fft: int = Field(default=4096, ge=256, le=32768, description="LTAS-EQ FFT size in samples.")
    max_boost_db: float = Field(default=20.0, ge=0, le=60, description="Largest LTAS-EQ boost in dB.")
    max_lag_ms: float = Field(
        default=20.0, ge=0, le=1000,
        description="Largest offset (ms) between separated and restored vocals that is corrected; "
        "a larger one fails the stage.",
    )
    lag_search_ms: float = Field(
        default=500.0, gt=0, le=5000, description="Offsets searched by cross-correlation, ± ms."
    )
    match_balance: bool = Field(
        default=True, description="Scale the vocals so the vocal/accompaniment RMS ratio is the separation's."
    )
    loudness_target_lufs: float | None = Field(
        default=None, ge=-60, le=-5,
        description="Integrated loudness of the remix (BS.1770-4, LUFS); unset keeps the summed level.",
    )
    true_peak_ceiling_dbtp: float = Field(
        default=-1.0, ge=-20, le=0, description="Remix scaled down so its true peak stays below this (dBTP)."
    )


def rms(audio: np.ndarray) -> float:
    """Root-mean-square over all channels and samples (linear)."""
    return float(np.sqrt(np.mean(np.square(audio, dtype=np.float64))))


def _db(ratio: float) -> float | None:
    return float(20.0 * np.log10(ratio)) if ratio > 0 and np.isfinite(ratio) else None


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


def find_lag(reference: np.ndarray, delayed: np.ndarray, max_lag: int, window: int) -> int:
    """Samples by which ``delayed`` lags ``reference`` (negative: it leads), within ±``max_lag``.

    Both are (channels, frames) at one rate; their channel means are
    cross-correlated (by FFT) over a ``window``-sample excerpt centred in the
    recording. Returns 0 when either excerpt is silent.
    """
    return find_lag_with_confidence(reference, delayed, max_lag, window)[0]


def find_lag_with_confidence(
    reference: np.ndarray, delayed: np.ndarray, max_lag: int, window: int
) -> tuple[int, float]:
    """:func:`find_lag` and the normalised cross-correlation at that lag (1 = identical shapes).

    A generative stage may legitimately change the waveform's fine structure; a
    low peak then says the lag estimate is not to be trusted.
    """
    a = reference.mean(axis=0)
    b = delayed.mean(axis=0)
    n = min(a.size, b.size)
    start = max(0, (n - window) // 2)
    a, b = a[start:start + window], b[start:start + window]
    if a.std() < SILENCE_STD or b.std() < SILENCE_STD:
        return 0, 0.0
    corr = correlate(b, a, mode="full", method="fft")
    lags = correlation_lags(b.size, a.size, mode="full")
    keep = np.abs(lags) <= max_lag
    best = int(np.argmax(corr[keep]))
    peak = float(corr[keep][best] / (np.linalg.norm(a) * np.linalg.norm(b)))
    return int(lags[keep][best]), peak


def shift(audio: np.ndarray, lag: int) -> np.ndarray:
    """Move (channels, frames) audio ``lag`` samples earlier (later when negative), keeping its length."""
    if lag == 0:
        return audio
    out = np.zeros_like(audio)
    if lag > 0:
        out[:, :-lag] = audio[:, lag:]
    else:
        out[:, -lag:] = audio[:, :lag]
    return out


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
    original = (_db(rms(vocals_separated) / rms(accompaniment_separated))
                if rms(accompaniment_separated) > 0 else None)
    before = _db(rms(vocals) / rms(accompaniment)) if rms(accompaniment) > 0 else None
    vocal_gain_db = 0.0
    if match_balance and original is not None and before is not None:
        vocal_gain_db = original - before
        vocals = vocals * 10.0 ** (vocal_gain_db / 20.0)
    out = vocals + accompaniment
    loudness_gain_db = 0.0
    if loudness_target_lufs is not None:
        current = integrated_loudness(out, sample_rate)
        if np.isfinite(current):
            loudness_gain_db = loudness_target_lufs - current
            out = out * 10.0 ** (loudness_gain_db / 20.0)
    peak_gain_db = 0.0
    peak = true_peak_dbtp(out)
    if peak > true_peak_ceiling_dbtp:
        peak_gain_db = true_peak_ceiling_dbtp - peak
        out = out * 10.0 ** (peak_gain_db / 20.0)
    after = _db(rms(vocals) / rms(accompaniment)) if rms(accompaniment) > 0 else None
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


def fingerprint(params: RemixParams, ctx: StageContext) -> str | None:
    """Checksum of the accompaniment reference, if one is used."""
    if params.accompaniment_reference is None:
        return None
    return reference_fingerprint(params.accompaniment_reference, ctx)


def run(inputs: Mapping[str, Path], params: RemixParams, ctx: StageContext) -> StageOutput:
    """Remix restored ``audio`` with ``accompaniment``; the result has ``mix``'s rate, layout and length."""
    mix, sr = read_audio(inputs["mix"])
    channels, frames = mix.shape

    def load(name: str) -> np.ndarray:
        audio, rate = read_audio(inputs[name])
        return to_layout(resample(audio, rate, sr), channels, frames)

    vocals_separated, vocals_restored = load("vocals"), load("audio")
    accompaniment_separated = accompaniment = load("accompaniment")
    artifacts: dict[str, Path] = {}
    eq_metrics: dict[str, Any] = {"accompaniment_eq": False}
    if params.accompaniment_reference is not None and accompaniment.std() >= SILENCE_STD:
        reference = load_reference(params.accompaniment_reference, ctx, sample_rate=sr, n_fft=params.n_fft)
        equalised, diff_db, observed = ltas_equalize(
            accompaniment, sr, reference, n_fft=params.n_fft, max_boost_db=params.max_boost_db)
        accompaniment = equalised.astype(np.float64)
        curves_path = ctx.stage_dir / "accompaniment_ltas.json"
        atomic_write_json(curves_path, {
            "sample_rate": sr, "n_fft": params.n_fft, "freqs_hz": observed.freqs_hz.round(3).tolist(),
            "observed_db": observed.db().round(3).tolist(), "applied_gain_db": (-diff_db).round(3).tolist(),
        })
        artifacts["accompaniment_ltas"] = curves_path
        eq_metrics = {"accompaniment_eq": True,
                      "accompaniment_max_boost_db": round(float(np.max(-diff_db)), 2),
                      "accompaniment_max_cut_db": round(float(np.max(diff_db)), 2)}
    out, report = remix(
        vocals_separated, accompaniment_separated, vocals_restored, accompaniment, sr,
        max_lag_ms=params.max_lag_ms, lag_search_ms=params.lag_search_ms,
        match_balance=params.match_balance, loudness_target_lufs=params.loudness_target_lufs,
        true_peak_ceiling_dbtp=params.true_peak_ceiling_dbtp,
    )
    audio_path = ctx.stage_dir / "audio.wav"
    write_audio(audio_path, out, sr, bit_depth=32)
    artifacts["audio"] = audio_path
    return StageOutput(artifacts=artifacts, metrics={**report, **eq_metrics})


STAGE = Stage(
    name="remix",
    version="1",
    params_cls=RemixParams,
    consumes=("audio", "vocals", "accompaniment", "mix"),
    run=run,
    fingerprint=fingerprint,
    description="remix of restored vocals and accompaniment at the separation's balance",
)
