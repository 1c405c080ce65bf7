"""remix: put restored vocals back over the (optionally equalised) accompaniment at the original balance."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import Field

from shellac.engine.atomic import atomic_write_json
from shellac.engine.audio_io import read_audio, write_audio
from shellac.engine.dsp.eq_report import boost_and_cut_db, eq_curves
from shellac.engine.dsp.mix import equalise_stem, remix, to_layout
from shellac.engine.dsp.resample import resample
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
    if params.accompaniment_reference is not None:
        reference = load_reference(params.accompaniment_reference, ctx, sample_rate=sr, n_fft=params.n_fft)
        equalised = equalise_stem(accompaniment, sr, reference, n_fft=params.n_fft,
                                  max_boost_db=params.max_boost_db)
        if equalised is not None:
            accompaniment, diff_db, observed = equalised
            curves_path = ctx.stage_dir / "accompaniment_ltas.json"
            atomic_write_json(curves_path, eq_curves(observed, diff_db))
            artifacts["accompaniment_ltas"] = curves_path
            boost, cut = boost_and_cut_db(diff_db)
            eq_metrics = {"accompaniment_eq": True, "accompaniment_max_boost_db": boost,
                          "accompaniment_max_cut_db": cut}
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
