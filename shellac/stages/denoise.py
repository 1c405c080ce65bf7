"""denoise: remove clicks (AR detection, LSAR repair), then gate hiss with a profile from the recording."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import Field, model_validator

from shellac.engine.atomic import atomic_write_json
from shellac.engine.audio_io import probe
from shellac.engine.dsp.denoise import noise_sample_from_file
from shellac.engine.dsp.denoise_file import DeclickSettings, GateSettings, denoise_file
from shellac.engine.dsp.levels import rms
from shellac.stages.base import Stage, StageContext, StageOutput, StageParams, no_fingerprint

_D = DeclickSettings()


class DenoiseParams(StageParams):
    """Declicking settings (AR residual detection, LSAR repair) and spectral-gating settings."""

    declick: bool = Field(default=True, description="Remove clicks and crackle before dehissing.")
    click_threshold: float = Field(
        default=_D.threshold, ge=3, le=50,
        description="Click detection threshold, robust standard deviations of the AR residual.",
    )
    click_ar_order: int = Field(default=_D.order, ge=4, le=128, description="AR model order, samples.")
    max_gap_ms: float = Field(
        default=_D.max_gap_ms, gt=0, le=20,
        description="Longest single gap; clusters up to four times it are solved by LSAR, longer ones "
        "await inpainting.",
    )
    long_gaps: Literal["lsar", "inpaint"] = Field(
        default=_D.long_gaps,
        description="Gaps longer than max_gap_ms and scratch pieces: 'lsar' fills them here (no inpaint "
        "stage follows, so no click is left for EQ to boost); 'inpaint' leaves them to the inpaint stage.",
    )
    click_block_ms: float = Field(
        default=_D.block_ms, ge=10, le=500, description="Length of the blocks each AR model is fitted on, ms."
    )
    click_pad_ms: float = Field(
        default=_D.pad_ms, ge=0, le=2, description="Growth of each detection either side, ms."
    )
    click_max_ms: float = Field(
        default=_D.click_ms, gt=0, le=10,
        description="Longest click found as one onset-to-end bracket, ms; longer scratches come in pieces.",
    )

    noise_profile: Literal["quietest", "lead_in", "minimum", "adaptive"] = Field(
        default="quietest",
        description="Noise estimate from the quietest passages, the lead-in groove, each frequency band's "
        "own quietest passages ('minimum': minimum statistics, for music that fills some band in every "
        "pause), or adaptive.",
    )
    noise_floor_slope_db: float | None = Field(
        default=None, gt=0, le=48,
        description="With noise_profile 'minimum': the noise floor may change by at most this many dB per "
        "octave (a lower envelope), so a band the music fills all the time (a singer's strongest partials) "
        "reads its neighbours' floor, not the music. Off by default; it cuts narrow noise lines (hum) too.",
    )
    stationary: bool = Field(default=True, description="Fixed noise profile (surface hiss).")
    prop_decrease: float = Field(
        default=0.8, ge=0, le=1, description="Fraction of the noise removed (1 = all)."
    )
    n_std_thresh: float = Field(
        default=1.5, gt=0, le=6, description="Gate threshold, std above the noise mean."
    )
    quiet_fraction: float = Field(
        default=0.1, gt=0, le=0.5,
        description="Share of 100 ms frames used as noise sample ('quietest'), or of each band's time read "
        "as its noise floor ('minimum').",
    )
    lead_in_s: float = Field(default=1.0, gt=0, le=30, description="Lead-in length, seconds.")
    n_fft: int = Field(default=2048, ge=256, le=16384, description="STFT size, samples.")
    mask_smooth_hz: float | None = Field(
        default=None, gt=0, description="Optional gate-mask smoothing over frequency, Hz."
    )
    mask_smooth_ms: float | None = Field(
        default=None, gt=0, description="Optional gate-mask smoothing over time, ms."
    )

    @model_validator(mode="after")
    def _slope_needs_minimum(self) -> DenoiseParams:
        if self.noise_floor_slope_db is not None and self.noise_profile != "minimum":
            raise ValueError("noise_floor_slope_db shapes the 'minimum' noise floor only, not "
                             f"noise_profile {self.noise_profile!r}")
        return self


def run(inputs: Mapping[str, Path], params: DenoiseParams, ctx: StageContext) -> StageOutput:
    """Declick then dehiss ``audio`` chunk by chunk; write ``audio.wav`` and ``clicks.json``.

    The noise profile is taken from the whole recording first; chunks are then
    processed with context either side (:func:`~shellac.engine.dsp.denoise_file.denoise_file`).
    """
    sr = probe(inputs["audio"]).sample_rate
    noise = noise_sample_from_file(
        inputs["audio"], profile=params.noise_profile, quiet_fraction=params.quiet_fraction,
        lead_in_s=params.lead_in_s, n_fft=params.n_fft, floor_slope_db=params.noise_floor_slope_db,
    )
    declick_settings = DeclickSettings(
        threshold=params.click_threshold, order=params.click_ar_order, max_gap_ms=params.max_gap_ms,
        block_ms=params.click_block_ms, pad_ms=params.click_pad_ms, click_ms=params.click_max_ms,
        long_gaps=params.long_gaps,
    ) if params.declick else None
    gate_settings = GateSettings(
        stationary=params.stationary, prop_decrease=params.prop_decrease, n_std_thresh=params.n_std_thresh,
        n_fft=params.n_fft, mask_smooth_hz=params.mask_smooth_hz, mask_smooth_ms=params.mask_smooth_ms,
    )
    path = ctx.stage_dir / "audio.wav"
    result = denoise_file(inputs["audio"], path, noise, declick_settings=declick_settings,
                          gate_settings=gate_settings)
    click_map = result.click_map
    click_doc: dict[str, object] = {"enabled": params.declick, **click_map.to_dict()}
    click_path = ctx.stage_dir / "clicks.json"
    atomic_write_json(click_path, click_doc)
    metrics = {
        "noise_sample_s": 0.0 if noise is None else round(noise.shape[-1] / sr, 3),
        "noise_rms_dbfs": None if noise is None else round(float(20 * np.log10(rms(noise) + 1e-12)), 2),
        "removed_energy_db": round(result.removed_energy_db, 2),

        "clicks_found": len(click_map.clicks),
        "clicks_repaired": click_map.repaired,
        "clicks_needing_inpainting": click_map.needs_inpainting,
    }
    return StageOutput(artifacts={"audio": path, "click_map": click_path}, metrics=metrics)


STAGE = Stage(
    name="denoise",
    version="4",
    params_cls=DenoiseParams,
    consumes=("audio",),
    run=run,
    fingerprint=no_fingerprint,
    description="declicking (AR detection, LSAR repair) and spectral-gating hiss reduction",
)
