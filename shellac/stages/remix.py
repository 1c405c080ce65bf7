"""remix: put restored vocals back over the (optionally equalised) accompaniment at the original balance."""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import Field

from shellac.engine.atomic import atomic_write_json
from shellac.engine.audio_io import probe
from shellac.engine.dsp.eq_report import boost_and_cut_db, eq_curves
from shellac.engine.dsp.ltas import SILENCE_STD, ltas_equalize_file
from shellac.engine.dsp.mix import chunks, remix_stems
from shellac.engine.dsp.resample import resample_file
from shellac.engine.stems import FileStems
from shellac.engine.stream import AudioStreamWriter, ChannelStats
from shellac.stages.base import Stage, StageContext, StageOutput, StageParams
from shellac.stages.reference import REFERENCE_HELP, load_reference, reference_fingerprint


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
        # The stem's std over all channels: a silent accompaniment is left as it is.
        if np.sqrt(max(stats.squares.sum() / count - (stats.total.sum() / count) ** 2, 0.0)) >= SILENCE_STD:
            reference = load_reference(params.accompaniment_reference, ctx, sample_rate=sr,
                                       n_fft=params.n_fft)
            paths["accompaniment"] = work / "accompaniment_eq.wav"
            diff_db, observed = ltas_equalize_file(laid_out, paths["accompaniment"], reference,
                                                   n_fft=params.n_fft, max_boost_db=params.max_boost_db)
            curves_path = ctx.stage_dir / "accompaniment_ltas.json"
            atomic_write_json(curves_path, eq_curves(observed, diff_db))
            artifacts["accompaniment_ltas"] = curves_path
            boost, cut = boost_and_cut_db(diff_db)
            eq_metrics = {"accompaniment_eq": True, "accompaniment_max_boost_db": boost,
                          "accompaniment_max_cut_db": cut}
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
        for start, stop in chunks(stems.frames):
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
