"""denoise: reduce surface hiss by spectral gating with a noise profile from the recording itself."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Literal

from pydantic import Field

from shellac.engine.audio_io import read_audio, write_audio
from shellac.engine.dsp.denoise import spectral_gate
from shellac.stages.base import Stage, StageContext, StageOutput, StageParams, no_fingerprint


class DenoiseParams(StageParams):
    """Spectral-gating settings (noisereduce)."""

    noise_profile: Literal["quietest", "lead_in", "adaptive"] = Field(
        default="quietest",
        description="Noise estimate from the quietest passages, the lead-in groove, or adaptive.",
    )
    stationary: bool = Field(default=True, description="Fixed noise profile (surface hiss).")
    prop_decrease: float = Field(
        default=0.8, ge=0, le=1, description="Fraction of the noise removed (1 = all)."
    )
    n_std_thresh: float = Field(
        default=1.5, gt=0, le=6, description="Gate threshold, std above the noise mean."
    )
    quiet_fraction: float = Field(
        default=0.1, gt=0, le=0.5, description="Share of 100 ms frames used as noise sample."
    )
    lead_in_s: float = Field(default=1.0, gt=0, le=30, description="Lead-in length, seconds.")
    n_fft: int = Field(default=2048, ge=256, le=16384, description="STFT size, samples.")
    mask_smooth_hz: float | None = Field(
        default=None, gt=0, description="Optional gate-mask smoothing over frequency, Hz."
    )
    mask_smooth_ms: float | None = Field(
        default=None, gt=0, description="Optional gate-mask smoothing over time, ms."
    )


def run(inputs: Mapping[str, Path], params: DenoiseParams, ctx: StageContext) -> StageOutput:
    """Denoise ``audio`` and write ``audio.wav`` (float32, same rate and channels)."""
    audio, sr = read_audio(inputs["audio"])
    out, report = spectral_gate(
        audio, sr,
        profile=params.noise_profile, stationary=params.stationary,
        prop_decrease=params.prop_decrease, n_std_thresh=params.n_std_thresh,
        quiet_fraction=params.quiet_fraction, lead_in_s=params.lead_in_s, n_fft=params.n_fft,
        mask_smooth_hz=params.mask_smooth_hz, mask_smooth_ms=params.mask_smooth_ms,
    )
    path = ctx.stage_dir / "audio.wav"
    write_audio(path, out, sr, bit_depth=32)
    return StageOutput(artifacts={"audio": path}, metrics=report)


STAGE = Stage(
    name="denoise",
    version="1",
    params_cls=DenoiseParams,
    consumes=("audio",),
    run=run,
    fingerprint=no_fingerprint,
    description="spectral-gating hiss reduction (noisereduce)",
)
