"""remix: put restored vocals back over the (optionally equalised) accompaniment at the original balance."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import Field
from scipy.signal import correlate, correlation_lags

from shellac.engine.atomic import atomic_write_json
from shellac.engine.audio_io import probe
from shellac.engine.dsp.loudness_meter import LoudnessMeter, PeakMeter
from shellac.engine.dsp.ltas import SILENCE_STD, ltas_equalize_file
from shellac.engine.dsp.resample import resample_file
from shellac.engine.errors import ParameterError
from shellac.engine.stream import AudioStreamWriter, ChannelStats
from shellac.stages.base import Stage, StageContext, StageOutput, StageParams
from shellac.stages.reference import REFERENCE_HELP, load_reference, reference_fingerprint
from shellac.stages.stems import ArrayStems, FileStems, Stems

# Cross-correlating a centred excerpt is enough to find a constant offset, and keeps memory
# bounded on long recordings.
ALIGN_WINDOW_S = 30.0
# Below this normalised cross-correlation peak the lag estimate is noise and is not applied.
MIN_ALIGN_CORRELATION = 0.3
# Frames per chunk of the remix's passes over the recording, and per block of its sums of squares
# (a chunk holds whole blocks, so chunked and whole-array sums add the same numbers in order).
RMS_BLOCK = 1 << 16
CHUNK_FRAMES = 4 * RMS_BLOCK


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
    """Root-mean-square over all channels and samples (linear), summed in blocks of ``RMS_BLOCK`` frames."""
    x = np.asarray(audio)
    return _rms_of(_square_sums(x[:, start:start + RMS_BLOCK] for start in range(0, x.shape[-1], RMS_BLOCK)),
                   x.size)


def _square_sums(blocks: Iterable[np.ndarray]) -> Iterator[float]:
    # Per channel, then over channels: the same order whether a block is a view or a copy.
    for block in blocks:
        yield float(np.sum(np.sum(np.square(block, dtype=np.float64), axis=-1)))


def _rms_of(sums: Iterable[float], count: int) -> float:
    total = 0.0
    for value in sums:
        total += value
    return float(np.sqrt(total / count)) if count else float("nan")


def _db(ratio: float) -> float | None:
    return float(20.0 * np.log10(ratio)) if ratio > 0 and np.isfinite(ratio) else None


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


def _chunks(frames: int) -> Iterator[tuple[int, int]]:
    for start in range(0, frames, CHUNK_FRAMES):
        yield start, min(frames, start + CHUNK_FRAMES)


def _stem_rms(stems: Stems, name: str, lag: int = 0, gain: float = 1.0) -> float:
    def blocks() -> Iterator[np.ndarray]:
        for start, stop in _chunks(stems.frames):
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
    original = (_db(_stem_rms(stems, "vocals_separated") / separated_accompaniment)
                if separated_accompaniment > 0 else None)
    accompaniment_rms = _stem_rms(stems, "accompaniment")
    before = (_db(_stem_rms(stems, "vocals_restored", lag) / accompaniment_rms)
              if accompaniment_rms > 0 else None)
    vocal_gain_db = 0.0
    if match_balance and original is not None and before is not None:
        vocal_gain_db = original - before
    gains: list[float] = []  # applied to the sum one after the other, as a whole-array run would

    def remixed() -> Iterator[np.ndarray]:
        for start, stop in _chunks(stems.frames):
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
    after = (_db(_stem_rms(stems, "vocals_restored", lag, vocal_gain) / accompaniment_rms)
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


def fingerprint(params: RemixParams, ctx: StageContext) -> str | None:
    """Checksum of the accompaniment reference, if one is used."""
    if params.accompaniment_reference is None:
        return None
    return reference_fingerprint(params.accompaniment_reference, ctx)


def run(inputs: Mapping[str, Path], params: RemixParams, ctx: StageContext) -> StageOutput:
    """Remix restored ``audio`` with ``accompaniment``; the result has ``mix``'s rate, layout and length.

    Stems at another rate are resampled into ``work/`` first; the remix then reads
    every stem a chunk at a time, so memory follows the chunk, not the recording.
    """
    info = probe(inputs["mix"])
    sr, channels, frames = info.sample_rate, info.channels, info.frames
    work = ctx.stage_dir / "work"
    work.mkdir(parents=True, exist_ok=True)
    at_rate = {name: _at_rate(inputs[name], sr, work / f"{name}.wav") for name in ("vocals", "audio",
                                                                                  "accompaniment")}
    paths = {"vocals_separated": at_rate["vocals"], "accompaniment_separated": at_rate["accompaniment"],
             "vocals_restored": at_rate["audio"], "accompaniment": at_rate["accompaniment"]}
    artifacts: dict[str, Path] = {}
    eq_metrics: dict[str, Any] = {"accompaniment_eq": False}
    if params.accompaniment_reference is not None:
        laid_out = work / "accompaniment_layout.wav"
        stats = _write_stem(FileStems(paths, channels, frames), "accompaniment", laid_out, sr)
        count = max(1, stats.count * channels)
        if np.sqrt(max(stats.squares.sum() / count - (stats.total.sum() / count) ** 2, 0.0)) >= SILENCE_STD:
            reference = load_reference(params.accompaniment_reference, ctx, sample_rate=sr,
                                       n_fft=params.n_fft)
            paths["accompaniment"] = work / "accompaniment_eq.wav"
            diff_db, observed = ltas_equalize_file(laid_out, paths["accompaniment"], reference,
                                                   n_fft=params.n_fft, max_boost_db=params.max_boost_db)
            curves_path = ctx.stage_dir / "accompaniment_ltas.json"
            atomic_write_json(curves_path, {
                "sample_rate": sr, "n_fft": params.n_fft, "freqs_hz": observed.freqs_hz.round(3).tolist(),
                "observed_db": observed.db().round(3).tolist(),
                "applied_gain_db": (-diff_db).round(3).tolist(),
            })
            artifacts["accompaniment_ltas"] = curves_path
            eq_metrics = {"accompaniment_eq": True,
                          "accompaniment_max_boost_db": round(float(np.max(-diff_db)), 2),
                          "accompaniment_max_cut_db": round(float(np.max(diff_db)), 2)}
    audio_path = ctx.stage_dir / "audio.wav"
    with AudioStreamWriter(audio_path, sr, channels) as writer:
        report = remix_stems(
            FileStems(paths, channels, frames), sr, writer.write,
            max_lag_ms=params.max_lag_ms, lag_search_ms=params.lag_search_ms,
            match_balance=params.match_balance, loudness_target_lufs=params.loudness_target_lufs,
            true_peak_ceiling_dbtp=params.true_peak_ceiling_dbtp,
        )
    shutil.rmtree(work)
    artifacts["audio"] = audio_path
    return StageOutput(artifacts=artifacts, metrics={**report, **eq_metrics})


def _at_rate(path: Path, sample_rate: int, resampled: Path) -> Path:
    """``path`` itself when it is at ``sample_rate`` Hz, else its resampled copy (``resample``, chunked)."""
    if probe(path).sample_rate == sample_rate:
        return path
    resample_file(path, resampled, sample_rate)
    return resampled


def _write_stem(stems: FileStems, name: str, path: Path, sample_rate: int) -> ChannelStats:
    """Write stem ``name`` in the mix's layout to a float WAV, chunk by chunk; return its statistics."""
    with AudioStreamWriter(path, sample_rate, stems.channels) as writer:
        for start, stop in _chunks(stems.frames):
            writer.write(stems.read(name, start, stop))
    return writer.stats


STAGE = Stage(
    name="remix",
    version="1",
    params_cls=RemixParams,
    consumes=("audio", "vocals", "accompaniment", "mix"),
    run=run,
    fingerprint=fingerprint,
    description="remix of restored vocals and accompaniment at the separation's balance",
)
