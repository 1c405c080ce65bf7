"""declip: estimate the clipping level, find clipped samples, restore them with a diffusion prior."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch
from pydantic import Field

from shellac.engine.atomic import atomic_write_json
from shellac.engine.audio_io import read_audio, write_audio
from shellac.engine.blocks.autoregressive import BlockSettings, SamplerSettings
from shellac.engine.blocks.checkpoints import BlockCheckpointStore
from shellac.engine.blocks.overlap_add import BlockSpan
from shellac.engine.device import resolve_device
from shellac.engine.diffusion.methods.choice import MethodName, MethodSettings
from shellac.engine.dsp.resample import resample
from shellac.engine.fixity import sha256_json
from shellac.engine.models.bundle import LoadedBundle
from shellac.engine.operators.base import Operator
from shellac.engine.operators.clipping import LEVEL_SLACK, ClipEstimate, ClippingOperator, estimate_clip_level
from shellac.engine.restore import restore_signal
from shellac.stages.base import Stage, StageContext, StageOutput, StageParams


class GuidedRestorationParams(StageParams):
    """Model, guidance method and sampler numbers shared by the declip and inpaint stages."""

    model: str = Field(description="Model bundle key in the models directory (e.g. 'piano').")
    method: MethodName = Field(default="dc",
                               description="Guidance: rg, rg_drho, dc, repaint, pigdm, ddnm or dgg.")
    n_steps: int = Field(default=35, ge=2, le=400, description="Sampler steps N.")
    sigma_start: float = Field(default=0.5, gt=0, description="Warm-start noise level σ_start (amplitude).")
    sigma_min: float = Field(default=1e-4, gt=0, description="Last non-zero noise level σ_min.")
    rho: float = Field(default=13.0, gt=0, description="Schedule exponent ρ.")
    s_churn: float = Field(default=10.0, ge=0, description="Churn S_churn.")
    xi: float = Field(default=1.0, ge=0, description="Guidance step ξ (rg, rg_drho, pigdm).")
    sigma_y: float = Field(default=0.0, ge=0, description="Noise regularisation σ_y on y (rg, rg_drho, dgg).")
    drho_power: float = Field(default=0.5, ge=0, le=2, description="κ of RG δρ's δ(t) = (1 + σ_d²/t²)^{κ/2}.")
    dgg_weight: float = Field(default=0.2, ge=0, le=1, description="DGG interpolation weight λ.")
    repaint_u: int = Field(default=0, ge=0, le=20, description="RePaint cycles per step (repaint: 2 if 0).")
    repaint_phase_start: int = Field(default=0, ge=0, le=2,
                                     description="Window start, in thirds of the steps.")
    repaint_phase_end: int = Field(default=2, ge=1, le=3, description="Window end, in thirds of the steps.")
    overlap_fraction: float = Field(default=0.1, ge=0, lt=0.5, description="Block overlap, fraction.")
    seed: int = Field(default=0, ge=0, description="Seed of all sampler noise.")

    def method_settings(self) -> MethodSettings:
        """The engine's view of the method choice."""
        return MethodSettings(name=self.method, xi=self.xi, sigma_y=self.sigma_y, drho_power=self.drho_power,
                              dgg_weight=self.dgg_weight, repaint_u=self.repaint_u,
                              repaint_phases=(self.repaint_phase_start, self.repaint_phase_end))

    def sampler_settings(self) -> SamplerSettings:
        """Schedule and churn (ξ and σ_y travel in :meth:`method_settings`)."""
        return SamplerSettings(n_steps=self.n_steps, sigma_start=self.sigma_start, sigma_min=self.sigma_min,
                               rho=self.rho, xi=self.xi, sigma_y=self.sigma_y, s_churn=self.s_churn)


def model_fingerprint(params: GuidedRestorationParams, ctx: StageContext) -> str:
    """Checksum of the model bundle; raises ``ModelLoadingError`` when it is not installed."""
    return ctx.models.checksum(params.model)


def stage_device(ctx: StageContext) -> torch.device:
    """The context's device; CUDA asked for but absent is a ``ParameterError``."""
    return resolve_device(ctx.device)


def to_model_rate(flags: np.ndarray, sr: int, model_sr: int) -> np.ndarray:
    """Map a per-sample boolean map from ``sr`` to ``model_sr`` (Hz), widened by a sample each side.

    The widening covers the resampling filter's smear of the flagged samples;
    with equal rates the map is returned unchanged.
    """
    if sr == model_sr:
        return flags.copy()
    n_model = int(np.ceil(flags.size * model_sr / sr))
    out = np.zeros(n_model, dtype=bool)
    idx = np.flatnonzero(flags)
    for j in (np.floor(idx * model_sr / sr), np.ceil(idx * model_sr / sr)):
        out[np.clip(j.astype(int), 0, n_model - 1)] = True
    widened = out.copy()
    widened[1:] |= out[:-1]
    widened[:-1] |= out[1:]
    return widened


def restore_channel(
    signal: np.ndarray,
    sr: int,
    unknown: np.ndarray,
    bundle: LoadedBundle,
    params: GuidedRestorationParams,
    operator_for: Callable[[np.ndarray, float], Operator],
    device: torch.device,
    *,
    checkpoint_dir: Path,
    operator_key: dict[str, Any],
) -> np.ndarray:
    """Restore one channel at the model's rate; return it at ``sr`` with the known samples untouched.

    ``unknown`` flags (at ``sr``) the samples to restore; ``operator_for(block_unknown,
    gain)`` builds a block's operator from its flags at the model rate. Finished
    blocks are checkpointed in ``checkpoint_dir`` under a key of the signal, the
    flags, the settings, the model and ``operator_key`` (whatever else decides the
    operator), so a killed stage resumes at the next block.
    """
    cfg = bundle.config
    model_sr = cfg.sample_rate
    mono = resample(signal, sr, model_sr)
    flags = to_model_rate(unknown, sr, model_sr)[: mono.size]
    flags = np.pad(flags, (0, mono.size - flags.size))

    def make_operator(span: BlockSpan, gain: float) -> Operator | None:
        block = np.zeros(span.length, dtype=bool)
        block[: span.valid] = flags[span.start:span.start + span.valid]
        return operator_for(block, gain) if block.any() else None

    run_key = sha256_json({
        "signal": hashlib.sha256(np.ascontiguousarray(signal, dtype=np.float32).tobytes()).hexdigest(),
        "unknown": hashlib.sha256(np.packbits(unknown).tobytes()).hexdigest(),
        "sample_rate": sr, "params": params.model_dump(mode="json"), "model": bundle.checksum,
        "operator": operator_key,
    })
    denoiser = bundle.denoiser(device)
    result = restore_signal(
        denoiser, mono, make_operator=make_operator, method=params.method_settings(),
        sampler=params.sampler_settings(),
        blocks=BlockSettings(segment_length=cfg.segment_length, overlap_fraction=params.overlap_fraction,
                             seed=params.seed),
        target_std=cfg.sigma_data, device=device, checkpoints=BlockCheckpointStore(checkpoint_dir, run_key))
    back = resample(result.audio, model_sr, sr)[: signal.size]
    back = np.pad(back, (0, signal.size - back.size))
    # Only the flagged samples change: everything observed stays bit-exact.
    return np.where(unknown, back, signal).astype(np.float32)


class DeclipParams(GuidedRestorationParams):
    """Clip detection and the restoration settings."""

    clip_level: float | None = Field(default=None, gt=0, le=1,
                                     description="Known clipping level (full scale = 1); None: estimate it.")
    min_clipped_fraction: float = Field(default=1e-4, ge=0, le=0.5,
                                        description="Below this share of clipped samples, copy the audio.")


def run(inputs: Mapping[str, Path], params: DeclipParams, ctx: StageContext) -> StageOutput:
    """Declip ``audio``; write ``audio.wav`` (float32, same rate) and ``clipping.json``."""
    started = time.monotonic()
    device = stage_device(ctx)
    audio, sr = read_audio(inputs["audio"])
    # Load first: a missing model must fail the stage even when nothing is clipped.
    bundle = ctx.models.load(params.model, device=str(device))
    if params.clip_level is None:
        estimate = estimate_clip_level(audio)
    else:
        frac = float(np.mean(np.abs(audio) >= params.clip_level - LEVEL_SLACK))
        estimate = ClipEstimate(True, params.clip_level, frac, float("inf"))
    clipped = np.abs(audio) >= estimate.level - LEVEL_SLACK
    restore = estimate.detected and estimate.clipped_fraction >= params.min_clipped_fraction
    out = audio.copy()
    if restore:
        for ch in range(audio.shape[0]):
            if not clipped[ch].any():
                continue

            def operator_for(block: np.ndarray, gain: float) -> Operator:
                return ClippingOperator(estimate.level * gain, clipped=torch.from_numpy(block).to(device))

            out[ch] = restore_channel(audio[ch], sr, clipped[ch], bundle, params, operator_for, device,
                                      checkpoint_dir=ctx.stage_dir / "blocks" / f"channel{ch}",
                                      operator_key={"clip_level": estimate.level})
    path = ctx.stage_dir / "audio.wav"
    write_audio(path, out, sr, bit_depth=32)
    report: dict[str, Any] = {
        "estimate": estimate.to_json(), "restored": restore, "method": params.method,
        "clipped_samples_per_channel": [int(c.sum()) for c in clipped] if restore else [0] * audio.shape[0],
        "peak_in": float(np.abs(audio).max()), "peak_out": float(np.abs(out).max()),
    }
    report_path = ctx.stage_dir / "clipping.json"
    atomic_write_json(report_path, report)
    seconds = time.monotonic() - started
    return StageOutput(
        artifacts={"audio": path, "clipping": report_path},
        metrics={"clip_level": round(estimate.level, 6), "clipping_detected": estimate.detected,
                 "clipped_fraction": round(estimate.clipped_fraction, 6), "restored": restore,
                 "method": params.method, "model_checksum": bundle.checksum, "seconds": round(seconds, 2),
                 "real_time_factor": round(seconds / (audio.shape[1] / sr), 3)},
    )


STAGE = Stage(
    name="declip",
    version="1",
    params_cls=DeclipParams,
    consumes=("audio",),
    run=run,
    fingerprint=model_fingerprint,
    gpu=True,
    description="declipping: clip-level estimation, diffusion restoration of clipped samples",
)
